"""Rasters of a datacube on a web map: warp to Web Mercator, colour-map to PNG, map click -> pixel.

Leaflet stretches an image overlay linearly between two lat/lon corners in Web Mercator
(EPSG:3857). A datacube's grid is in its own projected CRS (e.g. UTM), rotated against the Mercator
axes by the meridian convergence (about 1° in the demo's UTM 11N at 115.5° W), so drawing the cube's
rows as they are would misplace the corners by a few pixels. :func:`mercator_warp` therefore
resamples (nearest neighbour) the cube grid onto a regular Mercator grid covering it; pixels outside
the cube are transparent. The same geometry maps a clicked lat/lon back to the nearest cube pixel.

No Streamlit here: these functions are tested on their own.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xarray as xr

from mcnnseq.errors import DatacubeError

#: Colour ramps: name -> ((position in 0..1, (r, g, b)), ...), linear between anchors.
COLORMAPS: dict[str, tuple[tuple[float, tuple[int, int, int]], ...]] = {
    # bare soil brown -> sparse yellow -> dense green
    "ndvi": ((0.0, (120, 70, 30)), (0.2, (190, 150, 90)), (0.4, (235, 225, 140)), (0.6, (140, 200, 90)),
             (0.8, (40, 150, 60)), (1.0, (0, 80, 40))),
    # diverging: under-prediction blue, over-prediction red
    "error": ((0.0, (33, 102, 172)), (0.25, (146, 197, 222)), (0.5, (247, 247, 247)), (0.75, (244, 165, 130)),
              (1.0, (178, 24, 43))),
    # viridis-like, for R² and other 0..1 scores
    "score": ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
              (1.0, (253, 231, 37))),
    # radar backscatter, dark to bright
    "radar": ((0.0, (10, 10, 10)), (1.0, (245, 245, 245))),
    # uncertainty σ: pale (trust) -> dark purple (doubt)
    "sigma": ((0.0, (255, 255, 229)), (0.25, (254, 217, 142)), (0.5, (236, 112, 20)), (0.75, (153, 52, 4)),
              (1.0, (60, 10, 60))),
}

#: Default display range per kind of value (units of the value: NDVI, NDVI error, R², dB).
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "ndvi": (0.0, 1.0), "error": (-0.3, 0.3), "score": (0.0, 1.0), "radar": (-25.0, 0.0), "sigma": (0.0, 0.25),
}


@dataclass(frozen=True)
class GridGeometry:
    """A regular grid of pixel centres in a projected CRS (hashable: used as a cache key).

    Column ``j`` is centred at ``x0 + j * dx`` and row ``i`` at ``y0 + i * dy`` (CRS units, metres;
    ``dy`` is usually negative: row 0 is the northern edge).
    """

    crs_wkt: str
    x0: float
    dx: float
    nx: int
    y0: float
    dy: float
    ny: int

    @classmethod
    def from_cube(cls, ds: xr.Dataset) -> "GridGeometry":
        """The geometry of a datacube's ``(y, x)`` grid; raises :class:`DatacubeError` if irregular."""
        import rioxarray  # noqa: F401  (registers .rio)

        src = ds.attrs.get("source")
        crs = ds.rio.crs
        if crs is None:
            raise DatacubeError("has no CRS, so it cannot be placed on a map", source=src)
        x = np.asarray(ds["x"].values, dtype=np.float64)
        y = np.asarray(ds["y"].values, dtype=np.float64)
        dx, dy = (float(r) for r in ds.rio.resolution())
        for name, c, d in (("x", x, dx), ("y", y, dy)):
            if c.size > 1 and not np.allclose(np.diff(c), d, rtol=1e-4, atol=1e-6 * abs(d)):
                raise DatacubeError("pixel centres are not evenly spaced; the map needs a regular grid",
                                    source=src, variable=name)
        return cls(crs_wkt=crs.to_wkt(), x0=float(x[0]), dx=dx, nx=int(x.size), y0=float(y[0]), dy=dy,
                   ny=int(y.size))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the pixel edges, CRS units."""
        xs = (self.x0 - self.dx / 2, self.x0 + (self.nx - 0.5) * self.dx)
        ys = (self.y0 - self.dy / 2, self.y0 + (self.ny - 0.5) * self.dy)
        return min(xs), min(ys), max(xs), max(ys)

    def pixel_of(self, cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest pixel ``(row, col, inside)`` of CRS coordinates ``cx, cy`` (arrays of any shape)."""
        col = np.rint((np.asarray(cx) - self.x0) / self.dx).astype(np.int64)
        row = np.rint((np.asarray(cy) - self.y0) / self.dy).astype(np.int64)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.clip(row, 0, self.ny - 1), np.clip(col, 0, self.nx - 1), inside


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class MercatorWarp:
    """Nearest-neighbour resampling of a cube grid onto a regular Web Mercator grid.

    ``rows``/``cols`` are ``(H, W)`` int64 indices into the cube grid, ``inside`` ``(H, W)`` bool;
    ``bounds`` is ``((south, west), (north, east))`` in degrees, what Leaflet's ImageOverlay takes.
    """

    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``(ny, nx)`` cube raster -> ``(H, W)`` float64 Mercator raster, NaN outside the cube."""
        out = np.asarray(values, dtype=np.float64)[self.rows, self.cols]
        out[~self.inside] = np.nan
        return out


@lru_cache(maxsize=16)
def mercator_warp(geom: GridGeometry, *, max_side: int = 1024, oversample: int = 2) -> MercatorWarp:
    """The Web Mercator grid covering ``geom``, about ``oversample`` output pixels per cube pixel.

    The longer side has at most ``max_side`` pixels (large cubes are shown decimated).
    """
    to_merc = _transformer(geom.crs_wkt, "EPSG:3857")
    left, bottom, right, top = geom.bounds
    mx0, my0, mx1, my1 = to_merc.transform_bounds(left, bottom, right, top, densify_pts=21)
    aspect = (mx1 - mx0) / (my1 - my0)
    side = int(np.clip(oversample * max(geom.nx, geom.ny), 16, max_side))
    if aspect >= 1:
        w, h = side, max(1, int(round(side / aspect)))
    else:
        w, h = max(1, int(round(side * aspect))), side
    mx = mx0 + (np.arange(w) + 0.5) * (mx1 - mx0) / w
    my = my1 - (np.arange(h) + 0.5) * (my1 - my0) / h  # row 0 = north
    gx, gy = np.meshgrid(mx, my)
    cx, cy = _transformer("EPSG:3857", geom.crs_wkt).transform(gx, gy)
    rows, cols, inside = geom.pixel_of(cx, cy)
    to_ll = _transformer("EPSG:3857", "EPSG:4326")
    (west, east), (south, north) = to_ll.transform([mx0, mx1], [my0, my1])
    return MercatorWarp(rows=rows, cols=cols, inside=inside,
                        bounds=((float(south), float(west)), (float(north), float(east))))


def latlon_to_pixel(geom: GridGeometry, lat: float, lon: float) -> tuple[int, int] | None:
    """The cube pixel ``(row, col)`` under a map click at ``lat, lon`` (degrees), None outside the cube."""
    cx, cy = _transformer("EPSG:4326", geom.crs_wkt).transform(lon, lat)
    row, col, inside = geom.pixel_of(np.array([cx]), np.array([cy]))
    if not inside[0]:
        return None
    return int(row[0]), int(col[0])


def pixel_to_latlon(geom: GridGeometry, row: int, col: int) -> tuple[float, float]:
    """Centre of cube pixel ``(row, col)`` as ``(lat, lon)`` in degrees."""
    lon, lat = _transformer(geom.crs_wkt, "EPSG:4326").transform(geom.x0 + col * geom.dx, geom.y0 + row * geom.dy)
    return float(lat), float(lon)


@dataclass(frozen=True)
class PointPlaces:
    """Where the points of a points cube (a parcel/point table) are: ``lat``/``lon`` (n,) degrees (NaN where a
    point has none) and ``ids`` (n,) their ids as text. :meth:`from_cube` gives None without coordinates."""

    lat: np.ndarray
    lon: np.ndarray
    ids: np.ndarray

    @classmethod
    def from_cube(cls, ds: xr.Dataset) -> "PointPlaces | None":
        """The points' places (``lon``/``lat`` coordinates of the cube, as :func:`mcnnseq.io.open_table` writes
        them from lon/lat or x/y columns), or None when the table had no coordinates."""
        if "lon" not in ds.coords or "lat" not in ds.coords:
            return None
        lat = np.asarray(ds["lat"].values, dtype=np.float64).reshape(-1)
        lon = np.asarray(ds["lon"].values, dtype=np.float64).reshape(-1)
        if not (np.isfinite(lat) & np.isfinite(lon)).any():
            return None
        ids = np.asarray(ds["id"].values).astype(str) if "id" in ds.coords else np.arange(lat.size).astype(str)
        return cls(lat=lat, lon=lon, ids=ids)

    @property
    def located(self) -> np.ndarray:
        """(n,) bool: the point has a place."""
        return np.isfinite(self.lat) & np.isfinite(self.lon)

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((south, west), (north, east))`` of the located points, padded so that one point still has an area."""
        ok = self.located
        south, north = float(self.lat[ok].min()), float(self.lat[ok].max())
        west, east = float(self.lon[ok].min()), float(self.lon[ok].max())
        pad = max(north - south, east - west) * 0.05 or 0.005
        return (south - pad, west - pad), (north + pad, east + pad)

    def nearest(self, lat: float, lon: float) -> int | None:
        """Index of the located point nearest to ``lat, lon`` (distance on the local tangent plane), or None."""
        ok = np.flatnonzero(self.located)
        if ok.size == 0:
            return None
        dy = self.lat[ok] - float(lat)
        dx = (self.lon[ok] - float(lon)) * np.cos(np.radians(float(lat)))
        return int(ok[np.argmin(dx * dx + dy * dy)])


def hex_colors(values: np.ndarray, *, cmap: str = "ndvi", vmin: float | None = None,
               vmax: float | None = None) -> list[str | None]:
    """``"#rrggbb"`` of each value under :func:`colorize`'s colour map (None for NaN), for point markers."""
    v = np.asarray(values, dtype=np.float64).reshape(1, -1)
    rgba = colorize(v, cmap=cmap, vmin=vmin, vmax=vmax)[0]
    return [None if not np.isfinite(x) else "#%02x%02x%02x" % tuple(int(c) for c in px[:3])
            for x, px in zip(v[0], rgba)]


def colorize(values: np.ndarray, *, cmap: str = "ndvi", vmin: float | None = None, vmax: float | None = None,
             alpha: int = 255) -> np.ndarray:
    """``(H, W)`` values -> ``(H, W, 4)`` uint8 RGBA through the ramp ``cmap``; NaN -> transparent.

    Values are clipped to ``vmin … vmax`` (default: :data:`DEFAULT_RANGES` of ``cmap``).
    """
    anchors = COLORMAPS[cmap]
    lo, hi = DEFAULT_RANGES[cmap]
    vmin = lo if vmin is None else vmin
    vmax = hi if vmax is None else vmax
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    t = np.clip((np.where(finite, values, vmin) - vmin) / max(vmax - vmin, 1e-12), 0.0, 1.0)
    pos = np.array([a[0] for a in anchors])
    rgb = np.array([a[1] for a in anchors], dtype=np.float64)
    out = np.empty(values.shape + (4,), dtype=np.uint8)
    for k in range(3):
        out[..., k] = np.rint(np.interp(t, pos, rgb[:, k])).astype(np.uint8)
    out[..., 3] = np.where(finite, alpha, 0).astype(np.uint8)
    return out


def mask_rgba(mask: np.ndarray, *, color: tuple[int, int, int] = (255, 255, 255), alpha: int = 210) -> np.ndarray:
    """``(H, W)`` bool (NaN-free) -> RGBA: ``color`` where True, transparent elsewhere."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros(mask.shape + (4,), dtype=np.uint8)
    out[mask, :3] = color
    out[mask, 3] = alpha
    return out


def png_data_url(rgba: np.ndarray) -> str:
    """``(H, W, 4)`` uint8 -> ``data:image/png;base64,…`` (Pillow, which Streamlit depends on)."""
    from PIL import Image

    buf = io.BytesIO()
    # level 1: 4x faster than the default 6 on these noisy rasters, and no larger (a first Map visit encodes ~16)
    Image.fromarray(np.ascontiguousarray(rgba)).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def legend_css_gradient(cmap: str) -> str:
    """A CSS ``linear-gradient(...)`` of the ramp ``cmap`` (left = low), for a legend bar."""
    stops = ", ".join(f"rgb{tuple(c)} {100 * p:.0f}%" for p, c in COLORMAPS[cmap])
    return f"linear-gradient(to right, {stops})"
