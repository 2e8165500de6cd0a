"""Prediction on a Dask cluster (mcnnseq.distributed): a 2-process LocalCluster writing Zarr and NetCDF whose
values equal predict_cube's, the model sent as bytes and built once per worker, clear errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

from conftest import make_tiny_cube
from mcnnseq.errors import CheckpointError, ClusterError, DatacubeError, ModelConfigError
from mcnnseq.flags import CLOUD_FILLED, NO_OPTICAL_DATE
from mcnnseq.io import open_cube, write_zarr
from mcnnseq.distributed import (PortableModel, cluster_client, models_built_here, open_prediction,
                                 predict_scene)
from mcnnseq.prediction import predict_cube
from mcnnseq.uncertainty import ensure_uncertainty


@pytest.fixture(scope="module")
def client():
    with cluster_client(workers=2, threads_per_worker=1, processes=True) as c:
        yield c


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A 6-date 20 x 18 cube as a Zarr store, one pixel with incomplete radar, and a tiny trained CNN."""
    import torch

    from mcnnseq.checkpoints import save_checkpoint
    from mcnnseq.sampling import pixel_series, split_pixels
    from mcnnseq.training import TrainConfig, fit

    tmp = tmp_path_factory.mktemp("scene")
    cube = make_tiny_cube(nt=6, ny=20, nx=18, seed=7, cloud_fraction=0.5)
    cube["vv"].values[2, 3, 4] = np.nan
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    X, Y = pixel_series(cube, split_pixels(cube, seed=0).train)
    trained = fit(X, Y, None, None, TrainConfig(model="cnn", epochs=1, batch_size=64, device="cpu", seed=0))
    trained = ensure_uncertainty(trained, X, Y)      # no validation set in fit: a σ model for ndvi_std
    torch.set_num_threads(before)
    ckpt = save_checkpoint(trained, tmp / "cnn.pt")
    store = write_zarr(cube, tmp / "cube.zarr")
    return {"cube": cube, "trained": trained, "ckpt": ckpt, "store": store, "tmp": tmp}


def test_two_workers_write_zarr_and_netcdf_equal_to_predict_cube(client, scene, tmp_path):
    copy = tmp_path / "gone.pt"
    copy.write_bytes(scene["ckpt"].read_bytes())
    spec = PortableModel.from_checkpoint(copy)
    copy.unlink()  # the workers get the bytes, not the path
    lazy = open_cube(scene["store"], chunks=7)  # 3 x 3 blocks, the last ones ragged
    expected = predict_cube(scene["trained"], scene["cube"])
    done = []
    for name in ("pred.zarr", "pred.nc"):
        summary = predict_scene(spec, lazy, tmp_path / name, client=client, progress=lambda d, t: done.append((d, t)))
        out = open_prediction(tmp_path / name)
        assert out.rio.crs == scene["cube"].rio.crs                         # CRS (grid_mapping) and dates
        np.testing.assert_array_equal(out["time"].values, scene["cube"]["time"].values)
        np.testing.assert_array_equal(out["s1_time"].values, scene["cube"]["s1_time"].values)
        np.testing.assert_array_equal(out["x"].values, scene["cube"]["x"].values)
        for var in ("ndvi_pred", "ndvi_filled", "ndvi_std", "fill_source"):
            np.testing.assert_allclose(out[var].values, expected[var].values, rtol=1e-5, atol=1e-6)
        assert out["fill_source"].dtype == np.uint8 and "flag_meanings" in out["fill_source"].attrs
        assert np.isnan(out["ndvi_pred"].values[:, 3, 4]).all()
        assert out.attrs["model"] == "CNN" and out.attrs["pixels"] == 360
        assert out.attrs["pixels_incomplete_radar"] == 1 and out.attrs["pixels_predicted"] == 359
        assert summary.blocks == 9 and summary.workers == 2
        out.close()
    assert done[-1] == (360, 360) and [d for d, _ in done[:9]] == sorted(d for d, _ in done[:9])
    assert not list(tmp_path.glob(".*partial*"))  # nothing half-written left behind
    # each worker process built the model once, for both scenes
    assert sorted(client.run(models_built_here).values()) == [1, 1]


def test_filled_only_skips_pixels_clear_on_every_date_and_counts_them(client, scene, tmp_path):
    cube = scene["cube"]
    summary = predict_scene(PortableModel.from_model(scene["trained"]), cube, tmp_path / "filled.zarr", client=client,
                            chunks=10, products=("ndvi_filled",))
    out = open_prediction(tmp_path / "filled.zarr")
    assert "ndvi_pred" not in out
    np.testing.assert_allclose(out["ndvi_filled"].values, predict_cube(scene["trained"], cube)["ndvi_filled"].values,
                               rtol=1e-5, atol=1e-6)
    clear = ~cube["cloud"].values.any(axis=0)
    complete = np.isfinite(cube["vv"].values).all(axis=0) & np.isfinite(cube["vh"].values).all(axis=0)
    assert summary.pixels_clear_not_predicted == int((clear & complete).sum()) > 0
    assert summary.pixels_predicted == int((~clear & complete).sum())
    assert out.attrs["pixels_clear_not_predicted"] == summary.pixels_clear_not_predicted
    assert "not predicted" in summary.to_text()


def test_a_weightless_gap_filler_travels_by_name(client, scene, tmp_path):
    from mcnnseq.baselines import LinearGapFill
    from mcnnseq.prediction import predict_cube

    model = LinearGapFill(scene["cube"]["time"].values)
    spec = PortableModel.from_model(model)
    assert spec.kind == "named" and spec.data == b"" and spec.name == "linear"
    predict_scene(spec, scene["cube"], tmp_path / "linear.zarr", client=client, chunks=9)
    out = open_prediction(tmp_path / "linear.zarr")
    np.testing.assert_array_equal(out["ndvi_pred"].values, predict_cube(model, scene["cube"])["ndvi_pred"].values)


def test_classic_gap_fillers_are_sendable_by_name(scene):
    from mcnnseq import baselines

    dates = scene["cube"]["time"].values
    for model in (baselines.LinearGapFill(dates), baselines.WhittakerGapFill(dates)):
        spec = PortableModel.from_model(model)
        rebuilt = spec.build()
        assert spec.kind == "named" and type(rebuilt) is type(model)
        ndvi = np.where(scene["cube"]["cloud"].values, np.nan, scene["cube"]["ndvi"].values).reshape(6, -1).T
        X = np.zeros(ndvi.shape + (2,), np.float32)
        np.testing.assert_array_equal(rebuilt.predict(X, ndvi=ndvi), model.predict(X, ndvi=ndvi))


def test_portable_model_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt"):
        PortableModel.from_checkpoint(bad)
    spec = PortableModel(kind="checkpoint", label="CNN", data=b"garbage", source="cnn.pt")
    with pytest.raises(CheckpointError, match="cnn.pt"):
        spec.build()
    with pytest.raises(ModelConfigError, match="cannot send"):
        PortableModel.from_model(object())
    with pytest.raises(ModelConfigError, match="unknown model"):
        PortableModel(kind="named", label="X", name="nope").build()
    assert PortableModel(kind="checkpoint", label="a", data=b"1").digest != \
        PortableModel(kind="checkpoint", label="a", data=b"2").digest


def test_a_bad_scheduler_address_is_a_clear_error_and_quick(scene, tmp_path):
    start = time.perf_counter()
    with pytest.raises(ClusterError) as info:
        predict_scene(PortableModel.from_checkpoint(scene["ckpt"]), scene["cube"], tmp_path / "x.zarr",
                      scheduler="tcp://127.0.0.1:9", timeout=1.5)
    assert "tcp://127.0.0.1:9" in str(info.value) and "scheduler" in str(info.value)
    assert time.perf_counter() - start < 15
    assert not (tmp_path / "x.zarr").exists() and not list(tmp_path.glob(".*partial*"))


def test_cli_predicts_on_an_existing_scheduler_and_refuses_tif(client, scene, tmp_path, capsys):
    from mcnnseq.cli import main

    out = tmp_path / "cli.nc"
    rc = main(["predict", "--data", str(scene["store"]), "--model", str(scene["ckpt"]), "-o", str(out),
               "--scheduler", client.scheduler.address, "--chunks", "12,9", "--filled-only"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "100.0 %" in captured.err and "not predicted" in captured.out
    back = xr.open_dataset(out, decode_coords="all")
    assert back.rio.crs == scene["cube"].rio.crs and "ndvi_filled" in back and "ndvi_pred" not in back
    back.close()
    rc = main(["predict", "--data", str(scene["store"]), "--model", str(scene["ckpt"]), "-o", str(tmp_path / "x.tif"),
               "--workers", "2"])
    assert rc == 2 and "x.tif" in capsys.readouterr().err
    rc = main(["predict", "--data", str(scene["store"]), "--model", str(scene["ckpt"]), "-o", str(tmp_path / "y.zarr"),
               "--workers", "2", "--scheduler", client.scheduler.address])
    assert rc == 2 and "not both" in capsys.readouterr().err


def test_a_bad_block_fails_the_run_with_the_files_message_and_leaves_nothing(client, scene, tmp_path):
    cube = make_tiny_cube(nt=6, ny=20, nx=18, seed=7)
    cube["ndvi"].values[1, 2, 16] = 1.8  # NDVI out of range in a block the lazy opener does not sample
    raw = xr.Dataset({"VV": cube["vv"], "VH": cube["vh"], "NDVI": cube["ndvi"]}).rio.write_crs("EPSG:32611")
    raw.to_netcdf(tmp_path / "bad_block.nc")
    lazy = open_cube(tmp_path / "bad_block.nc", chunks=6)
    with pytest.raises(DatacubeError) as info:  # raised on a worker, re-raised here with its message
        predict_scene(PortableModel.from_checkpoint(scene["ckpt"]), lazy, tmp_path / "out.zarr", client=client)
    assert "bad_block.nc" in str(info.value) and "outside" in str(info.value)
    # the other worker's blocks of this run may still have been running when the error came back: nothing
    # is left behind once they have ended too (a late write used to recreate the removed partial store)
    deadline = time.monotonic() + 60
    while any(client.run(lambda dask_worker: len(dask_worker.state.all_running_tasks)).values()):
        assert time.monotonic() < deadline, "the workers are still running blocks of a failed run"
        time.sleep(0.05)
    assert not (tmp_path / "out.zarr").exists() and not list(tmp_path.glob(".*partial*"))


def test_each_block_is_read_and_decoded_once(scene, tmp_path, monkeypatch):
    import mcnnseq.io.lazy as lazy_module

    lazy = open_cube(scene["store"], chunks=7)  # 3 x 3 blocks
    calls = []
    real = lazy_module.standardize_cube

    def counted(*args, **kwargs):
        calls.append(kwargs.get("source"))
        return real(*args, **kwargs)

    monkeypatch.setattr(lazy_module, "standardize_cube", counted)
    # worker threads of this process, so that they decode through the counting function
    products = ("ndvi_pred", "ndvi_filled", "ndvi_std")
    summary = predict_scene(PortableModel.from_model(scene["trained"]), lazy, tmp_path / "once.zarr", workers=1,
                            processes=False, products=products)
    # vv, vh and the observed NDVI of a block come from one decoding of its raw values, not one each
    assert summary.blocks == 9 and len(calls) == 9
    # fill_source needs the cube's optical dates: the blocks report them, no second read of the cube. A
    # date with no clear value anywhere gets its codes rewritten as no-optical-date after the blocks.
    dark = scene["cube"].copy(deep=True)
    dark["ndvi"].values[1] = np.nan
    dark["cloud"].values[1] = True
    dark_lazy = open_cube(write_zarr(dark, tmp_path / "dark.zarr"), chunks=7)
    calls.clear()
    flagged = predict_scene(PortableModel.from_model(scene["trained"]), dark_lazy, tmp_path / "flags.zarr",
                            workers=1, processes=False)
    assert flagged.blocks == 9 and len(calls) == 9
    codes = open_prediction(tmp_path / "flags.zarr")["fill_source"].values
    np.testing.assert_array_equal(codes, predict_cube(scene["trained"], dark)["fill_source"].values)
    assert (codes[1] == NO_OPTICAL_DATE).sum() == 359 and (codes[0] == CLOUD_FILLED).any()
    out = open_prediction(tmp_path / "once.zarr")
    np.testing.assert_allclose(out["ndvi_filled"].values, predict_cube(scene["trained"], scene["cube"])["ndvi_filled"]
                               .values, rtol=1e-5, atol=1e-6)
    out.close()
