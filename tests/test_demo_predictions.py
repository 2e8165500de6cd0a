"""Shipped whole-scene predictions of the demo models: fresh, equal to live predictions, refused when stale."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mcnnseq.demo_predictions import STEP, demo_predictions_path, load_demo_predictions
from mcnnseq.pretrained import ASSETS_DIR, demo_experiment_for_models


@pytest.fixture(scope="module")
def demo():
    return demo_experiment_for_models("50%").ds


def test_shipped_files_are_small():
    sizes = [demo_predictions_path(s).stat().st_size for s in ("50%", "70%")]
    assert max(sizes) < 7e6 and sum(sizes) < 14e6, sizes  # four models' predictions and fusion's σ each


def test_shipped_predictions_match_the_shipped_models(demo, one_torch_thread):
    scene = load_demo_predictions("50%", demo)
    assert scene is not None, ("assets/predictions/demo_50.nc is stale or missing: rebuild it with "
                               "`python scripts/build_demo_predictions.py`")
    from mcnnseq.demo_predictions import _shipped_models
    from mcnnseq.prediction import SCENE_PRECISION, call_predict_std

    models = _shipped_models("50%", None)
    assert list(scene) == list(models)
    rng = np.random.default_rng(0)
    iy, ix = rng.integers(0, demo.sizes["y"], 60), rng.integers(0, demo.sizes["x"], 60)
    X = np.stack([demo["vv"].values[:, iy, ix].T, demo["vh"].values[:, iy, ix].T], axis=-1).astype(np.float32)
    observed = np.where(demo["cloud"].values, np.nan, demo["ndvi"].values)
    for name, trained in models.items():
        live, live_std = call_predict_std(trained, X, observed[:, iy, ix].T.astype(np.float32),
                                          precision=SCENE_PRECISION)  # (60, T), as the scene was predicted
        stored = scene[name]["ndvi_pred"].values[:, iy, ix].T
        np.testing.assert_allclose(stored, live, atol=STEP / 2 + 1e-5)
        if trained.uncertainty["kind"] == "head":  # stored; a residual σ is recomputed from the prediction
            np.testing.assert_allclose(scene[name]["ndvi_std"].values[:, iy, ix].T, live_std, atol=STEP / 2 + 1e-5)
        filled = scene[name]["ndvi_filled"].values
        np.testing.assert_array_equal(filled, np.where(np.isfinite(observed), observed, scene[name]["ndvi_pred"].values))
        assert scene[name].rio.crs == demo.rio.crs and scene[name].attrs["model"] == name
        assert scene[name]["ndvi_pred"].dtype == np.float32


def test_stale_predictions_are_refused(demo, tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(ASSETS_DIR, models_dir)
    assert load_demo_predictions("50%", demo, models_dir=models_dir, names=["CNN"]) is not None
    # the models were retrained (same file names): refused
    path = models_dir / "demo_50_rnn.pt"
    path.write_bytes(path.read_bytes() + b"\0")
    assert load_demo_predictions("50%", demo, models_dir=models_dir) is None
    # another cube (one radar value differs): refused
    other = demo.copy(deep=True)
    other["vv"].values[3, 10, 10] += 0.5
    assert load_demo_predictions("50%", other) is None
    # the 70 % file does not serve the 50 % scene; unknown model names and missing files give None
    assert load_demo_predictions("70%", demo) is None
    assert load_demo_predictions("50%", demo, names=["Whittaker"]) is None
    assert load_demo_predictions("50%", demo, directory=tmp_path / "nowhere") is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "demo_50.nc").write_bytes(b"garbage")
    assert load_demo_predictions("50%", demo, directory=broken) is None
