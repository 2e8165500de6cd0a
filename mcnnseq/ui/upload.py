"""Turn files uploaded to the dashboard into a validated datacube (no Streamlit here).

The uploaded bytes are written to a private temporary folder under their own names, read with
:mod:`mcnnseq.io`, loaded into memory and the folder removed. Every failure is a
:class:`~mcnnseq.errors.McnnSeqError` naming the *uploaded* file (never the temporary path) and the
problem, so the page can show it with ``st.error`` and keep the cube it already had.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from mcnnseq.datacube import validate_cube
from mcnnseq.errors import DatacubeError, McnnSeqError

#: Largest cube the dashboard holds in memory, in cells (dates x rows x columns): 31 x 1100 x 1100.
#: About 1.4 GB of float32 over vv, vh, ndvi, ndvi-derived arrays and predictions of three models.
MAX_CELLS = 31 * 1100 * 1100


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as the user sent it and its bytes."""

    name: str
    data: bytes


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[:120]


def _rename(err: McnnSeqError, tmp: Path, names: Mapping[str, str]) -> McnnSeqError:
    """The same error with the temporary paths and names replaced by the uploaded file names."""

    def fix(text: str | None) -> str | None:
        if text is None:
            return None
        text = text.replace(str(tmp) + "/", "")
        for tmp_name, user_name in names.items():
            if tmp_name != user_name:
                text = text.replace(tmp_name, user_name)
        return text

    if isinstance(err, DatacubeError):
        return DatacubeError(fix(err.problem), source=fix(err.source) or next(iter(names.values()), None),
                             variable=err.variable)
    return type(err)(fix(str(err)))


def check_size(ds: xr.Dataset, *, source: str, max_cells: int = MAX_CELLS) -> None:
    """Raise :class:`DatacubeError` when the cube is too large for the dashboard."""
    cells = ds.sizes.get("time", 1) * ds.sizes.get("y", 1) * ds.sizes.get("x", 1)
    if cells > max_cells:
        raise DatacubeError(
            f"is too large for the dashboard: {ds.sizes.get('time', 1)} dates x {ds.sizes.get('y', 1)} x "
            f"{ds.sizes.get('x', 1)} pixels = {cells / 1e6:.0f} million cells (limit {max_cells / 1e6:.0f} million). "
            "Cut out a smaller area, or use the command line / Python API (mcnnseq) on the whole cube",
            source=source)


def _read(files: Mapping[str, Upload], reader) -> xr.Dataset:
    """Write ``files`` (role -> upload) to a temp folder, call ``reader({role: path})``, load, clean up."""
    with tempfile.TemporaryDirectory(prefix="mcnnseq-upload-") as tmpdir:
        tmp = Path(tmpdir)
        paths, names = {}, {}
        for role, up in files.items():
            fname = _safe_name(up.name)
            if fname in names:
                fname = f"{role}_{fname}"
            (tmp / fname).write_bytes(up.data)
            paths[role] = tmp / fname
            names[fname] = up.name
        first = next(iter(files.values())).name
        try:
            ds = reader(paths)
            ds = ds.load()
            ds.close()
        except McnnSeqError as err:
            raise _rename(err, tmp, names) from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
            detail = str(err).replace(str(tmp) + "/", "")
            raise DatacubeError(f"cannot be read as a datacube ({type(err).__name__}: {detail})",
                                source=first) from None
    return ds


def load_netcdf(upload: Upload, *, options: Mapping[str, Any] | None = None) -> xr.Dataset:
    """A NetCDF (or HDF5-NetCDF) cube upload -> validated datacube.

    ``options`` are passed to :func:`mcnnseq.io.open_cube` (e.g. ``nodata``, ``sigma0`` and its
    decoding parameters); the result's ``source`` attribute is the uploaded file name.
    """
    from mcnnseq.io import open_cube

    if not upload.data:
        raise DatacubeError("is empty (0 bytes)", source=upload.name)
    opts = dict(options or {})
    opts.setdefault("max_pixels", MAX_CELLS)
    ds = _read({"cube": upload}, lambda p: open_cube(p["cube"], **opts))
    return _finish(ds, upload.name)


def load_geotiff_stack(files: Mapping[str, Upload], *, options: Mapping[str, Any] | None = None) -> xr.Dataset:
    """GeoTIFF stack uploads -> validated datacube.

    ``files`` maps a role to an upload: ``vv``, ``vh`` and ``ndvi`` (or ``red`` and ``nir``) with one band
    per date, optional ``dates`` (a dates.csv), ``crop`` and ``field`` (one-band GeoTIFFs). ``options`` go
    to :func:`mcnnseq.io.open_geotiff_stack` (``nodata``, ``sigma0``, ``sigma0_log_dn``…).
    """
    from mcnnseq.io import open_geotiff_stack

    for role, up in files.items():
        if not up.data:
            raise DatacubeError("is empty (0 bytes)", source=up.name, variable=role)
    opts = dict(options or {})
    opts.setdefault("max_pixels", MAX_CELLS)

    def reader(paths: Mapping[str, Path]) -> xr.Dataset:
        stacks = {role: path for role, path in paths.items() if role not in ("dates", "crop", "field")}
        return open_geotiff_stack(stacks, dates_csv=paths.get("dates"), crop=paths.get("crop"),
                                  field=paths.get("field"), **opts)

    ds = _read(files, reader)
    return _finish(ds, " + ".join(u.name for u in files.values()))


def _finish(ds: xr.Dataset, source: str) -> xr.Dataset:
    ds.attrs["source"] = source
    check_size(ds, source=source)
    return validate_cube(ds, source=source)
