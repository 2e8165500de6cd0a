"""Sample selection and the paper's split (§2.2.4, Table 2)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.sampling import complete_pixels, inherit_split, pixel_series, radar_complete, split_pixels


def test_complete_pixels_are_those_without_a_cloud(tiny_cube):
    expected = ~tiny_cube["cloud"].values.any(axis=0)
    assert np.array_equal(complete_pixels(tiny_cube), expected)


def test_a_date_without_any_observation_does_not_make_pixels_incomplete(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][3] = np.nan
    ds["cloud"][3] = True
    others = [0, 1, 2, 4, 5]
    expected = ~tiny_cube["cloud"].values[others].any(axis=0)
    assert np.array_equal(complete_pixels(ds), expected)
    assert complete_pixels(ds).sum() > complete_pixels(tiny_cube).sum()  # pixels clouded only on date 3


def test_radar_gaps_make_pixels_incomplete(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["vh"][0, 1, 2] = np.nan
    assert not radar_complete(ds)[1, 2]
    assert not complete_pixels(ds)[1, 2]


def test_split_is_disjoint_covers_complete_pixels_and_has_paper_fractions():
    ds = make_tiny_cube(ny=40, nx=50, seed=3)
    s = split_pixels(ds, seed=7)
    all_idx = np.concatenate([s.train, s.val, s.test])
    assert np.unique(all_idx).size == all_idx.size
    assert np.array_equal(np.sort(all_idx), np.flatnonzero(complete_pixels(ds).ravel()))
    n = all_idx.size
    assert s.train.size / n == pytest.approx(0.55, abs=0.01)
    assert s.val.size / n == pytest.approx(0.15, abs=0.01)
    masks = s.masks()
    assert masks["train"].shape == (40, 50) and masks["train"].sum() == s.train.size


def test_split_is_seeded():
    ds = make_tiny_cube(ny=20, nx=20)
    a, b, c = split_pixels(ds, seed=1), split_pixels(ds, seed=1), split_pixels(ds, seed=2)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.train, c.train)


def test_split_needs_complete_pixels(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][0, :, :-1] = np.nan
    ds["cloud"][0, :, :-1] = True
    ds["ndvi"][1, :, -1] = np.nan
    ds["cloud"][1, :, -1] = True
    with pytest.raises(DatacubeError, match="only 0 pixel"):
        split_pixels(ds)
    with pytest.raises(ValueError, match="fractions"):
        split_pixels(tiny_cube, fractions=(0.5, 0.5, 0.5))


def test_inherit_split_moves_newly_clouded_pixels_to_test():
    base_ds = make_tiny_cube(ny=20, nx=20, seed=5, with_truth=True)
    base = split_pixels(base_ds, seed=0)
    cloudier = base_ds.copy(deep=True)
    lost = np.concatenate([base.train[:10], base.val[:3]])
    iy, ix = np.divmod(lost, 20)
    cloudier["ndvi"].values[1, iy, ix] = np.nan
    cloudier["cloud"].values[1, iy, ix] = True
    s = inherit_split(base, cloudier)
    assert np.array_equal(s.train, base.train[10:]) and np.array_equal(s.val, base.val[3:])
    assert np.array_equal(s.test, np.sort(np.concatenate([base.test, lost])))
    # the newly clouded test pixels are scored against the NDVI under the clouds
    _, Y = pixel_series(cloudier, lost, target="reference")
    assert np.isfinite(Y).all()


def test_inherit_split_checks_grid_and_truth(tiny_cube):
    base = split_pixels(tiny_cube)
    with pytest.raises(DatacubeError, match="ndvi_true"):
        inherit_split(base, tiny_cube)
    with pytest.raises(DatacubeError, match="grid"):
        inherit_split(base, make_tiny_cube(ny=4, with_truth=True))


def test_pixel_series_shapes_values_and_unscored_dates(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][4] = np.nan
    ds["cloud"][4] = True
    idx = np.array([0, 13, 79])
    X, Y = pixel_series(ds, idx)
    assert X.shape == (3, 6, 2) and X.dtype == np.float32 and Y.shape == (3, 6)
    iy, ix = np.divmod(idx, 10)
    assert np.array_equal(X[:, :, 0], ds["vv"].values[:, iy, ix].T)
    assert np.array_equal(X[:, :, 1], ds["vh"].values[:, iy, ix].T)
    assert np.isnan(Y[:, 4]).all()
    with pytest.raises(ValueError, match="target"):
        pixel_series(ds, idx, target="bogus")


# ------------------------------------------------------------------------------- the real-cloud protocol

from mcnnseq.sampling import (MIN_TRAIN_PIXELS, SampleReport, auto_block_size, block_ids, min_clear_dates,  # noqa: E402
                              sample_pixels, split_samples, with_split)


def _clouded(ds, masks):
    """``ds`` with NDVI hidden where ``masks`` (T, y, x) is True."""
    out = ds.copy(deep=True)
    ndvi = out["ndvi"].values
    ndvi[masks] = np.nan
    out["ndvi"] = (out["ndvi"].dims, ndvi)
    out["cloud"] = (out["cloud"].dims, np.isnan(ndvi))
    return out


def _sparse_date_cube(ny=30, nx=30, nt=12, share=0.008, seed=0):
    """Like the issue's openEO cube: one month observed on under 1 % of the pixels, the others mostly clear."""
    ds = make_tiny_cube(nt=nt, ny=ny, nx=nx, seed=seed, cloud_fraction=0.0)
    rng = np.random.default_rng(seed)
    masks = rng.random((nt, ny, nx)) < 0.15      # ordinary clouds, 15 % per date
    masks[4] = rng.random((ny, nx)) >= share     # date 4: observed on < 1 % of the pixels
    return _clouded(ds, masks)


def test_a_date_observed_on_under_one_percent_of_the_pixels_does_not_decide_samples():
    ds = _sparse_date_cube()
    clear4 = np.isfinite(ds["ndvi"].values[4]).mean()
    assert 0 < clear4 < 0.01
    samples, report = sample_pixels(ds, protocol="real")
    assert samples.mean() > 0.9                                     # the Done-when point
    assert [d for d, _ in report.sparse_dates] == [report.dates[4]]
    assert report.n_deciding == 11 and report.min_clear == 3
    # the paper rule collapses on the same cube
    paper, paper_report = sample_pixels(ds, protocol="paper")
    assert paper.sum() < 0.01 * paper.size and paper_report.n_samples == paper.sum()
    assert np.array_equal(paper, complete_pixels(ds))


def test_real_rule_counts_clear_deciding_dates():
    ds = make_tiny_cube(nt=12, ny=4, nx=5, cloud_fraction=0.0)
    masks = np.zeros((12, 4, 5), dtype=bool)
    masks[:10, 0, 0] = True        # 2 clear dates: fewer than 3
    masks[:9, 0, 1] = True         # 3 clear dates: a sample
    masks[:, 0, 2] = True          # nothing clear
    ds = _clouded(ds, masks)
    ds["vv"].values[3, 1, 1] = np.nan   # radar incomplete
    samples, report = sample_pixels(ds)
    assert not samples[0, 0] and samples[0, 1] and not samples[0, 2] and not samples[1, 1]
    assert report.n_radar_incomplete == 1 and report.n_too_few_clear == 2 and report.n_samples == 17
    assert "at least 3 clear NDVI values" in report.rule


def test_min_clear_rule():
    assert [min_clear_dates(d) for d in (0, 1, 2, 3, 10, 12, 13, 31, 60)] == [0, 1, 2, 3, 3, 3, 4, 8, 15]


def test_real_rule_on_a_cloudy_cube_with_dates_of_every_cover():
    """Clouds of every cover (0–95 % per date, in blobs): the real rule keeps the pixels that have a season."""
    nt, ny, nx = 31, 24, 24
    ds = make_tiny_cube(nt=nt, ny=ny, nx=nx, seed=2, cloud_fraction=0.0)
    rng = np.random.default_rng(2)
    cover = rng.uniform(0, 0.95, nt)
    yy, xx = np.mgrid[:ny, :nx]
    field = np.sin(yy / 4 + rng.uniform(0, 6, (nt, 1, 1))) + np.cos(xx / 5 + rng.uniform(0, 6, (nt, 1, 1)))
    thresholds = np.quantile(field.reshape(nt, -1), cover, axis=1).diagonal()
    masks = field < thresholds[:, None, None]
    ds = _clouded(ds, masks)
    samples, report = sample_pixels(ds)
    n_clear = np.isfinite(ds["ndvi"].values).sum(axis=0)
    assert report.min_clear == 8
    assert samples.mean() > 0.9 and (n_clear[~samples] < 8).all()
    assert complete_pixels(ds).mean() < 0.05      # the paper rule keeps almost nothing here


def test_sample_report_warns_below_500_training_pixels_and_says_why():
    ds = _sparse_date_cube(ny=20, nx=20, share=0.03)
    samples, report = sample_pixels(ds, protocol="paper")
    split = split_samples(complete_pixels(ds) | np.eye(20, dtype=bool), seed=0)
    text = with_split(report, split).warning()
    assert text is not None and f"fewer than {MIN_TRAIN_PIXELS}" in text
    assert report.dates[4] in text and "missing on" in text and "protocol 'real'" in text
    assert "grid itself is small" in text
    real_samples, real = sample_pixels(ds)
    real_text = with_split(real, split_samples(real_samples, seed=0)).warning()
    assert "Sparse dates" in real_text and report.dates[4] in real_text
    big = SampleReport(protocol="real", n_pixels=10_000, n_radar_incomplete=0, n_too_few_clear=0, n_samples=10_000,
                       dates=("2021-01-01",), clear_share=(1.0,), deciding=(True,), min_clear=1,
                       split={"train": 5500, "val": 1500, "test": 3000})
    assert big.warning() is None
    assert report.dates_table()["role"].tolist().count("sparse") == 0      # paper: every observed date decides
    assert real.dates_table()["role"].tolist()[4] == "sparse"


def test_sample_rule_reads_big_cubes_in_row_blocks(monkeypatch):
    import mcnnseq.sampling as sampling

    ds = _sparse_date_cube(ny=30, nx=30)
    whole = sample_pixels(ds)
    monkeypatch.setattr(sampling, "_SCAN_PIXELS", 12 * 30 * 2)   # two rows at a time
    blocks = sample_pixels(ds)
    assert np.array_equal(whole[0], blocks[0]) and whole[1] == blocks[1]


# ------------------------------------------------------------------------------------- blocked split

def test_blocked_split_keeps_blocks_whole_with_the_fractions_and_the_seed():
    rng = np.random.default_rng(0)
    samples = rng.random((90, 110)) < 0.8
    s = split_samples(samples, seed=4, kind="blocked", block_size=6)
    assert s.kind == "blocked" and s.block_size == 6
    ids = block_ids(samples.shape, 6).ravel()
    assert np.array_equal(block_ids(samples.shape, 6, np.arange(ids.size)), ids)
    owner = {}
    for name in ("train", "val", "test"):
        for b in np.unique(ids[getattr(s, name)]):
            assert owner.setdefault(b, name) == name       # no block is shared between sets
    all_idx = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(all_idx), np.flatnonzero(samples.ravel()))
    n = all_idx.size
    for part, frac in ((s.train, 0.55), (s.val, 0.15), (s.test, 0.30)):
        assert part.size / n == pytest.approx(frac, abs=0.02)
    again, other = split_samples(samples, seed=4, kind="blocked", block_size=6), split_samples(
        samples, seed=5, kind="blocked", block_size=6)
    assert np.array_equal(again.test, s.test) and not np.array_equal(other.test, s.test)


@pytest.mark.parametrize("shape, size", [((20, 20), 2), ((100, 100), 10), ((200, 200), 20), ((320, 320), 32),
                                         ((10_000, 10_000), 32), ((3, 4), 1), ((50, 48), 4)])
def test_auto_block_size(shape, size):
    assert auto_block_size(shape) == size


def test_blocked_split_on_the_smallest_and_largest_grids():
    small = split_samples(np.ones((20, 20), bool), kind="blocked", seed=0)
    assert small.block_size == 2 and min(small.sizes().values()) > 0
    big = np.zeros((10_000, 10_000), dtype=bool)
    big[::50, ::50] = True                                      # 40,000 samples spread over the grid
    s = split_samples(big, kind="blocked", seed=0)
    assert s.block_size == 32 and s.train.size / 40_000 == pytest.approx(0.55, abs=0.01)


def test_blocked_split_needs_three_blocks_and_a_good_size():
    samples = np.ones((10, 10), bool)
    with pytest.raises(DatacubeError, match="only 2 block.*smaller block size"):
        split_samples(samples[:, :8], kind="blocked", block_size=8)
    with pytest.raises(ValueError, match="block size"):
        split_samples(samples, kind="blocked", block_size=0)
    with pytest.raises(ValueError, match="split kind"):
        split_samples(samples, kind="stripes")
    three = split_samples(samples, kind="blocked", block_size=5, seed=1)   # 4 blocks of 25: all three sets used
    assert min(three.sizes().values()) >= 25
