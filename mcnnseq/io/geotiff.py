"""GeoTIFF stacks (SPEC §3 c): one file per variable, one band per date, dates in the band descriptions
(or a ``dates.csv``), plus an optional single-band crop-class or field-id map.

Reading: :func:`open_geotiff_stack` (a folder or ``{variable: path}``) -> datacube;
:func:`read_geotiff` (one file) -> ``xr.DataArray``. Writing: :func:`write_geotiff` (one variable,
float32 with NaN no-data, dates as band descriptions, the input's CRS and transform) and
:func:`write_geotiff_stack` (a whole cube into a folder). What the writers write, the readers give back
exactly (values, dtypes, coordinates, dates, CRS, attributes).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.errors import DatacubeError
from mcnnseq.io import roundtrip
from mcnnseq.io.aliases import VARIABLE_ALIASES, role_of
from mcnnseq.io.sniff import sniff
from mcnnseq.io.standardize import (DEFAULT_MAX_PIXELS, canonical_crs, check_options, check_size, grid_coords,
                                    standardize_cube)

TIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
DATES_CSV = "dates.csv"
_S1_ROLES = ("vv", "vh")
_S2_ROLES = ("ndvi", "red", "nir", "cloud", "scl", "ndvi_true")
_STATIC_ROLES = ("crop", "field")
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?|(?<!\d)\d{8}(?!\d))")
_S1_TAG = "s1_date"


@dataclass
class _Raster:
    """What a GeoTIFF's header says (read without loading the pixels)."""

    path: Path
    count: int
    height: int
    width: int
    transform: object  # affine.Affine
    crs: object  # rasterio.crs.CRS or None
    nodata: float | None
    descriptions: list[str | None]
    tags: dict = dataclass_field(default_factory=dict)
    band_tags: list[dict] = dataclass_field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def grid_text(self) -> str:
        t = self.transform
        crs = self.crs.to_string() if self.crs else "no CRS"
        return (f"{self.height} x {self.width} pixels of {t.a:.10g} x {abs(t.e):.10g} "
                f"from ({t.c:.10g}, {t.f:.10g}), {crs}")

    def record(self) -> dict | None:
        text = self.tags.get(roundtrip.MARKER)
        try:
            return json.loads(text) if text else None
        except ValueError:
            return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _inspect(path: str | os.PathLike) -> _Raster:
    import rasterio

    path = Path(path)
    kind = sniff(path)
    if kind != "geotiff":
        what = "Zarr store" if kind == "zarr" else "NetCDF file"
        raise DatacubeError(f"is a {what}, not a GeoTIFF; open it with open_cube", source=path.name)
    try:
        with rasterio.open(path) as src:
            raster = _Raster(path=path, count=src.count, height=src.height, width=src.width,
                             transform=src.transform, crs=src.crs, nodata=src.nodata,
                             descriptions=list(src.descriptions), tags=dict(src.tags()),
                             band_tags=[dict(src.tags(i + 1)) for i in range(src.count)])
    except Exception as exc:  # noqa: BLE001  (GDAL/rasterio raise many types for one cause: a bad file)
        raise DatacubeError(f"cannot be opened as a GeoTIFF: it is corrupt or truncated ({_short(exc)})",
                            source=path.name) from exc
    t = raster.transform
    if t.b != 0 or t.d != 0:
        raise DatacubeError("has a rotated or sheared geotransform; warp it to a north-up grid first",
                            source=path.name)
    if raster.crs is None and t.is_identity:
        raise DatacubeError("is not georeferenced (no CRS and no geotransform)", source=path.name)
    return raster


def _read_pixels(raster: _Raster) -> np.ndarray:
    """``(band, y, x)`` values; the declared no-data value becomes NaN (ints become float64 then)."""
    import rasterio

    try:
        with rasterio.open(raster.path) as src:
            data = src.read()
    except Exception as exc:  # noqa: BLE001  (see _inspect)
        raise DatacubeError(f"cannot be read: the file is corrupt or truncated ({_short(exc)})",
                            source=raster.name) from exc
    nodata = raster.nodata
    if nodata is not None and not np.isnan(nodata):
        hit = data == nodata
        if hit.any():
            data = np.where(hit, np.nan, data.astype(np.float64 if data.dtype.kind in "iub" else data.dtype))
    return data


def _read_pixels_lazy(raster: _Raster):
    """Like :func:`_read_pixels`, as a dask array read window by window when computed.

    A declared no-data value always turns the array into float64 with NaN (in memory that happens
    only when the value occurs, which cannot be known without reading; the decoded cube is the same).
    """
    import dask.array as da
    import rioxarray

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # affine's `*` inside rioxarray
            arr = rioxarray.open_rasterio(raster.path, chunks={"band": -1, "y": 512, "x": 512}, lock=False,
                                          mask_and_scale=False, cache=False)
    except Exception as exc:  # noqa: BLE001  (see _inspect)
        raise DatacubeError(f"cannot be read: the file is corrupt or truncated ({_short(exc)})",
                            source=raster.name) from exc
    data = arr.data
    nodata = raster.nodata
    if nodata is not None and not np.isnan(nodata):
        wide = data.astype(np.float64 if data.dtype.kind in "iub" else data.dtype)
        data = da.where(data == nodata, np.nan, wide)
    return data


def _parse_date(text: str) -> pd.Timestamp | None:
    match = _DATE_RE.search(text or "")
    if not match:
        return None
    try:
        return pd.Timestamp(match.group(1))
    except ValueError:
        return None


def _description_dates(raster: _Raster, *, strict: bool) -> pd.DatetimeIndex | None:
    """Dates from the band descriptions; None when they hold none (``strict``: raise if only some do)."""
    dates = [_parse_date(d) for d in raster.descriptions]
    if all(d is None for d in dates):
        return None
    if any(d is None for d in dates):
        if not strict:
            return None
        band = next(i for i, d in enumerate(dates) if d is None) + 1
        raise DatacubeError(f"band {band} has no date in its description ({raster.descriptions[band - 1]!r}); "
                            "every band needs one, or give dates=[...] / a dates.csv", source=raster.name)
    return pd.DatetimeIndex(dates)


def read_dates_csv(path: str | os.PathLike) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex | None]:
    """``(dates, s1_dates)`` from a CSV with one date per row (band order).

    The date column is ``date`` (or ``s2_date``, ``time``; else the first column); an optional
    ``s1_date`` (or ``s1_time``) column gives the paired S1 date. A header row is optional.
    """
    path = Path(path)
    if not path.is_file():
        raise DatacubeError("does not exist", source=path.name)
    try:
        table = pd.read_csv(path, header=None, dtype=str, skipinitialspace=True)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DatacubeError(f"cannot be read as a CSV of dates ({_short(exc)})", source=path.name) from None
    if table.empty:
        raise DatacubeError("holds no dates", source=path.name)
    first = str(table.iat[0, 0]).strip()
    header = _parse_date(first) is None
    if header:
        table.columns = [str(c).strip().lower() for c in table.iloc[0]]
        table = table.iloc[1:].reset_index(drop=True)
    else:
        table.columns = ["date"] + [f"col{i}" for i in range(1, table.shape[1])]
    date_col = next((c for c in ("date", "s2_date", "time", "s2_time", "dates") if c in table.columns),
                    table.columns[0])
    s1_col = next((c for c in ("s1_date", "s1_time", "s1") if c in table.columns), None)

    def parse(column: str) -> pd.DatetimeIndex:
        out = []
        for row, text in enumerate(table[column], start=2 if header else 1):
            stamp = _parse_date(str(text))
            if stamp is None:
                raise DatacubeError(f"row {row}: {text!r} is not a date (expected YYYY-MM-DD)", source=path.name)
            out.append(stamp)
        return pd.DatetimeIndex(out)

    return parse(date_col), (parse(s1_col) if s1_col else None)


def _pyproj_crs(rio_crs):
    from pyproj import CRS

    return CRS.from_wkt(rio_crs.to_wkt())


def _coords(raster: _Raster) -> tuple[np.ndarray, np.ndarray]:
    t = raster.transform
    x = t.c + t.a * (np.arange(raster.width) + 0.5)
    y = t.f + t.e * (np.arange(raster.height) + 0.5)
    return x, y


def _band_s1_dates(raster: _Raster) -> pd.DatetimeIndex | None:
    stamps = [_parse_date(tags.get(_S1_TAG, "")) for tags in raster.band_tags]
    return pd.DatetimeIndex(stamps) if stamps and all(s is not None for s in stamps) else None


def read_geotiff(path: str | os.PathLike, *, dates: Sequence | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> xr.DataArray:
    """One GeoTIFF as a DataArray: ``(time, y, x)`` when its bands have dates, else ``(y, x)`` for one band.

    Dates come from ``dates`` or the band descriptions; ``s1_time`` from the band tags written by
    :func:`write_geotiff`. The CRS is written with rioxarray; pixel-centre coordinates come from the
    geotransform; the declared no-data value becomes NaN. Raises :class:`DatacubeError` naming the file.
    """
    raster = _inspect(path)
    check_size(raster.count, raster.height, raster.width, max_pixels=max_pixels, source=raster.name)
    if dates is not None:
        dates = pd.DatetimeIndex(pd.to_datetime(list(dates)))
        if len(dates) != raster.count:
            raise DatacubeError(f"has {raster.count} band(s) but {len(dates)} date(s) were given (one band per date)",
                                source=raster.name)
    else:
        dates = _description_dates(raster, strict=raster.count > 1)
    if dates is None and raster.count != 1:
        raise DatacubeError(f"has {raster.count} bands but no dates: the band descriptions hold none; "
                            "give dates=[...] or a dates.csv", source=raster.name)
    return _to_dataarray(raster, _read_pixels(raster), dates)


def _to_dataarray(raster: _Raster, data: np.ndarray, dates: pd.DatetimeIndex | None,
                  s1_dates: pd.DatetimeIndex | None = None) -> xr.DataArray:
    import rioxarray  # noqa: F401  (registers .rio)

    record = raster.record() or {}
    x, y = _coords(raster)
    coords = {"y": y, "x": x}
    if dates is None:
        da = xr.DataArray(data[0], dims=("y", "x"), coords=coords)
    else:
        coords["time"] = dates.values
        s1 = s1_dates if s1_dates is not None else _band_s1_dates(raster)
        if s1 is not None:
            coords["s1_time"] = ("time", s1.values)
        da = xr.DataArray(data, dims=("time", "y", "x"), coords=coords)
    da.name = record.get("name") or role_of(raster.path.stem) or raster.path.stem
    da.attrs = dict(record.get("attrs", {}))
    if raster.crs is not None:
        da = da.rio.write_crs(canonical_crs(_pyproj_crs(raster.crs)))
    return roundtrip.restore_time_dtypes(da, record)


def _stack_files(files, *, crop, field, dates, dates_csv) -> tuple[dict[str, Path], Path | None, str]:
    """role -> path, the dates.csv to use (if any), and a name for the stack."""
    chosen: dict[str, Path] = {}
    csv = Path(dates_csv) if dates_csv is not None else None
    if isinstance(files, (str, os.PathLike)):
        folder = Path(files)
        if not folder.is_dir():
            raise DatacubeError("is not a folder; give a folder of GeoTIFFs or {variable: path}",
                                source=folder.name)
        for path in sorted(folder.iterdir()):
            role = role_of(path.stem) if path.suffix.lower() in TIFF_SUFFIXES else None
            if role is not None and role != "s1_time":
                if role in chosen:
                    raise DatacubeError(f"holds two files for '{role}': {chosen[role].name} and {path.name}",
                                        source=folder.name)
                chosen[role] = path
        if csv is None and dates is None and (folder / DATES_CSV).is_file():
            csv = folder / DATES_CSV
        name = folder.name
    elif isinstance(files, Mapping):
        for key, value in files.items():
            role = role_of(key)
            if role is None or role == "s1_time":
                roles = ", ".join(r for r in VARIABLE_ALIASES if r != "s1_time")
                raise ValueError(f"unknown variable {key!r}; use one of {roles}")
            if role in chosen:
                raise ValueError(f"two entries for '{role}'")
            chosen[role] = Path(value)
        name = ""
    else:
        raise TypeError(f"files must be a folder or a {{variable: path}} mapping, got {type(files).__name__}")
    for role, value in (("crop", crop), ("field", field)):
        if value is not None:
            chosen[role] = Path(value)
    if not name:
        first = chosen.get("vv") or next(iter(chosen.values()), None)
        name = f"GeoTIFF stack {first.parent.name or first.name}" if first is not None else "GeoTIFF stack"
    return chosen, csv, name


def open_geotiff_stack(files: Mapping[str, str | os.PathLike] | str | os.PathLike, *,
                       dates: Sequence | None = None, dates_csv: str | os.PathLike | None = None,
                       crop: str | os.PathLike | None = None, field: str | os.PathLike | None = None,
                       nodata: float | None = None, sigma0: str = "auto",
                       sigma0_log_dn: tuple[float, float] | None = None, crs=None,
                       tolerance_days: float | None = None,
                       max_pixels: int | None = DEFAULT_MAX_PIXELS, chunks=None) -> xr.Dataset:
    """Read a GeoTIFF stack into a valid datacube.

    ``files``: a folder (files named after a variable or an alias: ``vv.tif``, ``VH.tif``,
    ``ndvi.tif`` or ``B04.tif``+``B08.tif``, optional ``cloud``/``scl``/``crop``/``field``, and an
    optional ``dates.csv``), or ``{variable: path}``. Every multi-band file has one band per date;
    ``crop``/``field`` have one band. Dates: ``dates`` or ``dates_csv`` (S2 dates, in band order,
    with an optional ``s1_date`` column) or else each file's band descriptions (ISO dates). When the
    S1 files (vv, vh) and the S2 files carry different dates, give ``tolerance_days`` to pair them by
    nearest date (:func:`mcnnseq.io.pair_cubes`). All files must share one grid (size, transform,
    CRS). Decode keywords as in :func:`mcnnseq.io.open_cube`; ``chunks`` opens the stack lazily as
    ``open_cube`` does (no size limit; S1 and S2 files must then share their dates). Raises
    :class:`DatacubeError` naming the file(s) and the problem.
    """
    check_options(sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, nodata=nodata)
    if dates is not None and dates_csv is not None:
        raise ValueError("give dates or dates_csv, not both")
    chosen, csv, stack_name = _stack_files(files, crop=crop, field=field, dates=dates, dates_csv=dates_csv)
    missing = [r.upper() for r in _S1_ROLES if r not in chosen]
    if "ndvi" not in chosen and not ("red" in chosen and "nir" in chosen):
        missing.append("NDVI (or red and nir)")
    if missing:
        found = ", ".join(p.name for p in chosen.values()) or "no GeoTIFF named after a variable"
        raise DatacubeError(f"has no {', no '.join(missing)} GeoTIFF (found: {found}; files are recognised by "
                            "name, e.g. vv.tif, vh.tif, ndvi.tif or B04.tif and B08.tif)", source=stack_name)

    rasters = {role: _inspect(path) for role, path in chosen.items()}
    ref = rasters["vv"]
    for role, raster in rasters.items():
        if (raster.height, raster.width) != (ref.height, ref.width) or not raster.transform.almost_equals(
                ref.transform, precision=1e-6 * abs(ref.transform.a)) or (raster.crs != ref.crs):
            raise DatacubeError(f"grid ({raster.grid_text()}) does not match the grid of {ref.name} "
                                f"({ref.grid_text()}); all files of a stack must share one grid", source=raster.name)
        if role in _STATIC_ROLES and raster.count != 1:
            raise DatacubeError(f"has {raster.count} bands; a {role} map has exactly one", source=raster.name)
    if chunks is None:
        check_size(ref.count, ref.height, ref.width, max_pixels=max_pixels, source=ref.name)

    given, s1_given, given_what = None, None, ""
    if dates is not None:
        given, given_what = pd.DatetimeIndex(pd.to_datetime(list(dates))), "dates="
    elif csv is not None:
        given, s1_given = read_dates_csv(csv)
        given_what = csv.name
    file_dates: dict[str, pd.DatetimeIndex] = {}
    for role, raster in rasters.items():
        if role in _STATIC_ROLES:
            continue
        if given is not None:
            if raster.count != len(given):
                raise DatacubeError(f"has {raster.count} bands but {given_what} lists {len(given)} dates "
                                    "(one band per date)", source=raster.name)
            file_dates[role] = given
            continue
        found = _description_dates(raster, strict=True)
        if found is None:
            raise DatacubeError("has no dates: its band descriptions hold none; give dates=[...] or dates_csv= "
                                f"(or put a {DATES_CSV} beside the files)", source=raster.name)
        file_dates[role] = found

    def group_dates(roles: Sequence[str]) -> tuple[pd.DatetimeIndex, str]:
        present = [r for r in roles if r in file_dates]
        first = present[0]
        for role in present[1:]:
            if not file_dates[role].equals(file_dates[first]):
                raise DatacubeError(f"has dates {_span(file_dates[role])} but {rasters[first].name} has "
                                    f"{_span(file_dates[first])}", source=rasters[role].name)
        return file_dates[first], first

    s1_dates, s1_role = group_dates(_S1_ROLES)
    s2_dates, s2_role = group_dates([r for r in _S2_ROLES if r in file_dates])
    paired = s1_dates.equals(s2_dates)
    if not paired and tolerance_days is None:
        raise DatacubeError(f"has {len(s1_dates)} dates ({_span(s1_dates)}) but {rasters[s2_role].name} has "
                            f"{len(s2_dates)} ({_span(s2_dates)}): pass tolerance_days=6 (for example) to pair "
                            "each S2 date with the nearest S1 date", source=rasters[s1_role].name)

    if chunks is not None and not paired:
        raise DatacubeError("S1 and S2 files have different dates: a lazy stack (chunks=, --chunks) needs them "
                            "paired already; open it without chunks, or pair the dates first",
                            source=rasters[s1_role].name)
    record = ref.record() or {}
    arrays = {}
    read = _read_pixels if chunks is None else _read_pixels_lazy
    for role, raster in rasters.items():
        s1_for_band = s1_given if (paired and s1_given is not None) else None
        da = _to_dataarray(raster, read(raster), None if role in _STATIC_ROLES else file_dates[role],
                           s1_dates=s1_for_band)
        arrays[role] = da
    attrs = dict(record.get("dataset_attrs", {}))
    attrs.setdefault("source", stack_name)
    pyproj_crs = _pyproj_crs(ref.crs) if ref.crs is not None else None

    def dataset(roles: Sequence[str]) -> xr.Dataset:
        data_vars = {r: xr.Variable(arrays[r].dims, arrays[r].data, arrays[r].attrs) for r in roles if r in arrays}
        first = arrays[next(r for r in roles if r in arrays and "time" in arrays[r].dims)]
        coords = {name: first[name] for name in ("time", "s1_time") if name in first.coords}
        coords.update({"x": _coords(ref)[0], "y": _coords(ref)[1]})
        return xr.Dataset(data_vars, coords=coords, attrs=dict(attrs))

    try:
        if chunks is not None:
            from mcnnseq.io.lazy import standardize_lazy

            cube = standardize_lazy(dataset(list(rasters)), source=stack_name, chunks=chunks, nodata=nodata,
                                    sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, crs=crs or pyproj_crs,
                                    exact_attrs=bool(record))
        elif paired:
            cube = standardize_cube(dataset(list(rasters)), source=stack_name, nodata=nodata, sigma0=sigma0,
                                    sigma0_log_dn=sigma0_log_dn, crs=crs or pyproj_crs, max_pixels=max_pixels,
                                    exact_attrs=bool(record))
        else:
            from mcnnseq.io.pairing import pair_cubes

            s1_ds = dataset(list(_S1_ROLES)).assign_attrs(source=rasters[s1_role].name)
            s2_ds = dataset([r for r in rasters if r not in _S1_ROLES]).assign_attrs(source=rasters[s2_role].name)
            cube = pair_cubes(s1_ds, s2_ds, tolerance_days=tolerance_days, nodata=nodata, sigma0=sigma0,
                              sigma0_log_dn=sigma0_log_dn, crs=crs or pyproj_crs, max_pixels=max_pixels)
    except DatacubeError as exc:
        role = role_of(exc.variable) if exc.variable else None
        if role in rasters:  # name the file the bad variable came from
            raise DatacubeError(exc.problem, source=rasters[role].name, variable=exc.variable) from None
        raise
    return roundtrip.restore_time_dtypes(cube, record)


def _span(dates: pd.DatetimeIndex) -> str:
    return f"{dates[0].date()} … {dates[-1].date()}" if len(dates) else "none"


def _transform_of(da: xr.DataArray, *, source: str):
    from affine import Affine

    x, y = grid_coords(da, source=source)
    if len(x) > 1 and len(y) > 1:
        dx, dy = x[1] - x[0], y[1] - y[0]
        return Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    try:
        return da.rio.transform()
    except Exception as exc:  # noqa: BLE001
        raise DatacubeError(f"the pixel size cannot be told from a grid of {len(y)} x {len(x)} pixels "
                            f"({_short(exc)})", source=source) from None


def _date_text(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()


def write_geotiff(da: xr.DataArray, path: str | os.PathLike, *, dataset_attrs: Mapping | None = None) -> Path:
    """Write one ``(time, y, x)`` or ``(y, x)`` DataArray as a GeoTIFF, one band per date.

    Floats are written as float32 with NaN as no-data; bool as uint8 (0/1); integers keep their type.
    Band descriptions hold the dates (``YYYY-MM-DD``), band tags the paired ``s1_date``; the CRS and
    the transform are the input's. :func:`read_geotiff` gives the DataArray back exactly (float64
    comes back as float32). Written beside ``path`` first, then moved into place.
    """
    import rasterio
    import rioxarray  # noqa: F401

    path = Path(path)
    source = path.name
    dims = set(da.dims)
    if dims == {"time", "y", "x"}:
        da = da.transpose("time", "y", "x")
    elif dims == {"y", "x"}:
        da = da.transpose("y", "x")
    else:
        raise DatacubeError(f"has dims {tuple(map(str, da.dims))}; a GeoTIFF takes (time, y, x) or (y, x)",
                            source=source, variable=str(da.name))
    crs = da.rio.crs
    if crs is None:
        raise DatacubeError("has no CRS; write one with .rio.write_crs('EPSG:…') first", source=source,
                            variable=str(da.name))
    transform = _transform_of(da, source=source)
    values = np.asarray(da.values)
    if values.ndim == 2:
        values = values[None]
    if values.dtype == bool:
        values, nodata = values.astype(np.uint8), None
    elif values.dtype.kind == "f":
        values, nodata = values.astype(np.float32), float("nan")
    elif values.dtype.kind in "iu":
        nodata = None
    else:
        raise DatacubeError(f"has dtype {values.dtype}, which a GeoTIFF cannot hold", source=source,
                            variable=str(da.name))
    record = {"version": roundtrip.FORMAT_VERSION, "name": None if da.name is None else str(da.name),
              "attrs": roundtrip.to_jsonable(dict(da.attrs)), "time_dtypes": roundtrip.time_dtypes(da)}
    if dataset_attrs is not None:
        record["dataset_attrs"] = roundtrip.to_jsonable(dict(dataset_attrs))
    count, height, width = values.shape
    profile = {"driver": "GTiff", "count": count, "height": height, "width": width, "dtype": values.dtype.name,
               "crs": crs, "transform": transform, "nodata": nodata, "compress": "deflate"}
    if height >= 256 and width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(values)
            dst.update_tags(**{roundtrip.MARKER: json.dumps(record, default=str)})
            if "time" in da.dims:
                for band, stamp in enumerate(pd.DatetimeIndex(da["time"].values), start=1):
                    dst.set_band_description(band, _date_text(stamp))
                if "s1_time" in da.coords:
                    for band, stamp in enumerate(pd.DatetimeIndex(da["s1_time"].values), start=1):
                        dst.update_tags(band, **{_S1_TAG: _date_text(stamp)})
        os.replace(tmp, path)
    except (OSError, rasterio.errors.RasterioError) as exc:
        tmp.unlink(missing_ok=True)
        raise DatacubeError(f"cannot be written ({_short(exc)})", source=source) from exc
    return path


def write_geotiff_stack(obj: xr.Dataset | xr.DataArray, path: str | os.PathLike, *,
                        variable: str | None = None) -> list[Path]:
    """Write GeoTIFFs: a DataArray, or ``obj[variable]``, to the file ``path``; or, for a Dataset
    without ``variable``, every data variable except ``cloud`` (it is ``isnan(ndvi)``) to
    ``path/<name>.tif`` plus ``path/dates.csv`` (``date``, ``s1_date``), a folder that
    :func:`open_geotiff_stack` reads back as the same cube. Returns the paths written.
    """
    path = Path(path)
    if isinstance(obj, xr.DataArray):
        return [write_geotiff(obj, path)]
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"expected an xarray Dataset or DataArray, got {type(obj).__name__}")
    if variable is not None:
        if variable not in obj.data_vars:
            raise DatacubeError(f"no variable '{variable}' (has: {', '.join(map(str, obj.data_vars))})",
                                source=str(obj.attrs.get("source", "dataset")))
        return [write_geotiff(obj[variable], path, dataset_attrs=obj.attrs)]
    path.mkdir(parents=True, exist_ok=True)
    written = [write_geotiff(obj[name], path / f"{name}.tif", dataset_attrs=obj.attrs)
               for name in obj.data_vars if name != "cloud"]
    if "time" in obj.coords:
        table = pd.DataFrame({"date": [_date_text(t) for t in pd.DatetimeIndex(obj["time"].values)]})
        if "s1_time" in obj.coords:
            table["s1_date"] = [_date_text(t) for t in pd.DatetimeIndex(obj["s1_time"].values)]
        table.to_csv(path / DATES_CSV, index=False)
        written.append(path / DATES_CSV)
    return written
