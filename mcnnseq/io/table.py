"""Parcel / point tables (CSV or Parquet, long form) in and out: the series people export from Earth
Engine or openEO for their fields (SPEC §3 f).

A table has one row per id and date::

    id,date,vv,vh,ndvi,crop,lon,lat
    p001,2021-03-02,-11.2,-17.9,,maize,4.3521,50.8410
    p001,2021-03-04,,,0.41,maize,4.3521,50.8410

:func:`open_table` turns it into a **points cube** (see :mod:`mcnnseq.datacube`): dims
``(time, y=1, x=n_ids)``, coordinate ``id`` (and ``lon``/``lat``) along ``x``, ``attrs["layout"] ==
"points"``, so sampling, training, evaluation and prediction treat each id as a pixel.
:func:`write_table` writes a points cube and/or its prediction back in the same long form.

Dates: radar (``vv``/``vh``) and optical (``ndvi``) values may sit on the same rows (one date list,
as an openEO export on a common time grid gives), or on rows of their own dates (S1 and S2
acquisitions exported separately). In the second case each S2 date is paired, for every id, with
that id's nearest radar row no more than ``tolerance_days`` away (ties: the earlier one) — the rule
of :func:`mcnnseq.io.pairing.pair_dates`, applied per id so that ids on different S1 tracks each
get their own nearest acquisition.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import (DB_RANGE, DIMS, NDVI_RANGE, POINTS_LAYOUT, crop_class_names, is_points, new_cube,
                              validate_cube)
from mcnnseq.errors import DatacubeError
from mcnnseq.io import decode
from mcnnseq.io.aliases import VARIABLE_ALIASES, apply_explicit_names, normalize_name
from mcnnseq.io.pairing import describe_pairing, pair_dates
from mcnnseq.io.standardize import DEFAULT_MAX_PIXELS, check_options, check_size

#: Table column roles -> accepted column names (matching ignores case and non-alphanumerics).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "point_id", "sample_id", "plot_id", "site_id", "pixel_id", "fid", "parcel_id", "field_id",
           "parcel", "field"),
    "date": ("date", "time", "datetime", "day", "acquisition_date", "timestamp", "system:time_start", "t",
             "s2_date"),
    "s1_date": ("s1_date", "s1_time", "date_s1"),
    "vv": VARIABLE_ALIASES["vv"],
    "vh": VARIABLE_ALIASES["vh"],
    "ndvi": VARIABLE_ALIASES["ndvi"],
    "red": VARIABLE_ALIASES["red"],
    "nir": VARIABLE_ALIASES["nir"],
    "crop": VARIABLE_ALIASES["crop"] + ("crop_name", "cropname", "crop_code"),
    "lon": ("lon", "longitude", "long", "lng"),
    "lat": ("lat", "latitude"),
    "x": ("x", "easting"),
    "y": ("y", "northing"),
}
#: Columns a table must have (``ndvi`` may be replaced by ``red`` and ``nir``).
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "date", "vv", "vh", "ndvi")
#: File suffixes :func:`write_table` knows.
TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Per-date variables written to a table, in this order (others of a cube or prediction follow).
_SERIES_ORDER = ("vv", "vh", "ndvi", "ndvi_pred", "ndvi_filled")
_MEASURES = ("vv", "vh", "ndvi", "red", "nir")
_SHOW = 5  # rows listed in a message

TableSource = str | os.PathLike | bytes | BinaryIO


# --------------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------------

class _Table:
    """A table as read, with what a message needs: its name and how it numbers rows."""

    def __init__(self, frame: pd.DataFrame, *, label: str, csv: bool, sep: str = ","):
        self.frame = frame
        self.label = label
        self.csv = csv
        self.sep = sep

    def where(self, positions: Sequence[int] | np.ndarray) -> str:
        """``"lines 3, 7"`` (CSV: the file's line numbers, header = line 1) or ``"rows 2, 6"`` (Parquet, from 1)."""
        positions = np.asarray(positions, dtype=np.int64)
        numbers = positions + (2 if self.csv else 1)
        word = "line" if self.csv else "row"
        shown = ", ".join(str(n) for n in numbers[:_SHOW])
        more = f" … ({len(numbers):,} in all)" if len(numbers) > _SHOW else ""
        return f"{word}{'s' if len(numbers) > 1 else ''} {shown}{more}"

    def error(self, problem: str, column: str | None = None) -> DatacubeError:
        return DatacubeError(f"column '{column}': {problem}" if column else problem, source=self.label)


def _head(source: TableSource, label: str) -> tuple[bytes, bytes | None]:
    """The first bytes of ``source`` and, for in-memory sources, all of them."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data[:4096], data
    if hasattr(source, "read"):
        data = source.read()
        return data[:4096], data
    path = Path(source)
    if not path.exists():
        raise DatacubeError(f"does not exist (looked for {path})", source=label)
    if path.is_dir():
        raise DatacubeError("is a folder, not a table (CSV or Parquet file)", source=label)
    try:
        with open(path, "rb") as fh:
            return fh.read(4096), None
    except OSError as exc:
        raise DatacubeError(f"cannot be read ({exc.strerror or exc})", source=label) from None


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(source: TableSource, *, name: str | None = None) -> _Table:
    """Read a CSV (``,`` ``;`` tab or ``|`` separated, optionally gzip-compressed) or Parquet table.

    The format is told from the content (Parquet files start with ``PAR1``), not the suffix. CSV
    cells are read as text so that a bad value can be reported with its line.
    """
    label = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "table")
    head, data = _head(source, label)
    if not head:
        raise DatacubeError("is empty (0 bytes): no table", source=label)
    buffer = io.BytesIO(data) if data is not None else source
    if head.startswith(b"PAR1"):
        try:
            frame = pd.read_parquet(buffer)
        except Exception as exc:  # noqa: BLE001  (pyarrow raises many types for a broken file)
            raise DatacubeError(f"cannot be read as Parquet: corrupt or truncated ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:160] if str(exc) else ''})", source=label) from exc
        return _Table(frame.reset_index(drop=frame.index.name is None), label=label, csv=False)
    compression = None
    if head.startswith(b"\x1f\x8b"):
        import gzip

        compression = "gzip"
        try:
            with gzip.open(io.BytesIO(data) if data is not None else source, "rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise DatacubeError(f"is a broken gzip file ({exc})", source=label) from None
    for magic, what in ((b"PK\x03\x04", "a ZIP archive (unzip it first)"), (b"\x89HDF", "a NetCDF/HDF5 file "
                        "(open it with --data)"), (b"CDF", "a NetCDF file (open it with --data)"),
                        (b"II*\x00", "a GeoTIFF (open GeoTIFF stacks with open_geotiff_stack)"),
                        (b"MM\x00*", "a GeoTIFF (open GeoTIFF stacks with open_geotiff_stack)")):
        if head.startswith(magic):
            raise DatacubeError(f"is {what}, not a CSV or Parquet table", source=label)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "\x00" in text:
        raise DatacubeError("is a binary file, not a CSV or Parquet table", source=label)
    first = text.splitlines()[0] if text.strip() else ""
    sep = _delimiter(first)
    if isinstance(buffer, io.BytesIO):
        buffer.seek(0)
    try:
        frame = pd.read_csv(buffer, sep=sep, dtype=str, skipinitialspace=True, compression=compression,
                            encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DatacubeError("is empty: no header and no rows", source=label) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DatacubeError(f"cannot be read as a CSV table ({str(exc).splitlines()[0][:200]})",
                            source=label) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return _Table(frame, label=label, csv=True, sep=sep)


# --------------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------------

def find_columns(columns: Sequence[str], *, source: str | None = None,
                 names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map each table role (``id``, ``date``, ``vv``…) to the one column standing for it.

    A column literally named after the role wins over its aliases; two aliases of one role raise
    (pick one with ``names={"vv": "…"}``).
    """
    columns = [str(c) for c in columns]
    explicit = dict(names or {})
    found: dict[str, list[str]] = {}
    for col in columns:
        key = normalize_name(col)
        for role, aliases in COLUMN_ALIASES.items():
            if key in {normalize_name(a) for a in aliases}:
                found.setdefault(role, []).append(col)
    roles: dict[str, str] = {}
    taken: set[str] = set()
    # the id role takes 'parcel'/'field' names only when no plainer id column exists
    for role in COLUMN_ALIASES:
        if role in explicit:
            continue
        candidates = [c for c in found.get(role, []) if c not in taken]
        if not candidates:
            continue
        exact = [c for c in candidates if normalize_name(c) == normalize_name(role)]
        if exact:
            pick = exact[0]
        elif len(candidates) == 1 or role == "id":
            ranked = sorted(candidates, key=lambda c: [normalize_name(a) for a in COLUMN_ALIASES[role]].index(
                normalize_name(c)))
            pick = ranked[0]
        else:
            raise DatacubeError(f"several columns could be '{role}': {', '.join(candidates)}; choose one with "
                                f"names={{'{role}': '…'}}", source=source)
        roles[role] = pick
        taken.add(pick)
    return apply_explicit_names(roles, explicit, roles_known=COLUMN_ALIASES, found=columns, kind="column",
                                source=source)


def _require(roles: Mapping[str, str], table: _Table) -> None:
    missing = []
    for role in REQUIRED_COLUMNS:
        if role in roles or (role == "ndvi" and "red" in roles and "nir" in roles):
            continue
        examples = ", ".join(dict.fromkeys(COLUMN_ALIASES[role][:4]))
        missing.append(f"'{role}' (e.g. {examples})")
    if missing:
        cols = ", ".join(map(str, table.frame.columns)) or "none"
        raise table.error(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the table has: "
                          f"{cols}. A table is long form: one row per id and date with id, date, vv, vh (dB) "
                          "and ndvi (map other names with names={...})")


def _numeric(table: _Table, column: str, *, nodata: float | None) -> np.ndarray:
    """A column as float64 (NaN = empty), or an error naming the rows holding text."""
    raw = table.frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raise table.error("holds true/false values, not numbers", column)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = raw.astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = (text.fillna("") != "").to_numpy(dtype=bool) & np.isnan(values)
        if bad.any() and table.sep == ";":  # decimal commas ("0,53") in semicolon-separated files
            alt = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)
            fixed = bad & ~np.isnan(alt)
            values = np.where(fixed, alt, values)
            bad &= ~fixed
        if bad.any():
            rows = np.flatnonzero(bad)
            raise table.error(f"{table.where(rows)} hold{'s' if len(rows) == 1 else ''} text that is not a number "
                              f"({raw.iloc[rows[0]]!r}); leave a missing value empty", column)
    if np.isinf(values).any():
        rows = np.flatnonzero(np.isinf(values))
        raise table.error(f"{table.where(rows)} hold infinite values; a measurement is finite or empty", column)
    if nodata is not None and not np.isnan(nodata):
        values = np.where(values == nodata, np.nan, values)
    return values


def _dates(table: _Table, column: str, *, allow_empty: bool = False) -> pd.DatetimeIndex:
    """Dates of a column as days (``datetime64[ns]`` at midnight, UTC), or an error naming the rows.

    Empty cells are an error, or NaT with ``allow_empty``.
    """
    raw = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        times = pd.DatetimeIndex(raw)
        if times.tz is not None:
            times = times.tz_convert("UTC").tz_localize(None)
    else:
        text = raw.astype("string").str.strip()
        empty = (text.fillna("") == "").to_numpy(dtype=bool)
        if empty.any() and not allow_empty:
            rows = np.flatnonzero(empty)
            raise table.error(f"{table.where(rows)} have no date; every row needs one", column)
        text = text.where(~empty, pd.NA)
        numeric = pd.to_numeric(text, errors="coerce")
        if numeric[~empty].notna().all():
            times = pd.DatetimeIndex(np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]"))
            if (~empty).any():
                found = _numeric_dates(numeric[~empty].to_numpy(dtype=np.float64), table, column)
                values = times.values.copy()
                values[~empty] = found.values.astype("datetime64[ns]")
                times = pd.DatetimeIndex(values)
        else:
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
            todo = parsed.isna().to_numpy() & ~empty
            if todo.any():
                again = pd.to_datetime(text[todo], errors="coerce", format="mixed", utc=True)
                parsed = parsed.copy()
                parsed[todo] = again
            bad = parsed.isna().to_numpy() & ~empty
            if bad.any():
                rows = np.flatnonzero(bad)
                raise table.error(f"{table.where(rows)} hold values that are not dates ({raw.iloc[rows[0]]!r}); "
                                  "write dates as YYYY-MM-DD", column)
            times = pd.DatetimeIndex(parsed).tz_convert("UTC").tz_localize(None)
    if times.hasnans and not allow_empty:
        rows = np.flatnonzero(times.isna())
        raise table.error(f"{table.where(rows)} have no date; every row needs one", column)
    return times.floor("D").astype("datetime64[ns]")


def _numeric_dates(values: np.ndarray, table: _Table, column: str) -> pd.DatetimeIndex:
    """Numbers that are dates: YYYYMMDD, or Earth Engine's ``system:time_start`` (ms since 1970)."""
    if np.all((values >= 1e11) & (values < 1e13)):  # 1973 … 2286 in milliseconds
        return pd.DatetimeIndex(pd.to_datetime(values, unit="ms"))
    as_int = values.astype(np.int64)
    if np.all(values == as_int) and np.all((as_int >= 19000101) & (as_int <= 21001231)):
        parsed = pd.to_datetime(pd.Series(as_int.astype(str)), format="%Y%m%d", errors="coerce")
        if parsed.notna().all():
            return pd.DatetimeIndex(parsed)
        rows = np.flatnonzero(parsed.isna().to_numpy())
        raise table.error(f"{table.where(rows)} are not YYYYMMDD dates ({int(values[rows[0]])})", column)
    raise table.error("holds plain numbers, not dates: write dates as YYYY-MM-DD (Earth Engine's "
                      "system:time_start in milliseconds since 1970 is understood too)", column)


def _radar_db(table: _Table, column: str, values: np.ndarray, *, sigma0: str) -> tuple[np.ndarray, str]:
    """σ0 column -> dB; linear σ0 detected as the cube readers do; mixed units refused, naming the rows."""
    key = normalize_name(column)
    unit_hint = "db" if key.endswith("db") else ""
    finite = np.isfinite(values)
    if sigma0 == "auto" and not unit_hint:
        linear_like = finite & (values > 0) & (values < 1)
        db_like = finite & (values < -1)  # impossible for a linear power ratio
        if linear_like.any() and db_like.any():
            lin_rows, db_rows = np.flatnonzero(linear_like), np.flatnonzero(db_like)
            minority, other, what = ((lin_rows, db_rows, "look like linear σ0 (between 0 and 1)")
                                     if len(lin_rows) <= len(db_rows) else
                                     (db_rows, lin_rows, "are in dB (below −1)"))
            raise table.error(
                f"mixed units: {table.where(minority)} {what} while {len(other):,} other row(s) "
                f"{'are in dB' if what.startswith('look') else 'look like linear σ0'}; one unit per column "
                "(dB = 10·log10(σ0)). If every value is dB, pass sigma0='db' (CLI --sigma0 db)", column)
    mode = sigma0
    if mode == "auto":
        mode = "db" if unit_hint == "db" else ("linear" if decode.looks_linear(values) else "db")
    if mode == "linear":
        bad = finite & (values < 0)
        db = decode.linear_to_db(values)
        how = "converted from linear sigma0: dB = 10*log10(sigma0)"
        if bad.any():
            rows = np.flatnonzero(bad)
            raise table.error(f"{table.where(rows)} are negative, which linear σ0 cannot be (dB values in a "
                              "linear column?)", column)
    else:
        db, how = values, ""
    out = finite & ((db < DB_RANGE[0]) | (db > DB_RANGE[1]))
    if out.any():
        rows = np.flatnonzero(out)
        lo, hi = float(np.nanmin(db[out])), float(np.nanmax(db[out]))
        hint = " — digital numbers or another unit? Convert them to dB" if hi > DB_RANGE[1] else ""
        raise table.error(f"{table.where(rows)} hold {lo:.4g} … {hi:.4g} dB, outside the plausible "
                          f"{DB_RANGE[0]:g} … {DB_RANGE[1]:g} dB{hint}", column)
    return db, how


def _check_ndvi(table: _Table, column: str, values: np.ndarray) -> None:
    out = np.isfinite(values) & ((values < NDVI_RANGE[0]) | (values > NDVI_RANGE[1]))
    if out.any():
        rows = np.flatnonzero(out)
        hint = " (scaled by 10000? divide it)" if np.nanmax(np.abs(values[out])) > 100 else ""
        raise table.error(f"{table.where(rows)} hold {float(values[rows[0]]):g}; NDVI lies in −1 … 1{hint}", column)


def _ids(table: _Table, column: str) -> np.ndarray:
    raw = table.frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        empty = raw.isna().to_numpy()
        values = raw.to_numpy()
    else:
        text = raw.astype("string").str.strip()
        empty = (text.fillna("") == "").to_numpy(dtype=bool)
        values = text.to_numpy(dtype=object, na_value=None)
    if empty.any():
        rows = np.flatnonzero(empty)
        raise table.error(f"{table.where(rows)} have no id; every row needs one", column)
    if values.dtype == object and all(re.fullmatch(r"-?(0|[1-9]\d{0,17})", v) for v in values):
        values = values.astype(np.int64)  # integer ids stay integers (ids like '007' stay text)
    elif values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    return values


def _per_id(table: _Table, column: str, values: np.ndarray, codes: np.ndarray, n_ids: int, ids: np.ndarray,
            *, what: str, tol: float = 0.0) -> np.ndarray:
    """One value per id from a column that must not change within an id (crop, lon, lat).

    ``values`` is float64 (NaN = empty) or object (None = empty); ids without any value get NaN / None.
    """
    numeric = values.dtype.kind == "f"
    present = np.isfinite(values) if numeric else np.array([v is not None for v in values], dtype=bool)
    out = np.full(n_ids, np.nan) if numeric else np.full(n_ids, None, dtype=object)
    if not present.any():
        return out
    rows = np.flatnonzero(present)
    first = pd.Series(values[rows]).groupby(codes[rows], sort=False).first()
    ref = first.reindex(codes[rows]).to_numpy()
    differs = (np.abs(values[rows].astype(np.float64) - ref.astype(np.float64)) > tol) if numeric \
        else values[rows] != ref
    if differs.any():
        code = codes[rows[np.flatnonzero(differs)[0]]]
        where = rows[codes[rows] == code]
        raise table.error(f"id {ids[code]!r} has more than one {what} ({table.where(where)}); it must be the same "
                          "on every row of an id", column)
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def _crops(table: _Table, column: str, codes: np.ndarray, n_ids: int, ids: np.ndarray) -> tuple[np.ndarray, str]:
    """Per-id crop codes (int16, 0 = unknown) and the ``crop_classes`` text (``"1=maize; 2=wheat"``)."""
    raw = table.frame[column]
    text = raw.astype("string").str.strip()
    text = text.where(text != "", pd.NA)
    numbers = pd.to_numeric(text, errors="coerce")
    is_code = bool(text.notna().any()) and bool(numbers[text.notna()].notna().all())
    if is_code:
        vals = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(vals)
        bad = finite & ((vals != np.round(vals)) | (vals < 0) | (vals > np.iinfo(np.int16).max))
        if bad.any():
            rows = np.flatnonzero(bad)
            raise table.error(f"{table.where(rows)} hold {vals[rows[0]]:g}; crop codes are whole numbers "
                              f"1 … {np.iinfo(np.int16).max} (0 or empty = unknown), or crop names", column)
        per_id = _per_id(table, column, vals, codes, n_ids, ids, what="crop")
        crop = np.where(np.isfinite(per_id), per_id, 0).astype(np.int16)
        present = sorted(int(c) for c in np.unique(crop) if c > 0)
        return crop, "; ".join(f"{c}={c}" for c in present)
    names = text.to_numpy(dtype=object, na_value=None)
    per_id = _per_id(table, column, names, codes, n_ids, ids, what="crop")
    classes = sorted({n for n in per_id if n is not None})
    lookup = {name: i + 1 for i, name in enumerate(classes)}
    crop = np.array([lookup.get(n, 0) for n in per_id], dtype=np.int16)
    return crop, "; ".join(f"{code}={name}" for name, code in lookup.items())


def _lonlat(table: _Table, roles: Mapping[str, str], codes: np.ndarray, n_ids: int, ids: np.ndarray, *, crs,
            nodata: float | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-id longitude/latitude from ``lon``/``lat`` columns, or from ``x``/``y`` in ``crs``."""
    if "lon" in roles or "lat" in roles:
        if not ("lon" in roles and "lat" in roles):
            have, lack = ("lon", "lat") if "lon" in roles else ("lat", "lon")
            raise table.error(f"has a '{roles[have]}' column but no '{lack}' column; give both (degrees)")
        lon = _numeric(table, roles["lon"], nodata=nodata)
        lat = _numeric(table, roles["lat"], nodata=nodata)
        for col, vals, limit in ((roles["lon"], lon, 180), (roles["lat"], lat, 90)):
            out = np.isfinite(vals) & (np.abs(vals) > limit)
            if out.any():
                rows = np.flatnonzero(out)
                raise table.error(f"{table.where(rows)} hold {vals[rows[0]]:g}, beyond ±{limit} degrees (projected "
                                  "coordinates belong in x/y columns with their CRS)", col)
        where = (roles["lon"], roles["lat"])
    elif "x" in roles and "y" in roles:
        if crs is None:
            raise table.error(f"columns '{roles['x']}'/'{roles['y']}' are coordinates in an unknown CRS: pass "
                              "crs='EPSG:…' (CLI --crs) to place the points, or give lon/lat columns")
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        try:
            transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        except CRSError as exc:
            raise table.error(f"crs={crs!r} cannot be understood ({exc})") from None
        x = _numeric(table, roles["x"], nodata=nodata)
        y = _numeric(table, roles["y"], nodata=nodata)
        lon, lat = transformer.transform(x, y)
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        where = (roles["x"], roles["y"])
    else:
        return None
    lon_id = _per_id(table, where[0], lon, codes, n_ids, ids, what="location", tol=1e-6)
    lat_id = _per_id(table, where[1], lat, codes, n_ids, ids, what="location", tol=1e-6)
    return lon_id.astype(np.float64), lat_id.astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Rows -> points cube
# --------------------------------------------------------------------------------------------------

def _merge_rows(table: _Table, frame: pd.DataFrame, ids: np.ndarray, roles: Mapping[str, str]) -> pd.DataFrame:
    """One row per (id, day): rows that complement each other (radar on one, NDVI on the other) merge;
    two rows giving the same measurement for one id and day are an error naming both."""
    cols = [c for c in _MEASURES + ("s1_date",) if c in frame.columns]
    grouped = frame.groupby(["code", "date"], sort=False)
    counts = grouped[cols].count()
    dup = counts[(counts > 1).any(axis=1)]
    if len(dup):
        code, day = dup.index[0]
        col = next(c for c in cols if dup.loc[(code, day), c] > 1)
        rows = np.flatnonzero((frame["code"].to_numpy() == code) & (frame["date"].to_numpy() == day)
                              & frame[col].notna().to_numpy())
        raise table.error(f"duplicate rows: id {ids[code]!r} on {pd.Timestamp(day).date()} has {len(rows)} rows "
                          f"giving '{roles.get(col, col)}' ({table.where(rows)}); keep one row per id and date "
                          f"({len(dup):,} id/date pair(s) are duplicated)")
    return grouped[cols].first().reset_index()


def _assemble(table: _Table, merged: pd.DataFrame, n_ids: int, *, tolerance_days: float,
              blank_days: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex, np.ndarray, np.ndarray,
                                                     np.ndarray, str]:
    """Dates and (time, n_ids) vv, vh, ndvi arrays from the merged rows (see the module docstring).

    ``blank_days``: the dates of rows with no radar and no NDVI value (cloudy optical acquisitions).
    """
    has_radar = merged["vv"].notna() | merged["vh"].notna()
    has_ndvi = merged["ndvi"].notna()
    radar_days = pd.DatetimeIndex(np.unique(merged.loc[has_radar, "date"]))
    ndvi_days = pd.DatetimeIndex(np.unique(merged.loc[has_ndvi, "date"]))
    if len(radar_days) == 0:
        raise table.error("has no radar value at all (every vv and vh cell is empty)")
    if len(ndvi_days) == 0:
        raise table.error("has no NDVI value at all (every ndvi cell is empty)")

    def grid(frame: pd.DataFrame, days: pd.DatetimeIndex, col: str) -> np.ndarray:
        out = np.full((len(days), n_ids), np.nan, dtype=np.float64)
        sub = frame[frame[col].notna()]
        ti = days.get_indexer(pd.DatetimeIndex(sub["date"]))
        keep = ti >= 0
        out[ti[keep], sub["code"].to_numpy()[keep]] = sub[col].to_numpy(dtype=np.float64)[keep]
        return out

    if "s1_date" in merged.columns and merged["s1_date"].notna().any():
        # rows already paired: 'date' is the S2 date, 's1_date' its radar date
        days = pd.DatetimeIndex(np.unique(merged["date"]))
        per_day = merged.dropna(subset=["s1_date"]).groupby("date")["s1_date"].nunique()
        if (per_day > 1).any():
            day = per_day.index[per_day > 1][0]
            raise table.error(f"date {pd.Timestamp(day).date()} has several s1_date values; one radar date per date")
        s1 = merged.dropna(subset=["s1_date"]).groupby("date")["s1_date"].first().reindex(days)
        s1 = pd.DatetimeIndex(s1.fillna(pd.Series(days, index=days)).to_numpy())
        return (days, s1, grid(merged, days, "vv"), grid(merged, days, "vh"), grid(merged, days, "ndvi"),
                f"{len(days)} dates, paired with the s1_date column")
    optical_only = ndvi_days.union(blank_days).difference(radar_days)
    if len(optical_only) == 0:
        # one date list: radar and NDVI on the same rows
        days = radar_days
        text = f"{len(days)} dates with radar and NDVI on the same rows"
        return days, days, grid(merged, days, "vv"), grid(merged, days, "vh"), grid(merged, days, "ndvi"), text
    # separate S1 and S2 dates: a row with no value at all is a cloudy S2 acquisition
    s2_days = ndvi_days.union(blank_days)
    pairs = pair_dates(radar_days, s2_days, tolerance_days=tolerance_days)
    kept = pairs[pairs["paired"]]
    if kept.empty:
        raise table.error(f"no S2 date has an S1 date within {tolerance_days:g} days (S1: {radar_days[0].date()} … "
                          f"{radar_days[-1].date()}, S2: {s2_days[0].date()} … {s2_days[-1].date()}); "
                          "raise tolerance_days (CLI --tolerance-days)")
    days = pd.DatetimeIndex(kept["s2_date"])
    s1_days = pd.DatetimeIndex(kept["s1_date"])
    ndvi = grid(merged, days, "ndvi")
    # per id: the nearest radar row (vv and vh both present) within the tolerance, ties to the earlier one
    radar = merged[merged["vv"].notna() & merged["vh"].notna()][["code", "date", "vv", "vh"]]
    radar = radar.rename(columns={"date": "s1"}).sort_values("s1")
    left = pd.DataFrame({"code": np.tile(np.arange(n_ids), len(days)), "date": np.repeat(days.values, n_ids),
                         "ti": np.repeat(np.arange(len(days)), n_ids)}).sort_values("date")
    joined = pd.merge_asof(left, radar, left_on="date", right_on="s1", by="code", direction="nearest",
                           tolerance=pd.Timedelta(days=tolerance_days))
    vv = np.full((len(days), n_ids), np.nan)
    vh = np.full((len(days), n_ids), np.nan)
    vv[joined["ti"].to_numpy(), joined["code"].to_numpy()] = joined["vv"].to_numpy(dtype=np.float64)
    vh[joined["ti"].to_numpy(), joined["code"].to_numpy()] = joined["vh"].to_numpy(dtype=np.float64)
    text = describe_pairing(pairs, tolerance_days=tolerance_days) + "; per id the nearest radar row"
    lacking = int((~np.isfinite(vv)).any(axis=0).sum())
    if lacking:
        text += f"; {lacking} id(s) lack radar within {tolerance_days:g} days of some date (not predicted)"
    return days, s1_days, vv, vh, ndvi, text


def open_table(source: TableSource, *, name: str | None = None, crs=None, sigma0: str = "auto",
               nodata: float | None = None, tolerance_days: float = 6, names: Mapping[str, str] | None = None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> xr.Dataset:
    """Open a long-form parcel/point table (CSV or Parquet) as a points cube (see module docstring).

    Parameters
    ----------
    source
        A path, or the file's bytes / a binary file object (uploads; give ``name`` for messages).
    crs
        CRS of ``x``/``y`` coordinate columns (not needed for ``lon``/``lat``).
    sigma0
        ``"auto"`` (dB unless the column is clearly linear σ0, as the cube readers decide; a column
        named ``…_db`` is dB), ``"db"`` or ``"linear"``. A column mixing both is refused.
    nodata
        A number meaning "missing" in the numeric columns (e.g. -9999); empty cells are always missing.
    tolerance_days
        Largest S1–S2 gap when radar and NDVI come on rows of different dates.
    names
        ``{role: column}`` for names the aliases do not cover (roles: ``id``, ``date``, ``vv``, ``vh``,
        ``ndvi``, ``crop``, ``lon``, ``lat``, ``x``, ``y``, ``s1_date``).
    max_pixels
        Refuse more than this many cells (dates × ids).

    Returns a validated points cube: ``vv``/``vh`` (dB), ``ndvi``, ``cloud`` on ``(time, 1, n_ids)``,
    ``crop`` (``(1, n_ids)`` int16, names in ``attrs["crop_classes"]``) where the table has one,
    coordinates ``id``, ``lon``, ``lat`` along ``x``. Raises :class:`DatacubeError` naming the file,
    the column and the rows for a bad table.
    """
    sigma0 = check_options(sigma0=sigma0, sigma0_log_dn=None, nodata=nodata)
    if tolerance_days < 0:
        raise ValueError(f"tolerance_days must be >= 0, got {tolerance_days}")
    table = read_table(source, name=name)
    frame = table.frame
    if len(frame) == 0:
        raise table.error(f"is empty: a header ({', '.join(map(str, frame.columns))}) but no rows")
    roles = find_columns(list(frame.columns), source=table.label, names=names)
    _require(roles, table)

    ids = _ids(table, roles["id"])
    codes, uniques = pd.factorize(pd.Series(ids), sort=False)
    uniques = np.asarray(uniques)
    n_ids = len(uniques)
    dates = _dates(table, roles["date"])
    rows = pd.DataFrame({"code": codes, "date": dates.values})
    how: dict[str, str] = {}
    for role in ("vv", "vh"):
        values = _numeric(table, roles[role], nodata=nodata)
        rows[role], how[role] = _radar_db(table, roles[role], values, sigma0=sigma0)
    if "ndvi" in roles:
        rows["ndvi"] = _numeric(table, roles["ndvi"], nodata=nodata)
        _check_ndvi(table, roles["ndvi"], rows["ndvi"].to_numpy())
    else:
        red = _numeric(table, roles["red"], nodata=nodata)
        nir = _numeric(table, roles["nir"], nodata=nodata)
        rows["ndvi"] = decode.ndvi_from_bands(red, nir).astype(np.float64)
        rows["red"], rows["nir"] = red, nir
        how["ndvi"] = f"computed from columns: NDVI = ({roles['nir']} - {roles['red']}) / ({roles['nir']} + {roles['red']})"
    if "s1_date" in roles:
        rows["s1_date"] = _dates(table, roles["s1_date"], allow_empty=True).values

    blank = rows[["vv", "vh", "ndvi"]].isna().all(axis=1).to_numpy()
    blank_days = pd.DatetimeIndex(np.unique(rows.loc[blank, "date"]))
    merged = _merge_rows(table, rows, uniques, roles)
    n_dates = merged["date"].nunique()
    check_size(n_dates, 1, n_ids, max_pixels=max_pixels, source=table.label)
    days, s1_days, vv, vh, ndvi, pairing = _assemble(table, merged, n_ids, tolerance_days=tolerance_days,
                                                         blank_days=blank_days)

    crop, crop_classes = (None, None)
    if "crop" in roles:
        crop, crop_classes = _crops(table, roles["crop"], codes, n_ids, uniques)
    location = _lonlat(table, roles, codes, n_ids, uniques, crs=crs, nodata=nodata)

    attrs = {"source": table.label, "layout": POINTS_LAYOUT, "pairing": pairing}
    if crop_classes:
        attrs["crop_classes"] = crop_classes
    cube = new_cube(vv=vv[:, None, :], vh=vh[:, None, :], ndvi=ndvi[:, None, :], time=days, s1_time=s1_days,
                    x=np.arange(n_ids, dtype=np.float64), y=np.zeros(1), crs=None,
                    crop=None if crop is None else crop[None, :], attrs=attrs)
    id_values = uniques.astype(str) if uniques.dtype == object else uniques
    cube = cube.assign_coords(id=("x", id_values))
    cube["id"].attrs = {"long_name": "parcel / point id", "source_column": roles["id"]}
    if location is not None:
        cube = cube.assign_coords(lon=("x", location[0]), lat=("x", location[1]))
        cube["lon"].attrs = {"units": "degrees_east", "standard_name": "longitude"}
        cube["lat"].attrs = {"units": "degrees_north", "standard_name": "latitude"}
    for role in ("vv", "vh", "ndvi", "crop"):
        if role in roles and roles[role] != role and role in cube.variables:
            cube[role].attrs["source_variable"] = roles[role]
        if how.get(role):
            cube[role].attrs["decoding"] = how[role]
    return validate_cube(cube, source=table.label)


# --------------------------------------------------------------------------------------------------
# Points cube -> table
# --------------------------------------------------------------------------------------------------

def points_frame(ds: xr.Dataset) -> pd.DataFrame:
    """One row per id of a points cube: ``id``, ``lon``/``lat`` (where known), ``crop`` and ``crop_name``.

    What the Map page draws and the Crops page groups by.
    """
    _require_points(ds)
    out = pd.DataFrame({"id": np.asarray(ds["id"].values)})
    for name in ("lon", "lat"):
        if name in ds.coords:
            out[name] = np.asarray(ds[name].values, dtype=np.float64)
    if "crop" in ds.variables:
        codes = np.asarray(ds["crop"].values).reshape(-1)
        names = crop_class_names(ds)
        out["crop"] = codes.astype(np.int16)
        out["crop_name"] = [names.get(int(c), "unknown" if c == 0 else str(int(c))) for c in codes]
    return out


def _require_points(ds: xr.Dataset) -> None:
    if not isinstance(ds, xr.Dataset):
        raise DatacubeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    if not is_points(ds) or "id" not in ds.coords:
        raise DatacubeError("is a gridded cube, not a parcel/point table: write grids as NetCDF or GeoTIFF "
                            "(tables hold the series of points/parcels read with open_table)",
                            source=str(ds.attrs.get("source") or "datacube"))


def table_frame(ds: xr.Dataset, *, cube: xr.Dataset | None = None) -> pd.DataFrame:
    """Long-form table (one row per id and date) of a points cube and/or its prediction.

    ``ds`` is a points cube or what :func:`mcnnseq.prediction.predict_cube` returns for one
    (``ndvi_pred``, ``ndvi_filled``); ``cube`` adds the input's variables (``vv``, ``vh``, ``ndvi``)
    beside a prediction. Columns: ``id``, ``date``, ``s1_date``, ``lon``, ``lat``, ``crop`` (names where
    known), then ``vv``, ``vh`` (dB), ``ndvi`` (observed, empty where cloudy), ``ndvi_pred``,
    ``ndvi_filled`` and any other per-date variable, except ``cloud`` (= ``ndvi`` empty).
    """
    _require_points(ds)
    merged = ds
    if cube is not None:
        _require_points(cube)
        if cube.sizes["x"] != ds.sizes["x"] or not np.array_equal(cube["time"].values, ds["time"].values):
            raise DatacubeError("the prediction does not match the cube (other ids or dates)",
                                source=str(ds.attrs.get("source")))
        extra = {k: v for k, v in cube.data_vars.items() if k not in ds.data_vars}
        merged = ds.assign(extra)
    nt, n = merged.sizes["time"], merged.sizes["x"]
    out = pd.DataFrame({
        "id": np.tile(np.asarray(merged["id"].values), nt),
        "date": np.repeat(pd.DatetimeIndex(merged["time"].values).normalize().values, n),
    })
    if "s1_time" in merged.coords and not np.array_equal(merged["s1_time"].values, merged["time"].values):
        out["s1_date"] = np.repeat(pd.DatetimeIndex(merged["s1_time"].values).normalize().values, n)
    for name in ("lon", "lat"):
        if name in merged.coords:
            out[name] = np.tile(np.asarray(merged[name].values, dtype=np.float64), nt)
    if "crop" in merged.variables:
        codes = np.asarray(merged["crop"].values).reshape(-1)
        if "crop_classes" in merged.attrs:
            names = crop_class_names(merged)
            labels = np.array([names.get(int(c)) if c else None for c in codes], dtype=object)
            out["crop"] = np.tile(labels, nt)
        else:
            out["crop"] = np.tile(codes.astype(np.int16), nt)
    series = [v for v in _SERIES_ORDER if v in merged.data_vars]
    series += [str(v) for v in merged.data_vars if v not in series and v != "cloud"
               and set(merged[v].dims) == set(DIMS)]
    for name in series:
        values = np.asarray(merged[name].transpose(*DIMS).values)
        if values.dtype == bool:
            values = values.astype(np.int8)
        out[name] = values.reshape(nt, n).reshape(-1)
    if "ndvi" in out and "cloud" in merged.data_vars:
        cloud = np.asarray(merged["cloud"].transpose(*DIMS).values).reshape(-1)
        out.loc[cloud, "ndvi"] = np.nan
    return out


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
        return fmt
    kind = TABLE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DatacubeError(f"unknown table format '{path.suffix}': use {', '.join(TABLE_FORMATS)}",
                            source=path.name)
    return kind


def table_bytes(ds: xr.Dataset, fmt: str = "csv", *, cube: xr.Dataset | None = None) -> bytes:
    """The table of :func:`table_frame` as CSV or Parquet bytes (for a download button)."""
    frame = table_frame(ds, cube=cube)
    buffer = io.BytesIO()
    if _format_of(Path(f"x.{fmt}"), fmt) == "csv":
        out = frame.copy()
        out["date"] = pd.DatetimeIndex(out["date"]).strftime("%Y-%m-%d")
        if "s1_date" in out:
            out["s1_date"] = pd.DatetimeIndex(out["s1_date"]).strftime("%Y-%m-%d")
        for col in out.columns:
            if out[col].dtype == np.float32:  # shortest text that reads back as the same float32
                values = out[col].to_numpy()
                text = values.astype(str).astype(object)
                text[np.isnan(values)] = ""
                out[col] = text
        buffer.write(out.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_table(ds: xr.Dataset, path: str | os.PathLike, *, cube: xr.Dataset | None = None,
                fmt: str | None = None) -> Path:
    """Write :func:`table_frame` to ``path`` (``.csv`` or ``.parquet``/``.pq``); return the path.

    Written beside the target and moved into place, so a failed write never destroys an existing file.
    :func:`open_table` reads the written table back into the same cube.
    """
    path = Path(path)
    data = table_bytes(ds, _format_of(path, fmt), cube=cube)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def open_uploaded_table(data: bytes, filename: str, **options) -> xr.Dataset:
    """A table uploaded to the dashboard (its bytes and its name) as a points cube; errors name ``filename``."""
    return open_table(data, name=filename, **options)
