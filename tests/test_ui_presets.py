"""mcnnseq.ui.presets: the presets come from one list; the form's settings reach the configs."""

from __future__ import annotations

import pytest

from mcnnseq.errors import ModelConfigError
from mcnnseq.ui import presets


def test_presets_come_from_the_training_module():
    from mcnnseq import training

    found = presets.training_presets()
    listed = getattr(training, "PRESETS", None)
    if listed:
        assert list(found) == list(listed)
    else:
        assert list(found) == ["quick", "paper"]
        assert found["quick"].config("cnn") == training.TrainConfig.quick("cnn")
    for p in found.values():
        assert p.describe() and "epoch" in p.describe()


def test_a_presets_mapping_is_followed(monkeypatch):
    from mcnnseq import training

    monkeypatch.setattr(training, "PRESETS", {"tiny": training.TrainConfig(epochs=1, batch_size=8),
                                              "quick": training.TrainConfig.quick}, raising=False)
    found = presets.training_presets()
    assert list(found) == ["tiny", "quick"] and found["tiny"].title == "Tiny"
    assert found["tiny"].config("rnn").model == "rnn" and found["tiny"].config("rnn").epochs == 1
    assert found["tiny"].describe().startswith("1 epoch, batch 8")


def test_build_configs_applies_the_form():
    quick = next(iter(presets.training_presets().values()))
    cfgs = presets.build_configs(quick, ["cnn", "mcnn_seq"], settings={"epochs": 3, "max_train_samples": 0,
                                                                       "patience": 0},
                                 hparams={"mcnn_seq": {"hidden_size": 16, "attention_size": None}})
    assert [c.model for c in cfgs] == ["cnn", "mcnn_seq"] and all(c.epochs == 3 for c in cfgs)
    assert cfgs[0].max_train_samples is None and cfgs[0].patience is None
    assert cfgs[1].hparams == {"hidden_size": 16}
    assert presets.run_label(quick, cfgs[0]).startswith(f"{quick.name} preset: 3 epochs")
    with pytest.raises(ModelConfigError):
        presets.build_configs(quick, ["cnn"], settings={"epochs": 0}, hparams={})
