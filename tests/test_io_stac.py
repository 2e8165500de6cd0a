"""The STAC reader on small static catalogs built here with pystac over generated GeoTIFFs.

Two asset-key conventions: Planetary Computer (``B04``/``B08``/``B03``/``B02``/``SCL``, baseline
05.00 digital numbers with the −1000 offset, no scale metadata) and Earth Search (``red``/``nir``/
``green``/``blue``/``scl`` with ``raster:bands`` scale/offset). Values are compared with the source
rasters read back with rasterio. One test queries the Planetary Computer and is skipped offline.
"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from mcnnseq.cli import main
from mcnnseq.errors import DatacubeError

pystac = pytest.importorskip("pystac")

from mcnnseq.io.stac import grid_crs, open_stac, utm_zone  # noqa: E402

# odc-geo multiplies affine transforms with '*' (PendingDeprecationWarning in affine 3) when a lazy cube is read
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning",
                                        "ignore:The 'shapely.ops.transform:DeprecationWarning")

EPSG = 32631
X0, Y0, RES, N = 600_000.0, 5_600_000.0, 10.0, 40  # raster origin (top left), pixel size, size in pixels
S2_DAYS = ("2021-05-02", "2021-05-07", "2021-05-12", "2021-05-17")
S1_DAYS = ("2021-05-01", "2021-05-07", "2021-05-13")
SPLIT_DAY = "2021-05-12"  # that S2 date comes as two items (west half, east half), mosaicked on load
OFFSET_DN = 1000  # processing baseline >= 04.00
PC_KEYS = {"red": "B04", "nir": "B08", "green": "B03", "blue": "B02", "scl": "SCL"}
ES_KEYS = {"red": "red", "nir": "nir", "green": "green", "blue": "blue", "scl": "scl"}
SCL_CLASSES = np.array([4, 4, 4, 5, 4, 8, 9, 3, 10, 11, 1, 6, 2, 7])


def _lonlat(x, y):
    from pyproj import Transformer

    return Transformer.from_crs(EPSG, 4326, always_xy=True).transform(x, y)


def _bbox(x_lo, y_lo, x_hi, y_hi):
    lons, lats = _lonlat(np.array([x_lo, x_hi, x_lo, x_hi]), np.array([y_lo, y_lo, y_hi, y_hi]))
    return [float(min(lons)), float(min(lats)), float(max(lons)), float(max(lats))]


#: The area loaded: well inside the rasters (100 … 300 m from their corner), in degrees.
BBOX = _bbox(X0 + 100, Y0 - 300, X0 + 300, Y0 - 100)


def _write_tif(path: Path, data: np.ndarray, *, col0: int = 0, nodata=None) -> None:
    transform = Affine(RES, 0.0, X0 + col0 * RES, 0.0, -RES, Y0)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=f"EPSG:{EPSG}", transform=transform, nodata=nodata) as dst:
        dst.write(data, 1)


def _footprint(col0: int, ncols: int):
    xs = [X0 + col0 * RES, X0 + (col0 + ncols) * RES]
    ys = [Y0 - N * RES, Y0]
    lons, lats = _lonlat(np.array([xs[0], xs[1], xs[1], xs[0]]), np.array([ys[0], ys[0], ys[1], ys[1]]))
    ring = [[float(a), float(b)] for a, b in zip(lons, lats)] + [[float(lons[0]), float(lats[0])]]
    return {"type": "Polygon", "coordinates": [ring]}, [float(min(lons)), float(min(lats)), float(max(lons)),
                                                         float(max(lats))]


def _item(item_id, day, hour, col0, ncols, assets, *, props=None):
    geom, bbox = _footprint(col0, ncols)
    when = dt.datetime.fromisoformat(day).replace(hour=hour, minute=30, tzinfo=dt.timezone.utc)
    item = pystac.Item(item_id, geom, bbox, when, dict(props or {}))
    item.properties["proj:epsg"] = EPSG
    item.properties["proj:shape"] = [N, ncols]
    item.properties["proj:transform"] = [RES, 0.0, X0 + col0 * RES, 0.0, -RES, Y0]
    for key, (href, extra) in assets.items():
        item.add_asset(key, pystac.Asset(href, media_type=pystac.MediaType.COG, roles=["data"], extra_fields=extra))
    return item


def make_catalog(root: Path, convention: str = "pc", *, seed: int = 0, s1_keys=("vv", "vh"),
                 drop_asset: str | None = None) -> tuple[Path, dict]:
    """A static catalog (S1 RTC + S2 L2A collections) over generated rasters; returns its path and the truth.

    ``truth``: ``{day: {"red": …, "nir": …, "scl": …}}`` full-size digital numbers per S2 day (the split
    day mosaicked) and ``{day: {"vv": …, "vh": …}}`` linear γ0 per S1 day.
    """
    rng = np.random.default_rng(seed)
    keys = PC_KEYS if convention == "pc" else ES_KEYS
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    catalog = pystac.Catalog("test-catalog", "S1 RTC + S2 L2A test catalog")
    extent = pystac.Extent(pystac.SpatialExtent([BBOX]), pystac.TemporalExtent([[None, None]]))
    s2c = pystac.Collection("sentinel-2-l2a", "S2 L2A", extent)
    s1c = pystac.Collection("sentinel-1-rtc", "S1 RTC", extent)
    truth: dict = {"s2": {}, "s1": {}}
    for day in S2_DAYS:
        bands = {"red": rng.integers(200, 2500, (N, N)), "nir": rng.integers(1500, 5000, (N, N)),
                 "green": rng.integers(200, 2000, (N, N)), "blue": rng.integers(100, 1500, (N, N))}
        bands = {k: (v + OFFSET_DN).astype(np.uint16) for k, v in bands.items()}
        bands["red"][0, 0] = 0  # no data
        bands["scl"] = rng.choice(SCL_CLASSES, (N, N)).astype(np.uint8)
        truth["s2"][day] = bands
        parts = [(0, N // 2), (N // 2, N - N // 2)] if day == SPLIT_DAY else [(0, N)]
        for k, (col0, ncols) in enumerate(parts):
            assets = {}
            for role, arr in bands.items():
                if drop_asset == role:
                    continue
                path = data / f"s2_{day}_{k}_{keys[role]}.tif"
                _write_tif(path, np.ascontiguousarray(arr[:, col0:col0 + ncols]), col0=col0, nodata=0)
                extra = {}
                if convention == "es" and role != "scl":
                    extra = {"raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}]}
                assets[keys[role]] = (str(path), extra)
            props = {"s2:processing_baseline": "05.00"} if convention == "pc" else {}
            s2c.add_item(_item(f"S2_{day}_{k}", day, 10, col0, ncols, assets, props=props))
    for day in S1_DAYS:
        pols = {p: (10 ** (rng.normal(-12 if p == "vv" else -18, 2, (N, N)) / 10)).astype(np.float32)
                for p in ("vv", "vh")}
        pols["vv"][1, 1] = -32768.0  # no data (as Planetary Computer's RTC files declare)
        truth["s1"][day] = pols
        assets = {}
        for pol, key in zip(("vv", "vh"), s1_keys):
            path = data / f"s1_{day}_{key}.tif"
            _write_tif(path, pols[pol], nodata=-32768.0)
            assets[key] = (str(path), {})
        s1c.add_item(_item(f"S1_{day}", day, 17, 0, N, assets))
    catalog.add_children([s1c, s2c])
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json", truth


@pytest.fixture(scope="module")
def pc_catalog(tmp_path_factory):
    return make_catalog(tmp_path_factory.mktemp("pc"), "pc")


def _rowcol(cube):
    cols = ((cube["x"].values - X0 - RES / 2) / RES).round().astype(int)
    rows = ((Y0 - RES / 2 - cube["y"].values) / RES).round().astype(int)
    return rows, cols


def _expected(truth, cube, scale_offset):
    """NDVI, red reflectance and VV dB the cube must hold, from the source digital numbers."""
    scale, offset = scale_offset
    rows, cols = _rowcol(cube)
    sel = np.ix_(rows, cols)
    ndvi, red, vv = [], [], []
    for s2_day, s1_day in zip(cube["time"].values, cube["s1_time"].values):
        b = truth["s2"][str(np.datetime64(s2_day, "D"))]
        r = np.where(b["red"] > 0, b["red"] * scale + offset, np.nan)[sel]
        n = np.where(b["nir"] > 0, b["nir"] * scale + offset, np.nan)[sel]
        clear = ~np.isin(b["scl"][sel], [0, 1, 3, 8, 9, 10, 11])
        ndvi.append(np.where(clear, (n - r) / (n + r), np.nan))
        red.append(r)
        lin = truth["s1"][str(np.datetime64(s1_day, "D"))]["vv"][sel]
        vv.append(np.where(lin > 0, np.clip(10 * np.log10(np.where(lin > 0, lin, 1)), -40, 10), np.nan))
    return np.array(ndvi), np.array(red), np.array(vv)


@pytest.mark.parametrize("convention", ["pc", "es"])
def test_static_catalog_loads_the_source_values(tmp_path, convention, pc_catalog):
    path, truth = pc_catalog if convention == "pc" else make_catalog(tmp_path / "es", "es")
    cube = open_stac(path, bbox=BBOX, start="2021-04-28", end="2021-05-20")
    assert cube.rio.crs.to_epsg() == EPSG
    assert [str(np.datetime64(t, "D")) for t in cube["time"].values] == list(S2_DAYS)
    assert [str(np.datetime64(t, "D")) for t in cube["s1_time"].values] == ["2021-05-01", "2021-05-07",
                                                                           "2021-05-13", "2021-05-13"]
    assert cube.sizes["y"] >= 20 and cube.sizes["x"] >= 20
    ndvi, red, vv = _expected(truth, cube, (1e-4, -0.1))
    np.testing.assert_allclose(cube["ndvi"].values, ndvi, rtol=2e-6, atol=2e-7)
    np.testing.assert_array_equal(cube["cloud"].values, np.isnan(ndvi))
    np.testing.assert_allclose(cube["red"].values, red, rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(cube["vv"].values, vv, rtol=1e-5, atol=1e-5)
    assert {"green", "blue"} <= set(cube.data_vars)
    assert 0.05 < float(cube["cloud"].mean()) < 0.95  # SCL masked some pixels, not all
    assert "4 of 4 S2 dates paired" in cube.attrs["pairing"]


def test_the_split_day_is_mosaicked_and_nodata_is_missing(pc_catalog):
    path, truth = pc_catalog
    wide = _bbox(X0 - 15, Y0 - 415, X0 + 415, Y0 + 15)  # a little beyond the rasters on every side
    cube = open_stac(path, bbox=wide, start="2021-05-07", end="2021-05-13")
    assert [str(np.datetime64(t, "D")) for t in cube["time"].values] == ["2021-05-07", SPLIT_DAY]
    rows, cols = _rowcol(cube)
    inside = ((rows >= 0) & (rows < N))[:, None] & ((cols >= 0) & (cols < N))[None, :]
    assert inside.sum() == N * N and (~inside).any()  # the whole raster and some outside
    dn = truth["s2"][SPLIT_DAY]["red"][np.ix_(rows.clip(0, N - 1), cols.clip(0, N - 1))]
    expect = np.where(inside & (dn > 0), dn * 1e-4 - 0.1, np.nan)
    red = cube["red"].values[1]  # both halves (two items) in one date
    np.testing.assert_allclose(red, expect, rtol=2e-6, atol=2e-7)
    assert np.isnan(red[list(rows).index(0), list(cols).index(0)])  # DN 0 = no data
    assert np.isnan(cube["vv"].values[:, ~inside]).all()  # outside the rasters: no radar either
    assert np.isnan(cube["vv"].values[:, list(rows).index(1), list(cols).index(1)]).all()  # -32768 = no data


def test_cli_info_opens_a_static_catalog(pc_catalog, capsys):
    path, _ = pc_catalog
    code = main(["info", "--stac", str(path), "--bbox", *map(str, BBOX), "--start", "2021-04-28",
                 "--end", "2021-05-20"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"EPSG:{EPSG}" in out.out and "4: 2021-05-02 … 2021-05-17" in out.out
    assert "4 of 4 S2 dates paired" in out.out


def test_lazy_cube_with_chunks_equals_the_eager_one(pc_catalog):
    path, _ = pc_catalog
    eager = open_stac(path, bbox=BBOX, start="2021-04-28", end="2021-05-20")
    lazy = open_stac(path, bbox=BBOX, start="2021-04-28", end="2021-05-20", chunks={"x": 8, "y": 8})
    assert lazy["ndvi"].chunks is not None
    for name in ("vv", "vh", "ndvi", "cloud", "red"):
        np.testing.assert_array_equal(lazy[name].values, eager[name].values)


def _fails(fragments, **kwargs):
    with pytest.raises(DatacubeError) as info:
        open_stac(**kwargs)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_empty_search_names_the_collection_and_the_dates(pc_catalog):
    path, _ = pc_catalog
    _fails(["no item of collection 'sentinel-2-l2a'", "2020-01-01", "sentinel-1-rtc, sentinel-2-l2a"],
           catalog=path, bbox=BBOX, start="2020-01-01", end="2020-02-01")
    _fails(["no item of collection 'landsat'"], catalog=path, bbox=BBOX, start="2021-04-28", end="2021-05-20",
           s2_collection="landsat")
    far = [10.0, 10.0, 10.01, 10.01]
    _fails(["no item"], catalog=path, bbox=far, start="2021-04-28", end="2021-05-20")


def test_missing_asset_names_the_item_and_its_assets(tmp_path):
    path, _ = make_catalog(tmp_path / "noscl", "pc", drop_asset="scl")
    _fails(["has no scl asset", "SCL or scl", "its assets: B02, B03, B04, B08"], catalog=path, bbox=BBOX,
           start="2021-04-28", end="2021-05-20")


def test_uppercase_s1_keys_are_understood(tmp_path):
    path, _ = make_catalog(tmp_path / "upper", "es", s1_keys=("VV", "VH"))
    cube = open_stac(path, bbox=BBOX, start="2021-04-28", end="2021-05-20")
    assert cube["vv"].attrs["source_variable"] == "VV"


def test_bbox_across_utm_zones_needs_a_crs(pc_catalog):
    path, _ = pc_catalog
    msg = _fails(["crosses UTM zones 31 and 32", "EPSG:32631", "--crs"], catalog=path, bbox=[5.9, 50.0, 6.1, 50.1],
                 start="2021-04-28", end="2021-05-20")
    assert "bbox" in msg
    assert grid_crs([5.9, 50.0, 6.1, 50.1], "EPSG:32632").to_epsg() == 32632
    assert grid_crs([5.0, -10.0, 5.5, -9.0]).to_epsg() == 32731  # southern hemisphere
    assert utm_zone(-180) == 1 and utm_zone(179.9) == 60
    with pytest.raises(DatacubeError, match="geographic"):
        grid_crs(BBOX, "EPSG:4326")


def test_a_search_beyond_the_cell_limit_needs_chunks(pc_catalog):
    path, _ = pc_catalog
    _fails(["more than max_pixels=100", "chunks=", "narrow the bbox"], catalog=path, bbox=BBOX,
           start="2021-04-28", end="2021-05-20", max_pixels=100)
    lazy = open_stac(path, bbox=BBOX, start="2021-04-28", end="2021-05-20", max_pixels=100, chunks={"x": 16, "y": 16})
    assert lazy.sizes["time"] == 4


def test_unreachable_api_is_reported_quickly():
    import time

    t0 = time.perf_counter()
    _fails(["cannot reach the STAC API", "network"], catalog="http://127.0.0.1:9/stac", bbox=BBOX,
           start="2021-04-28", end="2021-05-20", timeout=3)
    assert time.perf_counter() - t0 < 15


def test_bad_arguments_are_named():
    _fails(["bbox", "MINLON MINLAT MAXLON MAXLAT"], catalog="x", bbox=[5, 50, 4, 51], start="2021-01-01",
           end="2021-02-01")
    _fails(["end 2021-01-01 is before start 2021-02-01"], catalog="x", bbox=BBOX, start="2021-02-01",
           end="2021-01-01")
    _fails(["start date 'soon' is not a date"], catalog="x", bbox=BBOX, start="soon", end="2021-01-01")


def test_a_missing_catalog_file_is_named(tmp_path):
    _fails(["does not exist", "catalog.json"], catalog=tmp_path / "nope.json", bbox=BBOX, start="2021-04-28",
           end="2021-05-20")
    bad = tmp_path / "catalog.json"
    bad.write_text("{not json")
    _fails(["cannot be read as a STAC catalog"], catalog=bad, bbox=BBOX, start="2021-04-28", end="2021-05-20")


def test_cli_stac_needs_bbox_and_dates(pc_catalog, capsys):
    path, _ = pc_catalog
    assert main(["info", "--stac", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--stac needs --bbox, --start, --end" in err and "Traceback" not in err
    assert main(["info", "--data", "x.nc", "--bbox", "1", "2", "3", "4"]) == 2
    assert "--bbox only applies to --stac" in capsys.readouterr().err


def _online(host: str = "planetarycomputer.microsoft.com") -> bool:
    try:
        socket.create_connection((host, 443), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _online(), reason="no network: the Planetary Computer query needs one")
def test_planetary_computer_query():
    cube = open_stac("https://planetarycomputer.microsoft.com/api/stac/v1", bbox=[4.30, 50.80, 4.31, 50.81],
                     start="2021-06-01", end="2021-06-30")
    assert cube.rio.crs.to_epsg() == 32631
    assert cube.sizes["time"] >= 2 and np.isfinite(cube["vv"].values).any()
