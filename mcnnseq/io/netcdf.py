"""Read NetCDF and Zarr datacubes from any producer; write cubes that read back exactly.

Example::

    cube = open_cube("worldcereal_preprocessed_inputs.nc", nodata=65535, sigma0_log_dn=(20, -83))
    write_netcdf(cube, "belgium.nc")   # open_cube("belgium.nc") gives the same cube back

See ``docs/data-formats.md`` for the accepted variable names and decoding options.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

from mcnnseq.datacube import OPTIONAL_VARS, REQUIRED_VARS, validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import roundtrip
from mcnnseq.io.aliases import find_roles
from mcnnseq.io.cf import add_cf_metadata
from mcnnseq.io.lazy import Chunks, standardize_lazy
from mcnnseq.io.sniff import sniff
from mcnnseq.io.standardize import (DEFAULT_MAX_PIXELS, check_options, check_size, clean_attrs, rename_dims,
                                    require_roles, standardize_cube)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _open_lazy(path: Path, kind: str, source: str) -> xr.Dataset:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # zarr stores without consolidated metadata
            if kind == "zarr":
                return xr.open_dataset(path, engine="zarr", chunks=None)
            # scipy reads classic files strictly (a truncated one fails; netCDF-C pads it with zeros)
            return xr.open_dataset(path, engine="scipy" if kind == "netcdf3" else "netcdf4")
    # The format libraries (netCDF4, HDF5, zarr, CF decoding) raise many unrelated types for a
    # broken file; all of them mean the same thing to the user.
    except Exception as exc:  # noqa: BLE001
        what = "Zarr store" if kind == "zarr" else "NetCDF file"
        raise DatacubeError(f"cannot be opened as a {what}: it is corrupt, truncated or not a datacube "
                            f"({_short(exc)})", source=source) from exc


def _needed_variables(raw: xr.Dataset, roles: Mapping[str, str], extra: list[str]) -> list[str]:
    names = [n for n in roles.values() if n in raw.data_vars]
    for var in raw.variables.values():
        gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
        if isinstance(gm, str) and gm in raw.data_vars:
            names.append(gm)
    names += [n for n in ("spatial_ref", "crs") if n in raw.data_vars]
    names += [n for n in extra if n in raw.data_vars]
    return list(dict.fromkeys(names))


def open_cube(path: str | os.PathLike, *, nodata: float | None = None, sigma0: str = "auto",
              sigma0_log_dn: tuple[float, float] | None = None, names: Mapping[str, str] | None = None,
              crs=None, max_pixels: int | None = DEFAULT_MAX_PIXELS, chunks: Chunks | None = None) -> xr.Dataset:
    """Open a NetCDF file or Zarr store as a valid datacube (dims ``(time, y, x)``, dB, NDVI).

    Parameters
    ----------
    path
        ``.nc`` file (NetCDF4/HDF5 or classic) or Zarr store (folder). The format is told from the
        content, not the suffix.
    nodata
        Stored value meaning "no data" in every variable (on top of declared ``_FillValue``\\ s), e.g.
        ``65535``. ``float('nan')`` says "nothing undeclared" and silences the check for an
        integer type's extreme value (65535, −32768), which otherwise raises.
    sigma0
        How σ0 is stored: ``"auto"`` (dB, unless clearly linear or ``units`` says so), ``"db"``,
        ``"linear"`` (converted with 10·log10).
    sigma0_log_dn
        ``(gain, offset)`` for log-encoded digital numbers: ``dB = gain*log10(DN) + offset``.
    names
        ``{role: variable}`` for names the aliases do not cover, e.g. ``{"vv": "Sigma0_VV_db"}``.
    crs
        A CRS (``"EPSG:32631"``…) for files that declare none; overrides the file's.
    max_pixels
        Refuse cubes of more than this many cells (dates × rows × columns) before loading them;
        None lifts the limit. Applies to in-memory opening only.
    chunks
        Open lazily (dask) instead of loading: ``"auto"``, a block side in pixels, ``(rows, cols)``
        or ``{"y": rows, "x": cols}`` (every block holds all dates; see
        :func:`mcnnseq.io.lazy.block_shape`). Only metadata, coordinates and a few sampled windows are
        read now; each block is decoded exactly as in memory when it is computed, and checked then
        (see :mod:`mcnnseq.io.lazy`). The file stays open while the cube is used.

    Returns the cube in memory (the file is closed), or dask-backed with ``chunks``. Raises :class:`DatacubeError` naming the file
    for anything wrong with it; ``ValueError`` for contradictory options.
    """
    path = Path(path)
    source = path.name or str(path)
    check_options(sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, nodata=nodata)
    kind = sniff(path)
    if kind == "geotiff":
        raise DatacubeError("is a GeoTIFF; read GeoTIFF stacks (one file per variable, one band per date) "
                            "with open_geotiff_stack", source=source)
    raw = _open_lazy(path, kind, source)
    if chunks is not None:
        return _open_chunked(raw, source=source, chunks=chunks, nodata=nodata, sigma0=sigma0,
                             sigma0_log_dn=sigma0_log_dn, names=names, crs=crs)
    try:
        raw, record = roundtrip.decode_dataset(raw)
        extra = list(record.get("extra_vars", [])) if record else []
        renamed = rename_dims(raw, source=source)
        check_size(renamed.sizes["time"], renamed.sizes["y"], renamed.sizes["x"], max_pixels=max_pixels,
                   source=source)
        candidates = [str(n) for n in renamed.variables if n not in renamed.dims]
        roles = find_roles(candidates, source=source, explicit=names)
        require_roles(roles, candidates, source=source)
        subset = raw[_needed_variables(raw, roles, extra)]
        try:
            subset = subset.load()
        except Exception as exc:  # noqa: BLE001  (see _open_lazy)
            raise DatacubeError(f"cannot be read: the file is corrupt or truncated ({_short(exc)})",
                                source=source) from exc
    finally:
        raw.close()
    cube = standardize_cube(subset.drop_vars(extra), source=source, nodata=nodata, sigma0=sigma0,
                            sigma0_log_dn=sigma0_log_dn, names=names, crs=crs, max_pixels=max_pixels,
                            exact_attrs=record is not None)
    for name in extra:
        var = subset[name]
        cube[name] = xr.Variable(var.dims, var.values, clean_attrs(var.attrs))
        cube[name].encoding["grid_mapping"] = "spatial_ref"
    return roundtrip.restore_time_dtypes(cube, record)


def _open_chunked(raw: xr.Dataset, *, source: str, chunks, **options) -> xr.Dataset:
    """The lazy branch of :func:`open_cube`: the same decoding, one block at a time."""
    try:
        raw, record = roundtrip.decode_dataset(raw)
        extra = list(record.get("extra_vars", [])) if record else []
        renamed = rename_dims(raw, source=source)
        candidates = [str(n) for n in renamed.variables if n not in renamed.dims]
        roles = find_roles(candidates, source=source, explicit=options.get("names"))
        require_roles(roles, candidates, source=source)
        subset = raw[_needed_variables(raw, roles, extra)]
        cube = standardize_lazy(subset.drop_vars(extra), source=source, chunks=chunks,
                                exact_attrs=record is not None, **options)
    except BaseException:
        raw.close()
        raise
    for name in extra:
        var = subset[name]
        data = var.chunk({d: cube.chunksizes[d] for d in var.dims if d in cube.chunksizes}).data
        cube[name] = xr.Variable(var.dims, data, clean_attrs(var.attrs))
        cube[name].encoding["grid_mapping"] = "spatial_ref"
    return roundtrip.restore_time_dtypes(cube, record)


def _prepare_for_file(ds: xr.Dataset, *, source: str, validate: bool) -> xr.Dataset:
    """Validate, drop encodings inherited from another file, record what the format cannot hold."""
    if validate:
        validate_cube(ds, source=source)
    out = ds.copy()
    for var in out.variables.values():
        var.attrs = dict(var.attrs)  # ds.copy() shares the attribute dicts; CF attributes go to the copy only
        var.encoding = {}
    out.attrs = dict(out.attrs)
    cf_added = add_cf_metadata(out)  # grid_mapping, units, long_name, Conventions: what GDAL and rioxarray need
    extra = [str(n) for n in ds.data_vars if n not in REQUIRED_VARS + OPTIONAL_VARS]
    return roundtrip.encode_dataset(out, extra_vars=extra, cf_added=cf_added)


def replace_path(tmp: Path, path: Path) -> None:
    """Move the finished file or store ``tmp`` to ``path``, replacing what is there (file or folder)."""
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        tmp.rename(path)


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike, *, validate: bool = True) -> Path:
    """Write a datacube to NetCDF4 (compressed) so that :func:`open_cube` returns it exactly.

    Values (NaN included), dtypes (``cloud`` stays bool), coordinates, ``time``/``s1_time`` (with
    their resolution), the CRS, attributes and any extra variables (e.g. predictions) survive the
    round trip. The file is written beside ``path`` first and moved into place, so an existing file
    is never left half-written. ``validate`` checks the cube first (:func:`validate_cube`).
    """
    path = Path(path)
    out = _prepare_for_file(ds, source=path.name, validate=validate)
    encoding = {str(name): {"zlib": True, "complevel": 4} for name in out.data_vars}
    tmp = _temporary_sibling(path)
    try:
        out.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatacubeError(f"cannot be written ({exc.strerror or exc})", source=path.name) from exc
    return path


def write_zarr(ds: xr.Dataset, path: str | os.PathLike, *, validate: bool = True) -> Path:
    """Write a datacube to a Zarr store (a folder) that :func:`open_cube` reads back exactly.

    An existing store at ``path`` is replaced only once the new one is complete.
    """
    path = Path(path)
    out = _prepare_for_file(ds, source=path.name, validate=validate)
    tmp = _temporary_sibling(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zarr v3 consolidated-metadata notice
            out.to_zarr(tmp, mode="w", consolidated=False)
        replace_path(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DatacubeError(f"cannot be written ({exc.strerror or exc})", source=path.name) from exc
    return path


__all__ = ["open_cube", "write_netcdf", "write_zarr", "DEFAULT_MAX_PIXELS"]
