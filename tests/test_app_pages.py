"""AppTest of the Train, Dates, Crops, Map and Export pages, on a small demo scene trained through the UI.

One app session (module fixture) trains the three models for four steps on a 24 x 24 demo scene via
the Train page; each test then opens its page and checks what it draws against the core computed
independently.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from folium.raster_layers import ImageOverlay, TileLayer
from streamlit.testing.v1 import AppTest

from mcnnseq.experiment import evaluate, make_experiment, scene_predictions
from mcnnseq.metrics import class_profiles
from mcnnseq.ui import exports
from mcnnseq.ui.raster import GridGeometry, pixel_to_latlon

REPO = Path(__file__).resolve().parent.parent
SIZE = 24


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def values(v) -> np.ndarray:
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return arr.reshape(v["shape"]) if "shape" in v else arr
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def chart(at: AppTest, key: str) -> dict:
    for el in at.get("plotly_chart"):
        if key in (el.proto.id or ""):
            return json.loads(el.proto.spec)
    raise AssertionError(f"no plotly chart {key!r}")


def fake_map(result=None):
    return patch("streamlit_folium.st_folium", return_value=result or {"last_clicked": None})


def open_page(at: AppTest, page: str, result=None):
    with fake_map(result) as st_folium:
        at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    return st_folium


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    with fake_map():
        at.run()
        at.number_input(key="data_demo_size").set_value(SIZE)
        at.button(key="data_demo_go").click().run()
        at.switch_page("pages/train.py").run()
        at.number_input(key="train_steps:quick").set_value(4)
        at.number_input(key="train_hp:mcnn_seq:hidden_size").set_value(16)  # small and quick
        at.number_input(key="train_hp:rnn:hidden_size").set_value(16)
        at.button(key="train_go").click().run()
        job = at.session_state["mcnn_job"]
        job.join(120)
        assert job.status == "done", job.error
        at.run()
    no_exception(at)
    return at


def models_of(at: AppTest) -> dict:
    cube = at.session_state["mcnn_demo_cube"]
    return cube, {name: run.model for name, run in at.session_state["mcnn_runs"][cube.key].items()}


def test_train_page_shows_the_finished_run_and_its_curves(app):
    assert any("Trained MCNN-Seq, CNN, RNN" in s.value for s in app.success)
    fig = chart(app, "train_done_chart")
    names = {t.get("name") for t in fig["data"]}
    assert {"MCNN-Seq train loss", "CNN val loss", "RNN val r2"} <= names
    cube, models = models_of(app)
    cnn_val = next(t for t in fig["data"] if t.get("name") == "CNN val loss")
    np.testing.assert_allclose(values(cnn_val["y"]), [r.val_loss for r in models["CNN"].history])
    table = app.dataframe[0].value
    assert sorted(table["model"]) == ["CNN", "MCNN-Seq", "RNN"] and table["active"].all()
    assert all(m.steps == 4 and m.history[-1].step == 4 for m in models.values())
    assert (table["epochs run"] == [round(m.history[-1].epoch, 2) for m in models.values()]).all()
    assert models["MCNN-Seq"].model.config()["hidden_size"] == 16  # the hyper-parameter widgets reach the model
    assert models["CNN"].config.max_steps == 4 and models["CNN"].config.preset == "quick"


def test_dates_page_matches_an_independent_evaluation(app):
    open_page(app, "dates")
    cube, models = models_of(app)
    expected = evaluate(models, make_experiment(cube.ds, seed=0)).per_date.drop(index="mean")
    fig = chart(app, "dates_chart")
    for name in ("MCNN-Seq", "CNN", "RNN"):
        trace = next(t for t in fig["data"] if t.get("name") == name)
        np.testing.assert_allclose(values(trace["y"]), expected[(name, "r2")].to_numpy(dtype=float), rtol=1e-6)
    shown = app.dataframe[0].value
    assert len(shown) == cube.ds.sizes["time"] + 1 and shown.index[-1] == "mean"
    hist = chart(app, "dates_hist")
    assert {t.get("name") for t in hist["data"]} == {"MCNN-Seq", "CNN", "RNN"}
    assert chart(app, "dates_density")["data"][0]["type"] == "heatmap"


def test_sidebar_model_choice_filters_the_pages(app):
    app.session_state["mcnn_models"] = ["CNN"]
    open_page(app, "dates")
    assert [t["name"] for t in chart(app, "dates_chart")["data"]] == ["CNN"]
    app.session_state["mcnn_models"] = ["MCNN-Seq", "CNN", "RNN"]


def test_crops_page_profiles_and_table(app):
    open_page(app, "crops")
    cube, models = models_of(app)
    fig = chart(app, "crops_chart")
    code = app.selectbox(key=f"crops_class:{cube.key}:crop").value
    exp = make_experiment(cube.ds, seed=0)
    ref = cube.ds["ndvi_true"].values
    prof = class_profiles(ref, ref, cube.ds["crop"].values, mask=exp.split.masks()["test"], paired=True)
    observed = next(t for t in fig["data"] if t.get("name") == "observed")
    np.testing.assert_allclose(values(observed["y"]), prof[prof["class"] == code]["obs_mean"], rtol=1e-5)
    assert {"MCNN-Seq predicted", "VV", "VH"} <= {t.get("name") for t in fig["data"]}
    table = app.dataframe[0].value
    assert "MCNN-Seq R²" in table.columns and "paper MCNN-Seq R²" in table.columns


def test_map_page_layers_grid_and_click(app):
    open_page(app, "map")
    grid = chart(app, "map_grid")
    assert sum(t["type"] == "image" for t in grid["data"]) == 3 + 3 * 3  # reference, observed, VV + 3 per model
    with fake_map() as st_folium:
        app.radio(key="map_view").set_value("map").run()
    no_exception(app)
    cube, models = models_of(app)
    fmap = st_folium.call_args.args[0]
    names = {c.layer_name for c in fmap._children.values() if isinstance(c, ImageOverlay)}
    date = app.select_slider[0].value
    assert {f"MCNN-Seq prediction {date}", "MCNN-Seq error", "MCNN-Seq per-pixel R²", "cloud / missing"} <= names
    assert not any(isinstance(c, TileLayer) for c in fmap._children.values())  # offline by default
    with fake_map() as st_folium:
        app.checkbox(key="map_tiles").check().run()
    assert any(isinstance(c, TileLayer) for c in st_folium.call_args.args[0]._children.values())
    lat, lon = pixel_to_latlon(GridGeometry.from_cube(cube.ds), 5, 19)
    with fake_map({"last_clicked": {"lat": lat, "lng": lon}}):
        app.run()
    no_exception(app)
    pixel = chart(app, "map_pixel_chart")
    assert "row 5, column 19" in pixel["layout"]["title"]["text"]
    pred = scene_predictions({"CNN": models["CNN"]}, make_experiment(cube.ds, seed=0))["CNN"]
    trace = next(t for t in pixel["data"] if t.get("name") == "CNN prediction")
    np.testing.assert_allclose(values(trace["y"]), pred["ndvi_pred"].values[:, 5, 19], rtol=1e-5)


def test_export_page_offers_every_file(app):
    open_page(app, "export")
    labels = [b.proto.label for b in app.get("download_button")]
    assert "Cube as NetCDF" in labels and "Per-date R² / RMSE (Table 4 form)" in labels
    for name in ("MCNN-Seq", "CNN", "RNN"):
        assert f"{name} model (.pt)" in labels and f"{name}: gap-filled GeoTIFF" in labels
    assert len(labels) == 2 + 3 * 3 + 3 + 3


def test_checkpoint_upload_good_and_bad(app):
    cube, models = models_of(app)
    open_page(app, "train")
    app.file_uploader(key="train_ckpt").upload("junk.pt", b"not a checkpoint").run()  # enables the button
    app.button(key="train_ckpt_go").click().run()
    no_exception(app)
    assert any("junk.pt" in e.value and "Nothing was changed" in e.value for e in app.error)
    _, after = models_of(app)
    assert after["CNN"] is models["CNN"]
    app.file_uploader(key="train_ckpt").set_value(("cnn.pt", exports.checkpoint_bytes(models["CNN"]),
                                                   "application/octet-stream")).run()
    app.button(key="train_ckpt_go").click().run()
    no_exception(app)
    assert any("Loaded CNN from cnn.pt" in s.value for s in app.success)
    _, after = models_of(app)
    X = np.random.default_rng(0).normal(-15, 3, (4, cube.ds.sizes["time"], 2)).astype(np.float32)
    np.testing.assert_array_equal(after["CNN"].predict(X), models["CNN"].predict(X))
    assert app.session_state["mcnn_archive"][cube.key][-1].model is models["CNN"]  # the old run is archived


def test_stop_button_stops_a_long_run(app):
    open_page(app, "train")
    app.multiselect(key="train_models").set_value(["RNN"])
    app.number_input(key="train_steps:quick").set_value(100_000)
    with fake_map():
        app.button(key="train_go").click().run()
    no_exception(app)
    job = app.session_state["mcnn_job"]
    assert job.running and app.button(key="train_stop")
    while len(job.history()) == 0 and job.running:
        job.join(0.05)
    app.button(key="train_stop").click().run()
    job.join(60)
    app.run()
    no_exception(app)
    assert job.status == "stopped"
    assert any("Training stopped" in w.value for w in app.warning)
    _, models = models_of(app)
    assert models["RNN"] is job.results["RNN"] and models["RNN"].steps < 100_000
    assert pd.notna(models["RNN"].best_epoch)
