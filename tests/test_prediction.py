"""Tests of whole-scene prediction (mcnnseq.prediction) with fake predictors and a tiny torch model."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from conftest import make_tiny_cube
from mcnnseq.errors import CheckpointError, DatacubeError
from mcnnseq.prediction import Predictor, model_name, predict_cube, predict_cube_lazy, predict_multi

A, B, C = 0.04, -0.03, 0.5


class LinearPredictor:
    """NDVI = A·VV + B·VH + C per date; records the batches it was given and refuses NaN input."""

    def __init__(self, name: str = "linear", t_out: int | None = None):
        self.name = name
        self.t_out = t_out
        self.batches: list[int] = []

    def predict(self, X: np.ndarray) -> np.ndarray:
        assert X.ndim == 3 and X.shape[2] == 2 and X.dtype == np.float32
        assert np.isfinite(X).all(), "the model must never see an incomplete radar series"
        self.batches.append(X.shape[0])
        y = (A * X[..., 0] + B * X[..., 1] + C).astype(np.float32)
        return y if self.t_out is None else y[:, : self.t_out]


def expected_pred(ds: xr.Dataset) -> np.ndarray:
    vv = ds["vv"].values.astype(np.float32)
    vh = ds["vh"].values.astype(np.float32)
    out = (A * vv + B * vh + C).astype(np.float32)
    incomplete = ~(np.isfinite(vv).all(axis=0) & np.isfinite(vh).all(axis=0))
    out[:, incomplete] = np.nan
    return out


@pytest.fixture
def cube() -> xr.Dataset:
    ds = make_tiny_cube(nt=6, ny=9, nx=7, seed=4, cloud_fraction=0.5)
    vv = ds["vv"].values.copy()
    vv[2, 1, 3] = np.nan  # one date of radar missing: the pixel cannot be predicted
    ds["vv"] = (ds["vv"].dims, vv, ds["vv"].attrs)
    return ds


def test_output_keeps_grid_coords_crs_and_attrs(cube):
    out = predict_cube(LinearPredictor(name="MCNN-Seq"), cube)
    assert set(out.data_vars) == {"ndvi_pred", "ndvi_filled", "fill_source"}   # no σ model: no ndvi_std
    for name in ("ndvi_pred", "ndvi_filled"):
        assert out[name].dims == ("time", "y", "x") and out[name].dtype == np.float32
    for coord in ("time", "s1_time", "x", "y"):
        np.testing.assert_array_equal(out[coord].values, cube[coord].values)
    assert out.rio.crs == cube.rio.crs
    assert out.rio.transform() == cube.rio.transform()
    assert out.attrs["model"] == "MCNN-Seq" and out.attrs["source"] == cube.attrs["source"]


def test_prediction_values_nan_radar_and_filled(cube):
    model = LinearPredictor()
    out = predict_cube(model, cube)
    pred = out["ndvi_pred"].values
    np.testing.assert_allclose(pred, expected_pred(cube), rtol=1e-6, equal_nan=True)
    assert np.isnan(pred[:, 1, 3]).all()  # radar incomplete on one date -> NaN on every date
    assert np.isfinite(np.delete(pred.reshape(6, -1), 1 * 7 + 3, axis=1)).all()
    filled = out["ndvi_filled"].values
    cloud = cube["cloud"].values
    assert cloud.any() and (~cloud).any()
    np.testing.assert_array_equal(filled[~cloud], cube["ndvi"].values[~cloud])
    np.testing.assert_array_equal(filled[cloud], pred[cloud])


def test_chunked_equals_single_chunk_and_batches_are_bounded(cube):
    whole = predict_cube(LinearPredictor(), cube, chunk_pixels=10**6)
    small_model = LinearPredictor()
    small = predict_cube(small_model, cube, chunk_pixels=5)  # 5 pixels < one row of 7: splits rows
    for name in ("ndvi_pred", "ndvi_filled"):
        np.testing.assert_array_equal(small[name].values, whole[name].values)
    assert max(small_model.batches) <= 5
    assert sum(small_model.batches) == 9 * 7 - 1  # every complete pixel predicted exactly once
    rows = predict_cube(LinearPredictor(), cube, chunk_pixels=14)  # two rows per block
    np.testing.assert_array_equal(rows["ndvi_pred"].values, whole["ndvi_pred"].values)


def test_progress_increases_and_reaches_total(cube):
    calls = []
    predict_cube(LinearPredictor(), cube, chunk_pixels=14, progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert len(calls) == 5  # ceil(9 rows / 2 rows per block)
    assert all(b > a for a, b in zip(done, done[1:]))
    assert {t for _, t in calls} == {63} and done[-1] == 63


def test_mismatched_output_length_is_a_clear_error(cube):
    model = LinearPredictor(name="RNN", t_out=4)
    model.source = "runs/rnn.pt"
    with pytest.raises(CheckpointError, match=r"predicts 4 date\(s\).*has 6 dates") as info:
        predict_cube(model, cube)
    message = str(info.value)
    assert message.startswith("runs/rnn.pt: ") and "'RNN'" in message and cube.attrs["source"] in message


def test_dask_and_netcdf_backed_cubes_give_the_same_result(cube, tmp_path):
    ref = predict_cube(LinearPredictor(), cube)
    lazy_in = cube.chunk({"time": -1, "y": 4, "x": -1})
    out = predict_cube(LinearPredictor(), lazy_in, chunk_pixels=10)
    np.testing.assert_array_equal(out["ndvi_pred"].values, ref["ndvi_pred"].values)
    path = tmp_path / "cube.nc"
    cube.to_netcdf(path)
    with xr.open_dataset(path, chunks={"y": 3}, decode_coords="all") as on_disk:
        out = predict_cube(LinearPredictor(), on_disk, chunk_pixels=21)
        assert out.rio.crs == cube.rio.crs
    np.testing.assert_array_equal(out["ndvi_filled"].values, ref["ndvi_filled"].values)


def test_lazy_prediction_computes_the_same_and_streams_to_netcdf(cube, tmp_path):
    ref = predict_cube(LinearPredictor(), cube)
    model = LinearPredictor()
    lazy = predict_cube_lazy(model, cube.chunk({"y": 5}), chunk_pixels=14)
    assert model.batches == [] and lazy["ndvi_pred"].chunks is not None  # nothing predicted yet
    path = tmp_path / "pred.nc"
    lazy.to_netcdf(path)
    with xr.open_dataset(path) as back:
        np.testing.assert_array_equal(back["ndvi_pred"].values, ref["ndvi_pred"].values)
        np.testing.assert_array_equal(back["ndvi_filled"].values, ref["ndvi_filled"].values)
    assert max(model.batches) <= 14


def test_predict_multi_reads_once_and_matches_single_predictions(cube, monkeypatch):
    import mcnnseq.prediction as prediction

    class Shifted(LinearPredictor):
        def predict(self, X):
            return super().predict(X) + np.float32(0.1)

    reads = []
    real_read = prediction._read
    monkeypatch.setattr(prediction, "_read", lambda ds, name, rows: reads.append(name) or real_read(ds, name, rows))
    out = predict_multi({"a": LinearPredictor(), "b": Shifted()}, cube, chunk_pixels=21)  # 3 blocks of 3 rows
    assert reads.count("vv") == 3 and reads.count("vh") == 3
    assert set(out) == {"a", "b"} and out["b"].attrs["model"] == "b"
    single = predict_cube(LinearPredictor(), cube)
    np.testing.assert_array_equal(out["a"]["ndvi_pred"].values, single["ndvi_pred"].values)
    np.testing.assert_allclose(out["b"]["ndvi_pred"].values, out["a"]["ndvi_pred"].values + 0.1, rtol=1e-6)


def test_200x200_scene_is_predicted_correctly():
    ds = make_tiny_cube(nt=31, ny=200, nx=200, seed=1, cloud_fraction=0.3)
    out = predict_cube(LinearPredictor(), ds, chunk_pixels=65_536)
    np.testing.assert_allclose(out["ndvi_pred"].values, expected_pred(ds), rtol=1e-6)
    assert out["ndvi_pred"].shape == (31, 200, 200)


def test_bad_inputs_raise_domain_errors(cube):
    with pytest.raises(DatacubeError, match="tiny test cube.*'vh'"):
        predict_cube(LinearPredictor(), cube.drop_vars("vh"))
    with pytest.raises(ValueError, match="chunk_pixels"):
        predict_cube(LinearPredictor(), cube, chunk_pixels=0)


def test_radar_only_cube_gives_prediction_without_filled(cube):
    out = predict_cube(LinearPredictor(), cube.drop_vars(["ndvi", "cloud"]))
    assert set(out.data_vars) == {"ndvi_pred"}


def test_model_name_and_protocol():
    class WithConfig:
        config = {"model": "CNN"}

        def predict(self, X):
            return X[..., 0]

    assert isinstance(WithConfig(), Predictor)
    assert model_name(WithConfig()) == "CNN"
    assert model_name(LinearPredictor(name="RNN")) == "RNN"


def test_a_real_trained_model_predicts_the_scene(cube):
    from mcnnseq.sampling import pixel_series, split_pixels
    from mcnnseq.training import TrainConfig, fit

    X, Y = pixel_series(cube, split_pixels(cube, seed=0).train)
    trained = fit(X, Y, None, None, TrainConfig(model="cnn", epochs=1, batch_size=64, device="cpu", seed=0))
    out = predict_cube(trained, cube, chunk_pixels=8)
    whole = predict_cube(trained, cube, chunk_pixels=10**6)
    assert out.attrs["model"] == trained.name
    np.testing.assert_allclose(out["ndvi_pred"].values, whole["ndvi_pred"].values, rtol=1e-5, atol=1e-6)
    pixel = np.stack([cube["vv"].values[:, 4, 2], cube["vh"].values[:, 4, 2]], axis=-1)[None].astype(np.float32)
    np.testing.assert_allclose(out["ndvi_pred"].values[:, 4, 2], trained.predict(pixel)[0], rtol=1e-5, atol=1e-6)
    assert np.isnan(out["ndvi_pred"].values[:, 1, 3]).all()
    assert np.isfinite(out["ndvi_filled"].values[:, 0, 0]).all()


class ObservedEcho:
    """A model that uses the observed NDVI: predicts the observed value where clear, -1 elsewhere."""

    uses_ndvi = True
    name = "echo"

    def predict(self, X: np.ndarray, *, ndvi: np.ndarray) -> np.ndarray:
        assert ndvi.shape == X.shape[:2] and ndvi.dtype == np.float32
        return np.where(np.isfinite(ndvi), ndvi, -1.0).astype(np.float32)


@pytest.mark.parametrize("lazy", [False, True])
def test_models_that_use_ndvi_get_the_observed_ndvi_and_only_it(cube, lazy):
    out = (predict_cube_lazy if lazy else predict_cube)(ObservedEcho(), cube)
    pred = np.asarray(out["ndvi_pred"].values)
    observed = np.where(cube["cloud"].values, np.nan, cube["ndvi"].values)
    complete = np.isfinite(cube["vv"].values).all(axis=0) & np.isfinite(cube["vh"].values).all(axis=0)
    clear = np.isfinite(observed) & complete
    np.testing.assert_array_equal(pred[clear], observed[clear])
    assert (pred[~np.isfinite(observed) & complete] == -1).all()  # a cloudy value never reaches the model
    assert np.isnan(pred[:, ~complete]).all()


def test_std_and_fill_source_in_memory_lazily_and_by_block(cube):
    """A network with a σ model gets ndvi_std (eager = lazy = any block size); fill_source follows the flags."""
    import dask

    from mcnnseq.flags import CLOUD_FILLED, NO_VALUE, OBSERVED
    from mcnnseq.sampling import pixel_series, split_pixels
    from mcnnseq.training import TrainConfig, fit
    from mcnnseq.uncertainty import ensure_uncertainty

    X, Y = pixel_series(cube, split_pixels(cube, seed=0).train)
    trained = fit(X, Y, None, None, TrainConfig(model="cnn", epochs=1, batch_size=64, device="cpu", seed=0))
    assert trained.uncertainty is None                              # no validation set: no σ model
    assert "ndvi_std" not in predict_cube(trained, cube)
    trained = ensure_uncertainty(trained, X, Y)
    out = predict_cube(trained, cube, chunk_pixels=8)
    whole = predict_cube(trained, cube, chunk_pixels=10**6)
    with dask.config.set(scheduler="synchronous"):
        lazy = predict_cube_lazy(trained, cube.chunk({"y": 3}), chunk_pixels=21).compute()
    for other in (whole, lazy):
        for var in ("ndvi_std", "fill_source"):
            np.testing.assert_allclose(out[var].values, other[var].values, rtol=1e-5, atol=1e-7)
    std = out["ndvi_std"].values
    assert np.isnan(std[:, 1, 3]).all() and (std[:, [0, 2], :] > 0).all()
    _, expected = trained.predict_with_std(np.stack([cube["vv"].values[:, 4, 2], cube["vh"].values[:, 4, 2]],
                                                    axis=-1)[None].astype(np.float32))
    np.testing.assert_allclose(std[:, 4, 2], expected[0], rtol=1e-5)
    source = out["fill_source"].values
    cloudy = cube["cloud"].values
    assert (source[:, 1, 3] == np.where(cloudy[:, 1, 3], NO_VALUE, OBSERVED)).all()
    assert (source[~cloudy] == OBSERVED).all() and (source[:, 0, 0][cloudy[:, 0, 0]] == CLOUD_FILLED).all()
