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
* ``train_loss``/``train_r2`` are accumulated over the batches since the previous evaluation point
  while the weights change (as Keras reports them, no extra pass); ``val_loss``/``val_r2`` are
  computed at the point with the prediction path (``model(x)``).

Budget and presets (:data:`PRESETS`, SPEC §2 "Training that converges at any cube size"): 50 epochs of
a few thousand pixels are a few hundred optimiser steps, so the **default** recipe counts its budget in
optimiser steps, evaluates the validation set every ``eval_every`` steps, lowers the learning rate
when validation stalls, stops when it has stopped improving and keeps the best weights; the
**quick** preset is the same recipe on a short budget; the **paper** preset is the paper's plain loop
(RMSprop with Keras' defaults rho = 0.9, eps = 1e-7, lr 0.001, batch 500, 50 epochs). Every choice of
the default recipe is measured in ``docs/training-recipe.md`` (``scripts/recipe_study.py``).

Networks that read the observed NDVI (MCNN-Seq fusion) train through the same loop by hiding
observed dates (their ``hidden_date_loss``; :mod:`mcnnseq.models.mcnn_seq_fusion`) and are validated
on seeded artificial gaps of the validation pixels. After training, every network with a validation
set gets a calibrated σ model (:mod:`mcnnseq.uncertainty`, ``TrainedModel.uncertainty``); the weights
are not touched by it.

Reproducibility: the model is initialised under ``torch.manual_seed(seed)`` (inside a forked RNG, so
the caller's global RNG is untouched), batches are shuffled (and the decoder curriculum drawn) with a
``torch.Generator`` seeded with ``seed``, and deterministic algorithms are switched on for CPU
training — the same seed and thread count give bit-identical weights.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch import nn

from mcnnseq.errors import DatacubeError, ModelConfigError
from mcnnseq.models.fast_inference import inference_engine
from mcnnseq.models.registry import MODELS, build_model, display_name, get_spec
from mcnnseq.normalization import Normalizer, check_radar_array

OPTIMIZERS: tuple[str, ...] = ("rmsprop", "adam", "adamw")
SCHEDULES: tuple[str, ...] = ("constant", "plateau", "cosine")
STOP_REASONS: tuple[str, ...] = ("completed", "early_stopping", "callback", "user", "diverged")


@dataclass(frozen=True)
class PresetInfo:
    """A named training preset: ``label`` for menus, ``description`` for help texts."""

    name: str
    label: str
    description: str


#: The one place for preset names (CLI ``train --preset``, the app's Train page): name -> label/description.
PRESETS: dict[str, PresetInfo] = {}


@dataclass
class TrainConfig:
    """Everything that decides a training run (JSON-able via :meth:`to_dict`).

    The field defaults are the paper's plain loop (RMSprop, lr 0.001, batch 500, 50 epochs, nothing
    else), so a configuration saved before a field existed reloads with the meaning it was trained
    with. Use :meth:`default`, :meth:`quick` or :meth:`paper` (see :data:`PRESETS`).

    Budget: ``epochs`` and/or ``max_steps`` (optimiser steps); training stops at the smaller one (at
    least one must be set). ``eval_every``: optimiser steps between two evaluation points (None =
    once per epoch); each point evaluates the validation set, appends an :class:`EpochRecord`,
    updates the learning-rate schedule and the early stop. ``patience``: stop when the monitored
    loss (validation loss; training loss when there is no validation set, or one without any NDVI
    value) has not improved for that many evaluation points (None = never). ``restore_best``: end
    with the weights of the best evaluation point.

    Optimiser and schedule: ``optimizer`` in :data:`OPTIMIZERS`, ``weight_decay`` (decoupled for
    AdamW), ``warmup_steps`` (learning rate ramped linearly from lr/warmup to lr), ``schedule`` in
    :data:`SCHEDULES` — "plateau" multiplies the learning rate by ``lr_factor`` after ``lr_patience``
    evaluation points without improvement, "cosine" decays it to 0 over the step budget.
    ``clip_norm``: clip the global gradient norm (None = off).

    MCNN-Seq decoder curriculum (ignored by the other models): ``teacher_forcing`` is the initial
    probability of feeding the decoder the observed previous NDVI instead of its own output
    (scheduled sampling; never where the NDVI is missing); it decays linearly to 0 over
    ``teacher_forcing_steps`` optimiser steps. Prediction always feeds the model's own output.

    Initialisation: ``forget_bias`` sets every LSTM forget-gate bias (None = PyTorch's default);
    ``init_output_bias`` starts the output layer's bias (and MCNN-Seq's start value) at the mean
    training NDVI. ``input_noise``: standard deviation of a Gaussian noise added to the standardised
    radar of every training batch (augmentation; 0 = off). ``ema_decay``: validate, keep and return an
    exponential moving average of the weights (Polyak averaging; decay min(ema_decay, (1 + step) / (10 + step))
    after every optimiser step; 0 = off: the raw weights). ``device``: "auto" (CUDA when present, else
    CPU), "cpu", "cuda".
    ``max_train_samples``/``max_val_samples``: a seeded random subset. ``num_threads``: torch
    intra-op threads during the run (None = leave torch's default). ``preset``: the preset this
    configuration came from (a label only; None for a hand-made one).
    """

    model: str = "mcnn_seq"
    hparams: dict = field(default_factory=dict)
    epochs: int | None = 50
    max_steps: int | None = None
    batch_size: int = 500
    lr: float = 1e-3
    optimizer: str = "rmsprop"
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"
    lr_factor: float = 0.5
    lr_patience: int | None = None
    clip_norm: float | None = None
    eval_every: int | None = None
    seed: int = 0
    patience: int | None = None
    restore_best: bool = True
    teacher_forcing: float = 0.0
    teacher_forcing_steps: int = 0
    forget_bias: float | None = None
    init_output_bias: bool = False
    input_noise: float = 0.0
    ema_decay: float = 0.0
    device: str = "auto"
    max_train_samples: int | None = None
    max_val_samples: int | None = None
    num_threads: int | None = None
    preset: str | None = None

    @classmethod
    def paper(cls, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """The paper's setting (§4.1): RMSprop, lr 0.001, batch 500, 50 epochs, all samples."""
        return cls(**{"model": model, "preset": "paper", **overrides})

    @classmethod
    def default(cls, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """The default recipe: trains to convergence on validation whatever the cube size (docs/training-recipe.md)."""
        return cls(**{**DEFAULT_RECIPE, "model": model, "preset": "default", **overrides})

    @classmethod
    def quick(cls, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """The default recipe on a short step budget: a first look in about a minute on a laptop CPU."""
        return cls(**{**DEFAULT_RECIPE, **QUICK_CHANGES, "model": model, "preset": "quick", **overrides})

    @classmethod
    def from_preset(cls, preset: str, model: str = "mcnn_seq", **overrides) -> "TrainConfig":
        """``TrainConfig.<preset>(model, **overrides)`` for a name of :data:`PRESETS`."""
        if preset not in PRESETS:
            raise ModelConfigError(f"training: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        return getattr(cls, preset)(model, **overrides)

    def step_budget(self, n_train: int) -> int:
        """Optimiser steps this configuration allows on ``n_train`` training samples."""
        per_epoch = math.ceil(n_train / self.batch_size)
        budgets = [b for b in (self.max_steps, None if self.epochs is None else self.epochs * per_epoch)
                   if b is not None]
        return int(min(budgets))

    def validate(self) -> "TrainConfig":
        """Return self, or raise :class:`ModelConfigError` naming the bad setting."""
        spec = get_spec(self.model)
        if not spec.trainable:
            raise ModelConfigError(
                f"training: --model {self.model}: {spec.display_name} is a classic gap-filler with no weights to "
                f"train; choose a network ({', '.join(MODELS)}) and evaluate {spec.name} directly "
                f"(evaluate --models {spec.name})")
        if not isinstance(self.hparams, Mapping):
            raise ModelConfigError(f"training: hparams must be a dict, got {type(self.hparams).__name__}")

        def integer(name: str, value, optional: bool = False, minimum: int = 1) -> None:
            if optional and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
                raise ModelConfigError(f"training: {name} must be {kind}, got {value!r}")

        def number(name: str, value, *, low: float, high: float = math.inf, optional: bool = False,
                   low_open: bool = False) -> None:
            if optional and value is None:
                return
            ok = (isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
                  and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high)
            if not ok:
                raise ModelConfigError(f"training: {name} must be a number in "
                                       f"{'(' if low_open else '['}{low}, {high}], got {value!r}")

        integer("epochs", self.epochs, optional=True)
        integer("max_steps", self.max_steps, optional=True)
        if self.epochs is None and self.max_steps is None:
            raise ModelConfigError("training: set a budget: epochs or max_steps (or both)")
        integer("batch_size", self.batch_size)
        integer("patience", self.patience, optional=True)
        integer("lr_patience", self.lr_patience, optional=True)
        integer("eval_every", self.eval_every, optional=True)
        integer("warmup_steps", self.warmup_steps, minimum=0)
        integer("teacher_forcing_steps", self.teacher_forcing_steps, minimum=0)
        integer("max_train_samples", self.max_train_samples, optional=True)
        integer("max_val_samples", self.max_val_samples, optional=True)
        integer("num_threads", self.num_threads, optional=True)
        integer("seed", self.seed, minimum=0)
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ModelConfigError(f"training: learning rate must be a positive number, got {self.lr!r}")
        number("weight_decay", self.weight_decay, low=0.0)
        number("lr_factor", self.lr_factor, low=0.0, high=1.0, low_open=True)
        number("clip_norm", self.clip_norm, low=0.0, low_open=True, optional=True)
        number("teacher_forcing", self.teacher_forcing, low=0.0, high=1.0)
        number("forget_bias", self.forget_bias, low=-math.inf, optional=True)
        number("input_noise", self.input_noise, low=0.0)
        number("ema_decay", self.ema_decay, low=0.0, high=1.0)
        if self.ema_decay >= 1.0:
            raise ModelConfigError(f"training: ema_decay must be below 1 (1 would never move), got {self.ema_decay!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ModelConfigError(f"training: unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ModelConfigError(f"training: unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")
        if self.schedule == "plateau" and self.lr_patience is None:
            raise ModelConfigError("training: the plateau schedule needs lr_patience (evaluation points)")
        if self.preset is not None and self.preset not in PRESETS:
            raise ModelConfigError(f"training: unknown preset {self.preset!r}; known: {', '.join(PRESETS)}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ModelConfigError(f"training: device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hparams"] = dict(self.hparams)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ModelConfigError`; missing keys take the
        field defaults (the plain loop), which is what configurations saved before that key existed meant."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelConfigError(f"training: unknown setting(s) {unknown}")
        return cls(**dict(d)).validate()


#: The default recipe (``TrainConfig.default``); every entry is measured in docs/training-recipe.md.
DEFAULT_RECIPE: dict = dict(
    epochs=None, max_steps=20_000, batch_size=64, optimizer="adam", lr=3e-3, warmup_steps=200,
    schedule="plateau", lr_factor=0.5, lr_patience=4, patience=10, eval_every=200, clip_norm=1.0,
    teacher_forcing=0.0, teacher_forcing_steps=0, forget_bias=1.0, init_output_bias=True,
)
#: What the quick preset changes in the default recipe (a short step budget, a validation sample).
QUICK_CHANGES: dict = dict(max_steps=300, eval_every=50, patience=None, schedule="cosine", lr_patience=None,
                           warmup_steps=30, max_val_samples=1000)

PRESETS.update({
    "default": PresetInfo("default", "Default recipe",
                          f"trains until the validation loss stops improving (at most {DEFAULT_RECIPE['max_steps']:,} "
                          "steps): Adam with warm-up, gradient clipping, learning rate halved on plateaus, best "
                          "weights kept"),
    "quick": PresetInfo("quick", "Quick look",
                        f"the default recipe on a {QUICK_CHANGES['max_steps']}-step budget: about a minute on a "
                        "laptop CPU"),
    "paper": PresetInfo("paper", "Paper (§4.1)",
                        "RMSprop, lr 0.001, batch 500, 50 epochs, all training pixels, as the paper"),
})


@dataclass(frozen=True)
class EpochRecord:
    """One evaluation point: after ``step`` optimiser steps, i.e. ``epoch`` passes over the training set
    (fractional when evaluating every N steps). Losses in NDVI² (masked MSE), pooled R², the learning
    rate of the last step and the wall-clock seconds since the previous point (training + validation).

    ``train_loss``/``train_r2`` are averaged over the batches since the previous point (as Keras reports
    them, no extra pass; with teacher forcing they are the teacher-forced losses); ``val_loss``/``val_r2``
    are computed at the point, with the prediction path, and are NaN when there is no validation set.
    """

    epoch: float
    train_loss: float
    val_loss: float
    train_r2: float
    val_r2: float
    seconds: float
    step: int = 0
    lr: float = math.nan

    def to_dict(self) -> dict:
        """JSON-able (NaN -> None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping) -> "EpochRecord":
        """Inverse of :meth:`to_dict`; records saved before ``step`` existed were one per epoch."""
        def f(key: str) -> float:
            v = d.get(key)
            return float("nan") if v is None else float(v)
        return cls(epoch=float(d["epoch"]), train_loss=f("train_loss"), val_loss=f("val_loss"),
                   train_r2=f("train_r2"), val_r2=f("val_r2"), seconds=f("seconds"),
                   step=int(d.get("step") or 0), lr=f("lr"))


class Callback:
    """Base class for training callbacks (any object with some of these methods works too).

    Request a stop with :meth:`request_stop` (or by returning True from :meth:`on_epoch_end`); the
    loop checks before every optimiser step and after every evaluation point. A stop between two
    points discards the steps since the last one; with ``restore_best`` the best point's weights are kept.
    """

    stop_requested: bool = False

    def request_stop(self) -> None:
        self.stop_requested = True

    def on_train_begin(self, config: "TrainConfig", *, n_train: int, n_val: int, n_batches: int) -> None:
        """Called once, after the data checks, before the first batch (``n_batches`` per epoch)."""

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None:
        """Called after each optimiser step (``epoch`` 1-based, ``batch`` 1..n_batches)."""

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Called after each optimiser step with the step budget — for progress bars (early stopping may
        end the run before ``max_steps``)."""

    def on_epoch_end(self, record: EpochRecord) -> bool | None:
        """Called after each evaluation point (every epoch, or every ``eval_every`` steps); return True to stop."""

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
    ``stop_reason`` is one of :data:`STOP_REASONS`; ``best_epoch`` is the ``epoch`` of the evaluation
    point with the lowest monitored loss (:attr:`best_record`; None when stopped before the first
    point) — the weights the model holds when ``config.restore_best``, else it holds the last
    weights. ``source`` is the checkpoint file it was loaded from, if any.
    """

    model: nn.Module
    config: TrainConfig
    normalizer: Normalizer
    history: list[EpochRecord] = field(default_factory=list)
    data_signature: dict = field(default_factory=dict)
    stop_reason: str = "completed"
    best_epoch: float | None = None
    n_train: int = 0
    n_val: int = 0
    source: str | None = None
    #: The calibrated σ model (:class:`mcnnseq.uncertainty.SigmaModel` as a dict); None: no σ (old checkpoints).
    uncertainty: dict | None = None

    @property
    def best_record(self) -> EpochRecord | None:
        """The evaluation point whose weights were kept as the best (None before the first point)."""
        if self.best_epoch is None:
            return None
        return next((r for r in self.history if r.epoch == self.best_epoch), None)

    @property
    def best_step(self) -> int | None:
        """Optimiser steps done at the best evaluation point."""
        rec = self.best_record
        return None if rec is None else rec.step

    @property
    def steps(self) -> int:
        """Optimiser steps done at the last evaluation point (0 when none)."""
        return self.history[-1].step if self.history else 0

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

        ``ndvi`` (n, t_out), the observed NDVI with NaN where missing, is ignored by radar-only networks
        (a network that :attr:`uses_ndvi` reads it; None = nothing observed).
        ``precision``: ``"reference"`` (the model's own float32 forward), or the faster paths of
        :mod:`mcnnseq.models.fast_inference` (``"auto"``, ``"bf16"``, ``"fp32"``).

        Runs in batches under ``torch.inference_mode()``, so memory stays bounded by ``batch_size``
        (default 512 on CPU — the attention's (B, N, A) tensors then stay in cache — 8192 on CUDA).
        A sample with any non-finite radar value gets an all-NaN row (the model needs the whole series).
        """
        return self._forward_numpy(X, ndvi, batch_size, precision, with_log_var=False)[0]

    def predict_with_std(self, X: np.ndarray, *, ndvi: np.ndarray | None = None, batch_size: int | None = None,
                         precision: str = "reference") -> tuple[np.ndarray, np.ndarray | None]:
        """``(ndvi, std)``, both (n, t_out) float32: the prediction (as :meth:`predict`) and its calibrated
        standard deviation (NDVI units; :mod:`mcnnseq.uncertainty`). ``std`` is None when the model has no
        σ model (a checkpoint saved before σ existed: see :func:`mcnnseq.uncertainty.ensure_uncertainty`)."""
        from mcnnseq.uncertainty import SigmaModel

        if self.uncertainty is None:
            return self.predict(X, ndvi=ndvi, batch_size=batch_size, precision=precision), None
        sigma = SigmaModel.from_dict(self.uncertainty)
        mean, log_var = self._forward_numpy(X, ndvi, batch_size, precision, with_log_var=sigma.needs_log_var)
        given = None if ndvi is None or not self.uses_ndvi else np.isfinite(np.asarray(ndvi))
        return mean, sigma.std(mean, log_var=log_var, given=given)

    def _forward_numpy(self, X, ndvi, batch_size, precision, *, with_log_var: bool
                       ) -> tuple[np.ndarray, np.ndarray | None]:
        """(n, t_out) NDVI and, when asked and the network has a variance column, its (n, t_out) log-variance."""
        if batch_size is None:
            batch_size = 512 if self.device.type == "cpu" else 8192
        arr = check_radar_array(X, source="prediction input")
        if arr.shape[1] != self.t_in:
            raise DatacubeError(f"{self.name} was trained on series of {self.t_in} dates, got {arr.shape[1]}",
                                source=self.source or "prediction input", variable="vv/vh")
        obs = None
        if self.uses_ndvi:
            obs = (np.full((arr.shape[0], self.t_out), np.nan, dtype=np.float32) if ndvi is None
                   else np.asarray(ndvi, dtype=np.float32))
            if obs.shape != (arr.shape[0], self.t_out):
                raise DatacubeError(f"{self.name}: observed NDVI must have shape ({arr.shape[0]}, {self.t_out}), "
                                    f"got {obs.shape}", source=self.source or "prediction input", variable="ndvi")
        batch_size = max(1, int(batch_size))
        out = np.empty((arr.shape[0], self.t_out), dtype=np.float32)
        log_var = np.empty_like(out) if with_log_var and self.uses_ndvi else None
        device = self.device
        self.model.eval()
        forward = inference_engine(self.model, precision)
        with torch.inference_mode():
            for start in range(0, arr.shape[0], batch_size):
                xb = self.normalizer.transform(arr[start:start + batch_size])
                bad = ~np.isfinite(xb).all(axis=(1, 2))
                if bad.any():
                    xb[bad] = 0.0
                xt = torch.from_numpy(xb).to(device)
                if obs is None:
                    yb = forward(xt)
                else:
                    nb = torch.from_numpy(np.ascontiguousarray(obs[start:start + batch_size])).to(device)
                    yb = (torch.stack(self.model(xt, nb, return_log_var=True), dim=2) if forward is self.model
                          else forward(xt, nb))          # (B, T, 2): NDVI, log-variance
                yb = yb.float().cpu().numpy()
                if yb.ndim == 3:
                    if log_var is not None:
                        log_var[start:start + len(yb)] = yb[..., 1]
                    yb = yb[..., 0]
                if bad.any():
                    yb[bad] = np.nan
                    if log_var is not None:
                        log_var[start:start + len(yb)][bad] = np.nan
                out[start:start + len(yb)] = yb
        return out, log_var

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
    """Standardised inputs and masked targets on the device, plus the constants R² needs.

    ``ndvi_in`` (n, T), for networks that read the observed NDVI: their NDVI input (NaN = not given);
    ``scored`` (n, T) bool: the entries the loss and R² count (default: every finite target).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, normalizer: Normalizer, device: torch.device, *,
                 ndvi_in: np.ndarray | None = None, scored: np.ndarray | None = None):
        self.n = x.shape[0]
        self.x = torch.from_numpy(normalizer.transform(x)).to(device)
        self.ndvi = None if ndvi_in is None else torch.from_numpy(np.asarray(ndvi_in, dtype=np.float32)).to(device)
        valid = np.isfinite(y) if scored is None else (np.isfinite(y) & scored)
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
            pred = model(data.x[sl]) if data.ndvi is None else model(data.x[sl], data.ndvi[sl])
            diff = (pred - data.y[sl]) * data.mask[sl]
            sse += (diff * diff).sum(dtype=torch.float64)
    return float(sse)


def _make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":   # Keras defaults, as the paper
        return torch.optim.RMSprop(params, lr=config.lr, alpha=0.9, eps=1e-7, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _initialise(model: nn.Module, config: TrainConfig, y_train: np.ndarray) -> None:
    """Apply the recipe's initialisation (forget-gate bias, output bias at the mean NDVI) in place."""
    with torch.no_grad():
        if config.forget_bias is not None:
            for module in model.modules():
                if isinstance(module, (nn.LSTM, nn.LSTMCell)):
                    h = module.hidden_size
                    for name, p in module.named_parameters():
                        if name.startswith("bias_"):           # gates i, f, g, o: f is [h:2h]
                            p[h:2 * h] = config.forget_bias if name.startswith("bias_ih") else 0.0
        if config.init_output_bias:
            valid = np.isfinite(y_train)
            mean = float(y_train[valid].mean())
            head = getattr(model, "head", None)
            if isinstance(head, nn.Linear) and head.bias is not None:
                if head.out_features == y_train.shape[1]:       # one output per date: the date's mean
                    counts = valid.sum(axis=0)
                    per_date = np.where(counts > 0, np.where(valid, y_train, 0).sum(axis=0) / np.maximum(counts, 1),
                                        mean)
                    head.bias.copy_(torch.from_numpy(per_date.astype(np.float32)))
                else:
                    head.bias.fill_(mean)
            start = getattr(model, "start", None)
            if isinstance(start, nn.Parameter):
                start.fill_(mean)


class _LearningRate:
    """Learning rate per step: linear warm-up, then constant, cosine over the budget, or halved on plateaus.

    The warm-up lasts ``warmup_steps`` but at most a tenth of the step budget, so that a short budget
    (``--steps 100``) still trains at the full rate for most of its steps.
    """

    def __init__(self, config: TrainConfig, budget: int):
        self.config, self.budget, self.scale = config, budget, 1.0
        self.warmup = min(config.warmup_steps, max(1, budget // 10)) if config.warmup_steps else 0

    def at(self, step: int) -> float:
        c = self.config
        lr = c.lr * self.scale
        if c.schedule == "cosine":
            lr *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - 1) / max(1, self.budget))))
        if self.warmup and step <= self.warmup:
            lr *= step / self.warmup
        return lr

    def plateau(self) -> None:
        self.scale *= self.config.lr_factor


def _teacher_probability(config: TrainConfig, step: int) -> float:
    """Scheduled sampling: the probability of feeding the observed NDVI at ``step`` (linear decay to 0)."""
    if config.teacher_forcing <= 0 or config.teacher_forcing_steps <= 0:
        return 0.0
    return config.teacher_forcing * max(0.0, 1.0 - (step - 1) / config.teacher_forcing_steps)


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


class _WeightAverage:
    """An exponential moving average of a model's parameters (``TrainConfig.ema_decay``), kept beside it."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = float(decay)
        self.params = list(model.parameters())
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the average towards the weights after optimiser step ``step`` (1-based)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1.0 - decay)

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for p, s in zip(self.params, self.shadow):
            p.copy_(s)

    @contextmanager
    def applied(self):
        """The averaged weights in the model inside the block, the training weights back after it."""
        saved = [p.detach().clone() for p in self.params]
        self.copy_to_model()
        try:
            yield
        finally:
            with torch.no_grad():
                for p, s in zip(self.params, saved):
                    p.copy_(s)


def fit(X_train: np.ndarray, Y_train: np.ndarray, X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None,
        config: TrainConfig | None = None, *, callbacks: Iterable = (),
        should_stop: Callable[[], bool] | None = None, data_signature: Mapping | None = None) -> TrainedModel:
    """Train ``config.model`` on (X_train dB (n, T, 2), Y_train NDVI (n, T_out)); validate on X_val/Y_val.

    ``config`` defaults to :meth:`TrainConfig.default`. ``should_stop()`` is polled before every
    optimiser step (the UI's stop button); callbacks get ``on_train_begin``, ``on_batch_end``,
    ``on_step_end``, ``on_epoch_end(record)`` at every evaluation point and ``on_train_end(trained)``.
    A validation set may be None or empty (then the training loss is monitored). ``data_signature``:
    optional JSON-able facts about the data (dates, source, simulator_version …) stored with the model.

    Raises :class:`DatacubeError` on malformed data, :class:`ModelConfigError` on a bad configuration.
    """
    config = copy.deepcopy(config) if config is not None else TrainConfig.default()
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
        model = build_model(spec.name, t_in=t_in, t_out=t_out, **config.hparams)

        keep = _subset(x_tr.shape[0], config.max_train_samples, gen)
        if keep is not None:
            x_tr, y_tr = x_tr[keep.numpy()], y_tr[keep.numpy()]
        if not np.isfinite(y_tr).any():
            raise DatacubeError("no training sample has any NDVI value to learn from", source="training data",
                                variable="ndvi")
        _initialise(model, config, y_tr)
        model = model.to(device)
        teacher_forced = spec.name == "mcnn_seq" and _teacher_probability(config, 1) > 0
        # networks that read the observed NDVI learn by hiding dates (mcnnseq.models.mcnn_seq_fusion)
        hides_dates = callable(getattr(model, "hidden_date_loss", None))
        normalizer = Normalizer.fit(x_tr, source="training data")
        train = _Dataset(x_tr, y_tr, normalizer, device)
        val = None
        if has_val:
            keep = _subset(x_va.shape[0], config.max_val_samples, gen)
            if keep is not None:
                x_va, y_va = x_va[keep.numpy()], y_va[keep.numpy()]
            if hides_dates:   # validated on seeded artificial gaps: the hidden values are the truth
                from mcnnseq.gaps import hide_random_windows

                gapped, hidden = hide_random_windows(y_va, np.random.default_rng(config.seed))
                val = _Dataset(x_va, y_va, normalizer, device, ndvi_in=gapped, scored=hidden)
            else:
                val = _Dataset(x_va, y_va, normalizer, device)

        optimizer = _make_optimizer(config, model.parameters())
        averaged = _WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None
        bs = int(config.batch_size)
        n_batches = math.ceil(train.n / bs)
        budget = config.step_budget(train.n)
        eval_every = int(config.eval_every or n_batches)
        schedule = _LearningRate(config, budget)
        eval_bs = 512 if device.type == "cpu" else max(bs, 8192)
        mean_sst = train.sst / train.n_valid if train.n_valid else 0.0
        _call(callbacks, "on_train_begin", config, n_train=train.n, n_val=val.n if val else 0, n_batches=n_batches)

        history: list[EpochRecord] = []
        best_loss, best_epoch, best_state, wait, lr_wait = math.inf, None, None, 0, 0
        stop_reason = "completed"
        step, epoch = 0, 0
        t0 = time.perf_counter()
        window_sse = torch.zeros((), dtype=torch.float64, device=device)
        window_n = 0.0
        while step < budget and stop_reason == "completed":
            epoch += 1
            perm = torch.randperm(train.n, generator=gen).to(device)
            for b in range(n_batches):
                if step >= budget:
                    break
                interrupted = _stop_requested(callbacks, should_stop)
                if interrupted:
                    stop_reason = interrupted
                    break
                step += 1
                lr = schedule.at(step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                model.train()
                idx = perm[b * bs:(b + 1) * bs]
                mb = train.mask[idx]
                xb = train.x[idx]
                if config.input_noise > 0:
                    xb = xb + config.input_noise * torch.randn(xb.shape, generator=gen).to(device)
                if hides_dates:
                    loss, se, n_scored = model.hidden_date_loss(xb, train.y[idx], mb, generator=gen)
                elif teacher_forced:
                    p = _teacher_probability(config, step)
                    chosen = (torch.rand(mb.shape, generator=gen) < p).to(device) & (mb > 0)
                    teacher = torch.where(chosen, train.y[idx], torch.full_like(mb, math.nan))
                    pred = model(xb, teacher=teacher)
                else:
                    pred = model(xb)
                if not hides_dates:
                    diff = (pred - train.y[idx]) * mb
                    se = (diff * diff).sum()
                    n_scored = mb.sum()
                    loss = se / n_scored.clamp_min(1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
                optimizer.step()
                if averaged is not None:
                    averaged.update(step)
                window_sse += se.detach().double()
                window_n += float(n_scored)
                _call(callbacks, "on_batch_end", epoch, b + 1, n_batches)
                _call(callbacks, "on_step_end", step, budget)
                if step % eval_every and step != budget:
                    continue

                # ---- evaluation point
                diverged = window_n > 0 and not math.isfinite(float(window_sse))
                train_loss = float(window_sse) / window_n if window_n else math.nan
                train_r2 = 1.0 - train_loss / mean_sst if mean_sst > 0 and window_n else math.nan
                window_sse.zero_()
                window_n = 0.0
                if diverged:
                    stop_reason = "diverged"
                    break
                with averaged.applied() if averaged is not None else nullcontext():
                    val_loss, val_r2 = (val.loss_r2(_evaluate_sse(model, val, eval_bs)) if val
                                        else (math.nan, math.nan))
                    monitored = val_loss if val is not None and val.n_valid else train_loss
                    improved = monitored < best_loss
                    if improved:   # the weights just validated (the average, with ema_decay)
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                now = time.perf_counter()
                record = EpochRecord(epoch=step / n_batches, step=step, train_loss=train_loss, val_loss=val_loss,
                                     train_r2=train_r2, val_r2=val_r2, seconds=now - t0, lr=lr)
                t0 = now
                history.append(record)
                if improved:
                    best_loss, best_epoch, wait, lr_wait = monitored, record.epoch, 0, 0
                else:
                    wait += 1
                    lr_wait += 1
                    if config.schedule == "plateau" and lr_wait >= config.lr_patience:
                        schedule.plateau()
                        lr_wait = 0
                answers = _call(callbacks, "on_epoch_end", record)
                if any(a is True for a in answers) or _stop_requested(callbacks, None):
                    stop_reason = "callback"
                    break
                if config.patience is not None and wait >= config.patience:
                    stop_reason = "early_stopping"
                    break

        if config.restore_best and best_state is not None:
            model.load_state_dict(best_state)
        elif averaged is not None:
            averaged.copy_to_model()
        model.eval()

    trained = TrainedModel(model=model, config=config, normalizer=normalizer, history=history,
                           data_signature=signature, stop_reason=stop_reason, best_epoch=best_epoch,
                           n_train=train.n, n_val=val.n if val else 0)
    if has_val and val is not None:
        from mcnnseq.uncertainty import fit_uncertainty

        # σ calibrated on the validation pixels (after training: the weights are not touched)
        trained.uncertainty = fit_uncertainty(trained, x_va, y_va, seed=config.seed)
    _call(callbacks, "on_train_end", trained)
    return trained
