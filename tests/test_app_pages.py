"""AppTest of the Train, Dates, Crops, Map and Export pages, each test in its own app session.

Small networks are trained once per module in plain Python (quick preset cut to two epochs on a 24 x 24 demo
scene); each test opens a fresh app, shows that scene, puts the runs it needs into the session's workspace
and checks what the pages draw against the core computed independently. Tests do not depend on their order.
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from folium.raster_layers import ImageOverlay, TileLayer
from streamlit.testing.v1 import AppTest

from app_helpers import chart, fake_map, no_exception, values
from mcnnseq.experiment import evaluate, make_experiment, scene_predictions
from mcnnseq.metrics import class_profiles
from mcnnseq.ui import exports
from mcnnseq.ui.raster import GridGeometry, pixel_to_latlon
from mcnnseq.workspace import DemoSpec

REPO = Path(__file__).resolve().parent.parent
SIZE = 24


def open_page(at: AppTest, page: str, result=None):
    with fake_map(result) as st_folium:
        at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    return st_folium


@pytest.fixture(scope="module")
def trained():
    """Two CNNs (different seeds) and an RNN, two epochs on the 24 x 24 demo scene (plain Python, no app)."""
    import torch

    from mcnnseq.experiment import train
    from mcnnseq.sim import simulate_scene
    from mcnnseq.training import TrainConfig

    torch.set_num_threads(1)
    exp = make_experiment(simulate_scene(size=(SIZE, SIZE), seed=0, scenario="50%"), seed=0)
    return {"cnn_a": train(exp, TrainConfig.quick("cnn", epochs=2, seed=0)),
            "cnn_b": train(exp, TrainConfig.quick("cnn", epochs=2, seed=1)),
            "rnn": train(exp, TrainConfig.quick("rnn", epochs=2, hparams={"hidden_size": 8}))}


def new_app(runs: dict | None = None, *, trained=None) -> AppTest:
    """A fresh app session on the 24 x 24 demo scene, with ``runs`` (name -> (model key, preset)) added."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    with fake_map():
        at.run()
        ws = at.session_state["mcnn_workspace"]
        ws.use_demo(DemoSpec(SIZE, 0, "50%"))
        for key, preset in (runs or {}).items():
            ws.add_run(trained[key], preset=preset, origin="trained", description=f"{preset} test run")
        at.run()
    no_exception(at)
    return at


def workspace(at: AppTest):
    return at.session_state["mcnn_workspace"]


def test_two_runs_of_one_model_side_by_side_on_dates(trained):
    at = new_app({"cnn_a": "quick", "cnn_b": "quick", "rnn": "paper"}, trained=trained)
    open_page(at, "dates")
    ws = workspace(at)
    names = [r.name for r in ws.ticked()]
    assert names == ["CNN · quick", "CNN · quick (2)", "RNN · paper"]
    exp = make_experiment(ws.cube.ds, seed=0)
    expected = evaluate(dict(zip(names, (trained["cnn_a"], trained["cnn_b"], trained["rnn"]))), exp).per_date
    fig = chart(at, "dates_chart")
    for name in names:
        trace = next(t for t in fig["data"] if t.get("name") == name)
        np.testing.assert_allclose(values(trace["y"]), expected.drop(index="mean")[(name, "r2")].to_numpy(float),
                                   rtol=1e-6)
    colours = {t["name"]: t["line"]["color"] for t in fig["data"]}
    assert len(set(colours.values())) == 3  # two runs of one model stay apart
    shown = at.dataframe[0].value
    assert list(shown.columns) == [f"{n} {m}" for n in names for m in ("R²", "RMSE")]
    assert len(shown) == ws.cube.ds.sizes["time"] + 1 and shown.index[-1] == "mean"
    assert {t.get("name") for t in chart(at, "dates_hist")["data"]} == set(names)
    density = chart(at, "dates_density")
    assert density["data"][0]["type"] == "heatmap"
    line = next(t for t in density["data"] if t.get("name") == "1:1 line")
    assert line["line"]["color"] not in ("white", "#ffffff", "#fff")


def test_dates_caution_next_to_the_paper_lines_on_simulated_data(trained):
    at = new_app({"cnn_a": "quick"}, trained=trained)
    open_page(at, "dates")
    assert not any("real" in w.value for w in at.warning)
    at.checkbox(key="_w_dates_paper").check().run()
    no_exception(at)
    assert any("real" in w.value and "SIMULATED" in w.value for w in at.warning)
    names = [t["name"] for t in chart(at, "dates_chart")["data"]]
    assert "CNN (paper, real data)" in names and "RNN (paper, real data)" not in names


def test_choices_persist_across_pages(trained):
    at = new_app({"cnn_a": "quick", "rnn": "quick"}, trained=trained)
    open_page(at, "dates")
    dates = at.select_slider(key=f"_w_dates_date:{workspace(at).cube.key}").options
    at.radio(key="_w_dates_metric").set_value("rmse").run()
    at.select_slider(key=f"_w_dates_date:{workspace(at).cube.key}").set_value(dates[3]).run()
    at.selectbox(key="_w_dates_run").set_value("RNN · quick").run()
    open_page(at, "map")
    map_dates = at.select_slider(key=f"_w_map_date:{workspace(at).cube.key}").options
    at.select_slider(key=f"_w_map_date:{workspace(at).cube.key}").set_value(map_dates[7]).run()
    at.radio(key="_w_map_view").set_value("map")
    with fake_map():
        at.run()
    workspace(at).tick([r.id for r in workspace(at).runs() if r.name == "RNN · quick"])  # as the sidebar does
    open_page(at, "export")
    open_page(at, "dates")
    key = workspace(at).cube.key
    assert at.radio(key="_w_dates_metric").value == "rmse"
    assert at.select_slider(key=f"_w_dates_date:{key}").value == dates[3]
    assert at.selectbox(key="_w_dates_run").value == "RNN · quick"
    assert [t["name"] for t in chart(at, "dates_chart")["data"]] == ["RNN · quick"]  # only the ticked run
    assert chart(at, "dates_chart")["layout"]["yaxis"]["title"]["text"].startswith("RMSE")
    open_page(at, "map")
    assert at.select_slider(key=f"_w_map_date:{key}").value == map_dates[7]
    assert at.radio(key="_w_map_view").value == "map"


def test_crops_page_profiles_and_table(trained):
    at = new_app({"cnn_a": "quick", "cnn_b": "quick"}, trained=trained)
    open_page(at, "crops")
    ws = workspace(at)
    cube = ws.cube
    code = at.selectbox(key=f"_w_crops_class:{cube.key}:crop").value
    assert at.selectbox(key=f"_w_crops_class:{cube.key}:crop").label == "Crop"
    exp = make_experiment(cube.ds, seed=0)
    ref = cube.ds["ndvi_true"].values
    prof = class_profiles(ref, ref, cube.ds["crop"].values, mask=exp.split.masks()["test"], paired=True)
    fig = chart(at, "crops_chart")
    observed = next(t for t in fig["data"] if t.get("name") == "observed")
    np.testing.assert_allclose(values(observed["y"]), prof[prof["class"] == code]["obs_mean"], rtol=1e-5)
    assert {"CNN · quick predicted", "CNN · quick (2) predicted", "VV", "VH"} <= {t.get("name") for t in fig["data"]}
    table = at.dataframe[0].value
    assert {"CNN · quick R²", "CNN · quick (2) R²", "paper MCNN-Seq R² (real data)"} <= set(table.columns)
    at.radio(key="_w_crops_by").set_value("field").run()
    no_exception(at)
    select = at.selectbox(key=f"_w_crops_class:{cube.key}:field")
    assert select.label == "Field"
    view = ws.crop_view(ws.ticked(), by="field")
    shown = [view.label(c) for c in select.options and view.codes(min_pixels=10)]
    assert all(" px" in s and "field " in s for s in shown)
    assert all(view.classes.at[c, "test_pixels"] >= 10 for c in view.codes(min_pixels=10))


def test_map_page_true_colour_layers_grid_in_metres_and_click(trained):
    at = new_app({"cnn_a": "quick", "cnn_b": "quick"}, trained=trained)
    open_page(at, "map")
    grid = chart(at, "map_grid")
    assert sum(t["type"] == "image" for t in grid["data"]) == 4 + 2 * 5  # context row + 5 panels per run (σ too)
    titles = [a["text"] for a in grid["layout"]["annotations"]]
    assert "simulated true colour (nearest clear date)" in titles and "<b>CNN · quick (2)</b>: prediction" in titles
    assert grid["layout"]["xaxis"]["showticklabels"] and grid["layout"]["xaxis"]["ticksuffix"] == " m"
    image = next(t for t in grid["data"] if t["type"] == "image")
    assert image["dx"] == pytest.approx(10.0)
    with fake_map() as st_folium:
        at.radio(key="_w_map_view").set_value("map").run()
    no_exception(at)
    ws = workspace(at)
    fmap = st_folium.call_args.args[0]
    overlays = [c for c in fmap._children.values() if isinstance(c, ImageOverlay)]
    names = [o.layer_name for o in overlays]
    date = at.select_slider(key=f"_w_map_date:{ws.cube.key}").value
    assert names[0].startswith("simulated true colour") and overlays[0].show  # the base, under everything
    assert {f"CNN · quick prediction {date}", "CNN · quick error", "CNN · quick per-pixel R²", "cloud / missing"} <= set(names)
    assert not any(isinstance(c, TileLayer) for c in fmap._children.values())  # offline by default
    with fake_map() as st_folium:
        at.checkbox(key="_w_map_tiles").check().run()
    assert any(isinstance(c, TileLayer) for c in st_folium.call_args.args[0]._children.values())
    lat, lon = pixel_to_latlon(GridGeometry.from_cube(ws.cube.ds), 5, 19)
    with fake_map({"last_clicked": {"lat": lat, "lng": lon}}):
        at.run()
    no_exception(at)
    pixel = chart(at, "map_pixel_chart")
    assert "row 5, column 19" in pixel["layout"]["title"]["text"]
    pred = scene_predictions({"CNN": trained["cnn_b"]}, make_experiment(ws.cube.ds, seed=0))["CNN"]
    trace = next(t for t in pixel["data"] if t.get("name") == "CNN · quick (2) prediction")
    np.testing.assert_allclose(values(trace["y"]), pred["ndvi_pred"].values[:, 5, 19], rtol=1e-5)


def test_export_page_offers_every_file_with_clean_names_and_predicts_nothing_again(trained):
    at = new_app({"cnn_a": "quick", "rnn": "quick"}, trained=trained)
    open_page(at, "map")  # predicts the scene once
    ws = workspace(at)
    import streamlit as st

    with patch("mcnnseq.prediction.predict_multi", side_effect=AssertionError("predicted again")), \
            patch("streamlit.download_button", wraps=st.download_button) as button:
        open_page(at, "export")
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    files = [c.kwargs["file_name"] for c in button.call_args_list]
    assert "Cube as NetCDF" in buttons and "Per-date R² / RMSE (Table 4 form)" in buttons
    for name in ("CNN · quick", "RNN · quick"):
        assert f"{name} model (.pt)" in buttons and f"{name}: gap-filled GeoTIFF" in buttons
    stem = ws.cube.file_stem
    assert stem == "demo_24x24_seed0_50"
    assert f"{stem}.nc" in files and f"{stem}_cnn_quick_ndvi_filled.tif" in files
    assert f"{stem}_rnn_quick.pt" in files and not any(".nc." in f or ".nc_" in f for f in files)
    # cube, predictions (NetCDF, predicted, gap-filled, σ, fill source), metrics CSVs (gap lengths too), models
    assert len(buttons) == 2 + 2 * 5 + 4 + 2


def train_and_wait(at: AppTest, timeout: float = 120):
    """Click the Train page's Train button (the map patched) and wait for the training job; it must end done."""
    with fake_map():
        at.button(key="train_go").click().run()
    job = at.session_state["mcnn_job"]
    job.join(timeout)
    assert job.status == "done", job.error
    return job


def test_train_through_the_page_twice_side_by_side_keeps_the_model_choice():
    at = new_app()
    open_page(at, "train")
    at.multiselect(key="_w_train_models").set_value(["CNN"]).run()
    assert at.radio(key="_w_train_preset").value == "quick"
    at.number_input(key="_w_train:quick:steps").set_value(5).run()
    for expected in ("CNN · quick", "CNN · quick (2)"):
        train_and_wait(at)
        with fake_map():
            at.run()
        no_exception(at)
        assert any(expected in s.value for s in at.success)
        assert at.multiselect(key="_w_train_models").value == ["CNN"]  # not reset by the run
        assert at.number_input(key="_w_train:quick:steps").value == 5
    ws = workspace(at)
    assert [r.name for r in ws.runs() if r.origin != "classic"] == ["CNN · quick", "CNN · quick (2)"]
    table = at.dataframe[-1].value
    table = table[table["origin"] != "classic"]
    assert list(table["run"]) == ["CNN · quick", "CNN · quick (2)"] and (table["steps run"] == 5).all()
    trained_runs = [r for r in ws.runs() if r.origin != "classic"]
    assert all(r.model.steps == 5 and r.model.config.max_steps == 5 and r.model.config.preset == "quick"
               for r in trained_runs)
    assert all(h.startswith("quick preset: up to 5 optimiser steps") for h in table["how"])
    curves = chart(at, "train_done_chart")
    styles = {(t["name"], t["line"]["color"]) for t in curves["data"]}
    assert {"training loss", "validation loss"} <= {n for n, _ in styles}
    assert len({c for _, c in styles}) == 2  # training and validation in two colours
    assert curves["layout"]["legend"]["yref"] == "container"  # below the axis title, not over it
    open_page(at, "dates")
    assert [t["name"] for t in chart(at, "dates_chart")["data"]] == ["CNN · quick", "CNN · quick (2)"]


def test_rename_remove_and_load_a_checkpoint(trained):
    at = new_app({"cnn_a": "quick", "rnn": "quick"}, trained=trained)
    open_page(at, "train")
    ws = workspace(at)
    cnn = ws.run_named("CNN · quick")
    at.selectbox(key=f"_w_train_pick:{ws.cube.key}").set_value(cnn.id).run()
    at.text_input(key="train_new_name").set_value("RNN · quick").run()
    at.button(key="train_rename").click().run()
    assert any("already called" in e.value for e in at.error) and cnn.name == "CNN · quick"
    at.text_input(key="train_new_name").set_value("my CNN").run()
    at.button(key="train_rename").click().run()
    no_exception(at)
    assert cnn.name == "my CNN" and any("my CNN" in s.value for s in at.success)
    open_page(at, "dates")
    assert [t["name"] for t in chart(at, "dates_chart")["data"]] == ["my CNN", "RNN · quick"]
    open_page(at, "train")
    at.file_uploader(key="train_ckpt").upload("junk.pt", b"not a checkpoint").run()
    at.button(key="train_ckpt_go").click().run()
    no_exception(at)
    assert any("junk.pt" in e.value and "Nothing was changed" in e.value for e in at.error)
    at.file_uploader(key="train_ckpt").set_value(("cnn.pt", exports.checkpoint_bytes(trained["cnn_a"]),
                                                   "application/octet-stream")).run()
    at.button(key="train_ckpt_go").click().run()
    no_exception(at)
    loaded = ws.run_named("CNN · from cnn.pt")
    assert loaded.origin == "file" and ws.run_named("my CNN").model is trained["cnn_a"]  # nothing replaced
    X = np.random.default_rng(0).normal(-15, 3, (4, ws.cube.ds.sizes["time"], 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.model.predict(X), trained["cnn_a"].predict(X))
    at.selectbox(key=f"_w_train_pick:{ws.cube.key}").set_value(ws.run_named("RNN · quick").id).run()
    at.button(key="train_remove").click().run()
    no_exception(at)
    assert [r.name for r in ws.runs() if r.origin != "classic"] == ["my CNN", "CNN · from cnn.pt"]


def test_hyper_parameters_have_human_names():
    at = new_app()
    open_page(at, "train")
    labels = {w.label for w in at.number_input} | {w.label for w in at.text_input}
    assert {"Dates per sub-sequence", "Filters, 1st convolution", "LSTM units", "Filters per convolution layer",
            "Attention size"} <= labels
    assert not any(label in labels for label in ("sub_len", "conv1_filters", "attention_size"))
    assert not any(w.value == "null" for w in at.text_input)
    assert at.number_input(key="_w_train_hp:mcnn_seq:attention_size").value is None
    at.text_input(key="_w_train_hp:cnn:filters").set_value("32, x").run()
    assert any("Filters per convolution layer" in e.value for e in at.error)
    assert at.button(key="train_go").disabled


def test_presets_show_a_step_budget_or_epochs():
    """default/quick count their budget in optimiser steps, paper in epochs (the radio says which)."""
    from mcnnseq.training import PRESETS, TrainConfig

    at = new_app()
    open_page(at, "train")
    radio = at.radio(key="_w_train_preset")
    assert len(radio.options) == len(PRESETS) and radio.value == "quick"
    shown = " | ".join(radio.options)
    assert f"up to {TrainConfig.quick().max_steps:,} optimiser steps" in shown
    assert f"up to {TrainConfig.default().max_steps:,} optimiser steps" in shown and "50 epochs" in shown
    for preset, key, value in (("default", "steps", TrainConfig.default().max_steps),
                               ("paper", "epochs", TrainConfig.paper().epochs)):
        at.radio(key="_w_train_preset").set_value(preset).run()
        no_exception(at)
        assert at.number_input(key=f"_w_train:{preset}:{key}").value == value
        other = "epochs" if key == "steps" else "steps"
        assert not any(w.key == f"_w_train:{preset}:{other}" for w in at.number_input)


def test_stop_button_stops_a_long_run():
    at = new_app()
    open_page(at, "train")
    at.multiselect(key="_w_train_models").set_value(["RNN"]).run()
    at.number_input(key="_w_train:quick:steps").set_value(100_000).run()
    with fake_map():
        at.button(key="train_go").click().run()
    no_exception(at)
    job = at.session_state["mcnn_job"]
    assert job.running and at.button(key="train_stop")
    assert at.get("progress")[0].proto.text == job.progress_text() or job.progress_text().startswith("Training RNN")
    while len(job.history()) == 0 and job.running:
        job.join(0.05)
    at.button(key="train_stop").click().run()
    job.join(60)
    at.run()
    no_exception(at)
    assert job.status == "stopped"
    assert any("Training stopped" in w.value for w in at.warning)
    run = workspace(at).run_named("RNN · quick")
    assert run.model is job.results["RNN"] and 0 < run.model.steps < 100_000
    assert pd.notna(run.model.best_epoch)


REAL_CUBE = REPO.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"


def test_real_cube_flow_upload_train_and_every_page():
    """The shared Belgian cube through the Data page's upload with its decode options, a quick CNN, every page."""
    at = new_app()
    with fake_map():
        at.switch_page("pages/data.py").run()
        at.file_uploader(key="data_nc_file").upload(REAL_CUBE.name, REAL_CUBE.read_bytes(), "application/x-netcdf")
        at.checkbox(key="data_nc_nodata_on").check()
        at.selectbox(key="data_nc_sigma0").set_value("log-dn")
        at.button(key="data_nc_go").click().run()
    no_exception(at)
    ws = workspace(at)
    assert ws.source == "file" and ws.cube.label == REAL_CUBE.name and {"red", "green", "blue"} <= set(ws.cube.ds)
    open_page(at, "train")
    caption = " ".join(c.value for c in at.caption)
    assert "2 date(s) with no optical value at all" in caption and "70 %" not in caption
    assert "observed on every date" not in caption
    at.multiselect(key="_w_train_models").set_value(["CNN"]).run()
    at.number_input(key="_w_train:quick:steps").set_value(20).run()
    train_and_wait(at)
    open_page(at, "dates")
    assert [r.name for r in ws.ticked()] == ["CNN · quick"]
    table = at.dataframe[0].value
    assert len(table) == 13 and table.index[-1] == "mean"
    assert table.loc["2020-12-01"].isna().all() and table.drop(index=["2020-12-01", "2021-01-01"]).notna().all().all()
    assert not at.checkbox(key="_w_dates_paper").value and at.checkbox(key="_w_dates_paper").disabled
    open_page(at, "crops")
    assert any("no crop or field map" in i.value for i in at.info)
    open_page(at, "map")
    grid = chart(at, "map_grid")
    assert grid["layout"]["annotations"][0]["text"] == "true colour (nearest clear date)"
    with fake_map() as st_folium:
        at.radio(key="_w_map_view").set_value("map").run()
    no_exception(at)
    names = [c.layer_name for c in st_folium.call_args.args[0]._children.values() if isinstance(c, ImageOverlay)]
    assert names[0].startswith("true colour (Sentinel-2 B04, B03, B02)") and any("CNN · quick prediction" in n
                                                                                  for n in names)
    open_page(at, "export")
    assert any(b.proto.label == "CNN · quick: gap-filled GeoTIFF" for b in at.get("download_button"))


def test_classic_gap_fillers_tick_beside_a_network_on_dates_map_and_export(trained):
    """Linear and Whittaker are runs of the cube without training; ticked, they appear on Dates (with the error
    by gap length read from the figure), on the Map and in the exports, scored as the core scores them."""
    from mcnnseq.experiment import gap_fillers

    at = new_app({"cnn_a": "quick"}, trained=trained)
    ws = workspace(at)
    classic = [r for r in ws.runs() if r.origin == "classic"]
    assert [r.name for r in classic] == ["Linear · classic", "Whittaker · classic"]
    assert [r.name for r in ws.ticked()] == ["CNN · quick"]  # offered unticked
    ws.tick([r.id for r in ws.runs()])
    open_page(at, "dates")
    names = ["CNN · quick", "Linear · classic", "Whittaker · classic"]
    exp = make_experiment(ws.cube.ds, seed=0)
    models = {"CNN · quick": trained["cnn_a"], **{f"{k} · classic": m for k, m in gap_fillers(exp).items()}}
    expected = evaluate(models, exp)
    fig = chart(at, "dates_chart")
    for name in names:
        trace = next(t for t in fig["data"] if t.get("name") == name)
        np.testing.assert_allclose(values(trace["y"]), expected.per_date.drop(index="mean")[(name, "r2")].to_numpy(float),
                                   rtol=1e-6)
    gaps = chart(at, "dates_gap_chart")
    for name in names:
        by_k, by_days = [t for t in gaps["data"] if t.get("name") == name]
        want = expected.by_gap[expected.by_gap["model"] == name]
        np.testing.assert_allclose(values(by_k["y"]), want["r2"].to_numpy(float), rtol=1e-6)
        assert list(by_k["x"]) == [f"{k} date{'s' if k > 1 else ''}" for k in want["k"]]
        want_days = expected.by_days[expected.by_days["model"] == name].sort_values("bucket")
        np.testing.assert_allclose(values(by_days["y"]), want_days["r2"].to_numpy(float), rtol=1e-6)
    assert np.isfinite(expected.by_gap["r2"].to_numpy(float)).any()  # the chart has something to show
    table = at.dataframe[1].value  # after the Table 4 form
    assert "Whittaker · classic RMSE" in table.columns and "1 date missing" in table.index
    open_page(at, "map")
    titles = [a["text"] for a in chart(at, "map_grid")["layout"]["annotations"]]
    assert "<b>Linear · classic</b>: prediction" in titles and "<b>Whittaker · classic</b>: prediction" in titles
    open_page(at, "export")
    buttons = {b.proto.label for b in at.get("download_button")}
    assert {"Linear · classic: gap-filled GeoTIFF", "Whittaker · classic: NetCDF (both)", "Error by gap length"} <= buttons
    scene = ws.scene_predictions()
    ds = ws.cube.ds
    clear = ~ds["cloud"].values
    np.testing.assert_allclose(scene["Linear · classic"]["ndvi_filled"].values[clear], ds["ndvi"].values[clear])


def test_protocol_and_split_are_chosen_on_the_train_page_for_a_file_and_fixed_on_the_demo():
    from conftest import make_tiny_cube

    at = new_app()
    open_page(at, "train")
    assert not [r for r in at.radio if r.key and r.key.startswith("_w_train_protocol")]
    assert any("paper's protocol" in c.value for c in at.caption)
    ws = workspace(at)
    cube = make_tiny_cube(nt=8, ny=12, nx=12, seed=4, cloud_fraction=0.9)
    ws.use_file(cube, name="clouds.nc")
    open_page(at, "train")
    key = f"_w_train_protocol:{ws.cube.key}"
    assert at.radio(key=key).value == "real" and at.radio(key=f"_w_train_split:{ws.cube.key}").value == "random"
    real = make_experiment(cube, seed=0, protocol="real")
    assert at.metric[0].value == f"{real.split.sizes()['train']:,}"
    warning = " ".join(w.value for w in at.warning)
    assert "fewer than 500" in warning and "The grid itself is small" in warning  # says why
    at.radio(key=key).set_value("paper")
    with fake_map():
        at.radio(key=f"_w_train_split:{ws.cube.key}").set_value("blocked").run()
    no_exception(at)
    paper = make_experiment(cube, seed=0, protocol="paper", split="blocked")
    assert ws.experiment().protocol == "paper" and ws.experiment().split.kind == "blocked"
    assert at.metric[0].value == f"{paper.split.sizes()['train']:,}"
    assert any("blocks" in c.value for c in at.caption)
    assert "radar-complete pixels were excluded with a missing NDVI value" in " ".join(w.value for w in at.warning)
    open_page(at, "data")
    open_page(at, "train")  # the choice persists across pages
    assert at.radio(key=key).value == "paper"
