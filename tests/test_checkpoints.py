"""Tests of mcnnseq.checkpoints: exact round trip, and refusal of anything that is not an intact checkpoint."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from mcnnseq.checkpoints import FORMAT_VERSION, _checksum, check_compatible, load_checkpoint, save_checkpoint
from mcnnseq.errors import CheckpointError
from mcnnseq.training import TrainConfig, fit

TINY = {"mcnn_seq": {"hidden_size": 8, "conv1_filters": 4, "conv2_filters": 4, "sub_len": 2},
        "cnn": {"filters": [4, 4]}, "rnn": {"hidden_size": 8}}
DATES = pd.date_range("2018-01-11", periods=12, freq="12D")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(n: int = 24, t: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    ndvi = 0.45 + 0.35 * np.sin(2 * np.pi * (np.linspace(0, 1, t)[None] + rng.uniform(0, 1, (n, 1))))
    x = np.stack([-14 + 8 * ndvi, -22 + 10 * ndvi], axis=-1) + rng.normal(0, 0.3, (n, t, 2))
    ndvi[0, 3] = np.nan
    return x.astype(np.float32), ndvi.astype(np.float32)


def _trained(model: str = "mcnn_seq"):
    x, y = _data()
    return fit(x, y, x[:6], y[:6], TrainConfig(model=model, hparams=dict(TINY[model]), epochs=2, batch_size=8),
               data_signature={"dates": DATES, "source": "tiny test", "simulator_version": "0.1"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    trained = _trained()
    path = save_checkpoint(trained, tmp_path_factory.mktemp("ckpt") / "model.pt")
    return trained, path


@pytest.mark.parametrize("model", ["mcnn_seq", "cnn", "rnn"])
def test_round_trip_predicts_identically(model, tmp_path):
    trained = _trained(model)
    path = save_checkpoint(trained, tmp_path / "sub" / "m.pt")
    loaded = load_checkpoint(path)
    x, _ = _data(n=10, seed=1)
    assert np.array_equal(loaded.predict(x), trained.predict(x))
    state, state2 = trained.model.state_dict(), loaded.model.state_dict()
    assert state.keys() == state2.keys() and all(torch.equal(state[k], state2[k]) for k in state)
    assert loaded.model_name == model and loaded.model.config() == trained.model.config()
    assert loaded.config == trained.config and loaded.normalizer == trained.normalizer
    assert loaded.history == trained.history
    assert loaded.data_signature == trained.data_signature
    assert loaded.data_signature["dates"][0] == "2018-01-11"
    assert (loaded.stop_reason, loaded.best_epoch, loaded.n_train, loaded.n_val) == \
        (trained.stop_reason, trained.best_epoch, trained.n_train, trained.n_val)
    assert loaded.source == str(path) and not loaded.model.training
    assert sorted(os.listdir(path.parent)) == ["m.pt"]       # written atomically, no temporary left over


def test_truncated_file_is_refused(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=rf"cut{cut}\.pt: not a readable MCNN-Seq checkpoint"):
            load_checkpoint(bad)


def test_flipped_bytes_in_the_weights_are_detected(saved, tmp_path):
    trained, path = saved
    data = bytearray(path.read_bytes())
    # find the raw bytes of one weight tensor in the file and damage them
    raw = trained.model.state_dict()["encoder.weight_hh_l0"].numpy().tobytes()
    at = bytes(data).find(raw[:64])
    assert at > 0
    data[at + 8] ^= 0xFF
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flipped\.pt: (checksum mismatch|not a readable)"):
        load_checkpoint(bad)


@pytest.mark.parametrize("content", [b"hello, I am a text file\n", b"\x89PNG\r\n\x1a\n" + bytes(200), b""])
def test_foreign_files_are_refused(content, tmp_path):
    bad = tmp_path / "foreign.pt"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a readable MCNN-Seq checkpoint"):
        load_checkpoint(bad)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "nothing.pt")


class _Evil:
    """Unpickling this would create a directory: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_malicious_pickle_is_never_unpickled(writer, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    payload = {"format": "mcnnseq-checkpoint", "format_version": FORMAT_VERSION, "x": _Evil(str(marker))}
    with open(bad, "wb") as f:
        if writer == "pickle":
            pickle.dump(payload, f)
        else:
            torch.save(payload, f)
    with pytest.raises(CheckpointError, match=r"evil\.pt: not a readable MCNN-Seq checkpoint"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_plain_torch_file_is_not_a_checkpoint(saved, tmp_path):
    trained, _ = saved
    bad = tmp_path / "state.pt"
    torch.save(trained.model.state_dict(), bad)
    with pytest.raises(CheckpointError, match=r"state\.pt: not an MCNN-Seq checkpoint"):
        load_checkpoint(bad)


def _rewrite(path, tmp_path, name, edit, *, fix_checksum: bool = True):
    payload = torch.load(path, weights_only=True, map_location="cpu")
    edit(payload)
    if fix_checksum:
        payload["checksum"] = _checksum(payload["header"], payload["state_dict"])
    out = tmp_path / name
    torch.save(payload, out)
    return out


def test_wrong_format_version_is_refused(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path, "future.pt", lambda p: p.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match=rf"future\.pt: checkpoint format version {FORMAT_VERSION + 1} "
                                              r"is not supported \(written by a newer"):
        load_checkpoint(bad)


def _set_header(payload, **changes):
    header = json.loads(payload["header"])
    header.update(changes)
    payload["header"] = json.dumps(header)


def test_unknown_model_is_refused(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path, "alien.pt", lambda p: _set_header(p, model="transformer"))
    with pytest.raises(CheckpointError, match=r"alien\.pt: unknown model 'transformer'"):
        load_checkpoint(bad)


def test_edited_header_fails_the_checksum(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path, "edited.pt", lambda p: _set_header(p, n_train=1), fix_checksum=False)
    with pytest.raises(CheckpointError, match=r"edited\.pt: checksum mismatch"):
        load_checkpoint(bad)


def test_weights_that_do_not_fit_the_architecture_are_refused(saved, tmp_path):
    _, path = saved

    def shrink(p):
        p["state_dict"]["head.weight"] = p["state_dict"]["head.weight"][:, :3].clone()

    bad = _rewrite(path, tmp_path, "shapes.pt", shrink)
    with pytest.raises(CheckpointError, match=r"shapes\.pt: malformed checkpoint contents"):
        load_checkpoint(bad)


def test_check_compatible(saved):
    _, path = saved
    loaded = load_checkpoint(path)
    check_compatible(loaded, t_in=12, t_out=12, dates=DATES)
    check_compatible(loaded, t_in=12, t_out=12, dates=[str(d.date()) for d in DATES])
    check_compatible(loaded, t_in=12, t_out=12)
    with pytest.raises(CheckpointError,
                       match=rf"{path.name}: the model takes series of 12 radar dates but the data has 31"):
        check_compatible(loaded, t_in=31, t_out=12)
    with pytest.raises(CheckpointError, match="predicts 12 NDVI dates but the data has 10"):
        check_compatible(loaded, t_in=12, t_out=10)
    shifted = DATES.insert(3, pd.Timestamp("2018-02-10")).delete(-1)
    with pytest.raises(CheckpointError, match=r"trained on other dates \(date 4: data 2018-02-10, model 2018-02-16\)"):
        check_compatible(loaded, t_in=12, t_out=12, dates=shifted)


def _fusion_trained():
    x, y = _data(n=40)
    y[5:15, 2:5] = np.nan
    return fit(x, y, x[:20], y[:20], TrainConfig.quick("mcnn_seq_fusion", hparams=dict(TINY["mcnn_seq"]),
                                                       max_steps=6, eval_every=3, batch_size=8),
               data_signature={"dates": DATES, "source": "tiny test"})


def test_sigma_parts_round_trip(tmp_path):
    trained = _fusion_trained()
    assert trained.uncertainty is not None and trained.uncertainty["kind"] == "head"
    loaded = load_checkpoint(save_checkpoint(trained, tmp_path / "f.pt"))
    assert loaded.uncertainty == trained.uncertainty and loaded.uses_ndvi
    x, y = _data(n=10, seed=1)
    y[:, ::3] = np.nan
    mean, std = trained.predict_with_std(x, ndvi=y)
    mean2, std2 = loaded.predict_with_std(x, ndvi=y)
    assert np.array_equal(mean, mean2) and np.array_equal(std, std2) and np.isfinite(std).all()
    cnn = _trained("cnn")
    assert cnn.uncertainty["kind"] == "residual"
    assert load_checkpoint(save_checkpoint(cnn, tmp_path / "c.pt")).uncertainty == cnn.uncertainty


def _rewrite_header(path, edit) -> None:
    payload = torch.load(path, weights_only=True)
    header = json.loads(payload["header"])
    edit(header)
    payload["header"] = json.dumps(header, sort_keys=True)
    payload["checksum"] = _checksum(payload["header"], payload["state_dict"])
    torch.save(payload, path)


def test_a_checkpoint_saved_before_sigma_still_loads(tmp_path, saved):
    trained, path = saved
    old = tmp_path / "old.pt"
    old.write_bytes(path.read_bytes())
    _rewrite_header(old, lambda h: h.pop("uncertainty"))
    loaded = load_checkpoint(old)
    assert loaded.uncertainty is None
    x, _ = _data(n=5, seed=2)
    mean, std = loaded.predict_with_std(x)
    assert std is None and np.array_equal(mean, trained.predict(x))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes())
    _rewrite_header(bad, lambda h: h.update(uncertainty={"kind": "oracle", "scale": 1.0}))
    with pytest.raises(CheckpointError, match="bad.pt.*malformed checkpoint contents.*σ model kind"):
        load_checkpoint(bad)
