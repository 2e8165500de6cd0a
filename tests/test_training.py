"""Tests of mcnnseq.training: masked loss, seeding, callbacks, stopping, prediction."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import torch

from mcnnseq.errors import DatacubeError, ModelConfigError
from mcnnseq.models import build_model
from mcnnseq.training import Callback, EpochRecord, TrainConfig, fit, masked_mse, masked_r2

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = {"mcnn_seq": {"hidden_size": 8, "conv1_filters": 4, "conv2_filters": 4}, "cnn": {"filters": [4, 4]},
        "rnn": {"hidden_size": 8}}


def _data(n: int = 32, t: int = 12, t_out: int | None = None, seed: int = 0, noise: float = 0.3):
    """Radar (n, t, 2) dB linearly related to a seasonal NDVI curve (n, t_out), plus noise."""
    rng = np.random.default_rng(seed)
    t_out = t_out or t
    phase = rng.uniform(0, 1, (n, 1))
    ndvi_in = 0.45 + 0.35 * np.sin(2 * np.pi * (np.linspace(0, 1, t)[None] + phase))
    x = np.stack([-14 + 8 * ndvi_in, -22 + 10 * ndvi_in], axis=-1) + rng.normal(0, noise, (n, t, 2))
    y = 0.45 + 0.35 * np.sin(2 * np.pi * (np.linspace(0, 1, t_out)[None] + phase))
    return x.astype(np.float32), y.astype(np.float32)


def _config(model: str = "mcnn_seq", **kw) -> TrainConfig:
    kw.setdefault("epochs", 3)
    kw.setdefault("batch_size", 8)
    kw.setdefault("num_threads", 1)         # tiny tensors: one thread is faster and immune to a busy machine
    return TrainConfig(model=model, hparams=dict(TINY[model]), **kw)


def _weights(trained) -> dict[str, torch.Tensor]:
    return trained.model.state_dict()


# --- masked loss and R² ---------------------------------------------------------------------------------

def test_masked_mse_ignores_nan_targets_in_value_and_gradient():
    torch.manual_seed(0)
    model = build_model("mcnn_seq", t_in=12, t_out=12, **TINY["mcnn_seq"])
    x, y = _data(n=6)
    y = torch.from_numpy(y)
    nan = torch.zeros_like(y, dtype=torch.bool)
    nan[0, :4] = nan[3, 5] = nan[5, :] = True
    y_nan = y.masked_fill(nan, float("nan"))

    pred = model(torch.from_numpy(x))
    loss = masked_mse(pred, y_nan)
    grads = torch.autograd.grad(loss, list(model.parameters()))

    pred = model(torch.from_numpy(x))
    ref = ((pred - y)[~nan] ** 2).mean()          # the MSE over the valid entries only
    ref_grads = torch.autograd.grad(ref, list(model.parameters()))
    torch.testing.assert_close(loss, ref)
    for g, r in zip(grads, ref_grads):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, r)


def test_masked_mse_gradient_is_zero_where_no_truth():
    pred = torch.zeros(2, 3, requires_grad=True)
    target = torch.tensor([[0.5, float("nan"), 0.2], [float("nan"), float("nan"), 0.1]])
    masked_mse(pred, target).backward()
    assert torch.equal(pred.grad[torch.isnan(target)], torch.zeros(3))
    assert (pred.grad[~torch.isnan(target)] != 0).all()
    assert masked_mse(pred, torch.full((2, 3), float("nan"))) == 0


def test_masked_r2_is_pooled_over_valid_entries():
    rng = np.random.default_rng(1)
    t = rng.random((20, 5)).astype(np.float32)
    p = (t + rng.normal(0, 0.1, t.shape)).astype(np.float32)
    t[2, 3] = np.nan
    ok = np.isfinite(t)
    expected = 1 - np.sum((t[ok] - p[ok]) ** 2) / np.sum((t[ok] - t[ok].mean()) ** 2)
    assert masked_r2(torch.from_numpy(p), torch.from_numpy(t)) == pytest.approx(expected, rel=1e-6)


def test_nan_targets_train_to_finite_weights():
    x, y = _data()
    y[:, :3] = np.nan                       # two "winter months" with no optical value anywhere
    y[5, 7] = np.nan
    trained = fit(x, y, x, y, _config(epochs=2))
    assert all(torch.isfinite(w).all() for w in _weights(trained).values())
    assert all(np.isfinite([r.train_loss, r.val_loss, r.train_r2, r.val_r2]).all() for r in trained.history)


# --- learning ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["mcnn_seq", "cnn", "rnn"])
def test_tiny_batch_overfits(model):
    x, y = _data(n=16, noise=0.2)
    t0 = time.perf_counter()
    trained = fit(x, y, None, None, TrainConfig(model=model, hparams=dict(TINY[model]), epochs=250,
                                                 batch_size=16, lr=3e-3, optimizer="adam",
                                                 num_threads=1))
    assert time.perf_counter() - t0 < 10
    first, last = trained.history[0].train_loss, trained.history[-1].train_loss
    assert last < first / 20, (first, last)
    assert trained.history[-1].train_r2 > 0.9


@pytest.mark.parametrize("model", ["mcnn_seq", "cnn"])
def test_output_length_may_differ_from_input(model):
    x, y = _data(n=16, t=12, t_out=8)
    trained = fit(x, y, x[:4], y[:4], _config(model, epochs=1))
    assert trained.t_in == 12 and trained.t_out == 8
    assert trained.predict(x).shape == (16, 8)


def test_rnn_refuses_different_output_length():
    x, y = _data(n=8, t=12, t_out=8)
    with pytest.raises(ModelConfigError, match="t_out=8 != t_in=12"):
        fit(x, y, None, None, _config("rnn", epochs=1))


# --- reproducibility ------------------------------------------------------------------------------------

def test_same_seed_same_weights_and_numbers_other_seed_differs():
    x, y = _data()
    a = fit(x, y, x[:8], y[:8], _config(seed=3))
    b = fit(x, y, x[:8], y[:8], _config(seed=3))
    c = fit(x, y, x[:8], y[:8], _config(seed=4))
    assert all(torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]) for k in a.model.state_dict())
    strip = lambda h: [(r.train_loss, r.val_loss, r.train_r2, r.val_r2) for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    assert np.array_equal(a.predict(x), b.predict(x))
    assert not all(torch.equal(a.model.state_dict()[k], c.model.state_dict()[k]) for k in a.model.state_dict())


def test_fit_leaves_the_global_rng_alone():
    x, y = _data(n=8)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(x, y, None, None, _config(epochs=1))
    assert torch.equal(torch.rand(3), expected)
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory


def test_validation_without_any_truth_monitors_the_training_loss():
    x, y = _data(n=16)
    trained = fit(x, y, x[:4], np.full_like(y[:4], np.nan), _config(epochs=3))
    assert all(np.isnan(r.val_loss) for r in trained.history)
    assert trained.best_epoch == min(trained.history, key=lambda r: r.train_loss).epoch


# --- history, callbacks, stopping -----------------------------------------------------------------------

class Recorder(Callback):
    def __init__(self, stop_after: int | None = None, return_true: bool = False):
        self.records: list[EpochRecord] = []
        self.batches: list[tuple[int, int, int]] = []
        self.began = self.ended = None
        self.stop_after, self.return_true = stop_after, return_true

    def on_train_begin(self, config, *, n_train, n_val, n_batches):
        self.began = (n_train, n_val, n_batches)

    def on_batch_end(self, epoch, batch, n_batches):
        self.batches.append((epoch, batch, n_batches))

    def on_epoch_end(self, record):
        self.records.append(record)
        if self.stop_after is not None and record.epoch >= self.stop_after:
            if self.return_true:
                return True
            self.request_stop()
        return None

    def on_train_end(self, trained):
        self.ended = trained


def test_callbacks_receive_every_record():
    x, y = _data(n=20)
    rec = Recorder()
    trained = fit(x, y, x[:6], y[:6], _config(epochs=3), callbacks=[rec])
    assert rec.began == (20, 6, 3)
    assert rec.records == trained.history and [r.epoch for r in rec.records] == [1, 2, 3]
    assert rec.batches == [(e, b, 3) for e in (1, 2, 3) for b in (1, 2, 3)]
    assert rec.ended is trained and trained.stop_reason == "completed"
    for r in trained.history:
        assert r.seconds > 0 and np.isfinite(r.train_loss) and np.isfinite(r.val_r2)
        json.dumps(r.to_dict())
        assert EpochRecord.from_dict(r.to_dict()) == r


@pytest.mark.parametrize("return_true", [False, True])
def test_callback_can_stop_training(return_true):
    x, y = _data(n=16)
    trained = fit(x, y, x[:4], y[:4], _config(epochs=20), callbacks=[Recorder(2, return_true)])
    assert len(trained.history) == 2 and trained.stop_reason == "callback"


def test_should_stop_ends_inside_an_epoch_and_keeps_the_best_model():
    x, y = _data(n=32)
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 9               # 4 batches per epoch: stop during epoch 3

    trained = fit(x, y, x[:8], y[:8], _config(epochs=20), should_stop=should_stop)
    assert trained.stop_reason == "user" and len(trained.history) == 2
    best = min(trained.history, key=lambda r: r.val_loss)
    assert trained.best_epoch == best.epoch
    assert trained.evaluate(x[:8], y[:8])["loss"] == pytest.approx(best.val_loss, rel=1e-4)


def test_stop_before_the_first_batch_returns_an_untrained_model():
    x, y = _data(n=8)
    trained = fit(x, y, x, y, _config(epochs=5), should_stop=lambda: True)
    assert trained.history == [] and trained.stop_reason == "user" and trained.best_epoch is None
    assert trained.predict(x).shape == (8, 12)


def test_early_stopping_restores_the_best_epoch():
    x, y = _data(n=32)
    y_val = np.full_like(y[:8], -5.0)       # learning the training data only moves away from this
    trained = fit(x, y, x[:8], y_val, _config(epochs=30, patience=2, lr=1e-2))
    assert trained.stop_reason == "early_stopping"
    assert len(trained.history) < 30
    best = min(trained.history, key=lambda r: r.val_loss)
    assert len(trained.history) == best.epoch + 2
    assert trained.best_epoch == best.epoch
    assert trained.evaluate(x[:8], y_val)["loss"] == pytest.approx(best.val_loss, rel=1e-4)


def test_restore_best_false_keeps_last_weights():
    x, y = _data(n=32)
    y_val = np.full_like(y[:8], -5.0)
    trained = fit(x, y, x[:8], y_val, _config(epochs=30, patience=2, lr=1e-2, restore_best=False))
    last, best = trained.history[-1], min(trained.history, key=lambda r: r.val_loss)
    assert trained.best_epoch == best.epoch < last.epoch
    assert trained.evaluate(x[:8], y_val)["loss"] == pytest.approx(last.val_loss, rel=1e-4)


# --- prediction ----------------------------------------------------------------------------------------

def test_predict_batches_dtype_and_nan_rows():
    x, y = _data(n=20)
    trained = fit(x, y, None, None, _config(epochs=1))
    full = trained.predict(x)
    assert full.shape == (20, 12) and full.dtype == np.float32
    np.testing.assert_allclose(trained.predict(x, batch_size=3), full, rtol=1e-5, atol=1e-6)
    x_bad = x.copy()
    x_bad[4, 2, 1] = np.nan
    out = trained.predict(x_bad)
    assert np.isnan(out[4]).all() and np.isfinite(np.delete(out, 4, axis=0)).all()
    np.testing.assert_allclose(np.delete(out, 4, axis=0), np.delete(full, 4, axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(DatacubeError, match="trained on series of 12 dates, got 9"):
        trained.predict(x[:, :9])
    assert trained.name == "MCNN-Seq" and trained.model_name == "mcnn_seq"


def test_normalizer_is_fitted_on_training_inputs():
    x, y = _data(n=16)
    x_val = x[:4] + 5.0
    trained = fit(x, y, x_val, y[:4], _config(epochs=1))
    np.testing.assert_allclose(trained.normalizer.mean, x.reshape(-1, 2).mean(0), rtol=1e-5)


# --- configuration and data checks ---------------------------------------------------------------------

def test_max_train_samples_and_signature():
    x, y = _data(n=30)
    dates = pd.date_range("2018-01-11", periods=12, freq="12D")
    trained = fit(x, y, x[:10], y[:10], _config(epochs=1, max_train_samples=12, max_val_samples=5),
                  data_signature={"dates": dates, "source": "demo scene"})
    assert trained.n_train == 12 and trained.n_val == 5
    sig = trained.data_signature
    assert sig["t_in"] == 12 and sig["t_out"] == 12 and sig["source"] == "demo scene"
    assert sig["dates"][0] == "2018-01-11" and len(sig["dates"]) == 12
    json.dumps(sig)
    with pytest.raises(ModelConfigError, match="lists 3 dates"):
        fit(x, y, None, None, _config(epochs=1), data_signature={"dates": dates[:3]})


def test_config_round_trip_and_presets():
    config = TrainConfig.quick("cnn", seed=5)
    assert config.validate().max_train_samples and config.epochs < TrainConfig.paper().epochs
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert TrainConfig.paper() == TrainConfig(model="mcnn_seq", epochs=50, batch_size=500, lr=1e-3,
                                              optimizer="rmsprop")


@pytest.mark.parametrize("bad,match", [({"model": "lstm"}, "unknown model"), ({"epochs": 0}, "epochs"),
                                       ({"lr": -1.0}, "learning rate"), ({"optimizer": "sgd"}, "optimizer"),
                                       ({"patience": 0}, "patience"), ({"device": "tpu"}, "device"),
                                       ({"hparams": {"units": 3}}, "units")])
def test_bad_config_is_refused(bad, match):
    x, y = _data(n=8)
    settings = {"epochs": 1, "num_threads": 1, **bad}
    with pytest.raises(ModelConfigError, match=match):
        fit(x, y, None, None, TrainConfig(**settings))


def test_bad_data_is_refused_with_its_source():
    x, y = _data(n=8)
    x_nan = x.copy()
    x_nan[1, 1, 0] = np.nan
    with pytest.raises(DatacubeError, match=r"training data.*1 of 8 samples have a missing"):
        fit(x_nan, y, None, None, _config(epochs=1))
    with pytest.raises(DatacubeError, match=r"training data.*\(n, T_out\)"):
        fit(x, y[:5], None, None, _config(epochs=1))
    with pytest.raises(DatacubeError, match=r"validation data.*do not match"):
        fit(x, y, x[:, :10], y[:, :10], _config(epochs=1))
    with pytest.raises(DatacubeError, match="no training sample has any NDVI"):
        fit(x, np.full_like(y, np.nan), None, None, _config(epochs=1))
