"""mcnnseq.workspace: cubes, runs side by side, memoised results and their invalidation (no Streamlit)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from conftest import make_tiny_cube
from mcnnseq.errors import CheckpointError
from mcnnseq.experiment import evaluate, make_experiment, scene_predictions
from mcnnseq.memo import ResultStore
from mcnnseq.workspace import (DEMO_PROTOCOL, DemoSpec, FLAT_CURVE_STD, Protocol, Workspace, file_key, file_stem,
                               GAP_GROUPS, gap_table, ndvi_scoring_rows, scene_chunk, shipped_precomputed)


class Fake:
    """A radar-only model: NDVI from VV by the tiny cube's own relation, plus ``offset``; counts predicted pixels."""

    def __init__(self, name: str = "Fake", offset: float = 0.0):
        self.name, self.offset = name, offset
        self.pixels = 0
        self.lock = threading.Lock()

    def predict(self, X: np.ndarray) -> np.ndarray:
        with self.lock:
            self.pixels += X.shape[0]
        return ((X[..., 0] + 14.0) / 8.0 + self.offset).astype(np.float32)


class Filler:
    """A gap-filler that uses the observed NDVI (``uses_ndvi``): observed where present, else 0.5."""

    uses_ndvi = True
    name = "Filler"

    def __init__(self):
        self.seen_ndvi = []

    def predict(self, X: np.ndarray, ndvi: np.ndarray | None = None) -> np.ndarray:
        self.seen_ndvi.append(ndvi)
        return np.where(np.isfinite(ndvi), ndvi, 0.5).astype(np.float32)


def tiny_simulate(spec: DemoSpec):
    cube = make_tiny_cube(nt=6, ny=spec.size, nx=spec.size, seed=spec.seed, with_truth=True,
                          cloud_fraction={"50%": 0.3, "70%": 0.6, "none": 0.0}[spec.scenario])
    cube.attrs["simulated"] = True
    return cube


def new_ws(**kw) -> Workspace:
    kw.setdefault("shipped_models", lambda scenario: {})
    ws = Workspace(simulate=tiny_simulate, **kw)
    ws.use_demo(DemoSpec(12, 1, "50%"))
    return ws


def test_names_are_unique_renamable_and_never_replace_a_run():
    ws = new_ws()
    a = ws.add_run(Fake(), preset="quick", origin="trained")
    b = ws.add_run(Fake(), preset="quick", origin="trained")
    c = ws.add_run(Fake(), preset="shipped", origin="shipped")
    assert [r.name for r in ws.runs()] == ["Fake · quick", "Fake · quick (2)", "Fake · shipped"]
    assert len({a.id, b.id, c.id}) == 3 and ws.run(a.id) is a
    with pytest.raises(ValueError, match="already called"):
        ws.rename_run(b.id, "fake · QUICK")  # names compare without case
    with pytest.raises(ValueError, match="needs a name"):
        ws.rename_run(b.id, "   ")
    ws.rename_run(b.id, "  longer   run ")
    assert b.name == "longer run" and ws.run_named("longer run") is b
    ws.remove_run(a.id)
    assert [r.name for r in ws.runs()] == ["longer run", "Fake · shipped"]
    assert ws.add_run(Fake(), preset="quick", origin="trained").name == "Fake · quick"  # the name is free again
    with pytest.raises(ValueError, match="origin"):
        ws.add_run(Fake(), preset="x", origin="downloaded")


def test_ticked_runs_start_ticked_and_follow_the_choice():
    ws = new_ws()
    a, b = ws.add_run(Fake(), preset="quick", origin="trained"), ws.add_run(Fake(), preset="paper", origin="trained")
    assert ws.ticked() == [a, b]
    ws.tick([b.id])
    assert ws.ticked() == [b]
    c = ws.add_run(Fake(), preset="quick", origin="trained")
    assert ws.ticked() == [b, c]
    d = ws.add_run(Fake(), preset="quick", origin="trained", tick=False)
    assert d not in ws.ticked()


def test_evaluation_side_by_side_matches_the_core_and_predicts_each_run_once():
    ws = new_ws()
    good, bad = Fake(), Fake(offset=0.1)
    a = ws.add_run(good, preset="quick", origin="trained")
    b = ws.add_run(bad, preset="quick", origin="trained")
    ev = ws.evaluation([a, b])
    exp = make_experiment(ws.cube.ds, seed=0, protocol="paper")  # the demo's protocol
    expected = evaluate({"Fake · quick": Fake(), "Fake · quick (2)": Fake(offset=0.1)}, exp).per_date
    pd.testing.assert_frame_equal(ev.per_date, expected)
    n_test = exp.split.test.size
    assert good.pixels == n_test and bad.pixels == n_test
    assert ws.evaluation([a, b]) is ev  # memoised
    alone = ws.evaluation([b])  # another set: scored again, not predicted again
    assert list(alone.per_date.columns.get_level_values(0).unique()) == ["Fake · quick (2)"]
    assert bad.pixels == n_test
    ws.rename_run(a.id, "first")  # the name is in the table: evaluated again, still not predicted again
    renamed = ws.evaluation([a, b])
    assert list(renamed.per_date.columns.get_level_values(0).unique()) == ["first", "Fake · quick (2)"]
    assert good.pixels == n_test
    np.testing.assert_array_equal(renamed.predictions["first"], ev.predictions["Fake · quick"])


def test_progress_is_reported_while_scoring():
    ws = new_ws()
    runs = [ws.add_run(Fake(), preset="quick", origin="trained"), ws.add_run(Fake(), preset="x", origin="trained")]
    seen = []
    ws.evaluation(runs, progress=lambda f, t: seen.append((f, t)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0) and len(seen) >= 2
    assert any("Fake · x" in t for _, t in seen)
    seen.clear()
    ws.evaluation(runs, progress=lambda f, t: seen.append((f, t)))
    assert seen == []  # ready: nothing to wait for


def test_scene_predictions_once_per_run_and_reused_by_maps_series_and_export():
    ws = new_ws()
    model = Fake()
    run = ws.add_run(model, preset="quick", origin="trained")
    ny, nx = ws.cube.ds.sizes["y"], ws.cube.ds.sizes["x"]
    assert not ws.has_scene_predictions([run])
    bars = []
    scene = ws.scene_predictions([run], progress=lambda f, t: bars.append(f))
    assert bars and bars[-1] == pytest.approx(1.0)
    assert scene_chunk(200 * 200) == 4096 and scene_chunk(10**7) == 65_536  # the bar moves on a demo scene
    assert model.pixels == ny * nx and ws.has_scene_predictions([run])
    expected = scene_predictions({"x": Fake()}, make_experiment(ws.cube.ds))["x"]
    np.testing.assert_array_equal(scene[run.name]["ndvi_pred"].values, expected["ndvi_pred"].values)
    assert scene[run.name].attrs["model"] == run.name
    r2 = ws.pixel_r2(run)
    series = ws.pixel_series(3, 4, [run])
    again = ws.scene_predictions([run])  # e.g. the Export page after the Map page
    assert model.pixels == ny * nx  # nothing predicted again
    assert r2.shape == (ny, nx)
    np.testing.assert_array_equal(series.predictions[run.name], expected["ndvi_pred"].values[:, 3, 4])
    np.testing.assert_array_equal(again[run.name]["ndvi_filled"].values, scene[run.name]["ndvi_filled"].values)


def test_rename_relabels_the_stored_scene_without_touching_it():
    ws = new_ws()
    run = ws.add_run(Fake(), preset="quick", origin="trained")
    first = ws.scene_predictions([run])[run.name]
    ws.rename_run(run.id, "mine")
    second = ws.scene_predictions([run])["mine"]
    assert second.attrs["model"] == "mine" and "mine" in second["ndvi_pred"].attrs["long_name"]
    assert first.attrs["model"] == "Fake · quick"  # the earlier object is not changed
    assert np.shares_memory(first["ndvi_pred"].values, second["ndvi_pred"].values)


def test_precomputed_predictions_are_used_instead_of_predicting():
    made = {}

    def precomputed(cube, run):
        if run.origin == "shipped":
            made[run.name] = scene_predictions({run.store_id: Fake()}, make_experiment(cube.ds))[run.store_id]
            return made[run.name]
        return None

    ws = new_ws(precomputed=precomputed)
    shipped = Fake()
    run = ws.add_run(shipped, preset="shipped", origin="shipped", shared_key="shipped:50%:Fake")
    out = ws.scene_predictions([run])
    assert shipped.pixels == 0 and run.name in made
    np.testing.assert_array_equal(out[run.name]["ndvi_pred"].values, made[run.name]["ndvi_pred"].values)


def test_shared_results_are_computed_once_for_every_workspace_even_concurrently():
    store = ResultStore()
    model = Fake()
    a, b = new_ws(shared=store), new_ws(shared=store)
    ra = a.add_run(model, preset="shipped", origin="shipped", shared_key="shipped:50%:Fake")
    rb = b.add_run(model, preset="shipped", origin="shipped", shared_key="shipped:50%:Fake")
    thread = threading.Thread(target=a.warm_up, args=([ra],))
    thread.start()
    scene = b.scene_predictions([rb])  # waits for the warm-up if it is predicting, or predicts and it waits
    thread.join(60)
    ny, nx = a.cube.ds.sizes["y"], a.cube.ds.sizes["x"]
    n_test = a.experiment().split.test.size
    assert model.pixels == ny * nx + n_test  # the scene once, the test pixels once, for both workspaces
    assert b.evaluation([rb]).per_date is not None and model.pixels == ny * nx + n_test
    np.testing.assert_array_equal(scene[rb.name]["ndvi_pred"].values,
                                  a.scene_predictions([ra])[ra.name]["ndvi_pred"].values)


def test_removing_a_run_drops_its_results():
    ws = new_ws()
    model = Fake()
    run = ws.add_run(model, preset="quick", origin="trained")
    ws.scene_predictions([run])
    ws.evaluation([run])
    assert any(run.id in str(k) for k in ws.results.keys())
    ws.remove_run(run.id)
    assert not any(run.id in str(k) for k in ws.results.keys())
    with pytest.raises(KeyError):
        ws.run(run.id)


def test_another_cube_drops_the_results_but_keeps_each_cubes_runs():
    ws = new_ws()
    demo_run = ws.add_run(Fake(), preset="quick", origin="trained")
    ws.evaluation([demo_run])
    demo_key = ws.cube.key
    ws.use_file(make_tiny_cube(nt=5, ny=6, nx=7, seed=9), name="field.nc", key=file_key("field.nc", b"abc"))
    assert ws.cube.key == "file:field.nc:" + file_key("x", b"abc").split(":")[-1]
    assert ws.runs() == [] and ws.source == "file"
    assert not any(k[0] == demo_key for k in ws.results.keys())  # a cube's results go when it is left
    file_run = ws.add_run(Fake(), preset="quick", origin="trained")
    assert ws.evaluation([file_run]).per_date.shape[0] == 5 + 1
    ws.choose("demo")
    assert ws.runs() == [demo_run] and ws.cube.key == demo_key
    ws.use_demo(scenario="70%")
    assert ws.runs() == [] and ws.cube.demo.scenario == "70%"


def test_seventy_percent_demo_inherits_the_fifty_percent_split():
    ws = new_ws()
    base = ws.experiment().split
    ws.use_demo(scenario="70%")
    split = ws.experiment().split
    assert set(split.train) <= set(base.train) and set(base.test) <= set(split.test)
    assert ws.split_facts().inherited and "70 %" in ws.split_facts().text()


def test_shipped_models_are_offered_once_and_a_broken_set_says_why():
    calls = []

    def shipped(scenario):
        calls.append(scenario)
        return {"Fake": Fake()}

    ws = Workspace(simulate=tiny_simulate, shipped_models=shipped)
    ws.use_demo(DemoSpec(12, 1, "50%"))
    assert ws.offer_shipped() is None and ws.runs() == []  # not the scene they were trained on
    ws.use_demo(DemoSpec(200, 0, "50%"), scenario="50%")
    ws._simulate = lambda spec: tiny_simulate(DemoSpec(12, spec.seed, spec.scenario))  # keep the test small
    assert ws.offer_shipped() is None and ws.offer_shipped() is None
    assert calls == ["50%"] and [r.name for r in ws.runs()] == ["Fake · shipped"]
    assert ws.runs()[0].shared_key == "shipped:50%:Fake"

    def broken(scenario):
        raise CheckpointError("made by another simulator version", source="demo_50_cnn.pt")

    ws2 = Workspace(simulate=lambda spec: tiny_simulate(DemoSpec(12, spec.seed, spec.scenario)), shipped_models=broken)
    message = ws2.offer_shipped()
    assert "demo_50_cnn.pt" in message and ws2.offer_shipped() == message and ws2.runs() == []


def test_a_model_that_uses_the_observed_ndvi_gets_it():
    ws = new_ws()
    filler = Filler()
    run = ws.add_run(filler, preset="classic", origin="classic")
    assert run.uses_ndvi and run.name == "Filler · classic"
    ev = ws.evaluation([run])
    _, obs = ws.test_inputs()
    assert filler.seen_ndvi  # called with NDVI: only values that were observed on the test pixels
    for seen in filler.seen_ndvi:
        assert np.isin(seen[np.isfinite(seen)], obs[np.isfinite(obs)]).all()
    observed = np.isfinite(obs)
    # scored leave-one-date-out: the value of the scored date is hidden, so the filler gives its fill value
    assert (ev.predictions[run.name][observed] == 0.5).all()
    scene = ws.scene_predictions([run])[run.name]
    ds = ws.cube.ds
    clear = ~ds["cloud"].values
    np.testing.assert_array_equal(scene["ndvi_pred"].values[clear], ds["ndvi"].values[clear])


def test_crop_view_by_field_names_crop_and_size_filters_small_fields_and_skips_flat_r2():
    cube = make_tiny_cube(nt=6, ny=12, nx=12, seed=3, with_truth=True)
    field = np.zeros((12, 12), dtype=np.int32)
    field[:6, :] = 1  # a big field
    field[6:, :6] = 2
    field[6:, 6:] = 3
    field[11, 11] = 4  # a one-pixel field
    crop = np.where(field == 1, 1, 2).astype(np.int16)
    flat = np.full((6, 12, 12), 0.3, dtype=np.float32)
    cube["ndvi_true"].values[:, field == 3] = flat[:, field == 3]  # field 3: a flat curve
    cube["ndvi"].values[:, field == 3] = 0.3
    cube["cloud"].values[:, field == 3] = False
    cube["field"].values[:] = field
    cube["crop"].values[:] = crop
    ws = new_ws()
    ws.use_file(cube, name="fields.nc")
    run = ws.add_run(Fake(), preset="quick", origin="trained")
    view = ws.crop_view([run], by="field")
    from mcnnseq.paper import CROP_CLASSES

    assert view.label(1) == f"field 1 — {CROP_CLASSES[1]}, 72 px"
    assert view.classes.at[1, "pixels"] == 72 and view.classes.at[1, "crop_name"] == CROP_CLASSES[1]
    assert view.classes.at[3, "flat"] and not view.classes.at[1, "flat"]
    assert np.isnan(view.agreement.at[3, (run.name, "r2")]) and np.isfinite(view.agreement.at[3, (run.name, "rmse")])
    assert np.isfinite(view.agreement.at[1, (run.name, "r2")])
    sizes = view.classes["test_pixels"]
    assert view.codes(min_pixels=2) == [int(c) for c in sizes.index[sizes >= 2]]
    assert 4 not in view.codes(min_pixels=2)
    assert set(view.predicted(1)) == {run.name} and len(view.observed(1)) == 6
    assert FLAT_CURVE_STD > 0


def test_split_facts_speak_of_dates_without_observation():
    cube = make_tiny_cube(nt=6, ny=8, nx=8, seed=2)
    cube["ndvi"].values[1] = np.nan  # one date with no optical value at all
    cube["cloud"].values[1] = True
    ws = new_ws()
    ws.use_file(cube, name="winter.nc")
    facts = ws.split_facts()
    text = facts.text()
    assert facts.dates_without_observation == [str(pd.Timestamp(cube.time.values[1]).date())]
    assert ws.cube.pixels_with_a_gap == 1.0 and ws.cube.summary.pixels_with_a_cloud < 1.0
    assert "real-cloud protocol" in text and "never scored" in text and "observed NDVI" in text
    assert ws.set_protocol("paper", "random")
    assert "each of the 5 dates" in ws.split_facts().text()


def test_file_names():
    assert file_stem("worldcereal_preprocessed_inputs.nc") == "worldcereal_preprocessed_inputs"
    assert file_stem("a/b/cube.nc.nc") == "cube"
    assert file_stem("vv.tif + vh.tif + ndvi.tif") == "vv-vh-ndvi"
    assert file_stem("demo:200x200:seed0:50%") == "demo_200x200_seed0_50"
    assert file_key("x.nc", b"1") == file_key("x.nc", b"1") != file_key("x.nc", b"2")
    ws = new_ws()
    assert ws.cube.file_stem == "demo_12x12_seed1_50"
    ws.use_file(make_tiny_cube(), name="my cube.nc")
    assert ws.cube.file_stem == "my_cube" and not ws.cube.simulated


def test_facts_of_a_run_trained_on_a_step_budget(one_torch_thread):
    """The runs table counts optimiser steps and fractional epochs; the best point is the kept one."""
    from mcnnseq.experiment import train
    from mcnnseq.training import TrainConfig
    from mcnnseq.workspace import training_budget_text

    ws = new_ws()
    trained = train(ws.experiment(), TrainConfig.quick("cnn", max_steps=6, eval_every=2, max_val_samples=None))
    run = ws.add_run(trained, preset="quick", origin="trained", description="quick test run")
    facts = run.facts()
    best = trained.best_record
    assert facts["steps run"] == 6 and facts["best step"] == best.step
    assert facts["epochs run"] == round(trained.history[-1].epoch, 2) and facts["best epoch"] == round(best.epoch, 2)
    assert facts["val R²"] == best.val_r2 and facts["stop"] == "completed"
    assert training_budget_text(trained) == "quick preset, 6 steps"
    old = type("Old", (), {"history": [type("R", (), {"step": 0, "epoch": e})() for e in (1, 2, 3)]})()
    assert training_budget_text(old) == "3 epochs"  # a model saved before step counts existed


def test_classic_gap_fillers_are_runs_of_every_cube_unticked_and_scored_like_the_core():
    from mcnnseq.experiment import gap_fillers

    ws = new_ws()
    added = ws.offer_classic()
    assert [r.name for r in added] == ["Linear · classic", "Whittaker · classic"]
    assert ws.offer_classic() == []  # once per cube
    assert all(r.origin == "classic" and r.uses_ndvi and not r.checkpointable for r in added)
    assert ws.ticked() == []  # the user ticks them beside the networks
    ws.tick([r.id for r in added])
    bars = []
    ev = ws.evaluation(progress=lambda f, t: bars.append((f, t)))
    exp = make_experiment(ws.cube.ds, seed=0, protocol="paper")
    expected = evaluate({f"{k} · classic": m for k, m in gap_fillers(exp).items()}, exp)
    pd.testing.assert_frame_equal(ev.per_date, expected.per_date)
    pd.testing.assert_frame_equal(ev.by_gap, expected.by_gap)
    assert bars and all(0 <= f <= 1 for f, _ in bars) and any("Whittaker" in t for _, t in bars)
    fs = [f for f, _ in bars]
    assert fs == sorted(fs)  # the bar only moves forward
    scene = ws.scene_predictions()
    ds = ws.cube.ds
    clear = ~ds["cloud"].values
    # the linear gap-filler keeps every observed value; both fill every pixel of the scene
    np.testing.assert_allclose(scene["Linear · classic"]["ndvi_pred"].values[clear], ds["ndvi"].values[clear],
                               atol=1e-6)
    assert np.isfinite(scene["Whittaker · classic"]["ndvi_filled"].values).all()
    ws.use_file(make_tiny_cube(nt=7, ny=6, nx=6, seed=5), name="other.nc")
    again = ws.offer_classic()  # a new cube gets its own, set up for its dates
    assert len(again) == 2 and again[0].model.dates.size == 7
    assert ndvi_scoring_rows(np.array([[0.1, np.nan], [0.2, 0.3]])) == 2 * 5 + 3


def test_protocol_choice_on_a_file_rebuilds_the_split_and_keeps_the_scene():
    cube = make_tiny_cube(nt=8, ny=12, nx=12, seed=4, cloud_fraction=0.9)
    ws = new_ws()
    with pytest.raises(ValueError, match="paper protocol"):
        ws.set_protocol("real", "random")  # the demo keeps the paper's
    assert ws.protocol() == DEMO_PROTOCOL and ws.experiment().protocol == "paper"
    ws.use_file(cube, name="clouds.nc")
    assert ws.protocol() == Protocol("real", "random")
    model = Fake()
    run = ws.add_run(model, preset="quick", origin="trained")
    real = ws.experiment()
    ws.evaluation([run])
    ws.scene_predictions([run])
    pixels = model.pixels
    assert real.protocol == "real"
    assert not ws.set_protocol("real", "random")  # unchanged: nothing dropped
    assert ws.set_protocol("paper", "blocked")
    paper = ws.experiment()
    assert paper.protocol == "paper" and paper.split.kind == "blocked"
    assert paper.split.sizes()["train"] < real.split.sizes()["train"]  # 90 % of the pixels have a cloudy date
    expected = make_experiment(cube, seed=0, protocol="paper", split="blocked")
    np.testing.assert_array_equal(paper.split.test, expected.split.test)
    facts = ws.split_facts()
    assert facts.protocol == "paper" and facts.split == "blocked" and "blocks" in facts.text()
    assert facts.warning is not None and "fewer than 500" in facts.warning  # a 12 x 12 grid: and says why
    assert "The grid itself is small" in facts.warning
    ws.scene_predictions([run])
    assert model.pixels == pixels  # the whole-scene prediction does not depend on the split: kept
    ev = ws.evaluation([run])
    assert ev.protocol == "paper" and ev.split == paper.split.sizes()
    with pytest.raises(ValueError, match="protocol must be"):
        ws.set_protocol("fancy")


def test_shipped_precomputed_reads_each_demo_cube_once_and_serves_only_shipped_runs():
    calls = []

    def load(scenario, ds):
        calls.append(scenario)
        return {"Fake": scene_predictions({"Fake": Fake(offset=0.25)}, make_experiment(ds))["Fake"]}

    ws = new_ws(precomputed=shipped_precomputed(load))
    ws.use_demo(DemoSpec())  # the scene the shipped models were trained on (default size and seed)
    shipped, other = Fake(), Fake()
    a = ws.add_run(shipped, preset="shipped", origin="shipped", shared_key="shipped:50%:Fake")
    b = ws.add_run(other, preset="quick", origin="trained")
    scene = ws.scene_predictions([a, b])
    assert calls == ["50%"] and shipped.pixels == 0 and other.pixels > 0
    np.testing.assert_allclose(scene[a.name]["ndvi_pred"].values, scene[b.name]["ndvi_pred"].values + 0.25,
                               atol=1e-5)
    stale = new_ws(precomputed=shipped_precomputed(lambda scenario, ds: None))
    stale.use_demo(DemoSpec())
    model = Fake()
    run = stale.add_run(model, preset="shipped", origin="shipped", shared_key="shipped:50%:Fake")
    stale.scene_predictions([run])
    assert model.pixels > 0  # stale or missing files: predicted as before


def test_gap_table_has_both_groupings_per_run():
    ws = new_ws()
    run = ws.add_run(Fake(), preset="quick", origin="trained")
    filler = ws.offer_classic()[0]
    ev = ws.evaluation([run, filler])
    table = gap_table(ev)
    assert list(table.columns) == [(n, k) for n in (run.name, filler.name) for k in ("r2", "rmse", "n")]
    gaps = table.loc[GAP_GROUPS[0]]
    g = ev.by_gap[ev.by_gap["model"] == filler.name]
    assert list(gaps.index) == [str(k) for k in g["k"]]
    np.testing.assert_array_equal(gaps[(filler.name, "r2")].to_numpy(float), g["r2"].to_numpy(float))
    days = table.loc[GAP_GROUPS[1]]
    d = ev.by_days[ev.by_days["model"] == run.name]
    np.testing.assert_array_equal(days[(run.name, "n")].to_numpy(float), d["n"].to_numpy(float))


def test_runs_trained_under_another_split_are_named():
    class Trained(Fake):
        def __init__(self, signature):
            super().__init__()
            self.data_signature = signature

    cube = make_tiny_cube(nt=6, ny=10, nx=10, seed=1)
    ws = new_ws()
    ws.use_file(cube, name="c.nc")
    here = ws.add_run(Trained(ws.experiment().signature()), preset="quick", origin="trained")
    plain = ws.add_run(Fake(), preset="quick", origin="trained")  # no signature: nothing to say
    assert ws.other_split() == []
    ws.set_protocol("real", "blocked")
    assert ws.other_split() == [here.name] and ws.other_split([plain]) == []


def test_shipped_scores_replace_the_held_out_predictions_of_a_shipped_run_that_reads_the_ndvi():
    from mcnnseq.heldout import gap_predictions, held_out_predictions
    from mcnnseq.gaps import make_gaps
    from mcnnseq.workspace import shipped_scores

    calls = []

    def load(scenario, exp):
        calls.append(scenario)
        X, _ = exp.test_arrays()
        obs = exp.test_observed()
        held = held_out_predictions(Filler(), X, obs)
        return {"Filler": (held[0], gap_predictions(Filler(), X, obs, make_gaps(obs, seed=exp.split.seed), held)[0])}

    ws = new_ws(precomputed_scores=shipped_scores(load))
    ws.use_demo(DemoSpec())  # the scene the shipped models were trained on
    shipped, trained = Filler(), Filler()
    a = ws.add_run(shipped, preset="shipped", origin="shipped", shared_key="shipped:50%:Filler")
    b = ws.add_run(trained, preset="quick", origin="trained")
    ev = ws.evaluation([a, b])
    assert calls == ["50%"] and shipped.seen_ndvi == [] and trained.seen_ndvi  # the stored ones were used
    per_date = ev.per_date
    np.testing.assert_array_equal(per_date[(a.name, "r2")].values, per_date[(b.name, "r2")].values)
    stale = new_ws(precomputed_scores=shipped_scores(lambda scenario, exp: None))
    stale.use_demo(DemoSpec())
    model = Filler()
    run = stale.add_run(model, preset="shipped", origin="shipped", shared_key="shipped:50%:Filler")
    stale.evaluation([run])
    assert model.seen_ndvi  # stale or missing files: predicted as before
