"""Turn files uploaded to the dashboard into a validated datacube (no Streamlit here).

The uploaded bytes are written to a private temporary folder under their own names, read with
:mod:`mcnnseq.io`, loaded into memory and the folder removed. Every failure is a
:class:`~mcnnseq.errors.McnnSeqError` naming the *uploaded* file (never the temporary path) and the
problem, so the page can show it with ``st.error`` and keep the cube it already had.
:func:`in_form_words` rewrites the readers' advice (``nodata=65535``, ``sigma0_log_dn=(20, -83)``)
in the words of the Data page's decoding form (:data:`FORM`).
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
from mcnnseq.defaults import MAX_CELLS
from mcnnseq.errors import DatacubeError, McnnSeqError

#: The labels of the Data page's decoding form (the page draws its widgets with these).
FORM: dict[str, str] = {
    "nodata_on": "Values equal to a no-data code are missing",
    "nodata": "No-data code",
    "sigma0": "Radar values are",
    "auto": "detect (dB or linear σ0)",
    "db": "σ0 in dB",
    "linear": "linear σ0",
    "log-dn": "log-encoded DN: dB = gain·log10(DN) + offset",
    "gain": "Gain",
    "offset": "Offset",
}
_NUM = r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)"


def _num(text: str) -> str:
    value = float(text)
    return f"{value:g}".replace("-", "−")


def in_form_words(message: str) -> str:
    """The readers' advice in the words of the decoding form (:data:`FORM`), for the Data page.

    ``"pass nodata=65535 (or nodata=float('nan') if it is real data)"`` becomes "tick “Values equal
    to a no-data code are missing” and set “No-data code” to 65535 in the decoding options", and so
    on for ``sigma0_log_dn=(gain, offset)``, ``sigma0='linear'``, ``max_pixels``, ``crs=`` and ``names=``.
    """
    f = FORM
    nodata = f"tick “{f['nodata_on']}” and set “{f['nodata']}” to \\1 in the decoding options"
    rules = [
        (r"pass nodata=" + _NUM + r" \(or nodata=float\('nan'\) if it is real data\)",
         nodata + " (leave it unticked if it is real data)"),
        (r"give their decoding, e\.g\. sigma0_log_dn=\(" + _NUM + r", " + _NUM + r"\) for dB = [^,]*, and the "
         r"no-data value with nodata=",
         lambda m: (f"choose “{f['sigma0']}: {f['log-dn']}” with its “{f['gain']}” and “{f['offset']}” in the "
                    f"decoding options (e.g. {_num(m.group(1))} and {_num(m.group(2))}), and tick "
                    f"“{f['nodata_on']}” if the file has a no-data code")),
        (r"after decoding with sigma0_log_dn=\(" + _NUM + r", " + _NUM + r"\) — check gain, offset and nodata",
         lambda m: (f"after decoding with gain {_num(m.group(1))} and offset {_num(m.group(2))} — check "
                    f"“{f['gain']}”, “{f['offset']}” and “{f['nodata']}”")),
        (r"is this linear sigma0 \(sigma0='linear'\)\?", f"is this linear σ0 (choose “{f['sigma0']}: {f['linear']}”)?"),
        (r"open it with sigma0='linear' to convert to dB", f"choose “{f['sigma0']}: {f['linear']}”"),
        (r"more than max_pixels=([\d,]+)", r"more than the dashboard's limit of \1"),
        (r", or raise max_pixels", " (the command line and Python API read larger cubes)"),
        (r"; pass crs='EPSG:…' if you know it", "; write one into the file (the dashboard cannot guess it)"),
        (r" \(map other names with names=\{\.\.\.\}\)", " (rename the variables in the file)"),
        (r"; choose one with names=\{[^}]*\}", "; keep only one of them in the file"),
        (r"nodata=float\('nan'\)", f"“{f['nodata_on']}” unticked"),
    ]
    for pattern, repl in rules:
        message = re.sub(pattern, repl, message)
    return message


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


#: File types the Data page's table uploader accepts (:data:`mcnnseq.io.table.TABLE_FORMATS`).
TABLE_TYPES: tuple[str, ...] = ("csv", "parquet", "pq")


def load_table(upload: Upload, *, options: Mapping[str, Any] | None = None) -> xr.Dataset:
    """A parcel/point table upload (long-form CSV or Parquet, :func:`mcnnseq.io.table.open_table`) -> points cube.

    ``options``: ``crs`` (of x/y columns), ``sigma0`` ("auto", "db", "linear"). Errors name the uploaded
    file, the column and the rows (the reader's messages); anything else unreadable says so.
    """
    from mcnnseq.io.table import open_uploaded_table

    if not upload.data:
        raise DatacubeError("is empty (0 bytes)", source=upload.name)
    suffix = Path(upload.name).suffix.lower().lstrip(".")
    if suffix not in TABLE_TYPES:
        raise DatacubeError(f"is not a table: choose a .csv or .parquet file (got '.{suffix}')", source=upload.name)
    opts = {k: v for k, v in dict(options or {}).items() if v not in (None, "")}
    opts.setdefault("max_pixels", MAX_CELLS)
    try:
        ds = open_uploaded_table(upload.data, upload.name, **opts)
    except McnnSeqError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise DatacubeError(f"cannot be read as a parcel/point table ({type(err).__name__}: {err})",
                            source=upload.name) from None
    return _finish(ds, upload.name)


def _finish(ds: xr.Dataset, source: str) -> xr.Dataset:
    ds.attrs["source"] = source  # (the readers refused a cube over the size limit before reading it)
    return validate_cube(ds, source=source)
