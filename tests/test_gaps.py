"""Artificial gaps: seeded windows of k consecutive observed dates, never leaking into the model input."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.gaps import (NONE_BEFORE, days_bucket, days_labels, hide_random_windows, make_gaps, random_gaps,
                          valid_windows)


def _observed(n=300, T=12, seed=0, p=0.3):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0, 1, (n, T)).astype(np.float32)
    y[rng.random((n, T)) < p] = np.nan
    return y


def test_windows_are_consecutive_observed_and_leave_two_dates():
    y = _observed()
    obs = np.isfinite(y)
    gaps = make_gaps(y, seed=3)
    mask = gaps.mask()
    assert len(gaps) > 0 and set(np.unique(gaps.k)) == {1, 2, 3, 4}
    for j in range(len(gaps)):
        hidden = np.flatnonzero(mask[j])
        assert hidden.size == gaps.k[j] and np.all(np.diff(hidden) == 1)          # consecutive
        assert obs[gaps.pixel[j], hidden].all()                                    # all observed
        assert obs[gaps.pixel[j]].sum() - gaps.k[j] >= 2                           # two others stay
    # every (pixel, k) that allows a window got exactly one
    for k in (1, 2, 3, 4):
        allowed = np.flatnonzero(valid_windows(obs, k).any(axis=1))
        assert np.array_equal(np.sort(gaps.pixel[gaps.k == k]), allowed)


def test_valid_windows_by_hand():
    obs = np.array([[1, 1, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(valid_windows(obs, 2), [[True, False, False, True, True],
                                                          [False, False, False, False, False]])
    np.testing.assert_array_equal(valid_windows(obs, 1)[1], [True, True, True, False, False, False])


def test_gaps_are_seeded_and_independent_of_the_other_lengths():
    y = _observed()
    a, b, c = make_gaps(y, seed=1), make_gaps(y, seed=1), make_gaps(y, seed=2)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.pixel, b.pixel)
    assert not np.array_equal(a.start, c.start)
    only3 = make_gaps(y, seed=1, k_values=[3])
    assert np.array_equal(only3.start, a.start[a.k == 3])


def test_apply_hides_the_window_and_hidden_gives_the_truth():
    y = _observed(n=50)
    truth = np.nan_to_num(y, nan=0.5) + 0.01
    gaps = make_gaps(y, seed=0)
    gapped = gaps.apply(y)
    mask = gaps.mask()
    assert np.isnan(gapped[mask]).all()
    np.testing.assert_array_equal(gapped[~mask], y[gaps.pixel][~mask])
    hidden = gaps.hidden(truth)
    np.testing.assert_array_equal(hidden[mask], truth[gaps.pixel][mask])
    assert np.isnan(hidden[~mask]).all()


def test_days_since_the_last_clear_observation():
    dates = np.datetime64("2021-01-01") + np.array([0, 31, 59, 90, 120], dtype="timedelta64[D]")
    obs = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)
    from mcnnseq.gaps import Gaps

    gaps = Gaps(pixel=np.array([0, 1]), start=np.array([2, 0]), k=np.array([2, 1]), n_dates=5)
    days = gaps.days_since_clear(obs, dates)
    # pixel 0: window = dates 2, 3; last clear before = date 0 (date 1 is cloudy)
    np.testing.assert_array_equal(days[0], [np.nan, np.nan, 59, 90, np.nan])
    assert np.isnan(days[1]).all()  # window at the start: none before
    from mcnnseq.gaps import days_bucket_index

    assert days_bucket_index(np.array([1, 21, np.nan])).tolist() == [0, 1, 6]
    labels = days_bucket(np.array([5, 20, 21, 59, 131, np.nan]))
    assert list(labels) == ["1–20", "1–20", "21–40", "41–70", ">130", NONE_BEFORE]
    assert days_labels()[-1] == NONE_BEFORE and len(days_labels()) == 7


def test_random_gaps_for_training_by_hiding_dates():
    y = _observed(n=200, seed=4)
    g1, h1 = hide_random_windows(y, np.random.default_rng(9))
    g2, h2 = hide_random_windows(y, np.random.default_rng(9))
    np.testing.assert_array_equal(h1, h2)
    assert g1.shape == y.shape and np.isnan(g1[h1]).all() and np.isfinite(y[h1]).all()
    np.testing.assert_array_equal(g1[~h1], y[~h1])
    counts = h1.sum(axis=1)
    assert set(np.unique(counts)) <= {0, 1, 2, 3, 4} and (counts > 0).mean() > 0.9
    gaps = random_gaps(y, np.random.default_rng(0), k_values=[2])
    assert (gaps.k == 2).all() and len(gaps) == valid_windows(y, 2).any(axis=1).sum()


def test_bad_input():
    with pytest.raises(ValueError, match="n, T"):
        make_gaps(np.zeros(5))
    with pytest.raises(ValueError, match="at least one date"):
        valid_windows(np.ones((2, 5), bool), 0)
