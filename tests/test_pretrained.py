"""The pretrained demo models shipped in assets/: present, loadable, made on the current simulator."""

from __future__ import annotations

import shutil

import numpy as np
import pytest


from mcnnseq.checkpoints import load_checkpoint, save_checkpoint
from mcnnseq.errors import CheckpointError
from mcnnseq.experiment import MODEL_ORDER, SCENARIOS
from mcnnseq.pretrained import DEMO_SETTINGS, demo_model_path, load_demo_models
from mcnnseq.sim import SIMULATOR_VERSION


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shipped_models_match_the_current_simulator(scenario):
    for name in MODEL_ORDER:
        path = demo_model_path(scenario, name)
        assert path.exists(), f"{path} missing: run scripts/train_demo_models.py"
        assert path.stat().st_size < 3_000_000  # small enough to ship
        sig = load_checkpoint(path).data_signature
        assert sig["simulator_version"] == SIMULATOR_VERSION, (
            f"{path.name} was trained on simulator {sig['simulator_version']}, the simulator is now "
            f"{SIMULATOR_VERSION}: rerun scripts/train_demo_models.py")
        assert sig["scenario"] == scenario and sig["seed"] == DEMO_SETTINGS["seed"]
        assert sig["t_in"] == sig["t_out"] == 31


def test_load_demo_models_gives_the_three_models():
    models = load_demo_models("50%")
    assert list(models) == ["RNN", "CNN", "MCNN-Seq"]
    X = np.random.default_rng(0).normal(-14, 3, (5, 31, 2)).astype(np.float32)
    for m in models.values():
        assert m.predict(X).shape == (5, 31)


def test_a_model_from_another_simulator_version_is_refused(tmp_path):
    for name in MODEL_ORDER:
        shutil.copy(demo_model_path("50%", name), demo_model_path("50%", name, directory=tmp_path))
    stale = load_checkpoint(demo_model_path("50%", "cnn"))
    stale.data_signature["simulator_version"] = "0.0-old"
    save_checkpoint(stale, demo_model_path("50%", "cnn", directory=tmp_path))
    with pytest.raises(CheckpointError, match="simulator version '0.0-old'"):
        load_demo_models("50%", directory=tmp_path)


def test_missing_demo_model_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="demo model is missing"):
        load_demo_models("70%", directory=tmp_path)

