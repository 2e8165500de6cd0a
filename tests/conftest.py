"""Shared test fixtures: tiny seeded cubes built in memory (no files, no network)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from mcnnseq.datacube import new_cube

# AppTests run the app inside the test process: no background warm-up threads there (the real-browser
# test starts its own server with the warm-up on, see browser_helpers.StreamlitServer).
os.environ["MCNNSEQ_WARM_UP"] = "0"
# As app.py does, before torch loads: spinning OpenMP threads starve each other on a shared CPU
# (scripts/measure_omp_wait.py); results are the same, only the waiting differs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def make_tiny_cube(*, nt: int = 6, ny: int = 8, nx: int = 10, seed: int = 0, cloud_fraction: float = 0.2,
                   with_truth: bool = False) -> xr.Dataset:
    """A small valid cube: NDVI a smooth seasonal curve, radar linearly related to it plus noise (dB).

    ``cloud_fraction`` of the pixels get one cloudy date. UTM 11N, 10 m pixels.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, nt)[:, None, None]
    phase = rng.uniform(0, 1, (1, ny, nx))
    ndvi_true = (0.45 + 0.35 * np.sin(2 * np.pi * (t + phase))).astype(np.float32)
    vv = -14 + 8 * ndvi_true + rng.normal(0, 0.5, ndvi_true.shape)
    vh = -22 + 10 * ndvi_true + rng.normal(0, 0.5, ndvi_true.shape)
    ndvi = ndvi_true.copy()
    clouded = rng.random((ny, nx)) < cloud_fraction
    dates = rng.integers(0, nt, (ny, nx))
    for iy, ix in zip(*np.nonzero(clouded)):
        ndvi[dates[iy, ix], iy, ix] = np.nan
    x = 600_000 + 5 + 10 * np.arange(nx)
    y = 3_650_000 - 5 - 10 * np.arange(ny)
    time = np.datetime64("2018-01-11") + np.arange(nt) * np.timedelta64(12, "D")
    return new_cube(vv=vv, vh=vh, ndvi=ndvi, time=time, s1_time=time - np.timedelta64(1, "D"), x=x, y=y,
                    crs="EPSG:32611", crop=rng.integers(1, 9, (ny, nx)), field=rng.integers(1, 5, (ny, nx)),
                    ndvi_true=ndvi_true if with_truth else None, attrs={"source": "tiny test cube"})


@pytest.fixture
def one_torch_thread():
    """Tiny models: one intra-op thread is faster and steadier on a shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_cube() -> xr.Dataset:
    return make_tiny_cube()


def pytest_terminal_summary(terminalreporter):
    """Show what the browser test measured (page-switch times) in every run, not only with ``-s``."""
    from browser_helpers import MEASUREMENTS

    if MEASUREMENTS:
        terminalreporter.section("browser measurements (not asserted)")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)
