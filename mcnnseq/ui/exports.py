"""File contents and names for the Export page's download buttons (no Streamlit here).

Each function writes with :mod:`mcnnseq.io` / :mod:`mcnnseq.checkpoints` into a private temporary
folder and returns the bytes, so a download is exactly what the CLI would have written: NetCDF files
CF-1.9 style (``grid_mapping`` on every gridded variable, so GDAL and rioxarray find the CRS),
GeoTIFFs with one band per date. :func:`file_name` makes clean names: ``<cube>_<run>_<what>.<ext>``.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import xarray as xr


def slug(text: str) -> str:
    """A file-name-safe version of ``text``: ``"MCNN-Seq"`` -> ``"mcnn-seq"``, ``"CNN · quick (2)"`` -> ``"cnn_quick_2"``."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9.-]+", "_", text.lower())).strip("._-") or "file"


def file_name(stem: str, *parts: str, suffix: str) -> str:
    """``file_name("belgium", "CNN · quick", "ndvi_filled", suffix=".tif")`` -> ``"belgium_cnn_quick_ndvi_filled.tif"``.

    ``stem`` is already file-name-safe (``Cube.file_stem``); ``parts`` are slugged; one suffix, never doubled.
    """
    words = [stem] + [slug(p) for p in parts if p]
    return "_".join(w for w in words if w) + (suffix if suffix.startswith(".") else "." + suffix)


def netcdf_bytes(ds: xr.Dataset, *, name: str = "cube.nc", validate: bool = True) -> bytes:
    """``ds`` as a NetCDF4 file (:func:`mcnnseq.io.write_netcdf`); ``validate=False`` for prediction cubes."""
    from mcnnseq.io import write_netcdf

    with tempfile.TemporaryDirectory(prefix="mcnnseq-export-") as tmp:
        path = write_netcdf(ds, Path(tmp) / name, validate=validate)
        return path.read_bytes()


def geotiff_bytes(da: xr.DataArray, *, name: str = "layer.tif") -> bytes:
    """One ``(time, y, x)`` variable as a GeoTIFF, one band per date (dates in the band descriptions)."""
    from mcnnseq.io import write_geotiff

    with tempfile.TemporaryDirectory(prefix="mcnnseq-export-") as tmp:
        path = write_geotiff(da, Path(tmp) / name)
        return path.read_bytes()


def geotiff_stack_zip(ds: xr.Dataset, *, folder: str = "cube") -> bytes:
    """A cube as a zip of GeoTIFFs (one per variable) and ``dates.csv``, readable by ``open_geotiff_stack``."""
    from mcnnseq.io import write_geotiff_stack

    with tempfile.TemporaryDirectory(prefix="mcnnseq-export-") as tmp:
        root = Path(tmp) / folder
        written = write_geotiff_stack(ds, root)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in written:
                zf.write(path, arcname=f"{folder}/{path.name}")
        return buf.getvalue()


def checkpoint_bytes(trained, *, name: str = "model.pt") -> bytes:
    """A trained model as a checkpoint file that :func:`mcnnseq.checkpoints.load_checkpoint` reloads exactly."""
    from mcnnseq.checkpoints import save_checkpoint

    with tempfile.TemporaryDirectory(prefix="mcnnseq-export-") as tmp:
        return save_checkpoint(trained, Path(tmp) / name).read_bytes()


def csv_bytes(table: pd.DataFrame, *, index: bool = True) -> bytes:
    """A table as UTF-8 CSV (dates as ``YYYY-MM-DD``)."""
    return table.to_csv(index=index, date_format="%Y-%m-%d").encode("utf-8")


def per_date_table(per_date: pd.DataFrame) -> pd.DataFrame:
    """Flatten a Table 4-form frame (columns ``(model, metric)``) for CSV: columns ``<model>_<metric>``."""
    out = per_date.copy()
    out.columns = [f"{m}_{k}" for m, k in out.columns]
    out.index = [str(pd.Timestamp(i).date()) if i != "mean" else "mean" for i in out.index]
    out.index.name = "date"
    return out


def agreement_table(view) -> pd.DataFrame:
    """A :class:`mcnnseq.workspace.CropView`'s Table 3 for CSV: one row per class, its label and size, then
    ``<run>_r2`` / ``<run>_rmse`` columns (R² empty on flat curves)."""
    flat = view.agreement.copy()
    flat.columns = [f"{m}_{k}" for m, k in flat.columns]
    out = view.classes.join(flat, how="left")
    out.index.name = view.by
    return out


def gap_length_table(evaluation) -> pd.DataFrame:
    """The error-by-gap-length table (:func:`mcnnseq.workspace.gap_table`) with flat column names for a CSV:
    index ``grouping``, ``gap``; columns "<run> R²", "<run> RMSE", "<run> n"."""
    from mcnnseq.workspace import gap_table

    table = gap_table(evaluation)
    table.columns = [f"{m} {dict(r2='R²', rmse='RMSE', n='n')[k]}" for m, k in table.columns]
    return table


def table_file(ds: xr.Dataset, fmt: str = "csv", *, cube: xr.Dataset | None = None) -> bytes:
    """A points cube or its prediction (with ``cube``'s observations beside it) as a long-form table, CSV or
    Parquet bytes (:func:`mcnnseq.io.table.table_bytes`; :func:`mcnnseq.io.table.open_table` reads it back)."""
    from mcnnseq.io.table import table_bytes

    return table_bytes(ds, fmt, cube=cube)
