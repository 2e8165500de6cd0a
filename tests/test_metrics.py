"""Tests of mcnnseq.metrics against hand-computed values on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mcnnseq import metrics as M
from mcnnseq.paper import table4

NAN = np.nan


# ------------------------------------------------------------------------------------ R², RMSE

def test_r2_and_rmse_hand_computed():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 2.0, 3.0, 5.0])
    # SS_res = 1, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5
    assert M.r2_score(t, p) == pytest.approx(1 - 1 / 5)
    assert M.rmse(t, p) == pytest.approx(math.sqrt(1 / 4))


def test_rmse_is_the_standard_rmse_not_eq15():
    t = np.array([0.0, 0.0])
    p = np.array([0.3, -0.1])
    assert M.rmse(t, p) == pytest.approx(math.sqrt((0.09 + 0.01) / 2))
    assert M.rmse(t, p) != pytest.approx((0.3 + 0.1) / 2)  # Eq. 15 as printed


def test_metrics_match_an_independent_formula_on_random_2d_data():
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 1, (40, 5))
    p = t + rng.normal(0, 0.1, t.shape)
    assert M.r2_score(t, p) == pytest.approx(1 - np.mean((t - p) ** 2) / np.var(t))
    assert M.rmse(t, p) == pytest.approx(np.sqrt(np.mean((t - p) ** 2)))


def test_nan_truth_and_nan_prediction_are_not_scored():
    t = np.array([1.0, 2.0, 3.0, 4.0, NAN, 9.0])
    p = np.array([1.0, 2.0, 3.0, 5.0, 100.0, NAN])
    assert M.r2_score(t, p) == pytest.approx(0.8)
    assert M.rmse(t, p) == pytest.approx(0.5)
    assert M.valid_mask(t, p).tolist() == [True, True, True, True, False, False]


def test_constant_truth_gives_nan_r2_but_finite_rmse():
    t = np.full(3, 0.1)  # the float mean of three 0.1 is not exactly 0.1: must still be NaN, not -huge
    p = np.array([0.1, 0.2, 0.0])
    assert math.isnan(M.r2_score(t, p))
    assert M.rmse(t, p) == pytest.approx(math.sqrt(0.02 / 3))


def test_no_truth_gives_nan():
    t = np.full(4, NAN)
    assert math.isnan(M.r2_score(t, np.ones(4)))
    assert math.isnan(M.rmse(t, np.ones(4)))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        M.rmse(np.ones(3), np.ones(4))


# ---------------------------------------------------------------------------------- per date

DATES = pd.to_datetime(["2018-01-11", "2018-01-16", "2018-01-31"])


def _three_dates():
    t = np.array([[0.1, NAN, 0.5], [0.3, NAN, 0.7], [0.5, NAN, NAN]])
    p = np.array([[0.2, 0.4, 0.5], [0.3, 0.4, 0.6], [0.4, 0.4, 0.9]])
    return t, p


def test_per_date_metrics_hand_computed_and_no_truth_date_kept():
    t, p = _three_dates()
    df = M.per_date_metrics(t, p, DATES)
    assert list(df.columns) == ["r2", "rmse", "n"]
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "time"
    assert list(df.index) == list(DATES)
    # date 0: truth 0.1 .3 .5 (mean .3, SS_tot .08), errors .1 0 -.1 (SS_res .02)
    assert df["r2"].iloc[0] == pytest.approx(1 - 0.02 / 0.08)
    assert df["rmse"].iloc[0] == pytest.approx(math.sqrt(0.02 / 3))
    # date 1: no truth at all -> kept, NaN, n = 0
    assert df["n"].iloc[1] == 0 and math.isnan(df["r2"].iloc[1]) and math.isnan(df["rmse"].iloc[1])
    # date 2: two truths 0.5, 0.7 (SS_tot .02), errors 0, -.1
    assert df["n"].tolist() == [3, 0, 2]
    assert df["r2"].iloc[2] == pytest.approx(1 - 0.01 / 0.02)
    assert df["rmse"].iloc[2] == pytest.approx(math.sqrt(0.01 / 2))


def test_per_date_metrics_without_dates_and_wrong_date_count():
    t, p = _three_dates()
    assert list(M.per_date_metrics(t, p).index) == [0, 1, 2]
    with pytest.raises(ValueError, match="2 dates"):
        M.per_date_metrics(t, p, DATES[:2])


def test_compare_models_layout_matches_paper_table4_and_mean_skips_unscored_dates():
    t, p = _three_dates()
    out = M.compare_models({"RNN": p, "MCNN-Seq": np.where(np.isnan(t), 0.0, t)}, t, DATES)
    paper = table4()
    assert out.columns.names == paper.columns.names
    assert set(out.columns.get_level_values("metric")) == set(paper.columns.get_level_values("metric"))
    assert list(out.index[:-1]) == list(DATES) and out.index[-1] == "mean"
    per = M.per_date_metrics(t, p, DATES)
    assert out.loc["mean", ("RNN", "r2")] == pytest.approx(per["r2"].iloc[[0, 2]].mean())
    assert out.loc["mean", ("RNN", "rmse")] == pytest.approx(per["rmse"].iloc[[0, 2]].mean())
    assert out.loc["mean", ("MCNN-Seq", "r2")] == pytest.approx(1.0)
    assert out.loc["mean", ("MCNN-Seq", "rmse")] == pytest.approx(0.0)
    # the same helper gives the paper's table its mean row, so the two can be put side by side
    paper_mean = M.add_mean_row(paper).loc["mean", ("MCNN-Seq", "r2")]
    assert paper_mean == pytest.approx(paper[("MCNN-Seq", "r2")].mean())
    assert 0.84 < paper_mean < 0.86


def test_compare_models_with_n_and_without_mean():
    t, p = _three_dates()
    out = M.compare_models({"A": p}, t, DATES, mean_row=False, include_n=True)
    assert list(out.columns) == [("A", "r2"), ("A", "rmse"), ("A", "n")]
    assert out[("A", "n")].tolist() == [3, 0, 2]
    with pytest.raises(ValueError):
        M.compare_models({}, t, DATES)


def test_per_date_min_n_leaves_dates_with_too_few_truths_unscored():
    t = np.array([[0.1, 0.2], [0.3, NAN], [0.5, NAN]])
    p = t + 0.1
    out = M.per_date_metrics(t, p, min_n=2)
    assert out["r2"].iloc[0] == pytest.approx(1 - 0.03 / 0.08) and np.isnan(out["r2"].iloc[1])
    assert np.isnan(out["rmse"].iloc[1]) and out["n"].tolist() == [3, 1]
    table = M.compare_models({"A": p}, t, min_n=2)
    assert table.loc["mean", ("A", "r2")] == pytest.approx(out["r2"].iloc[0])   # the unscored date is skipped


def test_pooled_scores_and_scores_by_group():
    t = np.array([[0.1, 0.2, 0.3], [0.4, NAN, 0.6]])
    p = np.array([[0.1, 0.3, 0.3], [0.5, 0.5, NAN]])
    r2, err, n = M.pooled_scores(t, p)
    assert n == 4 and err == pytest.approx(np.sqrt((0.01 + 0.01) / 4))
    assert r2 == pytest.approx(M.r2_score(t, p))
    assert np.isnan(M.pooled_scores(t, p, min_n=5)[0])
    groups = np.array([[1, 2, 1], [2, 2, 1]])
    out = M.scores_by_group(t, p, groups, order=[1, 2, 3], column="k")
    assert out["k"].tolist() == [1, 2, 3] and out["n"].tolist() == [2, 2, 0]
    assert out["rmse"].iloc[0] == pytest.approx(0.0) and out["rmse"].iloc[1] == pytest.approx(np.sqrt(0.01))
    assert np.isnan(out["r2"].iloc[2])
    with pytest.raises(ValueError, match="groups"):
        M.scores_by_group(t, p, groups[:1])


# --------------------------------------------------------------------------- class profiles

def _profile_arrays():
    # T = 2, grid 2 x 3; classes: 1 1 2 / 2 2 0 (0 = ignored)
    classes = np.array([[1, 1, 2], [2, 2, 0]])
    obs = np.array([[[0.2, 0.4, 0.1], [0.3, NAN, 0.9]],
                    [[0.6, 0.8, NAN], [NAN, NAN, 0.9]]])
    pred = np.array([[[0.3, 0.5, 0.2], [0.2, 0.5, 0.0]],
                     [[0.5, 0.9, 0.1], [0.3, 0.4, 0.0]]])
    return obs, pred, classes


def test_class_profiles_hand_computed():
    obs, pred, classes = _profile_arrays()
    df = M.class_profiles(obs, pred, classes, dates=DATES[:2])
    assert sorted(df["class"].unique()) == [1, 2]  # class 0 ignored
    assert len(df) == 4
    row = df[(df["class"] == 1) & (df["time"] == DATES[0])].iloc[0]
    assert row["obs_mean"] == pytest.approx(0.3) and row["obs_std"] == pytest.approx(0.1)
    assert row["obs_n"] == 2 and row["pred_n"] == 2
    assert row["pred_mean"] == pytest.approx(0.4) and row["pred_std"] == pytest.approx(0.1)
    assert row["obs_lo"] == pytest.approx(0.1) and row["obs_hi"] == pytest.approx(0.5)
    assert row["pred_lo"] == pytest.approx(0.2) and row["pred_hi"] == pytest.approx(0.6)
    # class 2, date 0: observed 0.1, 0.3 (one NaN); predicted 0.2, 0.2, 0.5
    row = df[(df["class"] == 2) & (df["time"] == DATES[0])].iloc[0]
    assert row["obs_n"] == 2 and row["obs_mean"] == pytest.approx(0.2) and row["obs_std"] == pytest.approx(0.1)
    assert row["pred_n"] == 3 and row["pred_mean"] == pytest.approx(0.3)
    assert row["pred_std"] == pytest.approx(np.std([0.2, 0.2, 0.5]))
    # class 2, date 1: nothing observed -> NaN statistics, row kept
    row = df[(df["class"] == 2) & (df["time"] == DATES[1])].iloc[0]
    assert row["obs_n"] == 0 and math.isnan(row["obs_mean"]) and math.isnan(row["obs_std"])
    assert row["pred_mean"] == pytest.approx(np.mean([0.1, 0.3, 0.4]))


def test_class_profiles_mask_paired_ddof_and_names():
    obs, pred, classes = _profile_arrays()
    mask = np.array([[True, False, True], [True, True, True]])
    df = M.class_profiles(obs, pred, classes, dates=DATES[:2], mask=mask, paired=True, ddof=1,
                          class_names={1: "Onion", 2: "Corn"})
    assert df.set_index("class")["name"].to_dict() == {1: "Onion", 2: "Corn"}
    row = df[(df["class"] == 1) & (df["time"] == DATES[0])].iloc[0]
    assert row["obs_n"] == 1 and row["obs_mean"] == pytest.approx(0.2) and math.isnan(row["obs_std"])
    row = df[(df["class"] == 2) & (df["time"] == DATES[0])].iloc[0]
    assert row["pred_n"] == 2 and row["pred_mean"] == pytest.approx(0.2)  # paired: NaN-observed pixel dropped
    assert row["obs_std"] == pytest.approx(np.std([0.1, 0.3], ddof=1))


def test_profile_agreement_table3_form():
    prof = pd.DataFrame({"class": [4, 4, 4, 4], "time": list(pd.date_range("2018-01-01", periods=4)),
                         "obs_mean": [0.2, 0.4, 0.6, NAN], "pred_mean": [0.25, 0.35, 0.6, 0.5],
                         "obs_n": [10, 12, 12, 0]})
    out = M.profile_agreement(prof)
    assert out.index.tolist() == [4] and out.index.name == "class"
    # SS_res = .0025 + .0025, SS_tot = .04 + 0 + .04
    assert out.loc[4, "r2"] == pytest.approx(1 - 0.005 / 0.08)
    assert out.loc[4, "rmse"] == pytest.approx(math.sqrt(0.005 / 3))
    assert out.loc[4, "n_dates"] == 3 and out.loc[4, "n_pixels"] == 12


def test_profile_agreement_from_class_profiles():
    obs, pred, classes = _profile_arrays()
    agree = M.profile_agreement(M.class_profiles(obs, pred, classes, dates=DATES[:2]))
    # class 1 observed means .3, .7 vs predicted .4, .7
    assert agree.loc[1, "rmse"] == pytest.approx(math.sqrt(0.01 / 2))
    assert agree.loc[1, "r2"] == pytest.approx(1 - 0.01 / 0.08)
    assert agree.loc[2, "n_dates"] == 1 and math.isnan(agree.loc[2, "r2"])  # one date: R² undefined


def test_radar_profiles_match_nanmean_per_class():
    rng = np.random.default_rng(1)
    classes = rng.integers(0, 4, (5, 6))
    vv = rng.normal(-12, 2, (3, 5, 6))
    vh = rng.normal(-19, 2, (3, 5, 6))
    vv[1, 2, 3] = NAN
    df = M.radar_profiles(vv, vh, classes, dates=DATES)
    assert set(df["class"]) == set(np.unique(classes)) - {0}
    for _, row in df.iterrows():
        j = list(DATES).index(row["time"])
        sel = classes == row["class"]
        assert row["vv_mean"] == pytest.approx(np.nanmean(vv[j][sel]))
        assert row["vv_std"] == pytest.approx(np.nanstd(vv[j][sel]))
        assert row["vh_mean"] == pytest.approx(np.mean(vh[j][sel]))
        assert row["n"] == np.isfinite(vv[j][sel]).sum()


# --------------------------------------------------------------------------------- pixel maps

def test_pixel_r2_map_values_and_nan_rules():
    rng = np.random.default_rng(2)
    t = rng.uniform(0, 1, (6, 3, 4))
    p = t + rng.normal(0, 0.1, t.shape)
    t[:4, 0, 0] = NAN  # only 2 dates of truth < min_dates
    t[:, 0, 1] = 0.3  # constant truth
    p[2, 1, 1] = NAN  # a missing prediction is not scored
    r2 = M.pixel_r2_map(t, p, min_dates=3, block_rows=2)
    assert r2.shape == (3, 4) and r2.dtype == np.float32
    assert math.isnan(r2[0, 0]) and math.isnan(r2[0, 1])
    for iy in range(3):
        for ix in range(4):
            if (iy, ix) not in ((0, 0), (0, 1)):
                assert r2[iy, ix] == pytest.approx(M.r2_score(t[:, iy, ix], p[:, iy, ix]), rel=1e-5)
    assert M.pixel_r2_map(t, p, min_dates=2)[0, 0] == pytest.approx(M.r2_score(t[:, 0, 0], p[:, 0, 0]), rel=1e-5)


def test_pixel_rmse_map_values():
    t = np.array([[[0.0, 0.5]], [[0.0, NAN]]])
    p = np.array([[[0.3, 0.1]], [[0.4, 0.9]]])
    out = M.pixel_rmse_map(t, p)
    assert out.shape == (1, 2)
    assert out[0, 0] == pytest.approx(math.sqrt((0.09 + 0.16) / 2))
    assert out[0, 1] == pytest.approx(0.4)


# ------------------------------------------------------------------------ histograms, scatter

def test_error_histogram_counts_pred_minus_true():
    t = np.array([0.5, 0.5, 0.5, NAN, 0.5])
    p = np.array([0.6, 0.4, 0.65, 0.0, 2.0])
    hist = M.error_histogram(t, p, bins=[-0.2, 0.0, 0.2])
    assert hist.counts.tolist() == [1, 2]  # the 1.5 error is outside the edges; the NaN is not scored
    assert hist.edges.tolist() == [-0.2, 0.0, 0.2]
    default = M.error_histogram(t, p)
    assert default.counts.sum() == 3 and len(default.edges) == len(default.counts) + 1
    assert default.edges[0] == -1.0 and default.edges[-1] == 1.0


def test_density_scatter_places_pairs_in_cells():
    t = np.array([0.05, 0.05, 0.95, NAN, -0.5])
    p = np.array([0.95, 0.95, 0.05, 0.5, 0.5])
    h = M.density_scatter(t, p, bins=2, range=(0.0, 1.0))
    assert h.counts.shape == (2, 2)
    assert h.counts.tolist() == [[0, 2], [1, 0]]  # [truth bin, prediction bin]
    assert h.x_edges.tolist() == [0.0, 0.5, 1.0] and h.y_edges.tolist() == [0.0, 0.5, 1.0]
    full = M.density_scatter(t, p)
    assert full.counts.shape == (100, 100) and full.counts.sum() == 3
    assert full.x_edges[0] == pytest.approx(-0.2) and full.x_edges[-1] == pytest.approx(1.0)
