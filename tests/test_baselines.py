"""The classic gap-fillers: linear interpolation in time and the Whittaker smoother with GCV."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.baselines import (LinearGapFill, WhittakerGapFill, second_difference_matrix, whittaker_smooth)
from mcnnseq.errors import ModelConfigError
from mcnnseq.prediction import call_predict, uses_ndvi

DAY_OFFSETS = [0, 5, 17, 30, 44, 50, 71, 80, 95, 120, 130, 150]
DATES = np.datetime64("2018-01-01") + np.array(DAY_OFFSETS, dtype="timedelta64[D]")
DAYS = (DATES - DATES[0]).astype(np.float64)


def _x(n: int, t: int) -> np.ndarray:
    return np.zeros((n, t, 2), dtype=np.float32)


def test_contract():
    for model in (LinearGapFill(DATES), WhittakerGapFill(DATES)):
        assert uses_ndvi(model) and not model.trainable
        y = np.tile(np.linspace(0.2, 0.8, 12, dtype=np.float32), (3, 1))
        out = call_predict(model, _x(3, 12), y)
        assert out.shape == (3, 12) and out.dtype == np.float32
        with pytest.raises(ModelConfigError, match="ndvi"):
            model.predict(_x(3, 12))
        with pytest.raises(ModelConfigError, match="12 dates but the data has 5"):
            model.predict(_x(3, 5), ndvi=y[:, :5])
    assert LinearGapFill().predict(None, ndvi=np.ones((1, 40))).shape == (1, 40)  # any length without dates


def test_linear_is_exact_on_a_line_in_real_days():
    line = 0.1 + 0.004 * DAYS
    y = np.tile(line, (4, 1))
    y[0, [3, 4, 5]] = np.nan          # a gap of uneven spacing: interpolated in days, not in date index
    y[1, [0, 1]] = np.nan             # before the first clear date: held at it
    y[2, [10, 11]] = np.nan           # after the last clear date: held
    y[3, :] = np.nan                  # nothing clear
    out = LinearGapFill(DATES).predict(_x(4, 12), ndvi=y)
    np.testing.assert_allclose(out[0], line, atol=1e-6)
    np.testing.assert_allclose(out[1, :2], line[2], atol=1e-6)
    np.testing.assert_allclose(out[2, 10:], line[9], atol=1e-6)
    assert np.isnan(out[3]).all()
    # on the date index the same gap gives another answer (the spacing is uneven)
    index = LinearGapFill().predict(_x(4, 12), ndvi=y)
    assert not np.allclose(index[0, 3:6], line[3:6], atol=1e-3)


def test_second_difference_matrix_kills_lines_in_time():
    D = second_difference_matrix(DAYS)
    np.testing.assert_allclose(D @ (3 - 0.01 * DAYS), 0, atol=1e-12)
    equal = second_difference_matrix(np.arange(5.0))
    np.testing.assert_allclose(equal[0], [1, -2, 1, 0, 0])


def _dense_whittaker(y, t, lam):
    w = np.isfinite(y).astype(float)
    D = second_difference_matrix(t)
    A = np.diag(w) + lam * D.T @ D
    z = np.linalg.solve(A, w * np.nan_to_num(y))
    H = np.linalg.solve(A, np.diag(w))
    n = w.sum()
    gcv = n * np.sum(w * (np.nan_to_num(y) - z) ** 2) / (n - np.trace(H)) ** 2
    return z, gcv


def test_whittaker_matches_dense_linear_algebra():
    rng = np.random.default_rng(0)
    y = rng.normal(0.5, 0.2, (6, 12))
    y[rng.random((6, 12)) < 0.3] = np.nan
    y[:, 0] = 0.4  # observed ends: nothing held, the bare smoother is compared
    y[:, -1] = 0.6
    for lam in (0.01, 3.0, 1e4):
        z, _ = whittaker_smooth(y, DAYS, lambdas=lam)
        for i in range(6):
            np.testing.assert_allclose(z[i], _dense_whittaker(y[i], DAYS, lam)[0], rtol=1e-8, atol=1e-10)


def test_whittaker_gcv_picks_the_dense_gcv_minimum_on_its_grid():
    rng = np.random.default_rng(1)
    y = 0.5 + 0.3 * np.sin(DAYS / 30) + rng.normal(0, 0.05, (5, 12))
    y[rng.random((5, 12)) < 0.2] = np.nan
    y[:, [0, -1]] = 0.5
    grid = 10.0 ** np.arange(-2, 5.01, 1.0)
    z, lam = whittaker_smooth(y, DAYS, lambdas=grid)
    for i in range(5):
        gcvs = [_dense_whittaker(y[i], DAYS, g)[1] for g in grid]
        best = grid[int(np.argmin(gcvs))]
        # the refinement tries best·10^±0.5 and keeps whichever has the lowest dense GCV
        tried = [best / 10 ** 0.5, best, best * 10 ** 0.5]
        expected = tried[int(np.argmin([_dense_whittaker(y[i], DAYS, g)[1] for g in tried]))]
        assert lam[i] == pytest.approx(expected)
        np.testing.assert_allclose(z[i], _dense_whittaker(y[i], DAYS, expected)[0], atol=1e-9)


def test_whittaker_is_exact_on_a_line_with_gaps_at_any_smoothing():
    line = 0.2 + 0.003 * DAYS
    y = np.tile(line, (3, 1))
    y[0, 4:8] = np.nan
    y[1, [1, 6, 9]] = np.nan
    for lam in (0.01, 100.0, 1e5):
        z, _ = whittaker_smooth(y, DAYS, lambdas=lam)
        np.testing.assert_allclose(z, np.tile(line, (3, 1)), atol=1e-8)


def test_whittaker_reproduces_a_quadratic_when_gcv_sees_no_noise():
    t = np.arange(31.0)
    quad = 0.1 + 0.05 * t - 0.0016 * t ** 2
    y = np.tile(quad, (2, 1))
    y[1, 10:14] = np.nan
    out = WhittakerGapFill().predict(None, ndvi=y)
    np.testing.assert_allclose(out, np.tile(quad, (2, 1)), atol=2e-3)


def test_whittaker_gcv_smooths_noise_towards_the_truth():
    rng = np.random.default_rng(2)
    t = np.arange(31.0)
    truth = 0.45 + 0.3 * np.sin(2 * np.pi * t / 31)
    y = truth + rng.normal(0, 0.05, (400, 31))
    y[rng.random((400, 31)) < 0.25] = np.nan
    z, lam = WhittakerGapFill().smooth(y)
    err_gcv = np.sqrt(np.mean((z - truth) ** 2))
    err_obs = np.sqrt(np.nanmean((y - truth) ** 2))
    rough = np.sqrt(np.mean((WhittakerGapFill(lambdas=0.01).predict(None, ndvi=y) - truth) ** 2))
    stiff = np.sqrt(np.mean((WhittakerGapFill(lambdas=1e5).predict(None, ndvi=y) - truth) ** 2))
    assert err_gcv < 0.7 * err_obs        # smoothing removes noise
    assert err_gcv < rough and err_gcv < stiff  # and GCV beats both ends of the grid
    assert np.median(lam) > 0.3  # GCV undersmooths now and then (a known trait), not typically


def test_whittaker_few_observations_and_ends():
    y = np.full((4, 8), np.nan)
    y[0, 3] = 0.4                 # one value: constant
    y[1, [2, 5]] = [0.2, 0.5]     # two: the line through them, held outside
    y[2, [1, 2, 3, 6]] = [0.9, 0.9, 0.9, 0.9]
    out, lam = WhittakerGapFill().smooth(y)
    np.testing.assert_allclose(out[0], 0.4, atol=1e-6)
    np.testing.assert_allclose(out[1], [0.2, 0.2, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(out[2], 0.9, atol=1e-6)
    assert np.isnan(out[3]).all() and np.isnan(lam[[0, 1, 3]]).all() and lam[2] > 0


def test_whittaker_chunks_give_the_same_answer_and_output_is_clipped():
    rng = np.random.default_rng(3)
    y = rng.normal(0.5, 0.3, (50, 12))
    y[rng.random((50, 12)) < 0.3] = np.nan
    y[0] = np.linspace(0.2, 0.99, 12)
    y[0, -1] = np.nan
    a = WhittakerGapFill(DATES).predict(None, ndvi=y)
    b = WhittakerGapFill(DATES, chunk_pixels=7).predict(None, ndvi=y)
    np.testing.assert_array_equal(a, b)
    assert np.nanmax(a) <= 1.0 and np.nanmin(a) >= -1.0
    with pytest.raises(ModelConfigError, match="λ"):
        WhittakerGapFill(lambdas=[-1.0])


def test_for_dates_returns_a_configured_copy():
    base = LinearGapFill()
    bound = base.for_dates(DATES)
    assert base.dates is None and bound.dates.size == 12 and bound.config()["dates"][0] == "2018-01-01"
