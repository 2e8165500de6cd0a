"""Training presets as the Train page offers them, and the configs it builds from its form (no Streamlit here).

The presets are ``mcnnseq.training.PRESETS`` (the one place for their names, titles and descriptions);
:meth:`Preset.config` is ``TrainConfig.from_preset``. What the page says of a preset's budget is written
from the config itself, so it stays true when the recipe changes: a budget in optimiser steps for the
default and quick presets, in epochs for the paper preset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The preset the Train page selects first: the app promises a first look in about a minute.
FIRST_CHOICE = "quick"

#: The form's name of each optimiser (``mcnnseq.training.OPTIMIZERS``).
OPTIMIZER_TITLES: dict[str, str] = {"rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


@dataclass(frozen=True)
class Preset:
    """A named training recipe of ``mcnnseq.training.PRESETS``: :meth:`config` gives its ``TrainConfig``."""

    name: str
    info: Any  #: the ``mcnnseq.training.PresetInfo`` (label, description)

    @property
    def title(self) -> str:
        return self.info.label

    @property
    def budget_key(self) -> str:
        """The ``TrainConfig`` field the form's budget sets: ``"max_steps"`` (default, quick) or ``"epochs"``."""
        return budget_key(self.config())

    def config(self, model: str = "mcnn_seq"):
        """The preset's ``TrainConfig`` for the registry model ``model``."""
        from mcnnseq.training import TrainConfig

        return TrainConfig.from_preset(self.name, model)

    def describe(self) -> str:
        """``"up to 300 optimiser steps, batch 64, Adam lr 0.003, …"`` (from the config itself)."""
        return describe_config(self.config())


def budget_key(cfg) -> str:
    """``"max_steps"`` when ``cfg`` counts its budget in optimiser steps, else ``"epochs"``."""
    return "max_steps" if cfg.max_steps is not None else "epochs"


def budget_text(cfg) -> str:
    """``"up to 20,000 optimiser steps"`` / ``"50 epochs"`` (both when both bound the run)."""
    parts = []
    if cfg.max_steps is not None:
        parts.append(f"up to {cfg.max_steps:,} optimiser steps")
    if cfg.epochs is not None:
        parts.append(f"{'at most ' if parts else ''}{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''}")
    return " and ".join(parts)


def describe_config(cfg) -> str:
    """What a config does, in the form's words: budget, batch, optimiser, pixels, stopping."""
    pixels = "all training pixels" if not cfg.max_train_samples else f"{cfg.max_train_samples:,} training pixels"
    text = (f"{budget_text(cfg)}, batch {cfg.batch_size}, "
            f"{OPTIMIZER_TITLES.get(cfg.optimizer, cfg.optimizer)} lr {cfg.lr:g}, {pixels}")
    if cfg.patience:
        every = f"{cfg.eval_every:,} steps" if cfg.eval_every else "epoch"
        text += f", stops after {cfg.patience} validations without progress (one every {every})"
    return text


def training_presets() -> dict[str, Preset]:
    """The presets, by name, in the order to show them: ``mcnnseq.training.PRESETS``."""
    from mcnnseq.training import PRESETS

    return {name: Preset(name, info) for name, info in PRESETS.items()}


def first_choice(available: Mapping[str, Preset]) -> str:
    """The preset the page selects first: :data:`FIRST_CHOICE` when offered, else the first one."""
    return FIRST_CHOICE if FIRST_CHOICE in available else next(iter(available))


def build_configs(preset: Preset, models: Sequence[str], *, settings: Mapping[str, Any],
                  hparams: Mapping[str, Mapping[str, Any]]) -> list:
    """One validated ``TrainConfig`` per registry model: the preset's, with the form's ``settings``
    (``max_steps`` or ``epochs``, ``batch_size``, ``lr``, ``optimizer``, ``seed``, ``max_train_samples``,
    ``patience``; 0 or None for "all"/"off") and the model's ``hparams`` (values None are left to the model's
    default)."""
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
    """How a run was made, for the runs table: ``"quick preset: up to 300 optimiser steps, batch 64, …"``."""
    return f"{preset.name} preset: {describe_config(cfg)}"
