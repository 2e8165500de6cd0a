"""The pretrained demo models shipped in ``assets/models/`` (built by ``scripts/train_demo_models.py``).

Three models (RNN, CNN, MCNN-Seq) per cloud scenario, trained on the simulated demo scene with the
settings in :data:`DEMO_SETTINGS`. Each checkpoint stores the simulator version it was trained on;
:func:`load_demo_models` refuses a checkpoint made by another simulator version, so the app never
shows a model next to a scene it was not trained on.
"""

from __future__ import annotations

from pathlib import Path

from mcnnseq import defaults
from mcnnseq.errors import CheckpointError
from mcnnseq.experiment import MODEL_ORDER, SCENARIOS, Experiment, demo_experiment

ASSETS_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "models"

#: The scene and split the shipped models were trained on (the app's default demo scene, :mod:`mcnnseq.defaults`).
DEMO_SETTINGS: dict = {"size": defaults.DEMO_SIZE, "seed": defaults.DEMO_SEED, "split_seed": defaults.SPLIT_SEED}


def demo_model_path(scenario: str, model: str, *, directory: Path | None = None) -> Path:
    """``assets/models/demo_<50|70>_<model>.pt``."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    return (directory or ASSETS_DIR) / f"demo_{scenario.rstrip('%')}_{model}.pt"


def demo_experiment_for_models(scenario: str = "50%") -> Experiment:
    """The demo scene and split the shipped models of ``scenario`` were trained and tested on."""
    return demo_experiment(size=DEMO_SETTINGS["size"], seed=DEMO_SETTINGS["seed"], scenario=scenario,
                           split_seed=DEMO_SETTINGS["split_seed"])


def check_simulator_version(trained, *, source: str | None = None) -> None:
    """Raise :class:`CheckpointError` unless ``trained`` was made on the current simulator version."""
    from mcnnseq.sim import SIMULATOR_VERSION

    stored = trained.data_signature.get("simulator_version")
    if stored != SIMULATOR_VERSION:
        raise CheckpointError(
            f"trained on simulator version {stored!r}, but the simulator is now {SIMULATOR_VERSION!r}: "
            "rebuild the demo models with `python scripts/train_demo_models.py`", source=source)


def load_demo_models(scenario: str = "50%", *, directory: Path | None = None) -> dict:
    """``{display name: TrainedModel}`` for the shipped demo models of ``scenario`` (RNN, CNN, MCNN-Seq)."""
    from mcnnseq.checkpoints import load_checkpoint

    models = {}
    for name in MODEL_ORDER:
        path = demo_model_path(scenario, name, directory=directory)
        if not path.exists():
            raise CheckpointError("the demo model is missing: build it with `python scripts/train_demo_models.py`",
                                  source=str(path))
        trained = load_checkpoint(path)
        check_simulator_version(trained, source=path.name)
        models[trained.name] = trained
    return models


def load_demo_gap_filler(scenario: str = "50%", *, has_optical: bool = True, directory: Path | None = None):
    """The shipped demo model that fills gaps by default: MCNN-Seq fusion where the scene has optical
    observations (``has_optical``), radar-only MCNN-Seq otherwise (SPEC §2; names from the registry)."""
    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.models.registry import DEFAULT_GAP_FILLER, PAPER_MODEL

    path = demo_model_path(scenario, DEFAULT_GAP_FILLER if has_optical else PAPER_MODEL, directory=directory)
    if not path.exists():
        raise CheckpointError("the demo model is missing: build it with `python scripts/train_demo_models.py`",
                              source=str(path))
    trained = load_checkpoint(path)
    check_simulator_version(trained, source=path.name)
    return trained
