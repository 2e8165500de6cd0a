"""Sentinel-1 RTC + Sentinel-2 L2A from a STAC catalog into a datacube (SPEC §3 e).

``open_stac`` searches a STAC API (``pystac-client``) or walks a static catalog on disk (``pystac``)
for the items of a bounding box and a date range, loads them with ``odc-stac`` onto one grid, and
turns them into the datacube convention:

- **Sentinel-2 L2A**: red (``B04`` on Planetary Computer, ``red`` on Earth Search) and NIR (``B08`` /
  ``nir``) as surface reflectance — the asset's ``raster:bands`` scale/offset where the catalog gives
  them, else ×0.0001 with the processing-baseline-04.00 offset (−1000 digital numbers) removed for
  items of baseline ≥ 04.00 (``s2:processing_baseline``). Clouds masked from the scene classification
  (``SCL``/``scl``, classes :data:`mcnnseq.io.decode.SCL_MASKED_CLASSES`: no data, saturated or
  defective, cloud shadow, cloud medium and high probability, thin cirrus, snow). Clear NDVI =
  (nir − red) / (nir + red). Blue/green (``B02``/``B03`` or ``blue``/``green``) and red are kept as
  ``blue``/``green``/``red`` reflectance for true-colour context when every item has them.
- **Sentinel-1 RTC**: ``vv``/``vh`` (either case), linear power (γ0) -> dB; values below −40 dB (the
  noise floor, e.g. calm water) or above +10 dB are clipped to that range.
- Items of one *solar day* are mosaicked into one date (odc-stac ``groupby``); S2 dates are paired
  with the nearest S1 date by :func:`mcnnseq.io.pairing.pair_dates`.
- The grid: ``resolution`` metres in the UTM zone of the bbox (``crs`` overrides it).

Without ``chunks`` the cube is loaded into memory and validated, and a search larger than
``max_pixels`` cells is refused before anything is read; with ``chunks`` (e.g. ``{"x": 1024, "y":
1024}``) the cube is lazy (dask) and values are read when computed.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import DB_RANGE, DIMS, validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io.decode import SCL_MASKED_CLASSES
from mcnnseq.io.pairing import describe_pairing, pair_dates
from mcnnseq.io.standardize import DEFAULT_MAX_PIXELS

#: Default collections (the names Planetary Computer uses; Earth Search calls S2 L2A the same).
S1_COLLECTION: str = "sentinel-1-rtc"
S2_COLLECTION: str = "sentinel-2-l2a"
#: Asset keys tried for each role, in order: Planetary Computer's, then Earth Search's.
S2_ASSETS: dict[str, tuple[str, ...]] = {
    "red": ("B04", "red"), "nir": ("B08", "nir"), "scl": ("SCL", "scl"),
    "green": ("B03", "green"), "blue": ("B02", "blue"),
}
S1_ASSETS: dict[str, tuple[str, ...]] = {"vv": ("vv", "VV"), "vh": ("vh", "VH")}
_S2_REQUIRED = ("red", "nir", "scl")
_S2_OPTIONAL = ("green", "blue")
#: Sentinel-2 L2A digital numbers -> reflectance when the catalog gives no scale/offset.
S2_SCALE: float = 1e-4
#: Processing baseline from which L2A digital numbers carry an offset of −1000 (from 25 January 2022).
S2_OFFSET_BASELINE: str = "04.00"
S2_BASELINE_OFFSET: float = -0.1  # −1000 digital numbers × 0.0001
#: Seconds to wait for a STAC API before calling it unreachable.
NETWORK_TIMEOUT_S: float = 20.0
#: Most items one search may return (a year of S2 over a small area is a few hundred).
MAX_ITEMS: int = 5000


# --------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------

def _check_bbox(bbox, source: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise DatacubeError(f"bbox must be four numbers (min lon, min lat, max lon, max lat), got {bbox!r}",
                            source=source) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise DatacubeError(f"bbox must be four finite numbers (min lon, min lat, max lon, max lat), got {bbox!r}",
                            source=source)
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise DatacubeError(f"bbox {values} is not MINLON MINLAT MAXLON MAXLAT in degrees with min < max "
                            "(longitude −180 … 180, latitude −90 … 90)", source=source)
    return values


def _check_dates(start, end, source: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    out = []
    for label, value in (("start", start), ("end", end)):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            stamp = pd.NaT
        if stamp is pd.NaT or pd.isna(stamp):
            raise DatacubeError(f"{label} date {value!r} is not a date (YYYY-MM-DD)", source=source)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        out.append(stamp.normalize())
    if out[1] < out[0]:
        raise DatacubeError(f"end {out[1].date()} is before start {out[0].date()}", source=source)
    return out[0], out[1]


def utm_zone(lon: float) -> int:
    """The standard UTM zone number (1 … 60) of a longitude (no Norway/Svalbard exceptions)."""
    return min(60, int(math.floor((lon + 180.0) / 6.0)) + 1)


def grid_crs(bbox: Sequence[float], crs=None, *, source: str | None = None):
    """The grid CRS: ``crs`` if given (must be projected), else the UTM zone holding the whole bbox.

    A bbox crossing a UTM zone boundary raises (one zone would distort the other side): pass ``crs``.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if crs is not None:
        try:
            parsed = CRS.from_user_input(crs)
        except (CRSError, TypeError, ValueError) as exc:
            raise DatacubeError(f"crs={crs!r} cannot be understood ({exc})", source=source) from None
        if not parsed.is_projected:
            raise DatacubeError(f"crs={crs!r} is geographic; the grid needs a projected CRS in metres (e.g. UTM)",
                                source=source)
        return parsed
    minlon, minlat, maxlon, maxlat = bbox
    west, east = utm_zone(minlon), utm_zone(maxlon - 1e-9)
    north = (minlat + maxlat) / 2 >= 0
    if west != east:
        codes = " or ".join(f"'EPSG:{(32600 if north else 32700) + z}'" for z in (west, east))
        raise DatacubeError(f"bbox {minlon:g} … {maxlon:g}° E crosses UTM zones {west} and {east}; choose the grid "
                            f"with crs= (CLI --crs), e.g. {codes}", source=source)
    return CRS.from_epsg((32600 if north else 32700) + west)


# --------------------------------------------------------------------------------------------------
# Finding items
# --------------------------------------------------------------------------------------------------

def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_api(catalog) -> bool:
    """True when ``catalog`` is a STAC API address (http/https), False for a static catalog on disk."""
    return isinstance(catalog, str) and catalog.lower().startswith(("http://", "https://"))


def _default_modifier(url: str):
    """Planetary Computer's asset URLs need a token: sign them with the ``planetary-computer`` package."""
    if "planetarycomputer" not in url.lower():
        return None
    try:
        import planetary_computer
    except ImportError:
        raise DatacubeError("the Planetary Computer serves its assets through signed URLs: install the "
                            "'planetary-computer' package (pip install planetary-computer)", source=url) from None
    return planetary_computer.sign_inplace


def _search_api(url: str, collection: str, bbox, start: pd.Timestamp, end: pd.Timestamp, *,
                modifier: Callable | None, timeout: float) -> list:
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO

    def explain(exc: BaseException, doing: str) -> DatacubeError:
        # pystac-client wraps transport failures (refused, DNS, timeout) in an APIError without a status
        transport = isinstance(exc, (requests.exceptions.RequestException, OSError)) or (
            isinstance(exc, APIError) and getattr(exc, "status_code", None) is None)
        if transport:
            return DatacubeError(f"cannot reach the STAC API ({_short(exc)}); check the address and the network "
                                 "connection (a catalog on disk is opened by its catalog.json)", source=url)
        return DatacubeError(f"{doing} failed ({_short(exc)})", source=url)

    stac_io = StacApiIO(timeout=timeout, max_retries=1)
    try:
        client = Client.open(url, modifier=modifier, stac_io=stac_io)
    except (requests.exceptions.RequestException, OSError, APIError, ValueError, KeyError) as exc:
        raise explain(exc, "opening it as a STAC API") from None
    try:
        search = client.search(collections=[collection], bbox=list(bbox),
                               datetime=f"{start.date().isoformat()}/{end.date().isoformat()}",
                               max_items=MAX_ITEMS + 1)
        items = list(search.items())
    except (requests.exceptions.RequestException, OSError, APIError, ValueError, KeyError,
            NotImplementedError) as exc:
        raise explain(exc, f"the search of collection '{collection}' (is the collection name right?)") from None
    return items


def _item_interval(item) -> tuple[dt.datetime, dt.datetime]:
    props = item.properties
    if item.datetime is not None:
        return item.datetime, item.datetime
    return (pd.Timestamp(props["start_datetime"]).to_pydatetime(),
            pd.Timestamp(props["end_datetime"]).to_pydatetime())


def _search_static(path, collection: str, bbox, start: pd.Timestamp, end: pd.Timestamp) -> tuple[list, list[str]]:
    """Items of ``collection`` in a static catalog intersecting ``bbox`` and dated ``start`` … ``end`` (days)."""
    import pystac

    path = Path(path)
    source = str(path)
    if path.is_dir():
        path = path / "catalog.json" if (path / "catalog.json").exists() else path / "collection.json"
    if not path.exists():
        raise DatacubeError(f"does not exist (looked for {path}); give a STAC API address (https://…) or the "
                            "catalog.json of a static catalog", source=source)
    try:
        root = pystac.read_file(str(path))
        items = list(root.get_items(recursive=True)) if hasattr(root, "get_items") else [root]
    except Exception as exc:  # noqa: BLE001  (pystac raises JSON, type and I/O errors of many kinds)
        raise DatacubeError(f"cannot be read as a STAC catalog ({_short(exc)})", source=source) from None
    seen = sorted({str(it.collection_id) for it in items})
    lo = pd.Timestamp(start).to_pydatetime().replace(tzinfo=dt.timezone.utc)
    hi = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_pydatetime().replace(tzinfo=dt.timezone.utc)
    minlon, minlat, maxlon, maxlat = bbox
    found = []
    for item in items:
        if item.collection_id != collection:
            continue
        first, last = _item_interval(item)
        first = first if first.tzinfo else first.replace(tzinfo=dt.timezone.utc)
        last = last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)
        if last < lo or first >= hi:
            continue
        if item.bbox is not None:
            b = list(item.bbox)
            w, s, e, n = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b  # 3-D bboxes carry zmin/zmax
            if e < minlon or w > maxlon or n < minlat or s > maxlat:
                continue
        found.append(item)
    return found, seen


def find_items(catalog, collection: str, *, bbox, start, end, modifier: Callable | None = None,
               timeout: float = NETWORK_TIMEOUT_S) -> list:
    """The STAC items of ``collection`` over ``bbox`` between ``start`` and ``end`` (inclusive days).

    Raises :class:`DatacubeError` for an unreachable API, an unreadable catalog, an empty search or
    more than :data:`MAX_ITEMS` items.
    """
    source = str(catalog)
    bbox = _check_bbox(bbox, source)
    t0, t1 = _check_dates(start, end, source)
    where = f"bbox {', '.join(f'{v:g}' for v in bbox)} between {t0.date()} and {t1.date()}"
    if is_api(catalog):
        items = _search_api(catalog, collection, bbox, t0, t1, modifier=modifier or _default_modifier(catalog),
                            timeout=timeout)
        hint = ""
    else:
        items, seen = _search_static(catalog, collection, bbox, t0, t1)
        hint = f" (collections in this catalog: {', '.join(seen) or 'none'})"
    if not items:
        raise DatacubeError(f"no item of collection '{collection}' over {where}{hint}; widen the area or the "
                            "dates, or name the collection (CLI --s1-collection/--s2-collection)", source=source)
    if len(items) > MAX_ITEMS:
        raise DatacubeError(f"the search of '{collection}' over {where} returns more than {MAX_ITEMS:,} items; "
                            "narrow the dates or the area", source=source)
    if not is_api(catalog):
        for item in items:
            item.make_asset_hrefs_absolute()
    return items


def asset_keys(items: Sequence, wanted: Mapping[str, tuple[str, ...]], *, required: Sequence[str],
               collection: str, source: str) -> dict[str, str]:
    """Role -> asset key, the first of ``wanted[role]`` that every item has.

    A required role no item convention covers raises, naming the item and the keys it has; an
    optional role missing from some item is left out.
    """
    keys: dict[str, str] = {}
    for role, aliases in wanted.items():
        for alias in aliases:
            if all(alias in item.assets for item in items):
                keys[role] = alias
                break
        else:
            if role in required:
                lacking = next((it for it in items if not any(a in it.assets for a in aliases)), items[0])
                raise DatacubeError(
                    f"item '{lacking.id}' of collection '{collection}' has no {role} asset (looked for "
                    f"{' or '.join(aliases)}); its assets: {', '.join(sorted(lacking.assets)) or 'none'}",
                    source=source)
    return keys


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

def _solar_day(item, lon: float) -> pd.Timestamp:
    """The local solar day of an item's acquisition at longitude ``lon`` (odc-stac's 'solar_day' rule)."""
    start, _ = _item_interval(item)
    stamp = pd.Timestamp(start)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return (stamp + pd.Timedelta(hours=int(lon / 15))).normalize()


def _s2_scaling(item, key: str) -> tuple[float, float]:
    """(scale, offset) turning one S2 asset's digital numbers into reflectance."""
    bands = item.assets[key].extra_fields.get("raster:bands") or []
    if bands and isinstance(bands[0], Mapping) and ("scale" in bands[0] or "offset" in bands[0]):
        return float(bands[0].get("scale", 1.0)), float(bands[0].get("offset", 0.0))
    baseline = str(item.properties.get("s2:processing_baseline", "") or "")
    try:
        late = float(baseline) >= float(S2_OFFSET_BASELINE)
    except ValueError:
        late = False
    return S2_SCALE, S2_BASELINE_OFFSET if late else 0.0


def _per_date_scaling(groups: Mapping[pd.Timestamp, list], key: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    scales, offsets = [], []
    for day, items in groups.items():
        found = {_s2_scaling(it, key) for it in items}
        if len(found) > 1:
            raise DatacubeError(f"the Sentinel-2 items of {day.date()} ({', '.join(it.id for it in items)}) scale "
                                f"their '{key}' values differently ({sorted(found)}); narrow the dates to avoid "
                                "mixing processing baselines on one day", source=source)
        scale, offset = found.pop()
        scales.append(scale)
        offsets.append(offset)
    return np.array(scales), np.array(offsets)


def _group(items: Sequence, lon: float) -> dict[pd.Timestamp, list]:
    groups: dict[pd.Timestamp, list] = {}
    for item in items:
        groups.setdefault(_solar_day(item, lon), []).append(item)
    return dict(sorted(groups.items()))


def _load(items: Sequence, keys: Mapping[str, str], geobox, *, lon: float, chunks, dtype: str, nodata,
          collection: str, source: str) -> xr.Dataset:
    import odc.stac

    cfg = {collection: {"assets": {"*": {"data_type": dtype, "nodata": nodata}}},
           "*": {"assets": {"*": {"data_type": dtype, "nodata": nodata}}}}

    def by_day(item, parsed, idx):
        return _solar_day(item, lon)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # affine/shapely deprecations inside odc-geo
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            ds = odc.stac.load(list(items), bands=list(keys.values()), geobox=geobox, groupby=by_day,
                               chunks=chunks, resampling="nearest", stac_cfg=cfg, dtype=dtype)
    except DatacubeError:
        raise
    except Exception as exc:  # noqa: BLE001  (rasterio/GDAL, HTTP and odc errors of many kinds)
        raise DatacubeError(f"cannot load the assets of collection '{collection}' ({_short(exc)}); a remote "
                            "asset may need signing or the network may be down", source=source) from exc
    days = list(_group(items, lon))
    if ds.sizes["time"] != len(days):  # odc-stac grouped differently from us: never expected
        raise DatacubeError(f"odc-stac returned {ds.sizes['time']} dates for {len(days)} solar days", source=source)
    return ds.assign_coords(time=pd.DatetimeIndex(days).values.astype("datetime64[ns]"))


def open_stac(catalog: str | os.PathLike, *, bbox: Sequence[float], start, end,
              s1_collection: str = S1_COLLECTION, s2_collection: str = S2_COLLECTION, resolution: float = 10,
              crs=None, chunks: Mapping[str, int] | None = None, tolerance_days: float = 6,
              max_pixels: int | None = DEFAULT_MAX_PIXELS, modifier: Callable | None = None,
              timeout: float = NETWORK_TIMEOUT_S) -> xr.Dataset:
    """Load Sentinel-1 RTC and Sentinel-2 L2A items of a STAC catalog as a datacube (module docstring).

    Parameters
    ----------
    catalog
        A STAC API address (``https://planetarycomputer.microsoft.com/api/stac/v1``) or a static
        catalog on disk (its ``catalog.json`` or the folder holding it).
    bbox
        ``(min lon, min lat, max lon, max lat)`` in degrees.
    start, end
        First and last day to load (inclusive), e.g. ``"2021-03-01"``.
    s1_collection, s2_collection
        Collection ids of the Sentinel-1 RTC and Sentinel-2 L2A items.
    resolution
        Pixel size in metres.
    crs
        Grid CRS (projected); default the UTM zone of the bbox (a bbox crossing zones needs one).
    chunks
        ``{"x": …, "y": …}`` for a lazy dask-backed cube (odc-stac chunks); None loads into memory.
    tolerance_days
        Largest S1–S2 gap when pairing dates.
    max_pixels
        Without ``chunks``, refuse a search whose cube would exceed this many cells (S2 dates × rows ×
        columns) before reading anything. None lifts the limit.
    modifier
        A pystac-client ``modifier`` (e.g. ``planetary_computer.sign_inplace``; used by default for
        the Planetary Computer).
    timeout
        Seconds to wait for the API.

    Returns a datacube (``vv``/``vh`` dB, ``ndvi``, ``cloud``, ``red``/``green``/``blue`` reflectance,
    ``time`` = S2 solar day, ``s1_time`` = paired S1 day, the grid's CRS). Raises
    :class:`DatacubeError` naming the catalog: unreachable API, empty search, missing asset, bbox
    across UTM zones without ``crs``, a search beyond ``max_pixels`` without ``chunks``.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import BoundingBox

    source = str(catalog)
    bbox = _check_bbox(bbox, source)
    t0, t1 = _check_dates(start, end, source)
    if not (isinstance(resolution, (int, float)) and resolution > 0):
        raise ValueError(f"resolution must be a positive number of metres, got {resolution!r}")
    out_crs = grid_crs(bbox, crs, source=source)
    epsg = out_crs.to_epsg()
    crs_text = f"EPSG:{epsg}" if epsg else out_crs.to_wkt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        geobox = GeoBox.from_bbox(BoundingBox(*bbox, "EPSG:4326").to_crs(crs_text), resolution=float(resolution))
    ny, nx = geobox.shape.y, geobox.shape.x
    lon = (bbox[0] + bbox[2]) / 2

    s2_items = find_items(catalog, s2_collection, bbox=bbox, start=t0, end=t1, modifier=modifier, timeout=timeout)
    s1_items = find_items(catalog, s1_collection, bbox=bbox, start=t0, end=t1, modifier=modifier, timeout=timeout)
    s2_groups, s1_groups = _group(s2_items, lon), _group(s1_items, lon)
    if chunks is None and max_pixels is not None and len(s2_groups) * ny * nx > max_pixels:
        cells = len(s2_groups) * ny * nx
        raise DatacubeError(
            f"the search would load {len(s2_groups)} Sentinel-2 dates x {ny} x {nx} pixels = {cells:,} cells, more "
            f"than max_pixels={max_pixels:,} (about {13 * cells / 1e9:.1f} GB in memory); pass chunks="
            "{'x': 1024, 'y': 1024} for a lazy (dask) cube, or narrow the bbox or the dates", source=source)
    s2_keys = asset_keys(s2_items, S2_ASSETS, required=_S2_REQUIRED, collection=s2_collection, source=source)
    s1_keys = asset_keys(s1_items, S1_ASSETS, required=("vv", "vh"), collection=s1_collection, source=source)

    pairs = pair_dates(list(s1_groups), list(s2_groups), tolerance_days=tolerance_days)
    kept = pairs[pairs["paired"]]
    if kept.empty:
        raise DatacubeError(f"no Sentinel-2 date has a Sentinel-1 date within {tolerance_days:g} days "
                            f"(S2: {len(s2_groups)} dates, S1: {len(s1_groups)} dates); raise tolerance_days "
                            "(CLI --tolerance-days)", source=source)

    s2 = _load(s2_items, s2_keys, geobox, lon=lon, chunks=chunks, dtype="uint16", nodata=0,
               collection=s2_collection, source=source)
    s1 = _load(s1_items, s1_keys, geobox, lon=lon, chunks=chunks, dtype="float32", nodata=float("nan"),
               collection=s1_collection, source=source)
    s2 = s2.isel(time=kept["s2_index"].to_numpy())
    s1 = s1.isel(time=kept["s1_index"].to_numpy())
    kept_groups = {day: s2_groups[day] for day in pd.DatetimeIndex(kept["s2_date"])}

    def reflectance(role: str) -> xr.DataArray:
        key = s2_keys[role]
        scale, offset = _per_date_scaling(kept_groups, key, source)
        dn = s2[key]
        refl = dn.astype(np.float32) * xr.DataArray(scale.astype(np.float32), dims="time") \
            + xr.DataArray(offset.astype(np.float32), dims="time")
        return refl.where((dn != 0) & (refl > 0)).astype(np.float32)

    red, nir = reflectance("red"), reflectance("nir")
    clear = ~s2[s2_keys["scl"]].isin(list(SCL_MASKED_CLASSES))
    ndvi = ((nir - red) / (nir + red)).where(clear & red.notnull() & nir.notnull()).astype(np.float32)

    def to_db(key: str) -> xr.DataArray:
        power = s1[key].astype(np.float32)
        db = 10 * np.log10(power.where(power > 0))
        return db.clip(DB_RANGE[0], DB_RANGE[1]).astype(np.float32)

    time = pd.DatetimeIndex(kept["s2_date"]).values.astype("datetime64[ns]")
    s1_time = pd.DatetimeIndex(kept["s1_date"]).values.astype("datetime64[ns]")

    def plain(da: xr.DataArray) -> xr.Variable:
        return xr.Variable(DIMS, da.transpose("time", "y", "x").data)

    data_vars = {
        "vv": (plain(to_db(s1_keys["vv"])), {"units": "dB", "long_name": "Sentinel-1 VV backscatter",
                                             "source_variable": s1_keys["vv"],
                                             "decoding": "converted from linear gamma0 RTC: dB = 10*log10(gamma0), "
                                                         f"clipped to {DB_RANGE[0]:g} … {DB_RANGE[1]:g} dB"}),
        "vh": (plain(to_db(s1_keys["vh"])), {"units": "dB", "long_name": "Sentinel-1 VH backscatter",
                                             "source_variable": s1_keys["vh"],
                                             "decoding": "converted from linear gamma0 RTC: dB = 10*log10(gamma0), "
                                                         f"clipped to {DB_RANGE[0]:g} … {DB_RANGE[1]:g} dB"}),
        "ndvi": (plain(ndvi), {"units": "1", "long_name": "Sentinel-2 NDVI (NaN where missing)",
                               "decoding": f"NDVI = ({s2_keys['nir']} - {s2_keys['red']}) / ({s2_keys['nir']} + "
                                           f"{s2_keys['red']}) of L2A reflectance; masked where {s2_keys['scl']} is "
                                           f"{', '.join(map(str, SCL_MASKED_CLASSES))}"}),
    }
    data_vars["cloud"] = (plain(ndvi.isnull()),
                          {"long_name": "optical value missing or masked"})
    for role in ("red", "green", "blue"):
        if role in s2_keys:
            da = red if role == "red" else reflectance(role)
            data_vars[role] = (plain(da), {"units": "1", "long_name": f"Sentinel-2 L2A {role} surface reflectance",
                                           "source_variable": s2_keys[role]})
    coords = {"time": time, "s1_time": ("time", s1_time), "y": s2["y"].values.astype(np.float64),
              "x": s2["x"].values.astype(np.float64)}
    attrs = {"source": source, "pairing": describe_pairing(pairs, tolerance_days=tolerance_days),
             "stac_collections": f"{s1_collection}, {s2_collection}",
             "stac_bbox": ", ".join(f"{v:g}" for v in bbox),
             "stac_dates": f"{t0.date()} / {t1.date()}"}
    cube = xr.Dataset({k: xr.Variable(v[0].dims, v[0].data, v[1]) for k, v in data_vars.items()}, coords=coords,
                      attrs=attrs)
    cube = cube.rio.write_crs(crs_text).rio.set_spatial_dims(x_dim="x", y_dim="y")
    if chunks is None:
        return validate_cube(cube, source=source)
    return cube
