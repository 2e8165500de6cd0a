"""AppTest of the frame (app.py, sidebar) and the Data page: demo, uploads, summary, map, one pixel; the real cube.

Each test builds its own app session (no order between tests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from folium import LayerControl
from folium.plugins import MousePosition
from folium.raster_layers import ImageOverlay
from pyproj import Transformer
from streamlit.testing.v1 import AppTest

from app_helpers import chart, fake_map, no_exception, values
from conftest import make_tiny_cube
from mcnnseq.datacube import summarize_cube
from mcnnseq.sim import simulate_scene
from mcnnseq.ui import exports
from mcnnseq.ui.raster import GridGeometry, pixel_to_latlon

REPO = Path(__file__).resolve().parent.parent
REAL_CUBE = REPO.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"


def new_app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_opens_on_the_simulated_demo_with_its_summary():
    at = new_app()
    with fake_map():
        at.run()
    no_exception(at)
    assert at.title[0].value == "Data"
    assert any("SIMULATED" in i.value for i in at.info) and any("SIMULATED" in w.value for w in at.sidebar.warning)
    ds = simulate_scene(size=(200, 200), seed=0, scenario="50%")
    summary = summarize_cube(ds)
    assert metric(at, "Grid") == "200 x 200 px" and metric(at, "Dates") == "31"
    fig = chart(at, "data_cloud_chart")
    np.testing.assert_allclose(values(fig["data"][0]["y"]), 100 * np.asarray(summary.cloud_fraction_per_date), rtol=1e-6)
    assert "SIMULATED" in fig["layout"]["title"]["text"]


def test_map_has_the_overlays_in_the_right_place():
    at = new_app()
    with fake_map() as st_folium:
        at.run()
    no_exception(at)
    fmap = st_folium.call_args.args[0]
    assert all(not url.startswith("http") for _, url in fmap.default_js + fmap.default_css)  # no CDN
    plugins = [c for c in fmap._children.values() if isinstance(c, MousePosition)]
    assert len(plugins) == 1 and all(not url.startswith("http") for _, url in plugins[0].default_js)
    assert (REPO / "assets" / "ui" / "leaflet-plugins" / "L.Control.MousePosition.js").is_file()
    assert [c.options.get("collapsed") for c in fmap._children.values() if isinstance(c, LayerControl)] == [True]
    overlays = {c.layer_name: c for c in fmap._children.values() if isinstance(c, ImageOverlay)}
    date = at.select_slider[0].value
    assert {f"NDVI {date}", "cloud / missing", "NDVI under the clouds (simulated truth)"} <= set(overlays)
    base = next(iter(overlays))
    assert base.startswith("simulated true colour (from the NDVI)") and overlays[base].show
    ds = simulate_scene(size=(200, 200), seed=0, scenario="50%")
    (south, west), (north, east) = overlays[f"NDVI {date}"].bounds
    to_ll = Transformer.from_crs(ds.rio.crs, "EPSG:4326", always_xy=True)
    left, bottom, right, top = ds.rio.bounds()
    lons, lats = to_ll.transform([left, left, right, right], [bottom, top, bottom, top])
    assert min(lats) >= south - 1e-9 and max(lats) <= north + 1e-9
    assert min(lons) >= west - 1e-9 and max(lons) <= east + 1e-9
    assert (north - south) < 1.02 * (max(lats) - min(lats))  # tight: at most the rotation's margin
    assert overlays[f"NDVI {date}"].url.startswith("data:image/png;base64,")


def test_clicking_the_map_selects_that_pixel():
    at = new_app()
    with fake_map():
        at.run()
    ds = simulate_scene(size=(200, 200), seed=0, scenario="50%")
    lat, lon = pixel_to_latlon(GridGeometry.from_cube(ds), 17, 123)
    with fake_map({"last_clicked": {"lat": lat, "lng": lon}}):
        at.run()
    no_exception(at)
    assert (at.number_input[-2].value, at.number_input[-1].value) == (17, 123)
    assert at.number_input[-2].key == "_w_data_row:demo:200x200:seed0:50%"
    fig = chart(at, "data_pixel_chart")
    assert "row 17, column 123" in fig["layout"]["title"]["text"]
    observed = next(t for t in fig["data"] if t["name"] == "observed NDVI")
    expected = ds["ndvi"].values[:, 17, 123]
    np.testing.assert_allclose(values(observed["y"]), expected, rtol=1e-6)


def test_demo_parameters_and_scenario_survive_page_switches():
    at = new_app()
    with fake_map():
        at.run()
        at.number_input(key="data_demo_size").set_value(30)
        at.number_input(key="data_demo_seed").set_value(4)
        at.button(key="data_demo_go").click().run()
        no_exception(at)
        assert metric(at, "Grid") == "30 x 30 px"
        gaps_50 = metric(at, "Pixels with a gap")
        # AppTest runs only the page script on reruns under st.navigation (the browser runs the frame and the
        # sidebar too): choose the scenario as the sidebar's callback does
        at.session_state["mcnn_workspace"].use_demo(scenario="70%")
        at.run()
        gaps_70 = metric(at, "Pixels with a gap")
        assert int(gaps_70.rstrip(" %")) > int(gaps_50.rstrip(" %"))
        at.switch_page("pages/export.py").run()
        at.switch_page("pages/data.py").run()
    no_exception(at)
    assert metric(at, "Grid") == "30 x 30 px" and metric(at, "Pixels with a gap") == gaps_70
    assert at.session_state["mcnn_workspace"].demo_spec.scenario == "70%"
    assert any("seed 4, 70 % cloud" in i.value for i in at.info)


def test_sidebar_lists_the_runs_and_wraps_file_names():
    at = new_app()
    with fake_map():
        at.run()
    no_exception(at)
    side = at.sidebar
    assert any("SIMULATED" in w.value for w in side.warning)
    ticked = side.multiselect[0]
    ws = at.session_state["mcnn_workspace"]
    from mcnnseq.pretrained import demo_model_path

    fusion = ["MCNN-Seq fusion · shipped"] if demo_model_path("50%", "mcnn_seq_fusion").exists() else []
    assert [ws.run(i).name for i in ticked.value] == ["MCNN-Seq · shipped", "CNN · shipped", "RNN · shipped"] + fusion
    from mcnnseq.ui.labels import soft_wrap

    assert soft_wrap("worldcereal_preprocessed_inputs.nc") == "worldcereal_\u200bpreprocessed_\u200binputs.\u200bnc"


def test_good_upload_then_bad_upload_keeps_the_good_cube():
    cube = make_tiny_cube(nt=5, ny=6, nx=7, seed=5)
    at = new_app()
    with fake_map():
        at.run()
        at.file_uploader(key="data_nc_file").upload("area.nc", exports.netcdf_bytes(cube), "application/x-netcdf")
        at.button(key="data_nc_go").click().run()
        no_exception(at)
        assert any("Loaded area.nc" in s.value for s in at.success)
        assert metric(at, "Grid") == "6 x 7 px" and at.session_state["mcnn_workspace"].source == "file"

        at.file_uploader(key="data_nc_file").set_value(("broken.nc", b"\x89HDF\r\n\x1a\n truncated", "application/x-netcdf"))
        at.button(key="data_nc_go").click().run()
    no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "broken.nc" in errors[0] and "kept" in errors[0]
    assert "Traceback" not in errors[0]
    assert metric(at, "Grid") == "6 x 7 px"  # the good cube is still the one shown
    ws = at.session_state["mcnn_workspace"]
    assert ws.source == "file" and ws.file_cube.label == "area.nc"


def test_real_openeo_cube_needs_and_takes_the_decode_options():
    data = REAL_CUBE.read_bytes()
    at = new_app()
    with fake_map():
        at.run()
        assert at.number_input(key="data_nc_gain").disabled and at.number_input(key="data_nc_offset").disabled
        assert at.number_input(key="data_nc_nodata").value == 65535 and isinstance(
            at.number_input(key="data_nc_nodata").value, int)  # shown as 65535, not 65535.00
        at.file_uploader(key="data_nc_file").upload(REAL_CUBE.name, data, "application/x-netcdf")
        at.button(key="data_nc_go").click().run()
        errors = [e.value for e in at.error]
        assert any(REAL_CUBE.name in e and "“No-data code” to 65535" in e for e in errors), errors
        assert not any("nodata=" in e or "sigma0_log_dn" in e for e in errors)  # the form's words, not Python
        assert metric(at, "Grid") == "200 x 200 px"
        at.checkbox(key="data_nc_nodata_on").check().run()
        at.button(key="data_nc_go").click().run()
        errors = [e.value for e in at.error]
        assert any("“Radar values are: log-encoded DN" in e and "20" in e and "−83" in e for e in errors), errors
        at.selectbox(key="data_nc_sigma0").set_value("log-dn").run()
        assert not at.number_input(key="data_nc_gain").disabled
        at.button(key="data_nc_go").click().run()
    no_exception(at)
    assert not at.error
    assert metric(at, "Grid") == "100 x 100 px" and metric(at, "Dates") == "12"
    gap = next(m for m in at.metric if m.label == "Pixels with a gap")
    assert gap.value == "100 %" and gap.proto.delta == "2 dates never observed"
    assert "on the 10 observed dates, 0 % of the pixels are cloudy" in gap.proto.help
    assert any("2020-12-01" in w.value and "never scored" in w.value for w in at.warning)
    assert not any("SIMULATED" in i.value for i in at.info)
    with fake_map() as st_folium:
        at.run()
    overlays = [c for c in st_folium.call_args.args[0]._children.values() if isinstance(c, ImageOverlay)]
    assert overlays[0].layer_name.startswith("true colour (Sentinel-2 B04, B03, B02)")


@pytest.mark.parametrize("page", ["train", "dates", "crops", "map", "export"])
def test_every_page_opens_without_a_model(page):
    at = new_app()
    with fake_map():
        at.run()
        at.number_input(key="data_demo_size").set_value(20)
        at.button(key="data_demo_go").click().run()
        at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    assert at.title[0].value
    if page != "train":  # the classic gap-fillers are runs of every cube, offered unticked
        assert any("No run is ticked" in i.value and "Whittaker · classic" in i.value for i in at.info)
    else:
        runs = at.dataframe[-1].value
        assert list(runs["run"]) == ["Linear · classic", "Whittaker · classic"] and not runs["compared"].any()


def test_geotiff_stack_upload(tmp_path):
    from mcnnseq.io import write_geotiff_stack

    cube = make_tiny_cube(nt=4, ny=9, nx=5, seed=6)
    files = {p.name: p.read_bytes() for p in write_geotiff_stack(cube, tmp_path / "stack")}
    at = new_app()
    with fake_map():
        at.run()
        for role in ("vv", "vh"):
            at.file_uploader(key=f"data_tif_{role}").upload(f"{role}.tif", files[f"{role}.tif"], "image/tiff")
        at.button(key="data_tif_go").click().run()
        assert any("ndvi" in w.value for w in at.warning)  # asked for the missing file, nothing loaded
        assert metric(at, "Grid") == "200 x 200 px"
        at.file_uploader(key="data_tif_ndvi").upload("ndvi.tif", files["ndvi.tif"], "image/tiff")
        at.file_uploader(key="data_tif_dates").upload("dates.csv", files["dates.csv"], "text/csv")
        at.file_uploader(key="data_tif_crop").upload("crop.tif", files["crop.tif"], "image/tiff")
        at.button(key="data_tif_go").click().run()
    no_exception(at)
    assert not at.error
    assert metric(at, "Grid") == "9 x 5 px" and metric(at, "Dates") == "4" and metric(at, "Crop map") == "yes"
    held = at.session_state["mcnn_workspace"].cube.ds
    np.testing.assert_array_equal(held["ndvi"].values, cube["ndvi"].values)
