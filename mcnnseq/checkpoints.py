"""Saving and loading trained models: files that reload exactly, and that are safe to open.

A checkpoint is a ``torch.save`` of a dict holding only tensors, strings and integers:

* ``format`` = ``"mcnnseq-checkpoint"``, ``format_version`` = :data:`FORMAT_VERSION`;
* ``header`` — one JSON string: model name and ``config()``, training config, input normalisation,
  history, data signature, stop reason, best epoch, sample counts, the calibrated σ model
  (:mod:`mcnnseq.uncertainty`; ``null`` or absent when there is none), package and torch versions;
* ``state_dict`` — the model's weights (CPU tensors);
* ``checksum`` — SHA-256 over the header and every tensor's name, dtype, shape and bytes.

It is read **only** with ``torch.load(..., weights_only=True, map_location="cpu")``, which refuses
to unpickle anything but tensors and plain containers, so a crafted file cannot run code. Every
problem (unreadable, truncated, foreign, edited, from a newer format, unknown model, weights that do
not fit the architecture) raises :class:`~mcnnseq.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from mcnnseq import __version__
from mcnnseq.errors import CheckpointError, McnnSeqError
from mcnnseq.models.registry import MODELS, build_model
from mcnnseq.normalization import Normalizer
from mcnnseq.training import EpochRecord, TrainConfig, TrainedModel, _jsonable

FORMAT = "mcnnseq-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".pt"


def _checksum(header: str, state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    h.update(header.encode("utf-8"))
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_checkpoint(trained: TrainedModel, path: str | os.PathLike) -> Path:
    """Write ``trained`` to ``path`` (atomically: a temporary file renamed into place). Returns the path."""
    path = Path(path)
    state = {k: v.detach().cpu().clone().contiguous() for k, v in trained.model.state_dict().items()}
    header = json.dumps({
        "model": trained.model_name,
        "model_config": trained.model.config(),
        "train_config": trained.config.to_dict(),
        "normalizer": trained.normalizer.to_dict(),
        "history": [r.to_dict() for r in trained.history],
        "data_signature": _jsonable(trained.data_signature),
        "stop_reason": trained.stop_reason,
        "best_epoch": trained.best_epoch,
        "n_train": int(trained.n_train),
        "n_val": int(trained.n_val),
        "uncertainty": trained.uncertainty,
        "mcnnseq_version": __version__,
        "torch_version": torch.__version__,
    }, sort_keys=True, allow_nan=False)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "header": header, "state_dict": state,
               "checksum": _checksum(header, state)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _sniff(path: Path) -> str:
    """What a file that torch cannot read looks like, for the error message."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if not head:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04"):
        return "a damaged or truncated PyTorch file"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head[:1] == b"\x80":
        return "a Python pickle that is not a plain-tensor checkpoint"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "an unknown binary file"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def load_checkpoint(path: str | os.PathLike) -> TrainedModel:
    """Read a checkpoint written by :func:`save_checkpoint`; the model is on the CPU, in eval mode.

    Raises :class:`CheckpointError` (naming the file) for anything that is not an intact checkpoint
    of a known model in a supported format version.
    """
    path = Path(path)
    src = str(path)

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(problem, source=src)

    if not path.is_file():
        raise fail("no such checkpoint file")
    try:
        with warnings.catch_warnings():      # a foreign file's pickle-protocol warnings are not the user's business
            warnings.simplefilter("ignore")
            payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a readable checkpoint"
        raise fail(f"not a readable MCNN-Seq checkpoint: {_sniff(path)} "
                   f"({type(exc).__name__} from the safe tensor-only loader)") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise fail("not an MCNN-Seq checkpoint (no 'mcnnseq-checkpoint' format tag)")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise fail(f"malformed checkpoint: format_version is {version!r}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer MCNN-Seq Studio)" if version > FORMAT_VERSION else ""
        raise fail(f"checkpoint format version {version} is not supported{newer}; this version reads "
                   f"format {FORMAT_VERSION}")
    header_text, state, checksum = payload.get("header"), payload.get("state_dict"), payload.get("checksum")
    if not isinstance(header_text, str) or not isinstance(state, dict) or not isinstance(checksum, str) or \
            not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise fail("malformed checkpoint: header, weights or checksum missing or of the wrong type")
    if _checksum(header_text, state) != checksum:
        raise fail("checksum mismatch: the file is corrupt or was modified after it was saved")
    try:
        header = json.loads(header_text)
        name = header["model"]
        if name not in MODELS:
            raise fail(f"unknown model {name!r} (known models: {', '.join(MODELS)})")
        model_config = dict(header["model_config"])
        with torch.random.fork_rng(devices=[]):     # the random init is overwritten: leave the caller's RNG alone
            model = build_model(name, **model_config)
        model.load_state_dict(state, strict=True)
        trained = TrainedModel(
            model=model.eval(),
            config=TrainConfig.from_dict(header["train_config"]),
            normalizer=Normalizer.from_dict(header["normalizer"]),
            history=[EpochRecord.from_dict(r) for r in header["history"]],
            data_signature=dict(header["data_signature"]),
            stop_reason=str(header["stop_reason"]),
            best_epoch=None if header["best_epoch"] is None else float(header["best_epoch"]),
            n_train=int(header["n_train"]), n_val=int(header["n_val"]), source=src,
            uncertainty=_uncertainty(header.get("uncertainty")))    # absent in checkpoints saved before σ
    except CheckpointError:
        raise
    except (McnnSeqError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise fail(f"malformed checkpoint contents ({_first_line(exc)})") from None
    return trained


def _uncertainty(value) -> dict | None:
    """The header's σ model, checked (None when the checkpoint has none)."""
    if value is None:
        return None
    from mcnnseq.uncertainty import SigmaModel

    return SigmaModel.from_dict(value).to_dict()


def check_compatible(trained: TrainedModel, *, t_in: int, t_out: int, dates: Sequence | None = None) -> None:
    """Raise :class:`CheckpointError` unless ``trained`` fits data of ``t_in`` radar and ``t_out`` NDVI dates.

    When ``dates`` (the data's S2 dates) are given and the model recorded its training dates, they
    must be the same dates (compared as ISO days).
    """
    src = trained.source or f"{trained.name} model"
    if int(t_in) != trained.t_in:
        raise CheckpointError(f"the model takes series of {trained.t_in} radar dates but the data has {t_in}",
                              source=src)
    if int(t_out) != trained.t_out:
        raise CheckpointError(f"the model predicts {trained.t_out} NDVI dates but the data has {t_out}",
                              source=src)
    trained_dates = trained.data_signature.get("dates")
    if dates is not None and trained_dates is not None:
        given = [str(d) for d in _jsonable(list(dates))]
        if given != [str(d) for d in trained_dates]:
            diff = next((i for i, (a, b) in enumerate(zip(given, trained_dates)) if a != b), min(len(given),
                                                                                               len(trained_dates)))
            shown_a = given[diff] if diff < len(given) else "none"
            shown_b = trained_dates[diff] if diff < len(trained_dates) else "none"
            raise CheckpointError(f"the model was trained on other dates (date {diff + 1}: data {shown_a}, "
                                  f"model {shown_b})", source=src)
