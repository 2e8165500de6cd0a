"""Write the small input files the I/O tests read (seeded, so a rerun gives the same content).

Run from the repository root: ``.venv/bin/python tests/data/make_fixtures.py``. The files are
committed; they imitate what other producers write, so they are built with xarray/rasterio directly,
never with :mod:`mcnnseq.io`'s writers.

- ``s1s2_aliases.nc`` (NetCDF4): dim ``t``; ``VV``/``VH`` linear σ0 (float32); ``B04``/``B08``
  reflectance ×10000 as uint16 with an undeclared no-data value 65535 on the 3rd date (all pixels)
  and on a few more cells; ``SCL`` with some cloud classes; ``croptype`` (int16); the CRS in a
  ``crs`` grid-mapping variable (EPSG:32631).
- ``classic_db.nc`` (NetCDF3 classic): dim ``time``; ``sigma0_vv``/``sigma0_vh`` in dB with
  ``units: dB``; ``NDVI`` with NaN gaps; ``cloud_mask`` (int8 0/1); ``label``; an ``s1_date``
  coordinate; the CRS as a global ``crs`` attribute (EPSG:32611).
- ``stack_described/``: ``vv.tif``, ``vh.tif``, ``ndvi.tif`` (float32, NaN no-data), dates in the
  band descriptions, and ``crop.tif`` (one band, int16).
- ``stack_csv/``: ``VV.tif``, ``VH.tif`` (linear σ0), ``B04.tif``, ``B08.tif`` (uint16, no-data 0
  declared) without band descriptions, and ``dates.csv`` (``date``, ``s1_date``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

HERE = Path(__file__).resolve().parent
NT, NY, NX = 6, 8, 10
DATES = pd.date_range("2021-03-02", periods=NT, freq="10D")
S1_DATES = DATES - pd.Timedelta(days=2)


def scene(seed: int) -> dict[str, np.ndarray]:
    """NDVI (t, y, x), linear σ0 VV/VH and uint16 red/nir reflectance ×10000, all physically plausible."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, NT)[:, None, None]
    phase = rng.uniform(0, 0.5, (1, NY, NX))
    ndvi = 0.45 + 0.35 * np.sin(2 * np.pi * (t + phase))
    vv_db = -15 + 8 * ndvi + rng.normal(0, 0.5, ndvi.shape)
    vh_db = -23 + 9 * ndvi + rng.normal(0, 0.5, ndvi.shape)
    red = rng.uniform(300, 1200, ndvi.shape)
    nir = red * (1 + ndvi) / (1 - ndvi)
    return {"ndvi": ndvi, "vv": 10 ** (vv_db / 10), "vh": 10 ** (vh_db / 10),
            "vv_db": vv_db, "vh_db": vh_db,
            "red": np.round(red).astype(np.uint16), "nir": np.round(nir).astype(np.uint16)}


def grid(x0: float, y0: float) -> tuple[np.ndarray, np.ndarray]:
    return x0 + 5 + 10 * np.arange(NX), y0 - 5 - 10 * np.arange(NY)


def write_aliases_nc(path: Path) -> None:
    from pyproj import CRS

    s = scene(1)
    red, nir = s["red"].copy(), s["nir"].copy()
    red[2], nir[2] = 65535, 65535  # a date with no optical value anywhere
    red[4, 0, :3] = 65535
    rng = np.random.default_rng(11)
    scl = np.where(rng.random((NT, NY, NX)) < 0.1, 9, 4).astype(np.uint8)  # 9 = cloud high probability
    x, y = grid(664_000, 5_612_120)
    crs_attrs = CRS.from_epsg(32631).to_cf()
    dims = ("t", "y", "x")
    ds = xr.Dataset(
        {
            "VV": (dims, s["vv"].astype(np.float32), {"grid_mapping": "crs"}),
            "VH": (dims, s["vh"].astype(np.float32), {"grid_mapping": "crs"}),
            "B04": (dims, red, {"grid_mapping": "crs"}),
            "B08": (dims, nir, {"grid_mapping": "crs"}),
            "SCL": (dims, scl, {"grid_mapping": "crs"}),
            "croptype": (("y", "x"), rng.integers(1, 9, (NY, NX)).astype(np.int16), {"grid_mapping": "crs"}),
            "crs": ((), np.int8(0), crs_attrs),
        },
        coords={"t": DATES.values, "y": y, "x": x},
        attrs={"title": "fixture: aliases, linear sigma0, reflectances, undeclared no-data 65535"},
    )
    encoding = {name: {"zlib": True} for name in ("VV", "VH", "B04", "B08", "SCL", "croptype")}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def write_classic_nc(path: Path) -> None:
    s = scene(2)
    rng = np.random.default_rng(12)
    cloud = rng.random((NT, NY, NX)) < 0.15
    ndvi = np.where(cloud, np.nan, s["ndvi"]).astype(np.float32)
    x, y = grid(600_000, 3_650_000)
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {
            "sigma0_vv": (dims, s["vv_db"].astype(np.float32), {"units": "dB"}),
            "sigma0_vh": (dims, s["vh_db"].astype(np.float32), {"units": "dB"}),
            "NDVI": (dims, ndvi),
            "cloud_mask": (dims, cloud.astype(np.int8)),
            "label": (("y", "x"), rng.integers(1, 9, (NY, NX)).astype(np.int16)),
        },
        coords={"time": DATES.values, "s1_date": ("time", S1_DATES.values), "y": y, "x": x},
        attrs={"crs": "EPSG:32611", "title": "fixture: NetCDF3 classic, dB, NDVI, cloud mask"},
    )
    ds.to_netcdf(path, format="NETCDF3_CLASSIC", engine="scipy")


def write_tif(path: Path, data: np.ndarray, *, transform, crs: str, nodata=None, descriptions=None) -> None:
    import rasterio

    data = data if data.ndim == 3 else data[None]
    profile = {"driver": "GTiff", "count": data.shape[0], "height": NY, "width": NX, "dtype": data.dtype.name,
               "crs": crs, "transform": transform, "nodata": nodata, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for band, text in enumerate(descriptions or [], start=1):
            dst.set_band_description(band, text)


def write_stacks(root: Path) -> None:
    from affine import Affine

    described = root / "stack_described"
    described.mkdir(exist_ok=True)
    s = scene(3)
    rng = np.random.default_rng(13)
    ndvi = np.where(rng.random((NT, NY, NX)) < 0.2, np.nan, s["ndvi"]).astype(np.float32)
    transform = Affine(10, 0, 600_000, 0, -10, 3_650_000)
    names = [d.strftime("%Y-%m-%d") for d in DATES]
    write_tif(described / "vv.tif", s["vv_db"].astype(np.float32), transform=transform, crs="EPSG:32611",
              nodata=float("nan"), descriptions=names)
    write_tif(described / "vh.tif", s["vh_db"].astype(np.float32), transform=transform, crs="EPSG:32611",
              nodata=float("nan"), descriptions=names)
    write_tif(described / "ndvi.tif", ndvi, transform=transform, crs="EPSG:32611", nodata=float("nan"),
              descriptions=names)
    write_tif(described / "crop.tif", rng.integers(1, 9, (NY, NX)).astype(np.int16), transform=transform,
              crs="EPSG:32611")

    with_csv = root / "stack_csv"
    with_csv.mkdir(exist_ok=True)
    s = scene(4)
    red, nir = s["red"].copy(), s["nir"].copy()
    red[1, 2:4, 2:5] = 0  # no-data patch (declared nodata=0)
    transform = Affine(10, 0, 664_000, 0, -10, 5_612_120)
    write_tif(with_csv / "VV.tif", s["vv"].astype(np.float32), transform=transform, crs="EPSG:32631")
    write_tif(with_csv / "VH.tif", s["vh"].astype(np.float32), transform=transform, crs="EPSG:32631")
    write_tif(with_csv / "B04.tif", red, transform=transform, crs="EPSG:32631", nodata=0)
    write_tif(with_csv / "B08.tif", nir, transform=transform, crs="EPSG:32631", nodata=0)
    pd.DataFrame({"date": [d.strftime("%Y-%m-%d") for d in DATES],
                  "s1_date": [d.strftime("%Y-%m-%d") for d in S1_DATES]}).to_csv(with_csv / "dates.csv", index=False)


def main() -> None:
    write_aliases_nc(HERE / "s1s2_aliases.nc")
    write_classic_nc(HERE / "classic_db.nc")
    write_stacks(HERE)
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file() and p.suffix != ".py")
    print(f"fixtures written to {HERE} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
