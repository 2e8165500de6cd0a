"""mcnnseq.defaults: one place for scenarios, demo defaults and the cell limit, and everyone uses it."""

from __future__ import annotations

from mcnnseq import defaults


def test_scenarios_match_the_simulator_and_the_experiment():
    from mcnnseq.experiment import SCENARIOS as EXPERIMENT_SCENARIOS
    from mcnnseq.sim import SCENARIOS as SIM_SCENARIOS

    assert set(defaults.SCENARIOS) == set(SIM_SCENARIOS)
    assert tuple(EXPERIMENT_SCENARIOS) == defaults.PAPER_SCENARIOS
    assert defaults.DEFAULT_SCENARIO in defaults.PAPER_SCENARIOS


def test_the_shipped_models_use_the_demo_defaults():
    from mcnnseq.pretrained import DEMO_SETTINGS

    assert (DEMO_SETTINGS["size"], DEMO_SETTINGS["seed"], DEMO_SETTINGS["split_seed"]) == \
        (defaults.DEMO_SIZE, defaults.DEMO_SEED, defaults.SPLIT_SEED)


def test_one_cell_limit():
    from mcnnseq.io import DEFAULT_MAX_PIXELS
    from mcnnseq.ui import upload

    assert DEFAULT_MAX_PIXELS == defaults.MAX_CELLS == upload.MAX_CELLS
    assert not hasattr(upload, "check_size")
