"""``python -m mcnnseq``: every sub-command on tiny data, and user errors as one clear line (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from mcnnseq.cli import main

ROOT = Path(__file__).resolve().parents[1]
REAL_CUBE = ROOT.parent / "shared/data/worldcereal_belgium_2021/worldcereal_preprocessed_inputs.nc"


def test_info_on_the_real_cube(capsys):
    assert main(["info", "--data", str(REAL_CUBE), "--nodata", "65535", "--sigma0-log-dn", "20", "-83"]) == 0
    out = capsys.readouterr().out
    assert "100 x 100 pixels" in out and "EPSG:32631" in out
    assert "12: 2020-11-01 … 2021-10-01" in out
    assert "2020-12-01, 2021-01-01" in out  # the winter months with no optical value


def test_info_refuses_a_bad_file_with_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.nc"
    bad.write_text("hello")
    assert main(["info", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "notes.nc" in err and "Traceback" not in err


def test_info_without_decode_options_explains_nodata(capsys):
    assert main(["info", "--data", str(REAL_CUBE)]) == 2
    assert "65535" in capsys.readouterr().err


def test_missing_file(capsys, tmp_path):
    assert main(["info", "--data", str(tmp_path / "nope.nc")]) == 2
    assert "nope.nc" in capsys.readouterr().err


def test_demo_train_evaluate_predict(tmp_path, capsys):
    scene = tmp_path / "scene.nc"
    assert main(["demo", "--demo-size", "16", "-o", str(scene)]) == 0
    ds = xr.open_dataset(scene)
    assert ds.sizes["time"] == 31
    ds.close()
    ckpt = tmp_path / "cnn.pt"
    assert main(["train", "--demo-size", "16", "--model", "cnn", "--epochs", "2", "--batch-size", "64",
                 "-o", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "epoch   2" in out and ckpt.exists()
    assert main(["evaluate", "--demo-size", "16", "--models", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "Table 4 form" in out and "Table 3 form" in out and "mean" in out
    pred = tmp_path / "pred.nc"
    assert main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", str(pred)]) == 0
    out_ds = xr.open_dataset(pred)
    assert set(out_ds.data_vars) >= {"ndvi_pred", "ndvi_filled"}
    assert np.isfinite(out_ds["ndvi_pred"].values).all()
    out_ds.close()
    tif = tmp_path / "pred.tif"
    assert main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", str(tif)]) == 0
    assert (tmp_path / "pred_ndvi_filled.tif").exists() and (tmp_path / "pred_ndvi_pred.tif").exists()


def test_predict_refuses_a_model_for_another_series_length(tmp_path, capsys):
    ckpt = tmp_path / "cnn.pt"
    assert main(["train", "--demo-size", "16", "--model", "cnn", "--epochs", "1", "-o", str(ckpt)]) == 0
    capsys.readouterr()
    code = main(["predict", "--model", str(ckpt), "--data", str(REAL_CUBE), "--nodata", "65535",
                 "--sigma0-log-dn", "20", "-83", "-o", str(tmp_path / "x.nc")])
    assert code == 2
    err = capsys.readouterr().err
    assert "cnn.pt" in err and "31" in err and "12" in err


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "mcnnseq", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "evaluate" in proc.stdout


@pytest.mark.parametrize("argv", [["train"], ["predict"]])
def test_argument_errors_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("flags,preset,budget", [([], "default", (None, 3)), (["--quick"], "quick", (None, 3)),
                                                 (["--preset", "paper"], "paper", (None, 3)),
                                                 (["--preset", "paper", "--epochs", "1"], "paper", (1, None))])
def test_train_presets_budget_and_stop_reason(tmp_path, capsys, flags, preset, budget):
    from mcnnseq.checkpoints import load_checkpoint

    ckpt = tmp_path / "cnn.pt"
    steps = [] if budget[1] is None else ["--steps", str(budget[1])]
    assert main(["train", "--demo-size", "16", "--model", "cnn", *flags, *steps, "-o", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "train " in out and "validation " in out and "test " in out and "pixels" in out
    assert f"preset {preset}" in out and "stop: completed (the step/epoch budget is spent)" in out
    trained = load_checkpoint(ckpt)
    assert trained.config.preset == preset and (trained.config.epochs, trained.config.max_steps) == budget
    assert trained.steps == (3 if budget[1] else trained.history[-1].step)


def test_train_flag_errors_name_the_flag(tmp_path, capsys):
    out = str(tmp_path / "x.pt")
    for argv, flag in ((["--preset", "fast"], "--preset fast"), (["--steps", "0"], "--steps"),
                       (["--epochs", "-1"], "--epochs"), (["--model", "whittaker"], "--model whittaker")):
        assert main(["train", "--demo-size", "16", *argv, "-o", out]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and flag in err and "Traceback" not in err
    assert not Path(out).exists()


def test_predict_needs_a_model_for_a_cube_of_ones_own(tmp_path, capsys):
    assert main(["predict", "--data", str(tmp_path / "cube.nc"), "-o", str(tmp_path / "x.nc")]) == 2
    assert "--model is needed for a cube of your own" in capsys.readouterr().err


def _sparse_cube_file(tmp_path) -> Path:
    """A 24x24 cube, 12 dates, one of them observed on 2 % of the pixels, written to NetCDF."""
    from conftest import make_tiny_cube
    from mcnnseq.io import write_netcdf

    ds = make_tiny_cube(nt=12, ny=24, nx=24, seed=2, cloud_fraction=0.3)
    rng = np.random.default_rng(0)
    ndvi = ds["ndvi"].values.copy()
    ndvi[5][rng.random((24, 24)) > 0.02] = np.nan
    ds["ndvi"] = (ds["ndvi"].dims, ndvi, ds["ndvi"].attrs)
    ds["cloud"] = (ds["cloud"].dims, np.isnan(ndvi))
    path = tmp_path / "sparse.nc"
    write_netcdf(ds, path)
    return path


def test_evaluate_json_with_checkpoints_and_gap_fillers_mixed(tmp_path, capsys):
    import json

    ckpt = tmp_path / "cnn.pt"
    assert main(["train", "--demo-size", "16", "--model", "cnn", "--epochs", "1", "-o", str(ckpt)]) == 0
    capsys.readouterr()
    out_json = tmp_path / "scores.json"
    assert main(["evaluate", "--demo-size", "16", "--models", "linear", str(ckpt), "whittaker",
                 "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "Error by gap length" in out and "gap (dates)" in out and "days since clear" in out
    doc = json.loads(out_json.read_text())
    assert list(doc["models"]) == ["linear", "cnn", "whittaker"] and doc["protocol"] == "paper"
    assert set(doc["split"]) == {"train", "val", "test"} and sum(doc["split"].values()) > 0
    assert set(doc["models"]["cnn"]["gap_r2"]) == {"1", "2", "3", "4"}
    assert isinstance(doc["models"]["linear"]["mean_r2"], float)


def test_evaluate_protocols_and_the_few_pixels_warning(tmp_path, capsys):
    cube = _sparse_cube_file(tmp_path)
    assert main(["evaluate", "--data", str(cube), "--protocol", "paper", "--models", "linear"]) == 0
    captured = capsys.readouterr()
    assert "only" in captured.err and "fewer than 500" in captured.err
    assert "2018-03-12 (missing on" in captured.err and "protocol 'real'" in captured.err
    assert "paper protocol" in captured.out
    paper_train = int(captured.out.split("train ")[1].split(",")[0].replace(",", ""))
    out_json = tmp_path / "real.json"
    assert main(["evaluate", "--data", str(cube), "--split", "blocked", "--json", str(out_json)]) == 0
    captured = capsys.readouterr()
    assert "Sparse dates" in captured.err and "2018-03-12" in captured.err
    assert "evaluating the classic gap-fillers" in captured.out
    import json

    doc = json.loads(out_json.read_text())
    assert doc["protocol"] == "real" and doc["split_kind"] == "blocked" and doc["block_size"] == 2
    assert doc["split"]["train"] > 5 * paper_train and set(doc["models"]) == {"linear", "whittaker"}


def test_protocol_flags_are_checked(tmp_path, capsys):
    assert main(["evaluate", "--protocol", "real"]) == 2          # the shipped models: paper split only
    assert "shipped demo models" in capsys.readouterr().err
    assert main(["train", "--demo-size", "16", "--model", "linear", "-o", str(tmp_path / "x.pt")]) == 2
    assert "no weights" in capsys.readouterr().err
    assert main(["train", "--demo-size", "16", "--block-size", "0", "--split", "blocked",
                 "-o", str(tmp_path / "x.pt")]) == 2
    assert "--block-size" in capsys.readouterr().err


def test_predict_with_a_gap_filler(tmp_path, capsys):
    cube = _sparse_cube_file(tmp_path)
    out = tmp_path / "lin.nc"
    assert main(["predict", "--model", "whittaker", "--data", str(cube), "-o", str(out)]) == 0
    ds = xr.open_dataset(out)
    assert ds.attrs["model"] == "Whittaker" and np.isfinite(ds["ndvi_filled"].values).all()
    ds.close()


def _parcel_table():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tables", ROOT / "tests/data/make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parcel_table


def test_a_parcel_table_trains_evaluates_and_gap_fills(tmp_path, capsys, one_torch_thread):
    """A long-form CSV of 300 parcels with irregular S1 and S2 dates (two S1 tracks) through the whole CLI."""
    import pandas as pd

    table = tmp_path / "parcels.csv"
    _parcel_table()(300, seed=3).to_csv(table, index=False)
    assert main(["info", "--table", str(table)]) == 0
    out = capsys.readouterr().out
    assert "points      300 ids" in out and "per id the nearest radar row" in out
    ckpt = tmp_path / "cnn.pt"
    assert main(["train", "--table", str(table), "--model", "cnn", "--epochs", "2", "--batch-size", "64",
                 "-o", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "parcels.csv: train " in out and ckpt.exists()
    scores = tmp_path / "scores.json"
    assert main(["evaluate", "--table", str(table), "--models", str(ckpt), "linear", "--json", str(scores)]) == 0
    out = capsys.readouterr().out
    assert "Table 4 form" in out and "test pixels" in out
    import json

    doc = json.loads(scores.read_text())
    assert doc["protocol"] == "real" and set(doc["models"]) == {"cnn", "linear"}
    assert doc["split"]["test"] > 0 and isinstance(doc["models"]["cnn"]["mean_r2"], float)
    assert "maize" in out and "winter wheat" in out  # the table's crop names, not the paper's classes
    for name in ("filled.csv", "filled.parquet"):
        assert main(["predict", "--table", str(table), "--model", str(ckpt), "-o", str(tmp_path / name)]) == 0
    filled = pd.read_csv(tmp_path / "filled.csv")
    assert filled["id"].nunique() == 300 and {"ndvi", "ndvi_pred", "ndvi_filled"} <= set(filled.columns)
    observed = filled["ndvi"].notna()
    assert (filled.loc[observed, "ndvi_filled"] == filled.loc[observed, "ndvi"]).all()
    assert filled.loc[~observed & filled["vv"].notna(), "ndvi_filled"].notna().all()  # gaps filled where radar
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "filled.parquet")[["ndvi_filled"]],
                                  filled[["ndvi_filled"]], check_dtype=False, atol=1e-6)
    capsys.readouterr()
    assert main(["predict", "--table", str(table), "--model", str(ckpt), "-o", str(tmp_path / "f.tif")]) == 2
    assert "no raster grid: write them as a table" in capsys.readouterr().err


def test_a_bad_table_is_one_line(tmp_path, capsys):
    table = tmp_path / "bad.csv"
    table.write_text("id,date,vv,vh\np1,2021-01-01,-10,-17\n")
    assert main(["info", "--table", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.csv: missing column 'ndvi'") and "Traceback" not in err


def test_fusion_train_and_exports_round_trip_std_and_fill_source(tmp_path, capsys):
    import rioxarray

    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.flags import FLAG_MEANINGS
    from mcnnseq.prediction import predict_cube

    scene = tmp_path / "scene.nc"
    assert main(["demo", "--demo-size", "12", "-o", str(scene)]) == 0
    ckpt = tmp_path / "fusion.pt"
    assert main(["train", "--demo-size", "12", "--protocol", "real", "--model", "mcnn_seq_fusion", "--steps", "4",
                 "--batch-size", "32", "-o", str(ckpt)]) == 0
    assert "σ model: head" in capsys.readouterr().out
    model = load_checkpoint(ckpt)
    ds = xr.open_dataset(scene)
    expected = predict_cube(model, ds)
    assert main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", str(tmp_path / "p.nc")]) == 0
    with xr.open_dataset(tmp_path / "p.nc") as out:
        assert set(out.data_vars) == {"ndvi_pred", "ndvi_filled", "ndvi_std", "fill_source"}
        assert np.allclose(out["ndvi_std"].values, expected["ndvi_std"].values, atol=1e-6)
        assert (out["ndvi_std"].values > 0).all()
        assert out["fill_source"].dtype == np.uint8
        assert np.array_equal(out["fill_source"].values, expected["fill_source"].values)
        assert out["fill_source"].attrs["flag_meanings"].split() == list(FLAG_MEANINGS.values())
        assert list(out["fill_source"].attrs["flag_values"]) == list(FLAG_MEANINGS)
        cloudy = ds["cloud"].values
        assert (out["fill_source"].values[~cloudy] == 0).all() and (out["fill_source"].values[cloudy] > 0).all()
    assert main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", str(tmp_path / "p.tif")]) == 0
    for var in ("ndvi_std", "fill_source"):
        with rioxarray.open_rasterio(tmp_path / f"p_{var}.tif") as tif:
            assert tif.shape == expected[var].shape
            assert np.allclose(tif.values, expected[var].values, atol=1e-6)
    ds.close()
