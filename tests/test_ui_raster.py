"""mcnnseq.ui.raster: grid geometry, Web Mercator warp, colour maps, PNG, click -> pixel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from pyproj import Transformer

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.ui.raster import (
    COLORMAPS,
    GridGeometry,
    colorize,
    latlon_to_pixel,
    mask_rgba,
    mercator_warp,
    pixel_to_latlon,
    png_data_url,
)


@pytest.fixture
def cube():
    return make_tiny_cube(nt=3, ny=40, nx=50)


def test_geometry_matches_the_cube(cube):
    g = GridGeometry.from_cube(cube)
    assert (g.nx, g.ny) == (50, 40)
    assert g.x0 == float(cube.x[0]) and g.dy < 0
    assert g.bounds == pytest.approx(tuple(cube.rio.bounds()))


def test_irregular_grid_is_refused(cube):
    x = cube.x.values.copy()
    x[5:] += 3.0
    with pytest.raises(DatacubeError, match="evenly spaced"):
        GridGeometry.from_cube(cube.assign_coords(x=x))


def test_warp_covers_the_cube_and_each_corner_lands_on_its_pixel(cube):
    g = GridGeometry.from_cube(cube)
    w = mercator_warp(g)
    (south, west), (north, east) = w.bounds
    to_ll = Transformer.from_crs(g.crs_wkt, "EPSG:4326", always_xy=True)
    left, bottom, right, top = g.bounds
    for x, y in [(left, bottom), (left, top), (right, bottom), (right, top)]:
        lon, lat = to_ll.transform(x, y)
        assert south - 1e-9 <= lat <= north + 1e-9 and west - 1e-9 <= lon <= east + 1e-9
    # the overlay is no larger than the cube plus its rotation against the Mercator axes (< 1°)
    assert (north - south) * 110_900 < (top - bottom) * 1.003 + 0.02 * (right - left)
    h, wd = w.rows.shape
    assert 0.9 < w.inside.mean() <= 1.0  # UTM 11N at ~116° W is rotated by < 1°: small empty corners
    # the output row/col of an interior cube pixel, found back through the warp indices
    img = np.arange(g.ny * g.nx, dtype=float).reshape(g.ny, g.nx)
    warped = w.apply(img)
    assert np.isnan(warped[~w.inside]).all()
    assert set(np.unique(warped[w.inside]).astype(int)) <= set(range(g.ny * g.nx))
    assert warped[h // 2, wd // 2] == pytest.approx(img[g.ny // 2, g.nx // 2], abs=g.nx + 1)


def test_click_maps_back_to_the_pixel(cube):
    g = GridGeometry.from_cube(cube)
    for row, col in [(0, 0), (17, 33), (39, 49)]:
        lat, lon = pixel_to_latlon(g, row, col)
        assert latlon_to_pixel(g, lat, lon) == (row, col)
    lat, lon = pixel_to_latlon(g, 0, 0)
    assert latlon_to_pixel(g, lat + 0.01, lon) is None  # ~1 km north of the scene


def test_colorize_ramp_ends_and_nan():
    vals = np.array([[0.0, 1.0, np.nan, 2.0, -5.0]])
    rgba = colorize(vals, cmap="ndvi")
    first, last = COLORMAPS["ndvi"][0][1], COLORMAPS["ndvi"][-1][1]
    assert tuple(rgba[0, 0, :3]) == first and tuple(rgba[0, 1, :3]) == last
    assert rgba[0, 2, 3] == 0 and (rgba[0, [0, 1, 3, 4], 3] == 255).all()
    assert tuple(rgba[0, 3, :3]) == last and tuple(rgba[0, 4, :3]) == first  # clipped to vmin … vmax
    mid = colorize(np.array([[0.0]]), cmap="error")  # 0 error is the white middle of the diverging ramp
    assert tuple(mid[0, 0, :3]) == COLORMAPS["error"][2][1]


def test_png_data_url_decodes_to_the_same_pixels():
    from PIL import Image

    rgba = colorize(np.linspace(0, 1, 12).reshape(3, 4))
    m = mask_rgba(np.eye(3, 4, dtype=bool))
    for arr in (rgba, m):
        url = png_data_url(arr)
        assert url.startswith("data:image/png;base64,")
        back = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
        np.testing.assert_array_equal(back, arr)


def test_point_places_nearest_bounds_and_marker_colours():
    import xarray as xr

    from mcnnseq.ui.raster import PointPlaces, colorize, hex_colors

    ds = xr.Dataset(coords={"x": [0.0, 1.0, 2.0], "id": ("x", ["a", "b", "c"]),
                            "lat": ("x", [50.0, 50.1, np.nan]), "lon": ("x", [4.0, 4.2, np.nan])})
    places = PointPlaces.from_cube(ds)
    assert list(places.located) == [True, True, False] and list(places.ids) == ["a", "b", "c"]
    assert places.nearest(50.09, 4.19) == 1 and places.nearest(49.0, 3.0) == 0
    (south, west), (north, east) = places.bounds
    assert south < 50.0 < 50.1 < north and west < 4.0 < 4.2 < east
    assert PointPlaces.from_cube(ds.drop_vars(["lat", "lon"])) is None
    colours = hex_colors(np.array([0.2, np.nan, 0.8]))
    rgba = colorize(np.array([[0.2, 0.8]]))[0]
    assert colours[1] is None and colours[0] == "#%02x%02x%02x" % tuple(rgba[0, :3]) != colours[2]
