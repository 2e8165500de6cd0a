"""Reference values from Zhao et al. (2020), *Remote Sensing of Environment* 247, 111952.

Used by the simulator (dates, class proportions) and by reports (Tables 3 and 4 to compare with).
Nothing here is computed; every number is copied from the paper, with the table it comes from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The 31 Sentinel-2 acquisition dates of the study (rows of Table 4).
S2_DATES: tuple[str, ...] = (
    "2018-01-11", "2018-01-16", "2018-01-31", "2018-02-15", "2018-02-20", "2018-03-02",
    "2018-03-17", "2018-04-01", "2018-04-16", "2018-05-01", "2018-05-11", "2018-05-21",
    "2018-05-31", "2018-06-10", "2018-06-30", "2018-07-05", "2018-07-10", "2018-07-30",
    "2018-08-14", "2018-08-19", "2018-09-03", "2018-09-13", "2018-09-28", "2018-10-08",
    "2018-10-18", "2018-11-02", "2018-11-12", "2018-11-22", "2018-12-02", "2018-12-22",
    "2018-12-27",
)

#: First Sentinel-1 acquisition of the series (paper §2.2.1); the orbit repeats every 12 days.
S1_FIRST_DATE = "2018-01-05"
S1_REPEAT_DAYS = 12

#: Crop classes: code -> name, in the order of Table 1. Codes are our own (not CDL codes).
CROP_CLASSES: dict[int, str] = {
    1: "Onion",
    2: "Winter Wheat",
    3: "Corn",
    4: "Sugar Beet",
    5: "Alfalfa",
    6: "Hay (Non-Alfalfa)",
    7: "Non-crop land",
    8: "Other Crops",
}

#: Table 1, pixel counts per class for subarea 1 (10 km x 10 km) and subarea 2 (4 km x 4 km).
TABLE1_PIXELS: dict[str, dict[int, int]] = {
    "subarea1": {1: 84_001, 2: 29_938, 3: 14_613, 4: 141_047, 5: 272_529, 6: 67_802, 7: 121_442, 8: 228_871},
    "subarea2": {1: 9_534, 2: 3_086, 3: 3_133, 4: 29_119, 5: 28_354, 6: 41_433, 7: 20_527, 8: 9_242},
}

#: Table 2, samples per split.
TABLE2_SAMPLES: dict[str, tuple[int, int, int]] = {
    "subarea1 (50% cloud)": (283_678, 81_051, 152_571),
    "subarea1 (70% cloud)": (175_417, 52_656, 289_227),
    "subarea2": (89_040, 22_260, 47_700),
}

#: Table 3, MCNN-Seq accuracy of the mean profile of one field per crop: class code -> (R², RMSE).
TABLE3: dict[int, tuple[float, float]] = {
    1: (0.9409, 0.0432), 2: (0.9824, 0.0334), 3: (0.9157, 0.0453), 4: (0.9749, 0.0454), 5: (0.7018, 0.0796),
}

#: Table 4, per-date test R² and RMSE on subarea 2: rows are S2_DATES, columns (model, metric).
_TABLE4_ROWS = (
    (0.3857, 0.2168, 0.6814, 0.1561, 0.8842, 0.0941), (0.5084, 0.1818, 0.6905, 0.1443, 0.8915, 0.0854),
    (0.5079, 0.1968, 0.6740, 0.1602, 0.8680, 0.1019), (0.4954, 0.1797, 0.6511, 0.1494, 0.8630, 0.0936),
    (0.5732, 0.1724, 0.6555, 0.1549, 0.8587, 0.0991), (0.6266, 0.1597, 0.6868, 0.1463, 0.8711, 0.0938),
    (0.6240, 0.1624, 0.6464, 0.1575, 0.8480, 0.1032), (0.5525, 0.1774, 0.6533, 0.1562, 0.8471, 0.1036),
    (0.4676, 0.1947, 0.5321, 0.1826, 0.7423, 0.1353), (0.5046, 0.1826, 0.5865, 0.1668, 0.8321, 0.1062),
    (0.6014, 0.1715, 0.6094, 0.1698, 0.8278, 0.1126), (0.6461, 0.1648, 0.6145, 0.1720, 0.8408, 0.1105),
    (0.6305, 0.1349, 0.5981, 0.1407, 0.8488, 0.0863), (0.6568, 0.1448, 0.5357, 0.1685, 0.8371, 0.0997),
    (0.6974, 0.1435, 0.5770, 0.1696, 0.8515, 0.1005), (0.7531, 0.1283, 0.5996, 0.1634, 0.8854, 0.0874),
    (0.7612, 0.1229, 0.5972, 0.1596, 0.8830, 0.0860), (0.7231, 0.1160, 0.6759, 0.1255, 0.8580, 0.0831),
    (0.8334, 0.1099, 0.7603, 0.1318, 0.8852, 0.0913), (0.8234, 0.1105, 0.7224, 0.1386, 0.8755, 0.0928),
    (0.7956, 0.1053, 0.7154, 0.1242, 0.8610, 0.0868), (0.8440, 0.1068, 0.7380, 0.1385, 0.8776, 0.0947),
    (0.8400, 0.1181, 0.7307, 0.1533, 0.8809, 0.1019), (0.8607, 0.1091, 0.7330, 0.1511, 0.8779, 0.1022),
    (0.8236, 0.1080, 0.7040, 0.1399, 0.8601, 0.0962), (0.8000, 0.1092, 0.6565, 0.1431, 0.8325, 0.0999),
    (0.7831, 0.0989, 0.6139, 0.1319, 0.8302, 0.0875), (0.7883, 0.1011, 0.5526, 0.1469, 0.8141, 0.0947),
    (0.7810, 0.1023, 0.5299, 0.1499, 0.8013, 0.0974), (0.7719, 0.1101, 0.5141, 0.1607, 0.8053, 0.1016),
    (0.7510, 0.1157, 0.5012, 0.1638, 0.8010, 0.1034),
)


def s2_dates() -> pd.DatetimeIndex:
    """The paper's 31 Sentinel-2 dates."""
    return pd.DatetimeIndex(pd.to_datetime(list(S2_DATES)), name="time")


def s1_dates() -> pd.DatetimeIndex:
    """The 12-day Sentinel-1 acquisition dates of 2018 starting 2018-01-05 (31 dates, paper §2.2.1)."""
    start = pd.Timestamp(S1_FIRST_DATE)
    return pd.DatetimeIndex([start + pd.Timedelta(days=S1_REPEAT_DAYS * k) for k in range(31)], name="s1_time")


def table4() -> pd.DataFrame:
    """Table 4 as a DataFrame indexed by date, columns MultiIndex (model, metric) with models RNN, CNN, MCNN-Seq."""
    cols = pd.MultiIndex.from_product([["RNN", "CNN", "MCNN-Seq"], ["r2", "rmse"]], names=["model", "metric"])
    return pd.DataFrame(np.array(_TABLE4_ROWS), index=s2_dates(), columns=cols)
