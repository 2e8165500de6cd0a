"""The demo-scene simulator: a SIMULATED Imperial Valley 2018 scene in the datacube convention.

``simulate_scene(size=400, seed=0, scenario="50%")`` builds it; ``add_artificial_clouds`` lays a
seeded cloud mask over any cube. Parameters and their sources: ``docs/simulator.md``.
"""

from mcnnseq.sim.clouds import add_artificial_clouds
from mcnnseq.sim.params import SCENARIOS, SIMULATOR_VERSION, SimParams
from mcnnseq.sim.simulate import paired_s1_dates, simulate_scene

__all__ = ["SCENARIOS", "SIMULATOR_VERSION", "SimParams", "add_artificial_clouds", "paired_s1_dates",
           "simulate_scene"]
