"""Training presets as the Train page offers them, and the configs it builds from its form (no Streamlit here).

The presets come from one list: ``mcnnseq.training.PRESETS`` when the training module provides it
(name -> a ``TrainConfig``, or a factory ``f(model=...)``), else the ``TrainConfig.quick`` and
``TrainConfig.paper`` factories. Their descriptions are written from the configs themselves, so they
stay true when the recipe changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: How the page titles the presets it knows; any other preset is titled by its name.
TITLES: dict[str, str] = {"quick": "Quick look", "paper": "Paper (§4.1)", "default": "Default recipe"}


@dataclass(frozen=True)
class Preset:
    """A named training recipe: :meth:`config` gives its ``TrainConfig`` for a model."""

    name: str
    source: Any  #: a TrainConfig, or a factory ``f(model=...)`` returning one

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name.replace("_", " ").capitalize())

    def config(self, model: str = "mcnn_seq"):
        """The preset's ``TrainConfig`` for the registry model ``model``."""
        from mcnnseq.training import TrainConfig

        if isinstance(self.source, TrainConfig):
            return dataclasses.replace(self.source, model=model, hparams=dict(self.source.hparams))
        return self.source(model=model)

    def describe(self) -> str:
        """``"10 epochs, batch 250, RMSprop lr 0.001, 4,000 training pixels"`` (from the config itself)."""
        return describe_config(self.config())


def describe_config(cfg) -> str:
    pixels = "all training pixels" if not cfg.max_train_samples else f"{cfg.max_train_samples:,} training pixels"
    text = (f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}, batch {cfg.batch_size}, "
            f"{'RMSprop' if cfg.optimizer == 'rmsprop' else cfg.optimizer.capitalize()} lr {cfg.lr:g}, {pixels}")
    if cfg.patience:
        text += f", early stopping after {cfg.patience} epochs without progress"
    return text


def training_presets() -> dict[str, Preset]:
    """The presets, by name, in the order to show them (one list: ``mcnnseq.training.PRESETS`` if present)."""
    from mcnnseq import training

    listed = getattr(training, "PRESETS", None)
    if isinstance(listed, Mapping) and listed:
        return {str(name): Preset(str(name), source) for name, source in listed.items()}
    return {"quick": Preset("quick", training.TrainConfig.quick), "paper": Preset("paper", training.TrainConfig.paper)}


def build_configs(preset: Preset, models: Sequence[str], *, settings: Mapping[str, Any],
                  hparams: Mapping[str, Mapping[str, Any]]) -> list:
    """One validated ``TrainConfig`` per registry model: the preset's, with the form's ``settings``
    (``epochs``, ``batch_size``, ``lr``, ``optimizer``, ``seed``, ``max_train_samples``, ``patience``; 0 or None
    for "all"/"off") and the model's ``hparams`` (values None are left to the model's default)."""
    out = []
    for model in models:
        base = preset.config(model)
        changes = {k: v for k, v in settings.items() if hasattr(base, k)}
        for key in ("max_train_samples", "patience"):
            if key in changes and not changes[key]:
                changes[key] = None
        hp = {k: v for k, v in dict(hparams.get(model, {})).items() if v is not None}
        cfg = dataclasses.replace(base, **changes, hparams={**base.hparams, **hp})
        out.append(cfg.validate())
    return out


def run_label(preset: Preset, cfg) -> str:
    """How a run was made, for the runs table: ``"quick preset: 10 epochs, batch 250, …"``."""
    return f"{preset.name} preset: {describe_config(cfg)}"
