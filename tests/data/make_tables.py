"""Write the example parcel table of ``docs/data-formats.md`` (seeded: a rerun gives the same file).

Run from the repository root: ``.venv/bin/python tests/data/make_tables.py``. It writes
``tests/data/parcels_example.csv`` as an Earth Engine / openEO export of per-parcel mean series looks:
long form, one row per parcel and acquisition date, Sentinel-1 rows (``vv``, ``vh`` in dB, ``ndvi``
empty) on their own dates and Sentinel-2 rows (``ndvi``, radar empty) on theirs, an empty ``ndvi``
where the parcel was cloudy, one S2 date cloudy everywhere, the crop name and the parcel centre
(``lon``/``lat``) on every row. Parcels in the west see one S1 track, those in the east another
(dates 6 days apart), so the radar dates differ from parcel to parcel.

:func:`parcel_table` builds such a table of any size in memory; the tests use it (a few hundred
parcels) to train, evaluate and gap-fill through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CROPS = ("maize", "sugar beet", "winter wheat")


def _ndvi_curve(day: np.ndarray, crop: str, shift: float) -> np.ndarray:
    """Seasonal NDVI of a crop (double logistic) on day-of-season ``day``."""
    start, end = {"maize": (60.0, 150.0), "sugar beet": (45.0, 170.0), "winter wheat": (-20.0, 110.0)}[crop]
    rise = 1 / (1 + np.exp(-(day - start - shift) / 8))
    fall = 1 / (1 + np.exp((day - end - shift) / 8))
    return 0.15 + 0.7 * rise * fall


def parcel_table(n_parcels: int = 8, *, seed: int = 0, start: str = "2021-03-01", days: int = 150,
                 clear_fraction: float = 0.6) -> pd.DataFrame:
    """A long-form parcel table (see the module docstring): ``n_parcels`` parcels over ``days`` days.

    ``clear_fraction`` of the parcels have every S2 date clear (except the date cloudy everywhere);
    the others lose one to three dates to clouds. Radar in dB relates to NDVI plus noise.
    """
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    s2_days = np.arange(2, days, 5)
    s2_days = np.sort(rng.choice(s2_days, size=int(0.7 * len(s2_days)), replace=False))  # irregular
    track_a = np.arange(0, days + 6, 12)
    track_b = track_a + 6
    all_cloudy = s2_days[len(s2_days) // 2]
    rows = []
    for i in range(n_parcels):
        pid = f"p{i + 1:03d}"
        crop = CROPS[i % len(CROPS)]
        lon = 4.30 + 0.4 * rng.random()
        lat = 50.60 + 0.3 * rng.random()
        shift = rng.normal(0, 6)
        s1_days = track_a if lon < 4.5 else track_b
        for d in s1_days:
            ndvi = _ndvi_curve(np.float64(d), crop, shift)
            vv = -15.0 + 7.0 * ndvi + rng.normal(0, 0.4)
            vh = -23.0 + 9.0 * ndvi + rng.normal(0, 0.4)
            rows.append((pid, t0 + pd.Timedelta(days=int(d)), round(vv, 3), round(vh, 3), np.nan, crop, lon, lat))
        cloudy = set() if rng.random() < clear_fraction else set(rng.choice(s2_days, size=rng.integers(1, 4),
                                                                                 replace=False).tolist())
        for d in s2_days:
            ndvi = np.nan if (d in cloudy or d == all_cloudy) else round(
                float(_ndvi_curve(np.float64(d), crop, shift) + rng.normal(0, 0.02)), 4)
            rows.append((pid, t0 + pd.Timedelta(days=int(d)), np.nan, np.nan, ndvi, crop, lon, lat))
    frame = pd.DataFrame(rows, columns=["id", "date", "vv", "vh", "ndvi", "crop", "lon", "lat"])
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame["lon"] = frame["lon"].round(5)
    frame["lat"] = frame["lat"].round(5)
    return frame


def main() -> None:
    path = HERE / "parcels_example.csv"
    parcel_table(6, seed=1).to_csv(path, index=False, lineterminator="\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
