"""Training loop for the three models: seeded, masked, with callbacks and a stop request.

Data contract: ``X`` (n, T, 2) float32 VV, VH in dB (finite: only radar-complete pixels are samples),
``Y`` (n, T_out) float32 NDVI with NaN where there is no truth. The inputs are standardised per
channel with a :class:`~mcnnseq.normalization.Normalizer` fitted on the training ``X``; NDVI is not
normalised, so losses are in NDVI² and RMSE = sqrt(loss).

Loss and metrics (SPEC §2: "the loss and every metric mask missing targets"):

* loss = MSE over the **valid** (finite) target entries of the batch; a NaN target never contributes
  to the loss or to the gradient;
* R² = ``1 - SSE / SST`` pooled over all valid (pixel, date) entries of the set, with ``SST`` about
  the mean of all those targets — the "R² between the predicted sequence and the target sequence" of
  Fig. 12, and the same definition as :func:`mcnnseq.metrics.r2_score` (per-date R², Table 4, is
  computed by :mod:`mcnnseq.metrics` from predictions);
* ``train_loss``/``train_r2`` are accumulated over the epoch's batches while the weights change (as
  Keras reports them, no extra pass); ``val_loss``/``val_r2`` are computed after the epoch.

Reproducibility: the model is initialised under ``torch.manual_seed(seed)`` (inside a forked RNG, so
the caller's global RNG is untouched), batches are shuffled with a ``torch.Generator`` seeded with
``seed``, and deterministic algorithms are switched on for CPU training — the same seed and thread
count give bit-identical weights.

Optimiser: RMSprop with Keras' defaults (rho = 0.9, eps = 1e-7), the paper's learning rate 0.001 and
batch 500.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch import nn

from mcnnseq.errors import DatacubeError, ModelConfigError
from mcnnseq.models.fast_inference import inference_engine
from mcnnseq.models.registry import MODELS, build_model, display_name, get_spec
from mcnnseq.normalization import Normalizer, check_radar_array

OPTIMIZERS: tuple[str, ...] = ("rmsprop", "adam")
STOP_REASONS: tuple[str, ...] = ("completed", "early_stopping", "callback", "user", "diverged")


@dataclass
class TrainConfig:
    """Everything that decides a training run (JSON-able via :meth:`to_dict`).

    ``patience``: stop when the monitored loss (validation loss; training loss when there is no
    validation set, or one without any NDVI value) has not improved for that many epochs (None = never). ``restore_best``: end with
    the weights of the best epoch. ``device``: "auto" (CUDA when present, else CPU), "cpu", "cuda".
    ``max_train_samples``/``max_val_samples``: a seeded random subset (the quick preset).
    ``num_threads``: torch intra-op threads during the run (None = leave torch's default).
    """

    model: str = "mcnn_seq"
    hparams: dict = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 500
    lr: float = 1e-3
    optimizer: str = "rmsprop"
    seed: int = 0
    patience: int | None = None
    restore_best: bool = True
    device: str = "auto"
    max_train_samples: int | None = None
    max_val_samples: int | None = None
    num_threads: int | None = None

    @classmethod
    def paper(cls, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """The paper's setting (§4.1): RMSprop, lr 0.001, batch 500, 50 epochs, all samples."""
        return cls(model=model, **overrides)

    @classmethod
    def quick(cls, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """A quick look (about a minute on a laptop CPU for MCNN-Seq): 4000 training pixels, 10 epochs."""
        settings = dict(model=model, epochs=10, batch_size=250, max_train_samples=4000, max_val_samples=2000)
        settings.update(overrides)
        return cls(**settings)

    def validate(self) -> "TrainConfig":
        """Return self, or raise :class:`ModelConfigError` naming the bad setting."""
        get_spec(self.model)
        if not isinstance(self.hparams, Mapping):
            raise ModelConfigError(f"training: hparams must be a dict, got {type(self.hparams).__name__}")

        def positive_int(name: str, value, optional: bool = False) -> None:
            if optional and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ModelConfigError(f"training: {name} must be a positive integer, got {value!r}")

        positive_int("epochs", self.epochs)
        positive_int("batch_size", self.batch_size)
        positive_int("patience", self.patience, optional=True)
        positive_int("max_train_samples", self.max_train_samples, optional=True)
        positive_int("max_val_samples", self.max_val_samples, optional=True)
        positive_int("num_threads", self.num_threads, optional=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ModelConfigError(f"training: seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ModelConfigError(f"training: learning rate must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ModelConfigError(f"training: unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ModelConfigError(f"training: device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hparams"] = dict(self.hparams)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ModelConfigError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelConfigError(f"training: unknown setting(s) {unknown}")
        return cls(**dict(d)).validate()


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: losses in NDVI² (masked MSE), pooled R², wall-clock seconds (training + validation).

    ``val_loss``/``val_r2`` are NaN when there is no validation set; an R² is NaN when undefined.
    """

    epoch: int
    train_loss: float
    val_loss: float
    train_r2: float
    val_r2: float
    seconds: float

    def to_dict(self) -> dict:
        """JSON-able (NaN -> None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping) -> "EpochRecord":
        def f(key: str) -> float:
            v = d[key]
            return float("nan") if v is None else float(v)
        return cls(epoch=int(d["epoch"]), train_loss=f("train_loss"), val_loss=f("val_loss"),
                   train_r2=f("train_r2"), val_r2=f("val_r2"), seconds=f("seconds"))


class Callback:
    """Base class for training callbacks (any object with some of these methods works too).

    Request a stop with :meth:`request_stop` (or by returning True from :meth:`on_epoch_end`); the
    loop checks before every batch and after every epoch. A stop inside an epoch discards that
    partial epoch; with ``restore_best`` the best epoch's weights are kept.
    """

    stop_requested: bool = False

    def request_stop(self) -> None:
        self.stop_requested = True

    def on_train_begin(self, config: "TrainConfig", *, n_train: int, n_val: int, n_batches: int) -> None:
        """Called once, after the data checks, before the first batch."""

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        """Called after each optimiser step (``epoch`` 1-based, ``batch`` 1..n_batches) — for progress bars."""

    def on_epoch_end(self, record: EpochRecord) -> bool | None:
        """Called after each completed epoch; return True to stop."""

    def on_train_end(self, trained: "TrainedModel") -> None:
        """Called once with the result."""


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the finite entries of ``target`` (same shape as ``pred``).

    NaN targets contribute neither to the value nor to the gradient (they are replaced before the
    subtraction, so no ``NaN * 0`` appears in the backward pass). 0 when no entry is valid.
    """
    mask = torch.isfinite(target)
    diff = (pred - torch.where(mask, target, torch.zeros_like(target))) * mask
    return (diff * diff).sum() / mask.sum().clamp_min(1)


def masked_r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Pooled R² over the finite entries of ``target``: ``1 - SSE/SST``; NaN when undefined."""
    mask = torch.isfinite(target)
    t = target[mask].double()
    p = pred[mask].double()
    if t.numel() == 0:
        return float("nan")
    sst = float(((t - t.mean()) ** 2).sum())
    if sst <= 0:
        return float("nan")
    return 1.0 - float(((t - p) ** 2).sum()) / sst


def resolve_device(device: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelConfigError(f"training: device {device!r} requested but CUDA is not available")
    return dev


@contextmanager
def _torch_settings(device: torch.device, num_threads: int | None):
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_fill = torch.utils.deterministic.fill_uninitialized_memory
    try:
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
            # NaN-filling every fresh allocation costs ~8 % of a step and buys nothing here: no kernel
            # of these models reads memory it has not written.
            torch.utils.deterministic.fill_uninitialized_memory = False
        yield
    finally:
        if num_threads is not None:
            torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.utils.deterministic.fill_uninitialized_memory = prev_fill


def _check_xy(X, Y, *, source: str) -> tuple[np.ndarray, np.ndarray]:
    x = check_radar_array(X, source=source)
    y = np.asarray(Y)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise DatacubeError(f"NDVI targets must have shape (n, T_out) with n = {x.shape[0]} samples, got {y.shape}",
                            source=source, variable="ndvi")
    if not np.issubdtype(y.dtype, np.floating):
        raise DatacubeError(f"NDVI targets must be floating point, got dtype {y.dtype}", source=source,
                            variable="ndvi")
    y = y.astype(np.float32, copy=False)
    bad = ~np.isfinite(x).all(axis=(1, 2))
    if bad.any():
        raise DatacubeError(f"{int(bad.sum())} of {x.shape[0]} samples have a missing (NaN/inf) radar value; "
                            "only radar-complete pixels can be samples", source=source, variable="vv/vh")
    if np.isinf(y).any():
        raise DatacubeError("NDVI targets contain infinite values (use NaN for 'no truth')", source=source,
                            variable="ndvi")
    return x, y


def _jsonable(value):
    """Dates and numpy values made JSON-able (ISO date strings, Python numbers, lists), recursively."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="D"))
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):                       # datetime, date, pandas Timestamp
        iso = value.isoformat()
        return iso[:10] if iso[10:] in ("", "T00:00:00") else iso
    if isinstance(value, np.ndarray) and value.dtype.kind == "M":
        return [str(d) for d in np.datetime_as_string(value, unit="D")]
    if hasattr(value, "__iter__") and not isinstance(value, bytes):
        return [_jsonable(v) for v in value]
    return value


def make_signature(*, t_in: int, t_out: int, extra: Mapping | None = None) -> dict:
    """``data_signature``: ``t_in``, ``t_out`` plus the caller's keys (dates, source, simulator_version …)."""
    sig = _jsonable(dict(extra or {}))
    for key, value in (("t_in", t_in), ("t_out", t_out)):
        if key in sig and sig[key] != value:
            raise ModelConfigError(f"training: data_signature says {key}={sig[key]} but the data has {key}={value}")
        sig[key] = int(value)
    if "dates" in sig and sig["dates"] is not None and len(sig["dates"]) != t_out:
        raise ModelConfigError(f"training: data_signature lists {len(sig['dates'])} dates but the targets have "
                               f"{t_out} dates")
    try:
        json.dumps(sig, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelConfigError(f"training: data_signature is not JSON-able: {exc}") from exc
    return sig


@dataclass
class TrainedModel:
    """A trained model with all it needs to predict and to be saved.

    ``model`` (eval mode) maps standardised (B, t_in, 2) -> (B, t_out) NDVI; :meth:`predict` takes dB.
    ``stop_reason`` is one of :data:`STOP_REASONS`; ``best_epoch`` is the epoch with the lowest
    monitored loss (None when stopped before the first epoch ended) — the weights the model holds
    when ``config.restore_best``, else it holds the last weights. ``source`` is the checkpoint file
    it was loaded from, if any.
    """

    model: nn.Module
    config: TrainConfig
    normalizer: Normalizer
    history: list[EpochRecord] = field(default_factory=list)
    data_signature: dict = field(default_factory=dict)
    stop_reason: str = "completed"
    best_epoch: int | None = None
    n_train: int = 0
    n_val: int = 0
    source: str | None = None

    @property
    def model_name(self) -> str:
        """Registry key ("mcnn_seq", "cnn", "rnn")."""
        return self.model.model_name

    @property
    def name(self) -> str:
        """Display name ("MCNN-Seq", "CNN", "RNN")."""
        return display_name(self.model.model_name)

    @property
    def t_in(self) -> int:
        return int(self.model.t_in)

    @property
    def t_out(self) -> int:
        return int(self.model.t_out)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def uses_ndvi(self) -> bool:
        """Whether the network takes the observed NDVI as input (see :class:`mcnnseq.prediction.Predictor`)."""
        return bool(getattr(self.model, "uses_ndvi", False))

    def predict(self, X: np.ndarray, *, ndvi: np.ndarray | None = None, batch_size: int | None = None,
                precision: str = "reference") -> np.ndarray:
        """``X`` (n, t_in, 2) VV, VH in dB -> (n, t_out) float32 NDVI.

        ``ndvi`` (n, t_out), the observed NDVI with NaN where missing, is ignored by radar-only networks.
        ``precision``: ``"reference"`` (the model's own float32 forward), or the faster paths of
        :mod:`mcnnseq.models.fast_inference` (``"auto"``, ``"bf16"``, ``"fp32"``).

        Runs in batches under ``torch.inference_mode()``, so memory stays bounded by ``batch_size``
        (default 512 on CPU — the attention's (B, N, A) tensors then stay in cache — 8192 on CUDA).
        A sample with any non-finite radar value gets an all-NaN row (the model needs the whole series).
        """
        if batch_size is None:
            batch_size = 512 if self.device.type == "cpu" else 8192
        arr = check_radar_array(X, source="prediction input")
        if arr.shape[1] != self.t_in:
            raise DatacubeError(f"{self.name} was trained on series of {self.t_in} dates, got {arr.shape[1]}",
                                source=self.source or "prediction input", variable="vv/vh")
        batch_size = max(1, int(batch_size))
        out = np.empty((arr.shape[0], self.t_out), dtype=np.float32)
        device = self.device
        self.model.eval()
        forward = inference_engine(self.model, precision)
        with torch.inference_mode():
            for start in range(0, arr.shape[0], batch_size):
                xb = self.normalizer.transform(arr[start:start + batch_size])
                bad = ~np.isfinite(xb).all(axis=(1, 2))
                if bad.any():
                    xb[bad] = 0.0
                yb = forward(torch.from_numpy(xb).to(device)).float().cpu().numpy()
                if bad.any():
                    yb[bad] = np.nan
                out[start:start + len(yb)] = yb
        return out

    def evaluate(self, X: np.ndarray, Y: np.ndarray, *, batch_size: int | None = None) -> dict[str, float]:
        """Masked MSE loss and pooled R² on (X dB, Y NDVI with NaN = no truth)."""
        x, y = _check_xy(X, Y, source="evaluation data")
        pred = torch.from_numpy(self.predict(x, batch_size=batch_size))
        target = torch.from_numpy(y)
        return {"loss": float(masked_mse(pred, target)), "r2": masked_r2(pred, target)}


def _subset(n: int, limit: int | None, generator: torch.Generator) -> torch.Tensor | None:
    if limit is None or limit >= n:
        return None
    return torch.randperm(n, generator=generator)[:limit].sort().values


class _Dataset:
    """Standardised inputs and masked targets on the device, plus the constants R² needs."""

    def __init__(self, x: np.ndarray, y: np.ndarray, normalizer: Normalizer, device: torch.device):
        self.n = x.shape[0]
        self.x = torch.from_numpy(normalizer.transform(x)).to(device)
        valid = np.isfinite(y)
        self.y = torch.from_numpy(np.where(valid, y, 0).astype(np.float32)).to(device)
        self.mask = torch.from_numpy(valid.astype(np.float32)).to(device)
        self.n_valid = int(valid.sum())
        yv = y[valid].astype(np.float64)
        self.sst = float(((yv - yv.mean()) ** 2).sum()) if yv.size else 0.0

    def loss_r2(self, sse: float) -> tuple[float, float]:
        loss = sse / self.n_valid if self.n_valid else float("nan")
        r2 = 1.0 - sse / self.sst if self.sst > 0 else float("nan")
        return loss, r2


def _evaluate_sse(model: nn.Module, data: _Dataset, batch_size: int) -> float:
    model.eval()
    sse = torch.zeros((), dtype=torch.float64, device=data.x.device)
    with torch.inference_mode():
        for start in range(0, data.n, batch_size):
            sl = slice(start, start + batch_size)
            diff = (model(data.x[sl]) - data.y[sl]) * data.mask[sl]
            sse += (diff * diff).sum(dtype=torch.float64)
    return float(sse)


def _make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)   # Keras defaults, as the paper
    return torch.optim.Adam(params, lr=lr)


def _stop_requested(callbacks: Sequence, should_stop: Callable[[], bool] | None) -> str | None:
    if should_stop is not None and should_stop():
        return "user"
    if any(getattr(cb, "stop_requested", False) for cb in callbacks):
        return "callback"
    return None


def _call(callbacks: Sequence, method: str, *args, **kwargs) -> list:
    results = []
    for cb in callbacks:
        fn = getattr(cb, method, None)
        if fn is not None:
            results.append(fn(*args, **kwargs))
    return results


def fit(X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None,
        config: TrainConfig | None = None, *, callbacks: Iterable = (),
        should_stop: Callable[[], bool] | None = None, data_signature: Mapping | None = None) -> TrainedModel:
    """Train ``config.model`` on (X_train dB (n, T, 2), Y_train NDVI (n, T_out)); validate on X_val/Y_val.

    ``should_stop()`` is polled before every batch (the UI's stop button); callbacks get
    ``on_train_begin``, ``on_batch_end``, ``on_epoch_end(record)`` and ``on_train_end(trained)``. A
    validation set may be None or empty (then the training loss is monitored). ``data_signature``:
    optional JSON-able facts about the data (dates, source, simulator_version …) stored with the model.

    Raises :class:`DatacubeError` on malformed data, :class:`ModelConfigError` on a bad configuration.
    """
    config = copy.deepcopy(config) if config is not None else TrainConfig()
    config.validate()
    callbacks = list(callbacks)
    x_tr, y_tr = _check_xy(X_train, Y_train, source="training data")
    if x_tr.shape[0] == 0:
        raise DatacubeError("no training sample", source="training data")
    t_in, t_out = x_tr.shape[1], y_tr.shape[1]
    has_val = X_val is not None and Y_val is not None and len(X_val) > 0
    if has_val:
        x_va, y_va = _check_xy(X_val, Y_val, source="validation data")
        if x_va.shape[1:] != x_tr.shape[1:] or y_va.shape[1] != t_out:
            raise DatacubeError(f"validation shapes {x_va.shape}/{y_va.shape} do not match training shapes "
                                f"{x_tr.shape}/{y_tr.shape}", source="validation data")
    signature = make_signature(t_in=t_in, t_out=t_out, extra=data_signature)
    device = resolve_device(config.device)
    spec = MODELS[get_spec(config.model).name]
    config.model = spec.name

    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with _torch_settings(device, config.num_threads), torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        model = build_model(spec.name, t_in=t_in, t_out=t_out, **config.hparams).to(device)

        keep = _subset(x_tr.shape[0], config.max_train_samples, gen)
        if keep is not None:
            x_tr, y_tr = x_tr[keep.numpy()], y_tr[keep.numpy()]
        if not np.isfinite(y_tr).any():
            raise DatacubeError("no training sample has any NDVI value to learn from", source="training data",
                                variable="ndvi")
        normalizer = Normalizer.fit(x_tr, source="training data")
        train = _Dataset(x_tr, y_tr, normalizer, device)
        val = None
        if has_val:
            keep = _subset(x_va.shape[0], config.max_val_samples, gen)
            if keep is not None:
                x_va, y_va = x_va[keep.numpy()], y_va[keep.numpy()]
            val = _Dataset(x_va, y_va, normalizer, device)

        optimizer = _make_optimizer(config.optimizer, model.parameters(), config.lr)
        bs = int(config.batch_size)
        n_batches = math.ceil(train.n / bs)
        eval_bs = 512 if device.type == "cpu" else max(bs, 8192)
        _call(callbacks, "on_train_begin", config, n_train=train.n, n_val=val.n if val else 0, n_batches=n_batches)

        history: list[EpochRecord] = []
        best_loss, best_epoch, best_state, wait = math.inf, None, None, 0
        stop_reason = "completed"
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            perm = torch.randperm(train.n, generator=gen).to(device)
            sse = torch.zeros((), dtype=torch.float64, device=device)
            interrupted = None
            for b in range(n_batches):
                interrupted = _stop_requested(callbacks, should_stop)
                if interrupted:
                    break
                idx = perm[b * bs:(b + 1) * bs]
                mb = train.mask[idx]
                diff = (model(train.x[idx]) - train.y[idx]) * mb
                se = (diff * diff).sum()
                loss = se / mb.sum().clamp_min(1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sse += se.detach().double()
                _call(callbacks, "on_batch_end", epoch, b + 1, n_batches)
            if interrupted:
                stop_reason = interrupted
                break
            train_loss, train_r2 = train.loss_r2(float(sse))
            if not math.isfinite(train_loss):
                stop_reason = "diverged"
                break
            val_loss, val_r2 = val.loss_r2(_evaluate_sse(model, val, eval_bs)) if val else (math.nan, math.nan)
            record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, train_r2=train_r2,
                                 val_r2=val_r2, seconds=time.perf_counter() - t0)
            history.append(record)
            monitored = val_loss if val is not None and val.n_valid else train_loss
            if monitored < best_loss:
                best_loss, best_epoch, wait = monitored, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                wait += 1
            answers = _call(callbacks, "on_epoch_end", record)
            if any(a is True for a in answers) or _stop_requested(callbacks, None):
                stop_reason = "callback"
                break
            if config.patience is not None and wait >= config.patience:
                stop_reason = "early_stopping"
                break

        if config.restore_best and best_state is not None:
            model.load_state_dict(best_state)
        model.eval()

    trained = TrainedModel(model=model, config=config, normalizer=normalizer, history=history,
                           data_signature=signature, stop_reason=stop_reason, best_epoch=best_epoch,
                           n_train=train.n, n_val=val.n if val else 0)
    _call(callbacks, "on_train_end", trained)
    return trained
