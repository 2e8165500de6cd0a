"""mcnnseq.ui.presets: the presets are training.PRESETS; the form's settings reach the configs."""

from __future__ import annotations

import pytest

from mcnnseq import training
from mcnnseq.errors import ModelConfigError
from mcnnseq.ui import presets


def test_presets_are_the_training_modules():
    found = presets.training_presets()
    assert list(found) == list(training.PRESETS)
    for name, p in found.items():
        assert p.title == training.PRESETS[name].label
        assert p.config("cnn") == training.TrainConfig.from_preset(name, "cnn")
    assert presets.first_choice(found) == "quick"


def test_a_new_preset_in_training_reaches_the_page(monkeypatch):
    monkeypatch.setitem(training.PRESETS, "tiny", training.PresetInfo("tiny", "Tiny", "one epoch"))
    monkeypatch.setattr(training.TrainConfig, "tiny",
                        classmethod(lambda cls, model="mcnn_seq", **kw: cls(model=model, epochs=1, batch_size=8,
                                                                             preset="tiny", **kw)), raising=False)
    found = presets.training_presets()
    assert "tiny" in found and found["tiny"].title == "Tiny"
    assert found["tiny"].config("rnn").model == "rnn" and found["tiny"].config("rnn").epochs == 1
    assert found["tiny"].describe().startswith("1 epoch, batch 8")


def test_budgets_in_steps_or_epochs():
    found = presets.training_presets()
    assert found["default"].budget_key == "max_steps" and found["quick"].budget_key == "max_steps"
    assert found["paper"].budget_key == "epochs"
    quick, default = training.TrainConfig.quick(), training.TrainConfig.default()
    assert found["quick"].describe().startswith(f"up to {quick.max_steps:,} optimiser steps, batch {quick.batch_size}")
    assert found["default"].describe().startswith(f"up to {default.max_steps:,} optimiser steps")
    assert f"stops after {default.patience} validations" in found["default"].describe()
    assert found["paper"].describe().startswith("50 epochs, batch 500, RMSprop lr 0.001, all training pixels")
    both = training.TrainConfig.default(epochs=3)
    assert presets.budget_text(both) == f"up to {both.max_steps:,} optimiser steps and at most 3 epochs"


def test_build_configs_applies_the_form():
    quick = presets.training_presets()["quick"]
    cfgs = presets.build_configs(quick, ["cnn", "mcnn_seq"], settings={"max_steps": 7, "max_train_samples": 0,
                                                                       "patience": 0},
                                 hparams={"mcnn_seq": {"hidden_size": 16, "attention_size": None}})
    assert [c.model for c in cfgs] == ["cnn", "mcnn_seq"] and all(c.max_steps == 7 for c in cfgs)
    assert all(c.epochs is None and c.preset == "quick" for c in cfgs)
    assert cfgs[0].max_train_samples is None and cfgs[0].patience is None
    assert cfgs[1].hparams == {"hidden_size": 16}
    assert presets.run_label(quick, cfgs[0]).startswith("quick preset: up to 7 optimiser steps")
    paper = presets.training_presets()["paper"]
    cfg = presets.build_configs(paper, ["rnn"], settings={"epochs": 3}, hparams={})[0]
    assert presets.run_label(paper, cfg).startswith("paper preset: 3 epochs, batch 500")
    with pytest.raises(ModelConfigError):
        presets.build_configs(quick, ["cnn"], settings={"max_steps": 0}, hparams={})
    with pytest.raises(ModelConfigError, match="--model linear"):
        presets.build_configs(quick, ["linear"], settings={}, hparams={})
