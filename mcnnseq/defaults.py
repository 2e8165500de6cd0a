"""One place for the names and defaults the CLI, the readers and the dashboard share.

Model names live in :mod:`mcnnseq.models.registry`; this module holds the rest: the demo scene's
cloud scenarios, the default demo scene, and the one limit on the size of a cube held in memory.
Plain constants only (no imports), so any module may import it.
"""

from __future__ import annotations

#: Cloud scenarios of the simulated demo scene (the value ``mcnnseq.sim.simulate_scene`` takes) -> label.
#: The simulator holds their cloud fractions (``mcnnseq.sim.SCENARIOS``, same keys).
SCENARIOS: dict[str, str] = {"50%": "50 % cloud", "70%": "70 % cloud", "none": "no added clouds"}
#: The paper's two scenarios (§2.2.4, Table 2); the shipped demo models exist for these.
PAPER_SCENARIOS: tuple[str, ...] = ("50%", "70%")
DEFAULT_SCENARIO: str = "50%"

#: The default demo scene: ``DEMO_SIZE`` x ``DEMO_SIZE`` pixels of 10 m, simulator seed ``DEMO_SEED``,
#: split with ``SPLIT_SEED``. The shipped demo models were trained on exactly this scene.
DEMO_SIZE: int = 200
DEMO_SEED: int = 0
SPLIT_SEED: int = 0

#: The badge every view of simulated data carries.
SIMULATED_BADGE: str = "SIMULATED"

#: Largest cube (dates x rows x columns) read into memory, by the readers and the dashboard alike:
#: 25 million cells, e.g. 31 dates of 900 x 900 pixels (9 km x 9 km at 10 m). A cube takes about
#: 13 bytes a cell (≈ 0.3 GB), and each model's whole-scene prediction 8 bytes a cell more.
#: The readers take ``max_pixels=None`` to lift it (the command line and Python API on big cubes).
MAX_CELLS: int = 25_000_000
