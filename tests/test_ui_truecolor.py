"""mcnnseq.ui.truecolor: the cube's own bands or a simulated true colour, each pixel from its nearest clear date."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.ui import truecolor


def with_bands(cube):
    rng = np.random.default_rng(0)
    for name in ("red", "green", "blue"):
        cube[name] = (("time", "y", "x"), rng.uniform(0.02, 0.3, cube["ndvi"].shape).astype(np.float32))
        cube[name].values[np.isnan(cube["ndvi"].values)] = np.nan
    return cube


def test_own_bands_from_the_nearest_clear_date():
    cube = with_bands(make_tiny_cube(nt=5, ny=4, nx=5, seed=1, cloud_fraction=0.0))
    cube["cloud"].values[2, 1, 1] = True  # cloudy on the chosen date: dates 1 and 3 are 12 days away
    cube["ndvi"].values[2, 1, 1] = np.nan
    cube["cloud"].values[1, 1, 1] = True
    cube["ndvi"].values[1, 1, 1] = np.nan
    tc = truecolor.composite(cube, 2)
    assert not tc.simulated and tc.label.startswith("true colour (Sentinel-2 B04, B03, B02)")
    np.testing.assert_array_equal(tc.rgb[0, 0], [cube[b].values[2, 0, 0] for b in ("red", "green", "blue")])
    np.testing.assert_array_equal(tc.rgb[1, 1], [cube[b].values[3, 1, 1] for b in ("red", "green", "blue")])
    assert tc.days[0, 0] == 0 and tc.days[1, 1] == 12
    rgba = tc.rgba()
    assert rgba.shape == (4, 5, 4) and rgba.dtype == np.uint8 and (rgba[..., 3] == 255).all()


def test_a_pixel_never_clear_stays_transparent():
    cube = with_bands(make_tiny_cube(nt=3, ny=2, nx=2, seed=1, cloud_fraction=0.0))
    cube["cloud"].values[:, 0, 0] = True
    tc = truecolor.composite(cube, 0)
    assert np.isnan(tc.rgb[0, 0]).all() and np.isnan(tc.days[0, 0]) and tc.rgba()[0, 0, 3] == 0


def test_simulated_colour_is_green_where_dense_and_soil_where_bare():
    rgb = truecolor.simulated_rgb(np.array([[0.9, 0.1, np.nan]]), field=np.array([[1, 2, 3]]))
    canopy, soil = rgb[0, 0], rgb[0, 1]
    assert canopy[1] > canopy[0] and canopy[1] > canopy[2]  # green canopy
    assert soil[0] > soil[1] > soil[2]  # reddish-brown soil
    assert np.isnan(rgb[0, 2]).all()
    again = truecolor.simulated_rgb(np.array([[0.1, 0.1]]), field=np.array([[1, 2]]))
    assert not np.allclose(again[0, 0], again[0, 1])  # fields differ a little


def test_demo_cube_gets_a_simulated_true_colour():
    cube = make_tiny_cube(nt=4, ny=6, nx=6, seed=2, with_truth=True)
    tc = truecolor.composite(cube, 1)
    assert tc.simulated and "simulated" in tc.label
    clear = ~cube["cloud"].values[1]
    expected = truecolor.simulated_rgb(cube["ndvi"].values[1], cube["field"].values)
    np.testing.assert_allclose(tc.rgb[clear], expected[clear])
    assert np.isfinite(tc.rgb).all()  # every pixel is clear on some date
    assert truecolor.has_bands(with_bands(cube.copy()))
    assert not truecolor.has_bands(cube)


@pytest.mark.parametrize("value, expected", [(0.0, 0), (truecolor.DISPLAY_MAX, 255), (1.0, 255)])
def test_display_stretch(value, expected):
    tc = truecolor.TrueColour(rgb=np.full((1, 1, 3), value, dtype=np.float32), days=np.zeros((1, 1)),
                              simulated=False, date="2021-01-01")
    assert tc.rgba()[0, 0, 0] == expected
