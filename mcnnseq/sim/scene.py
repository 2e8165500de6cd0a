"""Layout of the simulated Imperial Valley scene: the pixel grid, rectangular fields, crop classes.

The valley is surveyed on the US Public Land Survey System: roads and irrigation canals run along
the 1-mile section lines, and fields are quarter-quarter sections (about 400 m x 400 m) or halves,
doubles and strips of them. The layout follows that: a road/canal grid every ``road_spacing_px``
pixels, blocks between roads cut into strips and strips into fields of 200-1600 m. Fields receive
crop classes so that the class areas follow Table 1 of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcnnseq.paper import CROP_CLASSES, TABLE1_PIXELS

CRS = "EPSG:32611"  #: UTM zone 11N (WGS 84)
PIXEL_SIZE_M = 10.0
CENTER_LATLON = (33.0, -115.5)
#: UTM 11N easting/northing of 33.0 N, 115.5 W (pyproj, EPSG:4326 -> EPSG:32611), rounded to 10 m.
CENTER_EN = (640_130.0, 3_652_290.0)

NON_CROP = 7  #: class code of roads, canals and bare land

#: Field strip heights and field widths (pixels) to draw from: 200 m to 1600 m, mostly 400 m.
_STRIP_HEIGHTS = (20, 40, 40, 40, 40, 60, 80)
_FIELD_WIDTHS = (20, 40, 40, 40, 80, 80, 120, 160)


@dataclass(frozen=True)
class SceneLayout:
    """The static part of a scene.

    ``crop`` (y, x) int16 class code 1..8; ``field`` (y, x) int32 field id (0 = road/canal);
    ``field_crop`` (n_fields + 1,) int16 class of each field id (index 0: roads, non-crop);
    ``edge`` (y, x) bool, pixel on the outer ring of its field; ``x``, ``y`` pixel centres (m).
    """

    crop: np.ndarray
    field: np.ndarray
    field_crop: np.ndarray
    edge: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def n_fields(self) -> int:
        return int(self.field_crop.size - 1)


def class_proportions(column: str = "subarea2") -> dict[int, float]:
    """Table 1 pixel counts of ``column`` ("subarea1" or "subarea2") as fractions summing to 1."""
    if column not in TABLE1_PIXELS:
        raise ValueError(f"proportions_from must be one of {sorted(TABLE1_PIXELS)}, got {column!r}")
    counts = TABLE1_PIXELS[column]
    total = sum(counts.values())
    return {code: counts[code] / total for code in CROP_CLASSES}


def grid_coords(ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x (nx,), y (ny,))`` in metres (UTM 11N), the scene centred on
    :data:`CENTER_EN`, ``y`` decreasing (north up)."""
    left = CENTER_EN[0] - PIXEL_SIZE_M * (nx // 2)
    top = CENTER_EN[1] + PIXEL_SIZE_M * (ny // 2)
    x = left + PIXEL_SIZE_M * (np.arange(nx) + 0.5)
    y = top - PIXEL_SIZE_M * (np.arange(ny) + 0.5)
    return x, y


def _cuts(length: int, choices: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, int]]:
    """Cut ``[0, length)`` into consecutive pieces whose sizes are drawn from ``choices``."""
    pieces, start = [], 0
    while start < length:
        size = int(rng.choice(choices))
        end = min(start + size, length)
        if end - start < 10 and pieces:  # too thin a sliver: merge it into the previous piece
            pieces[-1] = (pieces[-1][0], end)
        else:
            pieces.append((start, end))
        start = end
    return pieces


def _road_mask(n: int, spacing: int, width: int, rng: np.random.Generator) -> np.ndarray:
    offset = int(rng.integers(0, spacing))
    return ((np.arange(n) - offset) % spacing) < width


def _intervals(road: np.ndarray) -> list[tuple[int, int]]:
    """Runs of non-road indices as ``(start, end)``."""
    out, start = [], None
    for i, r in enumerate(road):
        if not r and start is None:
            start = i
        elif r and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, road.size))
    return out


def _assign_classes(sizes: np.ndarray, road_pixels: int, proportions: dict[int, float],
                    rng: np.random.Generator) -> np.ndarray:
    """Crop class per field so that class areas follow ``proportions``.

    Largest fields first (ties in random order): each field goes, at random, to a class in
    proportion to how many pixels that class still lacks; the small fields at the end settle the
    remainder, so areas match to within about one small field.
    """
    codes = np.array(sorted(proportions), dtype=np.int16)
    total = sizes.sum() + road_pixels
    deficit = np.array([proportions[c] * total for c in codes], dtype=np.float64)
    deficit[codes == NON_CROP] -= road_pixels
    order = np.lexsort((rng.random(sizes.size), -sizes))
    out = np.zeros(sizes.size, dtype=np.int16)
    for i in order:
        weight = np.clip(deficit - 0.5 * sizes[i], 0, None)
        if weight.sum() <= 0:
            k = int(np.argmax(deficit))
        else:
            k = int(rng.choice(codes.size, p=weight / weight.sum()))
        out[i] = codes[k]
        deficit[k] -= sizes[i]
    return out


def make_layout(ny: int, nx: int, *, rng: np.random.Generator, road_spacing_px: int = 161,
                road_width_px: int = 2, proportions_from: str = "subarea2") -> SceneLayout:
    """Draw the roads, fields and crop classes of an ``ny x nx`` scene."""
    proportions = class_proportions(proportions_from)
    road_y = _road_mask(ny, road_spacing_px, road_width_px, rng)
    road_x = _road_mask(nx, road_spacing_px, road_width_px, rng)
    if road_y.all():
        road_y[:] = False
    if road_x.all():
        road_x[:] = False
    field = np.zeros((ny, nx), dtype=np.int32)
    sizes: list[int] = []
    for y0, y1 in _intervals(road_y):
        for x0, x1 in _intervals(road_x):
            for sy0, sy1 in _cuts(y1 - y0, _STRIP_HEIGHTS, rng):
                for sx0, sx1 in _cuts(x1 - x0, _FIELD_WIDTHS, rng):
                    sizes.append((sy1 - sy0) * (sx1 - sx0))
                    field[y0 + sy0:y0 + sy1, x0 + sx0:x0 + sx1] = len(sizes)
    road_pixels = int((field == 0).sum())
    field_crop = np.concatenate([[NON_CROP], _assign_classes(np.array(sizes, dtype=np.int64), road_pixels,
                                                             proportions, rng)]).astype(np.int16)
    crop = field_crop[field]
    edge = np.zeros((ny, nx), dtype=bool)
    edge[1:, :] |= field[1:, :] != field[:-1, :]
    edge[:-1, :] |= field[:-1, :] != field[1:, :]
    edge[:, 1:] |= field[:, 1:] != field[:, :-1]
    edge[:, :-1] |= field[:, :-1] != field[:, 1:]
    edge &= field > 0
    x, y = grid_coords(ny, nx)
    return SceneLayout(crop=crop, field=field, field_crop=field_crop, edge=edge, x=x, y=y)
