"""Tests of mcnnseq.training: masked loss, seeding, callbacks, stopping, prediction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mcnnseq.errors import DatacubeError, ModelConfigError
from mcnnseq.models import build_model
from mcnnseq.training import (PRESETS, Callback, EpochRecord, TrainConfig, _initialise, _LearningRate, fit,
                              masked_mse, masked_r2)

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
    trained = fit(x, y, None, None, TrainConfig(model=model, hparams=dict(TINY[model]), epochs=250,
                                                 batch_size=16, lr=3e-3, optimizer="adam",
                                                 num_threads=1))
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
    assert set(PRESETS) == {"default", "quick", "paper"}
    assert all(p.label and p.description for p in PRESETS.values())
    for name in PRESETS:
        config = TrainConfig.from_preset(name, "cnn", seed=5).validate()
        assert config.preset == name and config.model == "cnn" and config.seed == 5
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    paper = TrainConfig.paper()
    assert (paper.optimizer, paper.lr, paper.batch_size, paper.epochs, paper.max_steps) == ("rmsprop", 1e-3, 500, 50,
                                                                                            None)
    assert paper.warmup_steps == 0 and paper.clip_norm is None and paper.schedule == "constant"
    default, quick = TrainConfig.default(), TrainConfig.quick()
    assert default.epochs is None and default.max_steps and default.patience and default.eval_every
    assert quick.max_steps < default.max_steps and quick.optimizer == default.optimizer
    with pytest.raises(ModelConfigError, match="unknown preset 'fast'"):
        TrainConfig.from_preset("fast")


def test_a_config_saved_before_the_recipe_fields_reloads_as_the_plain_loop():
    old = {"model": "cnn", "hparams": {}, "epochs": 10, "batch_size": 250, "lr": 0.001, "optimizer": "rmsprop",
           "seed": 0, "patience": None, "restore_best": True, "device": "auto", "max_train_samples": 4000,
           "max_val_samples": 2000, "num_threads": None}
    config = TrainConfig.from_dict(old)
    assert config.max_steps is None and config.warmup_steps == 0 and config.clip_norm is None
    assert config.schedule == "constant" and config.forget_bias is None and not config.init_output_bias
    record = EpochRecord.from_dict({"epoch": 3, "train_loss": 0.1, "val_loss": None, "train_r2": 0.5,
                                    "val_r2": None, "seconds": 1.0})
    assert record.epoch == 3 and record.step == 0 and np.isnan(record.val_loss)


@pytest.mark.parametrize("bad,match", [({"model": "lstm"}, "unknown model"), ({"epochs": 0}, "epochs"),
                                       ({"epochs": None}, "set a budget"), ({"max_steps": 0}, "max_steps"),
                                       ({"schedule": "step"}, "schedule"), ({"schedule": "plateau"}, "lr_patience"),
                                       ({"clip_norm": 0.0}, "clip_norm"), ({"teacher_forcing": 1.5}, "teacher"),
                                       ({"warmup_steps": -1}, "warmup_steps"), ({"lr_factor": 0.0}, "lr_factor"),
                                       ({"eval_every": 0}, "eval_every"), ({"preset": "fast"}, "preset"),
                                       ({"lr": -1.0}, "learning rate"), ({"optimizer": "sgd"}, "optimizer"),
                                       ({"patience": 0}, "patience"), ({"device": "tpu"}, "device"),
                                       ({"hparams": {"units": 3}}, "units"),
                                       ({"model": "linear"}, "--model linear: Linear is a classic gap-filler"),
                                       ({"model": "whittaker"}, "--model whittaker.*no weights")])
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


# --- the recipe: step budget, evaluation points, schedule, clipping, curriculum, initialisation ----------

def test_step_budget_and_evaluation_points():
    x, y = _data(n=20)                      # batch 8: 3 steps per epoch
    rec = Recorder()

    class Steps(Callback):
        seen: list = []

        def on_step_end(self, step, max_steps):
            self.seen.append((step, max_steps))

    steps = Steps()
    trained = fit(x, y, x[:6], y[:6], _config(epochs=None, max_steps=10, eval_every=4), callbacks=[rec, steps])
    assert [r.step for r in trained.history] == [4, 8, 10]             # every 4 steps, and at the end
    assert [r.epoch for r in trained.history] == pytest.approx([4 / 3, 8 / 3, 10 / 3])
    assert steps.seen == [(s, 10) for s in range(1, 11)]
    assert len(rec.batches) == 10 and rec.batches[3] == (2, 1, 3)         # epoch 2, batch 1 is the 4th step
    assert trained.steps == 10 and trained.stop_reason == "completed"
    assert trained.best_record in trained.history and trained.best_step == trained.best_record.step
    both = fit(x, y, None, None, _config(epochs=2, max_steps=100))          # the smaller budget wins
    assert both.steps == 6 and [r.epoch for r in both.history] == [1, 2]


def test_step_budget_of_the_presets():
    """Steps in the default/quick presets whatever the data size; epochs x batches per epoch in the paper one."""
    default, quick, paper = TrainConfig.default(), TrainConfig.quick(), TrainConfig.paper()
    for n in (10, 1_000, 1_000_000):
        assert default.step_budget(n) == default.max_steps and quick.step_budget(n) == quick.max_steps
    assert paper.step_budget(1_000) == 50 * 2 and paper.step_budget(1_001) == 50 * 3
    assert paper.step_budget(10) == 50                        # one (partial) batch per epoch
    assert TrainConfig.default(epochs=2).step_budget(640) == 2 * 10   # epochs bound a step budget too


def test_early_stopping_counts_evaluation_points():
    x, y = _data(n=32)
    y_val = np.full_like(y[:8], -5.0)
    trained = fit(x, y, x[:8], y_val, _config(epochs=None, max_steps=400, eval_every=3, patience=2, lr=1e-2))
    assert trained.stop_reason == "early_stopping"
    best = min(trained.history, key=lambda r: r.val_loss)
    assert trained.history[-1].step == best.step + 2 * 3 and trained.best_step == best.step
    assert trained.evaluate(x[:8], y_val)["loss"] == pytest.approx(best.val_loss, rel=1e-4)


def test_learning_rate_warm_up_cosine_and_plateau():
    warm = _LearningRate(TrainConfig(lr=0.1, warmup_steps=4), budget=100)
    assert [warm.at(s) for s in (1, 2, 4, 5, 50)] == pytest.approx([0.025, 0.05, 0.1, 0.1, 0.1])
    short = _LearningRate(TrainConfig(lr=0.1, warmup_steps=200), budget=100)    # at most a tenth of the budget
    assert [short.at(s) for s in (1, 5, 10, 11)] == pytest.approx([0.01, 0.05, 0.1, 0.1])
    cos = _LearningRate(TrainConfig(lr=0.1, schedule="cosine"), budget=100)
    assert cos.at(1) == pytest.approx(0.1) and cos.at(51) == pytest.approx(0.05) and cos.at(100) < 1e-3
    x, y = _data(n=32)
    y_val = np.full_like(y[:8], -5.0)       # never improves after the first points: the rate is halved
    trained = fit(x, y, x[:8], y_val, _config(epochs=None, max_steps=40, eval_every=2, schedule="plateau",
                                              lr_patience=2, lr=1e-2, optimizer="adam"))
    lrs = [r.lr for r in trained.history]
    assert lrs[0] == pytest.approx(1e-2) and min(lrs) < 1e-2 / 2
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))
    exponents = np.log2(np.array(lrs) / 1e-2)
    np.testing.assert_allclose(exponents, np.round(exponents), atol=1e-9)     # halvings only


def test_clipping_bounds_the_gradient_norm(monkeypatch):
    norms = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **kw):
        params = list(params)
        total = real(params, max_norm, *a, **kw)
        norms.append((float(total), float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None])))))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    x, y = _data(n=16)
    fit(x, y, None, None, _config("cnn", epochs=2, clip_norm=1e-3))
    assert len(norms) == 4
    assert all(after <= 1e-3 * 1.001 < before for before, after in norms)
    norms.clear()
    fit(x, y, None, None, _config("cnn", epochs=2))
    assert norms == []


@pytest.mark.parametrize("model", ["mcnn_seq", "cnn", "rnn"])
def test_initialisation_forget_bias_and_output_bias(model):
    torch.manual_seed(0)
    net = build_model(model, t_in=12, t_out=12, **TINY[model])
    _, y = _data(n=16)
    y[:, 0] = np.nan                      # a date with no NDVI: its bias starts at the overall mean
    _initialise(net, TrainConfig(model=model, forget_bias=1.0, init_output_bias=True), y)
    lstms = [m for m in net.modules() if isinstance(m, (torch.nn.LSTM, torch.nn.LSTMCell))]
    assert len(lstms) == (2 if model == "mcnn_seq" else 0 if model == "cnn" else 1)
    for m in lstms:
        h = m.hidden_size
        for name, p in m.named_parameters():
            if name.startswith("bias_ih"):
                assert torch.all(p[h:2 * h] == 1.0) and not torch.all(p[:h] == 1.0)
            elif name.startswith("bias_hh"):
                assert torch.all(p[h:2 * h] == 0.0)
    mean = float(np.nanmean(y))
    if model == "cnn":
        expected = np.concatenate([[mean], y[:, 1:].mean(axis=0)])
        np.testing.assert_allclose(net.head.bias.detach().numpy(), expected, rtol=1e-5)
    else:
        assert float(net.head.bias.detach()) == pytest.approx(mean, rel=1e-5)
    if model == "mcnn_seq":
        assert float(net.start.detach()) == pytest.approx(mean, rel=1e-5)


def test_teacher_forcing_trains_deterministically_and_predicts_with_the_model_output():
    x, y = _data(n=24)
    y[3, 5:] = np.nan
    cfg = _config(epochs=None, max_steps=6, eval_every=3, teacher_forcing=1.0, teacher_forcing_steps=4)
    a, b = fit(x, y, x[:6], y[:6], cfg), fit(x, y, x[:6], y[:6], cfg)
    plain = fit(x, y, x[:6], y[:6], _config(epochs=None, max_steps=6, eval_every=3))
    assert all(torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]) for k in a.model.state_dict())
    assert not all(torch.equal(a.model.state_dict()[k], plain.model.state_dict()[k]) for k in a.model.state_dict())
    # validation and prediction use forward(x) (own outputs fed back), whatever the training did
    assert a.evaluate(x[:6], y[:6])["loss"] == pytest.approx(a.best_record.val_loss, rel=1e-4)
    cnn = fit(x, y, None, None, _config("cnn", epochs=1, teacher_forcing=1.0, teacher_forcing_steps=4))
    assert cnn.steps == 3                    # the other models ignore the curriculum


def test_default_preset_is_deterministic_and_learns_on_tiny_data():
    x, y = _data(n=48, noise=0.2)
    small = {"hidden_size": 16, "conv1_filters": 4, "conv2_filters": 8}
    cfg = TrainConfig.default("mcnn_seq", hparams=small, max_steps=150, eval_every=50,
                              warmup_steps=10, num_threads=1, batch_size=16, lr=1e-2)
    a = fit(x[:40], y[:40], x[40:], y[40:], cfg)
    b = fit(x[:40], y[:40], x[40:], y[40:], cfg)
    assert all(torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]) for k in a.model.state_dict())
    assert [r.step for r in a.history] == [50, 100, 150]
    assert a.best_record.val_r2 > 0.5


def test_weight_average_is_what_is_validated_kept_and_returned():
    x, y = _data(n=32)
    cfg = _config("cnn", epochs=None, max_steps=12, eval_every=4, lr=1e-2, optimizer="adam", ema_decay=0.9)
    a, b = fit(x, y, x[:8], y[:8], cfg), fit(x, y, x[:8], y[:8], cfg)
    assert all(torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]) for k in a.model.state_dict())
    raw = fit(x, y, x[:8], y[:8], _config("cnn", epochs=None, max_steps=12, eval_every=4, lr=1e-2, optimizer="adam"))
    assert not torch.equal(a.model.head.weight, raw.model.head.weight)
    # the returned weights are the ones whose validation loss was recorded at the best point
    assert a.evaluate(x[:8], y[:8])["loss"] == pytest.approx(a.best_record.val_loss, rel=1e-4)
    # without restoring the best point, the average (not the last raw weights) is returned
    last = fit(x, y, x[:8], y[:8], _config("cnn", epochs=None, max_steps=12, eval_every=4, lr=1e-2,
                                           optimizer="adam", ema_decay=0.9, restore_best=False))
    assert last.evaluate(x[:8], y[:8])["loss"] == pytest.approx(last.history[-1].val_loss, rel=1e-4)
    for bad in (1.0, -0.1):
        with pytest.raises(ModelConfigError, match="ema_decay"):
            _config("cnn", ema_decay=bad).validate()


def test_input_noise_is_seeded_augmentation():
    x, y = _data(n=16)
    cfg = _config("cnn", epochs=2, input_noise=0.5)
    a, b = fit(x, y, None, None, cfg), fit(x, y, None, None, cfg)
    plain = fit(x, y, None, None, _config("cnn", epochs=2))
    assert all(torch.equal(a.model.state_dict()[k], b.model.state_dict()[k]) for k in a.model.state_dict())
    assert not torch.equal(a.model.head.weight, plain.model.head.weight)
    np.testing.assert_array_equal(a.predict(x), a.predict(x))        # prediction adds no noise
