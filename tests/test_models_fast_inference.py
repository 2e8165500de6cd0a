"""The fast inference path (``mcnnseq.models.fast_inference``): same function as the models' own forward.

Tolerances. ``"fp32"`` reorders float32 arithmetic and computes ``tanh(z)`` as ``2·sigmoid(2z) − 1``
(an identity); each operation rounds at ~6e-8 relative, a few hundred of them stand between input and
output, so outputs of size ~1 agree to well under 1e-5 (we see ~5e-8). ``"bf16"`` rounds every
matrix operand to 8 significant bits (relative error 2^-9 ≈ 2e-3) while accumulating, the recurrent
state and the attention in float32; on these tiny random networks outputs move by at most ~5e-4
(5 seeds × 3 shapes), and we allow 5e-3 (2.5 operand roundings of a value of size 1 — errors that
all went one way). What bf16 does to accuracy on real data is the benchmark's ``predict_r2_delta`` on
the demo test set (bound 0.002; 6e-5 with the shipped model), not a unit test's business.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import fast_inference as fi
from mcnnseq.models.cnn import CNNBaseline
from mcnnseq.models.mcnn_seq import MCNNSeq, _PolarisationBranch
from mcnnseq.models.rnn import RNNBaseline
from mcnnseq.normalization import Normalizer
from mcnnseq.prediction import PRECISIONS, SCENE_PRECISION, predict_cube
from mcnnseq.training import TrainConfig, TrainedModel

FP32_TOL = 1e-5
BF16_TOL = 5e-3

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(seed: int = 0, **kw) -> MCNNSeq:
    settings = dict(t_in=6, t_out=6, conv1_filters=4, conv2_filters=5, hidden_size=8)
    settings.update(kw)
    torch.manual_seed(seed)
    return MCNNSeq(**settings).eval()


def _x(b: int, t: int, c: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(b, t, c, generator=torch.Generator().manual_seed(seed))


def _trained(model: nn.Module, n: int = 64, seed: int = 0) -> tuple[TrainedModel, np.ndarray]:
    """``model`` wrapped for ``predict`` (normaliser fitted on random dB data) and that data (n, t_in, 2)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(-14, 4, (n, model.t_in, 2)).astype(np.float32)
    return TrainedModel(model=model, config=TrainConfig(model=model.model_name),
                        normalizer=Normalizer.fit(X, source="test")), X


@pytest.mark.parametrize("kw", [
    {},
    {"t_in": 9, "t_out": 4, "sub_len": 3},                       # t_out != t_in, sub-sequences
    {"t_in": 5, "t_out": 11, "attention_size": 3},               # more NDVI dates than radar dates
    {"encoder_layers": 1, "hidden_size": 5},
])
@pytest.mark.parametrize("block_rows", [None, 3])
def test_fast_fp32_equals_the_reference(monkeypatch, kw, block_rows):
    """``block_rows`` 3: the attention in blocks (13 rows as 4 + 4 + 4 + 1), as large batches run on the CPU."""
    model = _tiny(**kw)
    if block_rows is not None:
        a = model.attention_size
        monkeypatch.setattr(fi, "ATTENTION_BLOCK_BYTES", 4 * model.n_sub * a * block_rows)
        monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    x = _x(13, model.t_in)
    with torch.inference_mode():
        ref = model(x)
        fast = fi.FastAttentionDecoder(model, dtype=torch.float32)(x)
    assert fast.shape == ref.shape == (13, model.t_out)
    assert torch.allclose(fast, ref, rtol=0, atol=FP32_TOL)


@pytest.mark.parametrize("limit, split_steps", [(0.0, 0), (3.0, 4), (1e9, 7)])
def test_attention_outside_the_exp_split_range_falls_back_exactly(monkeypatch, limit, split_steps):
    """Keys or queries beyond EXP_SPLIT_LIMIT take add + sigmoid: here all 7 steps, 3 of them, or none."""
    model = _tiny(t_in=8, t_out=7)
    with torch.no_grad():                   # keys up to |1.4|, queries up to several units
        model.attn_keys.weight.mul_(4)
        model.attn_query.weight.mul_(12)
    monkeypatch.setattr(fi, "EXP_SPLIT_LIMIT", limit)
    monkeypatch.setattr(fi, "ATTENTION_BLOCK_BYTES", 4 * model.n_sub * model.attention_size * 17)  # one block
    calls = []
    addcmul = torch.addcmul
    monkeypatch.setattr(torch, "addcmul", lambda *a, **k: calls.append(1) or addcmul(*a, **k))
    x = _x(17, 8)
    with torch.inference_mode():
        ref = model(x)
        fast = fi.FastAttentionDecoder(model)(x)
    assert len(calls) == split_steps
    assert torch.allclose(fast, ref, rtol=0, atol=FP32_TOL)


@pytest.mark.parametrize("kw", [{}, {"t_in": 9, "t_out": 4, "sub_len": 3}])
def test_fast_bf16_is_close_to_the_reference(kw):
    model = _tiny(**kw)
    x = _x(32, model.t_in)
    with torch.inference_mode():
        ref = model(x)
        fast = fi.FastAttentionDecoder(model, dtype=torch.bfloat16)(x)
    assert fast.dtype == torch.float32 and fast.shape == ref.shape
    err = (fast - ref).abs().max().item()
    assert 0 < err < BF16_TOL  # > 0: the products really ran in bfloat16


def test_samples_do_not_interact_and_any_batch_size_works():
    model = _tiny(t_in=8, t_out=5, sub_len=2)
    trained, X = _trained(model, n=23)
    whole = trained.predict(X, precision="fp32", batch_size=512)
    for batch in (1, 7, 22):
        assert np.allclose(trained.predict(X, precision="fp32", batch_size=batch), whole, rtol=0, atol=FP32_TOL)
    one = trained.predict(X[5:6], precision="fp32")
    assert np.allclose(one, whole[5:6], rtol=0, atol=FP32_TOL)


@pytest.mark.parametrize("precision", ["auto", "fp32", "bf16"])
def test_nan_radar_rows_get_all_nan_outputs_like_the_reference(precision):
    trained, X = _trained(_tiny(), n=21)
    X[[0, 7, 20], 3, 1] = np.nan
    X[11, :, 0] = np.inf
    ref = trained.predict(X, precision="reference", batch_size=8)
    fast = trained.predict(X, precision=precision, batch_size=8)
    bad = [0, 7, 11, 20]
    assert np.isnan(ref[bad]).all() and np.isnan(fast[bad]).all()
    good = np.setdiff1d(np.arange(21), bad)
    assert np.isfinite(fast[good]).all()
    assert np.allclose(fast[good], ref[good], rtol=0, atol=BF16_TOL)


def test_reference_precision_is_the_models_own_forward():
    model = _tiny()
    trained, X = _trained(model, n=10)
    assert fi.inference_engine(model, "reference") is model
    with torch.inference_mode():
        own = model(torch.from_numpy(trained.normalizer.transform(X))).numpy()
    assert np.array_equal(trained.predict(X), own)            # the default stays the reference
    assert np.array_equal(trained.predict(X, precision="reference"), own)


def test_unknown_precision_is_refused_with_the_choices():
    trained, X = _trained(_tiny(), n=4)
    with pytest.raises(ModelConfigError, match="fp16.*auto, bf16, fp32, reference"):
        trained.predict(X, precision="fp16")


@pytest.mark.parametrize("native", [True, False])
def test_auto_chooses_bf16_only_where_native_and_where_it_pays(monkeypatch, native):
    monkeypatch.setattr(fi, "native_bf16", lambda device="cpu": native)
    mcnn = _tiny()
    rnn = RNNBaseline(t_in=6, t_out=6, hidden_size=4).eval()
    cnn = CNNBaseline(t_in=6, t_out=6, filters=(3,)).eval()
    assert fi.resolve_precision("auto", mcnn) == ("bf16" if native else "fp32")
    assert fi.resolve_precision("auto", rnn) == ("bf16" if native else "reference")
    assert fi.resolve_precision("auto", cnn) == "reference"   # the small CNN gains too little
    assert fi.resolve_precision("fp32", rnn) == "reference"   # no faster float32 path for it
    assert fi.resolve_precision("bf16", cnn) == "bf16"        # asked for explicitly
    assert isinstance(fi.inference_engine(mcnn, "auto"), fi.FastAttentionDecoder)
    assert isinstance(fi.inference_engine(rnn, "bf16"), fi.CastModel)


@pytest.mark.parametrize("cls", [RNNBaseline, CNNBaseline])
def test_bf16_copy_of_the_baselines_is_close(cls):
    model = cls(t_in=6, t_out=6).eval()
    trained, X = _trained(model, n=16)
    ref = trained.predict(X, precision="reference")
    fast = trained.predict(X, precision="bf16")
    assert np.abs(fast - ref).max() < BF16_TOL
    assert next(model.parameters()).dtype == torch.float32      # the trained model itself is untouched


def test_only_mcnn_seq_structure_gets_the_fast_decoder():
    assert fi.has_attention_decoder(_tiny())
    cnn = CNNBaseline(t_in=6, t_out=6)
    assert not fi.has_attention_decoder(cnn)
    with pytest.raises(ModelConfigError, match="not an attention encoder-decoder"):
        fi.FastAttentionDecoder(cnn)


class _FusionLike(MCNNSeq):
    """A stand-in for the coming fusion variant: a third input channel with its own CNN branch (wider
    encoder input) and a head with two outputs per step, of which the first is fed back."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.branches.append(_PolarisationBranch(conv1_filters=self.conv1_filters, conv2_filters=self.conv2_filters))
        self.encoder = nn.LSTM(3 * self.conv2_filters, self.hidden_size, num_layers=self.encoder_layers,
                               batch_first=True)
        self.head = nn.Linear(2 * self.hidden_size, 2)

    def features(self, x):
        return torch.cat([branch(x[:, :, k], self.sub_len) for k, branch in enumerate(self.branches)], dim=2)

    def forward(self, x):
        """The paper's decoder written plainly (tanh attention), feeding back the head's first output."""
        enc_out, (h_n, c_n) = self.encoder(self.features(x))
        h, c = h_n[-1], c_n[-1]
        y = self.start.expand(x.shape[0], 1)
        outputs = []
        for _ in range(self.t_out):
            energy = torch.tanh(self.attn_keys(enc_out) + self.attn_query(h).unsqueeze(1))
            alpha = torch.softmax(self.attn_score(energy).squeeze(2), dim=1)
            context = (alpha.unsqueeze(2) * enc_out).sum(1)
            h, c = self.decoder(torch.cat((y, context), dim=1), (h, c))
            out = self.head(torch.cat((h, context), dim=1))
            outputs.append(out)
            y = out[:, :1]
        return torch.stack(outputs, dim=1)                                  # (B, t_out, 2)


def test_sizes_come_from_the_weights_a_wider_front_end_and_a_two_output_head():
    torch.manual_seed(3)
    model = _FusionLike(t_in=6, t_out=4, conv1_filters=3, conv2_filters=4, hidden_size=7).eval()
    x = _x(9, 6, c=3)
    with torch.inference_mode():
        ref = model(x)
        fast = fi.FastAttentionDecoder(model)(x)
        fast_bf16 = fi.FastAttentionDecoder(model, dtype=torch.bfloat16)(x)
    assert ref.shape == fast.shape == (9, 4, 2)
    assert torch.allclose(fast, ref, rtol=0, atol=FP32_TOL)
    assert torch.allclose(fast_bf16, ref, rtol=0, atol=BF16_TOL)


class _Recorder:
    """A stand-in model whose ``predict`` takes ``precision=`` and records it."""

    def __init__(self):
        self.seen = []

    def predict(self, X, *, precision="reference"):
        self.seen.append(precision)
        return X[:, :, 0] * 0 + 0.5


def test_whole_scene_prediction_uses_the_scene_precision_and_takes_another(tiny_cube):
    assert SCENE_PRECISION == "auto" and SCENE_PRECISION in PRECISIONS
    model = _Recorder()
    predict_cube(model, tiny_cube, chunk_pixels=40)
    assert model.seen and set(model.seen) == {SCENE_PRECISION}
    model.seen.clear()
    predict_cube(model, tiny_cube, precision="reference")
    assert model.seen == ["reference"]


def test_cli_predict_precision_flag(tmp_path, capsys):
    import xarray as xr
    from conftest import make_tiny_cube

    from mcnnseq.checkpoints import save_checkpoint
    from mcnnseq.cli import main
    from mcnnseq.io import write_netcdf

    scene = write_netcdf(make_tiny_cube(nt=6, ny=4, nx=5), tmp_path / "scene.nc")
    trained, _ = _trained(_tiny(), n=32)
    ckpt = save_checkpoint(trained, tmp_path / "m.pt")
    outs = {}
    for precision in ("reference", "bf16"):
        path = tmp_path / f"{precision}.nc"
        assert main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", str(path),
                     "--precision", precision]) == 0
        with xr.open_dataset(path) as ds:
            outs[precision] = ds["ndvi_pred"].values
    assert np.abs(outs["bf16"] - outs["reference"]).max() < BF16_TOL
    with pytest.raises(SystemExit):
        main(["predict", "--model", str(ckpt), "--data", str(scene), "-o", "x.nc", "--precision", "fp16"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine: the GPU path is not run")
def test_cuda_fast_path_matches_the_cpu_reference():
    model = _tiny(t_in=9, t_out=4, sub_len=3)
    x = _x(300, 9)
    with torch.inference_mode():
        ref = model(x)
        gpu = model.to("cuda")
        out32 = fi.FastAttentionDecoder(gpu, dtype=torch.float32)(x.cuda()).cpu()
        assert torch.allclose(out32, ref, rtol=0, atol=1e-4)        # TF32 may be on for CUDA products
        if fi.native_bf16("cuda"):
            out16 = fi.FastAttentionDecoder(gpu, dtype=torch.bfloat16)(x.cuda()).cpu()
            assert torch.allclose(out16, ref, rtol=0, atol=BF16_TOL)
    trained, X = _trained(gpu, n=50)
    assert trained.device.type == "cuda"
    assert np.isfinite(trained.predict(X, precision="auto")).all()
    assert np.abs(trained.predict(X, precision="auto") - trained.predict(X, precision="reference")).max() < BF16_TOL
