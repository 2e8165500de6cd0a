"""The datacube convention used everywhere in MCNN-Seq Studio (SPEC §3), and its validator.

A datacube is an :class:`xarray.Dataset` with dims ``(time, y, x)`` and a projected CRS
(``ds.rio.crs``, metres), holding:

============  ===========  ===========  =====================================================
variable      dims         dtype        meaning
============  ===========  ===========  =====================================================
``vv``        time, y, x   float32      Sentinel-1 VV backscatter σ0, dB
``vh``        time, y, x   float32      Sentinel-1 VH backscatter σ0, dB
``ndvi``      time, y, x   float32      Sentinel-2 NDVI, NaN where missing (cloud, stripe)
``cloud``     time, y, x   bool         True exactly where ``ndvi`` is NaN
``crop``      y, x         int16        crop class code (optional; 0 = unknown)
``field``     y, x         int32        field id (optional; 0 = no field)
``ndvi_true`` time, y, x   float32      NDVI under the clouds (simulated or artificially
                                        clouded data only)
``red``,      time, y, x   float32      surface reflectance 0 … 1 of Sentinel-2 B04, B03, B02 (bright
``green``,                              clouds a little above 1), NaN where missing (optional, all
``blue``                                three or none: the true-colour context of the maps)
============  ===========  ===========  =====================================================

Coordinates: ``time`` (the S2 date of each pair, sorted, unique), ``s1_time`` (along ``time``, the
paired S1 date), ``y`` and ``x`` (pixel centres in CRS units).

**Points cube** (``attrs["layout"] == "points"``, from parcel/point tables, :mod:`mcnnseq.io.table`):
the same variables on dims ``(time, y=1, x=n_ids)``, one "pixel" per id, so sampling, training,
evaluation and prediction work unchanged. ``x`` holds the positions 0 … n−1, the coordinate ``id``
(along ``x``) the ids, optional ``lon``/``lat`` (along ``x``, degrees) where they are; no grid CRS is
needed. Crop class names, for cubes that have them, are in ``attrs["crop_classes"]``
(``"1=maize; 2=wheat"``, see :func:`crop_class_names`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.errors import DatacubeError

DIMS: tuple[str, str, str] = ("time", "y", "x")
RADAR_VARS: tuple[str, str] = ("vv", "vh")
REQUIRED_VARS: tuple[str, ...] = ("vv", "vh", "ndvi", "cloud")
#: Optional surface reflectances kept for true-colour context (time, y, x) float32, 0 … 1 (all three or none).
TRUE_COLOUR_VARS: tuple[str, str, str] = ("red", "green", "blue")
OPTIONAL_VARS: tuple[str, ...] = ("crop", "field", "ndvi_true") + TRUE_COLOUR_VARS
#: Largest plausible surface reflectance: L2A reflectances of bright clouds and snow exceed 1 a little;
#: a value above this is a scale factor left on (×10000 digital numbers).
MAX_REFLECTANCE: float = 2.0
#: ``attrs["layout"]`` of a points cube (one "pixel" per parcel/point id, dims (time, 1, n_ids)).
POINTS_LAYOUT: str = "points"

#: Plausible range of σ0 in dB (SPEC/issue: about −40 … +10). Outside it the data is not dB.
DB_RANGE: tuple[float, float] = (-40.0, 10.0)
NDVI_RANGE: tuple[float, float] = (-1.0, 1.0)


def _finite_range(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def validate_cube(ds: xr.Dataset, *, source: str | None = None) -> xr.Dataset:
    """Check that ``ds`` follows the datacube convention; return it unchanged.

    Raises :class:`~mcnnseq.errors.DatacubeError` naming ``source``, the variable and the problem on
    the first violation found. Checks, in order: type, dims, required variables and their dims and
    dtypes, size, ``time`` sorted and unique, CRS present and projected, value ranges (dB about
    −40 … +10, NDVI −1 … 1), all-NaN variables, ``cloud`` consistent with NaNs in ``ndvi``, the
    optional ``crop``/``field``/``ndvi_true`` variables.
    """
    src = source or (ds.attrs.get("source") if isinstance(ds, xr.Dataset) else None)

    def fail(problem: str, variable: str | None = None) -> DatacubeError:
        return DatacubeError(problem, source=src, variable=variable)

    if not isinstance(ds, xr.Dataset):
        raise fail(f"expected an xarray.Dataset, got {type(ds).__name__}")
    for dim in DIMS:
        if dim not in ds.dims:
            raise fail(f"missing dimension '{dim}' (a datacube has dims {DIMS}, found {tuple(ds.dims)})")
    for name in REQUIRED_VARS:
        if name not in ds.data_vars:
            raise fail("missing (required: vv, vh, ndvi, cloud)", name)
        if ds[name].dims != DIMS:
            raise fail(f"has dims {ds[name].dims}, expected {DIMS}", name)
    for name in ("vv", "vh", "ndvi"):
        if ds[name].dtype != np.float32:
            raise fail(f"has dtype {ds[name].dtype}, expected float32", name)
    if ds["cloud"].dtype != bool:
        raise fail(f"has dtype {ds['cloud'].dtype}, expected bool", "cloud")
    if ds.sizes["time"] < 2:
        raise fail(f"has {ds.sizes['time']} date(s); a time series needs at least 2", "time")
    if ds.sizes["y"] < 1 or ds.sizes["x"] < 1:
        raise fail(f"the grid is empty ({ds.sizes['y']} x {ds.sizes['x']} pixels)")

    _check_time(ds, fail)
    if is_points(ds):
        _check_points(ds, fail)
    else:
        _check_crs(ds, fail)

    for name in RADAR_VARS:
        rng = _finite_range(np.asarray(ds[name].values))
        if rng is None:
            raise fail("is all NaN: no radar value at all", name)
        lo, hi = rng
        if lo < DB_RANGE[0] or hi > DB_RANGE[1]:
            hint = ""
            if lo >= 0 and hi < 5:
                hint = " — this looks like linear σ0; open it with sigma0='linear' to convert to dB"
            raise fail(f"values {lo:.3g} … {hi:.3g} are outside the plausible dB range "
                       f"{DB_RANGE[0]:g} … {DB_RANGE[1]:g}{hint}", name)

    ndvi = np.asarray(ds["ndvi"].values)
    rng = _finite_range(ndvi)
    if rng is None:
        raise fail("is all NaN: no optical observation on any date", "ndvi")
    if rng[0] < NDVI_RANGE[0] - 1e-6 or rng[1] > NDVI_RANGE[1] + 1e-6:
        raise fail(f"values {rng[0]:.3g} … {rng[1]:.3g} are outside −1 … 1 (reflectances not yet turned "
                   "into NDVI, or a scale factor left on?)", "ndvi")
    cloud = np.asarray(ds["cloud"].values)
    nan = np.isnan(ndvi)
    if not np.array_equal(cloud, nan):
        n_bad_a = int((nan & ~cloud).sum())
        n_bad_b = int((cloud & ~nan).sum())
        raise fail(f"is inconsistent with 'ndvi': {n_bad_a} missing NDVI value(s) not flagged cloudy and "
                   f"{n_bad_b} cloudy flag(s) over an NDVI value (cloud must be True exactly where ndvi is NaN)",
                   "cloud")

    for name, dtype_kind in (("crop", "i"), ("field", "i")):
        if name in ds.variables:
            var = ds[name]
            if var.dims != ("y", "x"):
                raise fail(f"has dims {var.dims}, expected ('y', 'x')", name)
            if var.dtype.kind not in (dtype_kind, "u"):
                raise fail(f"has dtype {var.dtype}, expected an integer class code", name)
    if "ndvi_true" in ds.variables:
        var = ds["ndvi_true"]
        if var.dims != DIMS:
            raise fail(f"has dims {var.dims}, expected {DIMS}", "ndvi_true")
        rng = _finite_range(np.asarray(var.values))
        if rng is not None and (rng[0] < NDVI_RANGE[0] - 1e-6 or rng[1] > NDVI_RANGE[1] + 1e-6):
            raise fail(f"values {rng[0]:.3g} … {rng[1]:.3g} are outside −1 … 1", "ndvi_true")
    present = [name for name in TRUE_COLOUR_VARS if name in ds.variables]
    if present and len(present) < 3:
        raise fail(f"has {', '.join(present)} but not all of red, green and blue (a true colour needs the three)",
                   present[0])
    for name in present:
        var = ds[name]
        if var.dims != DIMS:
            raise fail(f"has dims {var.dims}, expected {DIMS}", name)
        if var.dtype != np.float32:
            raise fail(f"has dtype {var.dtype}, expected float32 (reflectance 0 … 1)", name)
        rng = _finite_range(np.asarray(var.values))
        if rng is not None and (rng[0] < 0 or rng[1] > MAX_REFLECTANCE):
            raise fail(f"values {rng[0]:.4g} … {rng[1]:.4g} are not surface reflectances 0 … 1 (a ×10000 scale "
                       "or the L2A offset left on?)", name)
    return ds


def is_points(ds: xr.Dataset) -> bool:
    """True for a points cube (one column per parcel/point id, see the module docstring)."""
    return isinstance(ds, xr.Dataset) and ds.attrs.get("layout") == POINTS_LAYOUT


def _check_points(ds: xr.Dataset, fail) -> None:
    if ds.sizes["y"] != 1:
        raise fail(f"a points cube has one row (y = 1), found {ds.sizes['y']}", "y")
    if "id" not in ds.coords or ds["id"].dims != ("x",):
        raise fail("a points cube needs an 'id' coordinate along x (one id per point/parcel)", "id")
    ids = pd.Index(np.asarray(ds["id"].values))
    if not ids.is_unique:
        raise fail(f"has a duplicated id {ids[ids.duplicated()][0]!r}", "id")
    for name, limit in (("lon", 180.0), ("lat", 90.0)):
        if name in ds.coords:
            values = np.asarray(ds[name].values, dtype=np.float64)
            if ds[name].dims != ("x",):
                raise fail(f"has dims {ds[name].dims}, expected ('x',)", name)
            finite = values[np.isfinite(values)]
            if finite.size and np.abs(finite).max() > limit:
                raise fail(f"values reach {np.abs(finite).max():g}, beyond ±{limit:g} degrees", name)


def crop_class_names(ds: xr.Dataset) -> dict[int, str]:
    """Crop code -> name: from ``attrs["crop_classes"]`` (``"1=maize; 2=wheat"``), else the paper's classes."""
    text = ds.attrs.get("crop_classes") if isinstance(ds, xr.Dataset) else None
    if isinstance(text, str) and text.strip():
        names = {}
        for part in text.split(";"):
            code, sep, name = part.partition("=")
            if sep and code.strip().lstrip("-").isdigit():
                names[int(code)] = name.strip()
        if names:
            return names
    from mcnnseq.paper import CROP_CLASSES

    return dict(CROP_CLASSES)


def _check_time(ds: xr.Dataset, fail) -> None:
    try:
        times = pd.DatetimeIndex(ds["time"].values)
    except (TypeError, ValueError) as exc:
        raise fail(f"values are not dates ({exc})", "time") from None
    if times.hasnans:
        raise fail("has missing dates (NaT)", "time")
    if not times.is_unique:
        dup = times[times.duplicated()][0]
        raise fail(f"has a duplicated date {dup.date()}", "time")
    if not times.is_monotonic_increasing:
        raise fail("is not sorted in increasing order", "time")
    if "s1_time" in ds.coords:
        if ds["s1_time"].dims != ("time",):
            raise fail(f"has dims {ds['s1_time'].dims}, expected ('time',)", "s1_time")
        try:
            s1 = pd.DatetimeIndex(ds["s1_time"].values)
        except (TypeError, ValueError) as exc:
            raise fail(f"values are not dates ({exc})", "s1_time") from None
        if s1.hasnans:
            raise fail("has missing dates (NaT)", "s1_time")


def _check_crs(ds: xr.Dataset, fail) -> None:
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    crs = ds.rio.crs
    if crs is None:
        raise fail("has no CRS: write one with ds.rio.write_crs('EPSG:…') or store a grid_mapping variable")
    if not crs.is_projected:
        raise fail(f"CRS {crs.to_string()} is geographic; a datacube needs a projected CRS in metres (e.g. UTM)")


@dataclass(frozen=True)
class CubeSummary:
    """What a user wants to know about a cube before using it."""

    source: str
    shape: tuple[int, int, int]  #: (time, y, x)
    crs: str
    resolution: tuple[float, float]  #: (x, y) pixel size in CRS units (metres)
    bounds: tuple[float, float, float, float]  #: (left, bottom, right, top) in CRS units
    dates: list[str]
    s1_dates: list[str] | None
    ranges: dict[str, tuple[float, float]]  #: variable -> (min, max) of finite values
    medians: dict[str, float]
    cloud_fraction_per_date: list[float]
    pixels_with_a_cloud: float  #: fraction of pixels with at least one cloudy date
    dates_without_observation: list[str]
    has_crop: bool
    simulated: bool
    #: ``"grid"``, or ``"points"`` for a points cube (then ``resolution`` is NaN and ``bounds`` are
    #: (min lon, min lat, max lon, max lat) in degrees, NaN without coordinates).
    layout: str = "grid"

    def to_text(self) -> str:
        """A human-readable multi-line summary (what ``python -m mcnnseq info`` prints)."""
        t, ny, nx = self.shape
        lines = [f"source      {self.source}" + ("  [SIMULATED]" if self.simulated else "")]
        if self.layout == POINTS_LAYOUT:
            lines.append(f"points      {nx} ids (parcel/point series, one sample per id)")
            if np.isfinite(self.bounds).all():
                lines.append(f"location    lon {self.bounds[0]:.5f} … {self.bounds[2]:.5f}, "
                             f"lat {self.bounds[1]:.5f} … {self.bounds[3]:.5f}")
            else:
                lines.append("location    no coordinates")
        else:
            lines += [
                f"grid        {ny} x {nx} pixels of {abs(self.resolution[0]):g} x {abs(self.resolution[1]):g} m, "
                f"{self.crs}",
                f"bounds      left {self.bounds[0]:.1f}, bottom {self.bounds[1]:.1f}, right {self.bounds[2]:.1f}, "
                f"top {self.bounds[3]:.1f}",
            ]
        lines.append(f"dates       {t}: {self.dates[0]} … {self.dates[-1]}")
        for name, (lo, hi) in self.ranges.items():
            unit = " dB" if name in RADAR_VARS else ""
            lines.append(f"{name:<11} {lo:.3f} … {hi:.3f}{unit} (median {self.medians[name]:.3f}{unit})")
        lines.append(f"clouds      {100 * self.pixels_with_a_cloud:.1f} % of pixels have at least one cloudy date")
        if self.dates_without_observation:
            lines.append(f"no optical  {', '.join(self.dates_without_observation)} (predicted, never scored)")
        lines.append("per date    " + "  ".join(
            f"{d}:{100 * c:.0f}%" for d, c in zip(self.dates, self.cloud_fraction_per_date)))
        lines.append(f"crop {'labels' if self.layout == POINTS_LAYOUT else 'map   '} {'yes' if self.has_crop else 'no'}")
        return "\n".join(lines)


def summarize_cube(ds: xr.Dataset, *, source: str | None = None) -> CubeSummary:
    """Summarise a valid cube: grid, CRS, dates, value ranges, cloud fraction per date."""
    import rioxarray  # noqa: F401

    cloud = np.asarray(ds["cloud"].values)
    observed_dates = ~cloud.all(axis=(1, 2))
    ranges, medians = {}, {}
    for name in ("vv", "vh", "ndvi"):
        vals = np.asarray(ds[name].values)
        finite = vals[np.isfinite(vals)]
        ranges[name] = (float(finite.min()), float(finite.max()))
        medians[name] = float(np.median(finite))
    dates = [str(pd.Timestamp(t).date()) for t in ds["time"].values]
    s1 = [str(pd.Timestamp(t).date()) for t in ds["s1_time"].values] if "s1_time" in ds.coords else None
    if is_points(ds):
        layout, crs_text, resolution = POINTS_LAYOUT, "none (points)", (float("nan"), float("nan"))
        bounds = (float("nan"),) * 4
        if "lon" in ds.coords and "lat" in ds.coords:
            lon, lat = np.asarray(ds["lon"].values, float), np.asarray(ds["lat"].values, float)
            if np.isfinite(lon).any() and np.isfinite(lat).any():
                crs_text = "EPSG:4326 (lon/lat of the points)"
                bounds = (float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat)))
    else:
        crs = ds.rio.crs
        layout, crs_text = "grid", crs.to_string() if crs is not None else "none"
        resolution = tuple(float(r) for r in ds.rio.resolution())
        bounds = tuple(float(b) for b in ds.rio.bounds())
    return CubeSummary(
        source=source or str(ds.attrs.get("source", "datacube")),
        shape=(ds.sizes["time"], ds.sizes["y"], ds.sizes["x"]),
        crs=crs_text,
        resolution=resolution,
        bounds=bounds,
        dates=dates,
        s1_dates=s1,
        ranges=ranges,
        medians=medians,
        cloud_fraction_per_date=[float(f) for f in cloud.mean(axis=(1, 2))],
        pixels_with_a_cloud=float(cloud[observed_dates].any(axis=0).mean()) if observed_dates.any() else 1.0,
        dates_without_observation=[d for d, o in zip(dates, observed_dates) if not o],
        has_crop="crop" in ds.variables,
        simulated=bool(ds.attrs.get("simulated", False)),
        layout=layout,
    )


def observed_dates_mask(ds: xr.Dataset) -> np.ndarray:
    """``(time,)`` bool: dates on which at least one pixel has an optical value."""
    return ~np.asarray(ds["cloud"].values).all(axis=(1, 2))


def reference_ndvi(ds: xr.Dataset) -> xr.DataArray:
    """The NDVI to score predictions against: ``ndvi_true`` where the cube has it, else ``ndvi``."""
    return ds["ndvi_true"] if "ndvi_true" in ds.variables else ds["ndvi"]


def new_cube(*, vv: np.ndarray, vh: np.ndarray, ndvi: np.ndarray, time, x: np.ndarray, y: np.ndarray,
             crs, s1_time=None, crop: np.ndarray | None = None, field: np.ndarray | None = None,
             ndvi_true: np.ndarray | None = None, attrs: dict | None = None) -> xr.Dataset:
    """Build a convention-following cube from plain arrays (``(time, y, x)`` radar in dB, NDVI).

    ``cloud`` is derived as ``isnan(ndvi)``; dtypes are set; ``crs`` is written with rioxarray (``None``
    writes none: only a points cube may lack one).
    Does not validate: call :func:`validate_cube` on the result when the inputs are untrusted.
    """
    import rioxarray  # noqa: F401

    dims = DIMS
    ndvi = np.asarray(ndvi, dtype=np.float32)
    data_vars = {
        "vv": (dims, np.asarray(vv, dtype=np.float32), {"units": "dB", "long_name": "Sentinel-1 VV backscatter"}),
        "vh": (dims, np.asarray(vh, dtype=np.float32), {"units": "dB", "long_name": "Sentinel-1 VH backscatter"}),
        "ndvi": (dims, ndvi, {"units": "1", "long_name": "Sentinel-2 NDVI (NaN where missing)"}),
        "cloud": (dims, np.isnan(ndvi), {"long_name": "optical value missing or masked"}),
    }
    if crop is not None:
        data_vars["crop"] = (("y", "x"), np.asarray(crop, dtype=np.int16), {"long_name": "crop class code"})
    if field is not None:
        data_vars["field"] = (("y", "x"), np.asarray(field, dtype=np.int32), {"long_name": "field id"})
    if ndvi_true is not None:
        data_vars["ndvi_true"] = (dims, np.asarray(ndvi_true, dtype=np.float32),
                                  {"units": "1", "long_name": "NDVI under the clouds (reference)"})
    coords = {"time": pd.DatetimeIndex(time).values, "y": np.asarray(y, dtype=np.float64),
              "x": np.asarray(x, dtype=np.float64)}
    if s1_time is not None:
        coords["s1_time"] = ("time", pd.DatetimeIndex(s1_time).values)
    ds = xr.Dataset(data_vars, coords=coords, attrs=dict(attrs or {}))
    if crs is not None:  # None: a points cube, which has no grid CRS
        ds = ds.rio.write_crs(crs)
    ds = ds.rio.set_spatial_dims(x_dim="x", y_dim="y")
    return ds
