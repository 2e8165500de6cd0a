"""AppTest of a parcel/point table through the app: upload -> quick train -> evaluate -> Crops -> Map -> export.

A long-form CSV of 300 parcels with irregular S1 and S2 dates (two S1 tracks, ``tests/data/make_tables.py``),
as issue 11 asks. Each test builds its own app session (no order between tests).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from unittest.mock import patch

import folium
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import chart, fake_map, no_exception
from mcnnseq.experiment import evaluate, make_experiment
from mcnnseq.io.table import open_table, open_uploaded_table

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_tables", REPO / "tests" / "data" / "make_tables.py")
make_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_tables)


@pytest.fixture(scope="module")
def parcels() -> bytes:
    return make_tables.parcel_table(300, seed=3).to_csv(index=False).encode()


def markers(fmap, layer: str) -> list[folium.CircleMarker]:
    group = next(c for c in fmap._children.values() if isinstance(c, folium.FeatureGroup) and c.layer_name == layer)
    return [c for c in group._children.values() if isinstance(c, folium.CircleMarker)]


def upload(at: AppTest, name: str, data: bytes):
    with fake_map() as st_folium:
        at.switch_page("pages/data.py").run()
        at.file_uploader(key="data_table_file").upload(name, data, "text/csv")
        at.button(key="data_table_go").click().run()
    no_exception(at)
    return st_folium


def test_a_parcel_table_uploads_trains_evaluates_maps_groups_by_crop_and_exports(parcels, one_torch_thread):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    with fake_map():
        at.run()
    st_folium = upload(at, "parcels.csv", parcels)
    ws = at.session_state["mcnn_workspace"]
    cube = ws.cube
    assert ws.source == "file" and cube.is_points and cube.label == "parcels.csv"
    assert any("Loaded parcels.csv: 300 points" in s.value for s in at.success)
    assert next(m.value for m in at.metric if m.label == "Points") == "300"
    expected_cube = open_uploaded_table(parcels, "parcels.csv")
    np.testing.assert_array_equal(cube.ds["vv"].values, expected_cube["vv"].values)
    # the Data page maps the points themselves (no raster), coloured by the observed NDVI of the chosen date
    fmap = st_folium.call_args.args[0]
    assert not any(isinstance(c, folium.raster_layers.ImageOverlay) for c in fmap._children.values())
    date = at.select_slider(key=f"_w_data_date:{cube.key}").value
    shown = markers(fmap, f"observed NDVI {date}")
    assert len(shown) == 300
    lat0, lon0 = shown[0].location
    assert (lat0, lon0) == pytest.approx((float(cube.ds["lat"][0]), float(cube.ds["lon"][0])))
    # a click selects the nearest point and its series is drawn
    with fake_map({"last_clicked": {"lat": float(cube.ds["lat"][7]), "lng": float(cube.ds["lon"][7])}}):
        at.run()
    no_exception(at)
    assert chart(at, "data_pixel_chart")["layout"]["title"]["text"].startswith(f"Point {cube.ids[7]}")

    # quick training of a CNN on the table (samples = ids)
    with fake_map():
        at.switch_page("pages/train.py").run()
        at.multiselect(key="_w_train_models").set_value(["CNN"]).run()
        at.number_input(key="_w_train:quick:steps").set_value(40).run()
        at.button(key="train_go").click().run()
    job = at.session_state["mcnn_job"]
    job.join(300)
    assert job.status == "done", job.error
    with fake_map():
        at.switch_page("pages/dates.py").run()
    no_exception(at)
    cnn = ws.run_named("CNN · quick")
    linear = ws.run_named("Linear · classic")
    ws.tick([cnn.id, linear.id])
    with fake_map():
        at.run()
    no_exception(at)
    exp = make_experiment(cube.ds, seed=0)
    assert exp.protocol == "real"
    from mcnnseq.experiment import gap_fillers

    expected = evaluate({"CNN · quick": cnn.model, "Linear · classic": gap_fillers(exp)["Linear"]}, exp)
    table = at.dataframe[0].value
    np.testing.assert_allclose(table.loc["mean", "CNN · quick R²"], expected.per_date.loc["mean", ("CNN · quick", "r2")],
                               rtol=1e-5)
    np.testing.assert_allclose(table.loc["mean", "Linear · classic RMSE"],
                               expected.per_date.loc["mean", ("Linear · classic", "rmse")], rtol=1e-5)

    # Crops groups the test parcels by the table's own crop names
    with fake_map():
        at.switch_page("pages/crops.py").run()
    no_exception(at)
    crops = at.dataframe[0].value
    assert set(crops.index) == {"maize", "sugar beet", "winter wheat"}

    # Map: markers of the chosen run's prediction where the table has places
    with fake_map() as st_folium:
        at.switch_page("pages/map.py").run()
    no_exception(at)
    fmap = st_folium.call_args.args[0]
    date = at.select_slider(key=f"_w_map_date:{cube.key}").value
    run_name = at.selectbox(key="_w_map_run").value
    assert len(markers(fmap, f"{run_name} prediction {date}")) == 300
    with fake_map() as st_folium:
        at.selectbox(key="_w_map_run").set_value("CNN · quick").run()
    no_exception(at)
    assert len(markers(st_folium.call_args.args[0], f"CNN · quick σ (uncertainty) {date}")) == 300  # the CNN's σ
    point = chart(at, "map_pixel_chart")
    assert {"CNN · quick ±2σ", "CNN · quick +2σ"} <= {t.get("name") for t in point["data"]}  # the CNN has a σ
    assert {t.get("name") for t in chart(at, "map_pixel_chart")["data"]} >= {"CNN · quick prediction",
                                                                             "Linear · classic prediction"}

    # Export: the gap-filled table back as CSV and Parquet, in the table's long form
    import streamlit as st

    with fake_map(), patch("streamlit.download_button", wraps=st.download_button) as button:
        at.switch_page("pages/export.py").run()
    no_exception(at)
    made = {c.kwargs["file_name"]: c.kwargs["data"] for c in button.call_args_list}
    assert "parcels.csv" in made and "parcels_cnn_quick_ndvi_filled.parquet" in made
    assert not any(name.endswith((".tif", ".zip")) for name in made)  # no raster files for points
    filled = pd.read_csv(io.BytesIO(made["parcels_cnn_quick_ndvi_filled.csv"]()))
    assert filled["id"].nunique() == 300 and {"vv", "ndvi", "ndvi_pred", "ndvi_filled", "crop", "lon"} <= set(filled)
    assert {"ndvi_std", "fill_source"} <= set(filled)  # the σ and each value's source travel with the table
    observed = filled["ndvi"].notna()
    np.testing.assert_allclose(filled.loc[observed, "ndvi_filled"], filled.loc[observed, "ndvi"], rtol=1e-6)
    assert filled.loc[~observed, "ndvi_filled"].notna().all()  # every gap filled (complete radar)
    scene = ws.scene_predictions([cnn])["CNN · quick"]
    first = filled[filled["id"] == cube.ids[0]]["ndvi_pred"].to_numpy()
    np.testing.assert_allclose(first, scene["ndvi_pred"].values[:, 0, 0], atol=1e-6)
    parquet = pd.read_parquet(io.BytesIO(made["parcels_cnn_quick_ndvi_filled.parquet"]()))
    np.testing.assert_allclose(parquet["ndvi_filled"].to_numpy(float), filled["ndvi_filled"].to_numpy(float), atol=1e-6)
    again = open_table(made["parcels.csv"](), name="again.csv")  # the table itself reads back
    np.testing.assert_allclose(again["ndvi"].values, cube.ds["ndvi"].values, atol=1e-6)


def test_bad_tables_say_file_and_column_and_keep_the_data(parcels):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    with fake_map():
        at.run()
    upload(at, "parcels.csv", parcels)
    frame = pd.read_csv(io.BytesIO(parcels))
    upload(at, "no_vh.csv", frame.drop(columns=["vh"]).to_csv(index=False).encode())
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "no_vh.csv" in errors[0] and "vh" in errors[0] and "kept" in errors[0]
    dup = pd.concat([frame, frame.iloc[[3]]])
    upload(at, "dup.csv", dup.to_csv(index=False).encode())
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "dup.csv" in errors[0] and "duplicate" in errors[0].lower()
    ws = at.session_state["mcnn_workspace"]
    assert ws.cube.label == "parcels.csv" and ws.cube.is_points  # the good table is still the one shown
    upload(at, "notes.csv", b"just some notes, not a table\n")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "notes.csv" in errors[0] and "kept" in errors[0] and "Traceback" not in errors[0]
    # a table without places: no map, the points are chosen by id
    with fake_map() as st_folium:
        upload(at, "noplace.csv", frame.drop(columns=["lon", "lat"]).to_csv(index=False).encode())
    assert ws.cube.label == "noplace.csv" and not st_folium.called
    assert any("no coordinates" in i.value for i in at.info)
    assert at.selectbox(key=f"_w_data_point:{ws.cube.key}").value == 0
