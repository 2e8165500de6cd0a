"""AppTest of issue 8's app side: point flags, ±2σ bands, the σ map, the attention heatmap, fusion as a run.

Tiny networks (radar-only MCNN-Seq, MCNN-Seq fusion, a CNN) are trained once per module in plain Python on a
24 x 24 demo scene; each test opens a fresh app session and checks what the pages draw against the core
(``mcnnseq.flags``, ``predict_cube``'s ``ndvi_std``, ``mcnnseq.attention``) computed independently. The tests
never need the shipped fusion checkpoint. They do not depend on their order.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import xarray as xr
from folium.raster_layers import ImageOverlay

from mcnnseq.attention import attention_weights
from mcnnseq.experiment import make_experiment
from mcnnseq.flags import optical_dates, point_flags
from mcnnseq.prediction import predict_cube
from mcnnseq.ui.plots import FLAG_SYMBOLS

from app_helpers import chart, fake_map, no_exception, values
from test_app_pages import SIZE, new_app, open_page, train_and_wait, workspace

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained():
    """Radar-only MCNN-Seq, MCNN-Seq fusion and a CNN, a few dozen steps on the 24 x 24 demo scene."""
    import torch

    from mcnnseq.experiment import train
    from mcnnseq.sim import simulate_scene
    from mcnnseq.training import TrainConfig

    torch.set_num_threads(1)
    exp = make_experiment(simulate_scene(size=(SIZE, SIZE), seed=0, scenario="50%"), seed=0)
    small = {"hidden_size": 8, "conv1_filters": 4, "conv2_filters": 8}
    return {"mcnn": train(exp, TrainConfig.quick("mcnn_seq", max_steps=20, seed=0, hparams=small)),
            "fusion": train(exp, TrainConfig.quick("mcnn_seq_fusion", max_steps=20, seed=0, hparams=small)),
            "cnn": train(exp, TrainConfig.quick("cnn", max_steps=20, seed=0))}


def matrix(v) -> np.ndarray:
    """A 2-D plotly array (base64 with a "r, c" shape, or nested lists) as floats."""
    if isinstance(v, dict):
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return arr.reshape([int(n) for n in str(v["shape"]).split(",")]).astype(float)
    return np.array(v, dtype=float)


def trace(fig: dict, name: str) -> dict:
    found = [t for t in fig["data"] if t.get("name") == name]
    assert found, (name, [t.get("name") for t in fig["data"]])
    return found[0]


def open_pixel_view(at) -> None:
    """Open the Map page's map view (the pixel series and attention sections below it), without an exception."""
    open_page(at, "map")
    at.radio(key="_w_map_view").set_value("map")
    with fake_map():
        at.run()
    no_exception(at)


def test_models_have_sigma_and_attention(trained):
    from mcnnseq.attention import has_attention
    from mcnnseq.prediction import has_std

    assert all(has_std(m) for m in trained.values())
    assert has_attention(trained["mcnn"]) and has_attention(trained["fusion"]) and not has_attention(trained["cnn"])
    assert trained["fusion"].name == "MCNN-Seq fusion"


def test_map_pixel_series_flags_and_sigma_bands(trained):
    at = new_app({"fusion": "quick", "cnn": "quick"}, trained=trained)
    open_pixel_view(at)
    ws = workspace(at)
    ds = ws.cube.ds
    fig = chart(at, "map_pixel_chart")
    row, col = SIZE // 2, SIZE // 2
    assert f"row {row}, column {col}" in fig["layout"]["title"]["text"]
    optical = optical_dates(ds)
    obs = ds["ndvi"].values[:, row, col]
    names = {"MCNN-Seq fusion · quick": trained["fusion"], "CNN · quick": trained["cnn"]}
    seen = set()
    for name, model in names.items():
        core = predict_cube(model, ds)
        pred = core["ndvi_pred"].values[:, row, col]
        std = core["ndvi_std"].values[:, row, col]
        np.testing.assert_allclose(values(trace(fig, f"{name} prediction")["y"]), pred, rtol=1e-5, atol=1e-6)
        # the band: prediction ± 2σ from the core
        np.testing.assert_allclose(values(trace(fig, f"{name} +2σ")["y"]), pred + 2 * std, rtol=1e-5, atol=1e-6)
        lower = trace(fig, f"{name} ±2σ")
        np.testing.assert_allclose(values(lower["y"]), pred - 2 * std, rtol=1e-5, atol=1e-6)
        assert lower["fill"] == "tonexty" and lower["fillcolor"].startswith("rgba(")
        assert np.all(std > 0)
        # the flags: every non-observed point of the run, as the core flags it
        flags = point_flags(obs, pred, optical)
        points = trace(fig, f"{name} filled points")
        want = [f for f in flags if f in ("cloud_filled", "no_optical_date")]
        assert list(points["customdata"]) == want
        assert list(points["marker"]["symbol"]) == [FLAG_SYMBOLS[f] for f in want]
        seen.update(want)
    observed = trace(fig, "observed NDVI")
    assert set(observed["customdata"]) == {"observed"} and observed["marker"]["symbol"] == FLAG_SYMBOLS["observed"]
    # the legend names each kind of mark that appears
    legend = {t.get("name") for t in fig["data"] if t.get("showlegend", True) is not False}
    assert {"cloud-filled (predicted)" if f == "cloud_filled" else "no optical date (predicted)" for f in seen} <= legend
    assert seen, "the pixel should have at least one filled point on a 50 % cloud scene"


def test_flags_cover_all_three_kinds_on_a_date_without_optical_data(trained):
    """A cube whose one date has no clear value anywhere: its point is 'no optical date' on Data and Map."""
    at = new_app({"cnn": "quick"}, trained=trained)
    ws = workspace(at)
    ds = ws.cube.ds.copy(deep=True)
    ds["ndvi"][3] = np.nan
    ds["cloud"][3] = True
    ws.use_file(ds, name="no_date_3.nc")
    ws.add_run(trained["cnn"], preset="quick", origin="trained")
    open_page(at, "data")
    fig = chart(at, "data_pixel_chart")
    row = col = SIZE // 2
    missing = trace(fig, "missing dates")
    want = [f for f in point_flags(ds["ndvi"].values[:, row, col], np.zeros(ds.sizes["time"]), optical_dates(ds))
            if f != "observed"]
    assert list(missing["customdata"]) == want and "no_optical_date" in want
    assert {"cloudy (no clear value)", "no optical date"} & {t.get("name") for t in fig["data"]}
    open_pixel_view(at)
    points = trace(chart(at, "map_pixel_chart"), "CNN · quick filled points")
    assert "no_optical_date" in points["customdata"] and "x" in points["marker"]["symbol"]


def test_sigma_map_panel_and_layer_from_the_memoised_scene(trained):
    at = new_app({"mcnn": "quick"}, trained=trained)
    open_page(at, "map")
    ws = workspace(at)
    grid = chart(at, "map_grid")
    titles = [a["text"] for a in grid["layout"]["annotations"]]
    assert "σ (uncertainty)" in titles
    scene = ws.scene_predictions()["MCNN-Seq · quick"]
    core = predict_cube(trained["mcnn"], ws.cube.ds)
    np.testing.assert_allclose(scene["ndvi_std"].values, core["ndvi_std"].values, rtol=1e-5, atol=1e-6)
    with patch("mcnnseq.prediction.predict_multi", side_effect=AssertionError("predicted again")):
        with fake_map() as st_folium:
            at.radio(key="_w_map_view").set_value("map").run()
        no_exception(at)
    names = [c.layer_name for c in st_folium.call_args.args[0]._children.values() if isinstance(c, ImageOverlay)]
    date = at.select_slider(key=f"_w_map_date:{ws.cube.key}").value
    assert f"MCNN-Seq · quick σ (uncertainty) {date}" in names


def test_attention_heatmap_beside_the_pixel_series(trained):
    at = new_app({"mcnn": "quick", "fusion": "quick", "cnn": "quick"}, trained=trained)
    open_pixel_view(at)
    ws = workspace(at)
    ds = ws.cube.ds
    row = col = SIZE // 2
    radar = np.stack([ds["vv"].values[:, row, col], ds["vh"].values[:, row, col]], -1)
    select = at.selectbox(key="_w_map_attention_run")
    assert select.options == ["MCNN-Seq · quick", "MCNN-Seq fusion · quick"]  # the CNN has no attention
    for name, key in (("MCNN-Seq · quick", "mcnn"), ("MCNN-Seq fusion · quick", "fusion")):
        at.selectbox(key="_w_map_attention_run").set_value(name)
        with fake_map():
            at.run()
        no_exception(at)
        fig = chart(at, "map_attention_chart")
        heat = fig["data"][0]
        assert heat["type"] == "heatmap" and name in fig["layout"]["title"]["text"]
        z = matrix(heat["z"])
        np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-5)
        want = attention_weights(trained[key], radar, ds["ndvi"].values[:, row, col])
        np.testing.assert_allclose(z, want, rtol=1e-5, atol=1e-6)
        dates = [str(d)[:10] for d in ds["time"].values]
        assert list(heat["y"]) == dates and list(heat["x"]) == [str(d)[:10] for d in ds["s1_time"].values]


def test_crop_profiles_have_the_runs_sigma_bands(trained):
    at = new_app({"fusion": "quick", "cnn": "quick"}, trained=trained)
    open_page(at, "crops")
    ws = workspace(at)
    cube = ws.cube
    code = at.selectbox(key=f"_w_crops_class:{cube.key}:crop").value
    fig = chart(at, "crops_chart")
    test = make_experiment(cube.ds, seed=0).split.masks()["test"]
    inside = test & (cube.ds["crop"].values == code)
    for name, key in (("MCNN-Seq fusion · quick", "fusion"), ("CNN · quick", "cnn")):
        std = predict_cube(trained[key], cube.ds)["ndvi_std"].values[:, inside]
        sigma = np.sqrt(np.nanmean(std.astype(float) ** 2, axis=1))
        mean = values(trace(fig, f"{name} predicted")["y"])
        np.testing.assert_allclose(values(trace(fig, f"{name} +2σ")["y"]), mean + 2 * sigma, rtol=1e-4, atol=1e-6)
        lower = trace(fig, f"{name} ±2σ")
        np.testing.assert_allclose(values(lower["y"]), mean - 2 * sigma, rtol=1e-4, atol=1e-6)
        assert lower["fill"] == "tonexty"
    at.radio(key="_w_crops_band").set_value("spread").run()
    no_exception(at)
    assert not any("±2σ" in (t.get("name") or "") for t in chart(at, "crops_chart")["data"])


def test_export_of_a_run_holds_sigma_and_fill_source(trained, tmp_path):
    import streamlit as st

    at = new_app({"fusion": "quick"}, trained=trained)
    with patch("streamlit.download_button", wraps=st.download_button) as button:
        open_page(at, "export")
    calls = {c.args[0]: c.kwargs for c in button.call_args_list}
    ws = workspace(at)
    name = "MCNN-Seq fusion · quick"
    nc = calls[f"{name}: NetCDF (both)"]["data"]()
    out = xr.open_dataset(io.BytesIO(nc), engine="h5netcdf")
    core = predict_cube(trained["fusion"], ws.cube.ds)
    np.testing.assert_allclose(out["ndvi_std"].values, core["ndvi_std"].values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["fill_source"].values, core["fill_source"].values)
    assert out["fill_source"].attrs["flag_meanings"] == "observed cloud_filled no_optical_date no_value"
    import rioxarray

    for label, var in ((f"{name}: σ GeoTIFF", "ndvi_std"), (f"{name}: fill source GeoTIFF", "fill_source")):
        data = calls[label]["data"]()
        assert calls[label]["file_name"].endswith(f"_{var}.tif")
        tif = tmp_path / calls[label]["file_name"]
        tif.write_bytes(data)
        arr = rioxarray.open_rasterio(tif).values
        np.testing.assert_allclose(arr.astype(float), core[var].values.astype(float), rtol=1e-5, atol=1e-6)


def test_shipped_fusion_is_offered_ticked_when_its_file_exists(trained, tmp_path):
    """load_shipped_models adds "MCNN-Seq fusion" when demo_<50|70>_mcnn_seq_fusion.pt is there (tiny stand-ins
    here), and the workspace offers it as the ticked run "MCNN-Seq fusion · shipped"; without it, the three."""
    from mcnnseq.checkpoints import save_checkpoint
    from mcnnseq.pretrained import demo_model_path
    from mcnnseq.workspace import Workspace, load_shipped_models

    for key, model in (("rnn", "cnn"), ("cnn", "cnn"), ("mcnn_seq", "mcnn"), ("mcnn_seq_fusion", "fusion")):
        save_checkpoint(trained[model], demo_model_path("50%", key, directory=tmp_path))
    models = load_shipped_models("50%", directory=tmp_path)
    assert "MCNN-Seq fusion" in models and models["MCNN-Seq fusion"].uses_ndvi
    demo_model_path("50%", "mcnn_seq_fusion", directory=tmp_path).unlink()
    assert "MCNN-Seq fusion" not in load_shipped_models("50%", directory=tmp_path)

    ws = Workspace(simulate=lambda spec: __import__("mcnnseq.sim", fromlist=["simulate_scene"]).simulate_scene(
        size=(SIZE, SIZE), seed=0, scenario=spec.scenario),
        shipped_models=lambda scenario: {"MCNN-Seq": trained["mcnn"], "MCNN-Seq fusion": trained["fusion"]})
    assert ws.offer_shipped() is None
    ticked = [r.name for r in ws.ticked() if r.origin == "shipped"]
    assert ticked == ["MCNN-Seq · shipped", "MCNN-Seq fusion · shipped"]
    assert ws.run_named("MCNN-Seq fusion · shipped").shared_key.endswith(":MCNN-Seq fusion")


def test_the_app_ticks_the_shipped_fusion_and_dates_keeps_the_paper_model(trained):
    """In the app (shipped models replaced by tiny ones on a 24 x 24 scene), fusion is a ticked shipped run; the
    Dates page's paper lines are radar-only MCNN-Seq's only."""
    from mcnnseq.ui import cache

    fake = {"MCNN-Seq": trained["mcnn"], "MCNN-Seq fusion": trained["fusion"]}
    with patch.object(cache, "shipped_models", lambda scenario: fake), \
            patch("mcnnseq.workspace.DemoSpec.has_shipped_models", property(lambda self: True)):
        at = new_app()
        ws = workspace(at)
        open_page(at, "dates")  # offers the shipped runs (as app.py does)
        assert [r.name for r in ws.ticked()] == ["MCNN-Seq · shipped", "MCNN-Seq fusion · shipped"]
        at.checkbox(key="_w_dates_paper").check().run()
        no_exception(at)
    lines = [t["name"] for t in chart(at, "dates_chart")["data"]]
    assert "MCNN-Seq fusion · shipped" in lines and "MCNN-Seq (paper, real data)" in lines
    assert not any("fusion (paper" in n for n in lines)


def test_train_page_trains_mcnn_seq_fusion():
    at = new_app()
    open_page(at, "train")
    at.multiselect(key="_w_train_models").set_value(["MCNN-Seq fusion"]).run()
    at.number_input(key="_w_train:quick:steps").set_value(5).run()
    train_and_wait(at)
    with fake_map():
        at.run()
    no_exception(at)
    run = workspace(at).run_named("MCNN-Seq fusion · quick")
    assert run.uses_ndvi and run.model.steps == 5 and run.model.uncertainty is not None


def test_a_precomputed_scene_gets_sigma_and_fill_source_without_a_network_pass(trained):
    """Shipped predictions (files with ndvi_pred only) get the residual σ and fill_source from the numbers alone."""
    from mcnnseq.sim import simulate_scene
    from mcnnseq.workspace import complete_scene

    ds = simulate_scene(size=(SIZE, SIZE), seed=0, scenario="50%")
    for key in ("cnn", "mcnn"):
        full = predict_cube(trained[key], ds)
        bare = full.drop_vars(["ndvi_std", "fill_source"])
        with patch.object(type(trained[key]), "_forward_numpy", side_effect=AssertionError("network called")):
            done = complete_scene(bare, trained[key], ds)
        np.testing.assert_allclose(done["ndvi_std"].values, full["ndvi_std"].values, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(done["fill_source"].values, full["fill_source"].values)
    fusion = predict_cube(trained["fusion"], ds).drop_vars(["ndvi_std"])
    assert "ndvi_std" not in complete_scene(fusion, trained["fusion"], ds)  # a head σ needs the network


def test_cloudy_values_are_hidden_from_fusion_in_the_pixel_views(trained):
    """A cube that keeps a value under its cloud flag: the pixel series and the attention give fusion the clear
    values only, as the whole-scene prediction does."""
    from mcnnseq.sim import simulate_scene
    from mcnnseq.workspace import Workspace

    ds = simulate_scene(size=(SIZE, SIZE), seed=0, scenario="50%")
    ds["ndvi"] = ds["ndvi"].where(~ds["cloud"], 0.9)  # a reader that left values under the clouds
    ws = Workspace(simulate=lambda spec: ds)
    ws.use_file(ds, name="valued_clouds.nc")
    run = ws.add_run(trained["fusion"], preset="quick", origin="trained")
    row, col = np.argwhere(ds["cloud"].values.any(axis=0))[0]
    clear = np.where(ds["cloud"].values[:, row, col], np.nan, ds["ndvi"].values[:, row, col])
    radar = np.stack([ds["vv"].values[:, row, col], ds["vh"].values[:, row, col]], -1)
    np.testing.assert_allclose(ws.attention(run, row, col), attention_weights(trained["fusion"], radar, clear),
                               rtol=1e-6)
    px = ws.pixel_series(int(row), int(col), [run])
    scene = predict_cube(trained["fusion"], ds)
    # the scene runs at the scene precision, this one pixel at the reference one: equal to a few 1e-4
    np.testing.assert_allclose(px.predictions[run.name], scene["ndvi_pred"].values[:, row, col], atol=2e-3)
    given_clear = trained["fusion"].predict(radar[None].astype(np.float32), ndvi=clear[None].astype(np.float32))[0]
    np.testing.assert_allclose(px.predictions[run.name], given_clear, rtol=1e-6)
