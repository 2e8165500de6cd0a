"""Tests of mcnnseq.normalization: per-channel standardisation fitted on training radar only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcnnseq.errors import DatacubeError
from mcnnseq.normalization import Normalizer


def _radar(n: int = 50, t: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vv = rng.normal(-12.0, 3.0, (n, t))
    vh = rng.normal(-19.0, 1.5, (n, t))
    return np.stack([vv, vh], axis=-1).astype(np.float32)


def test_fit_is_per_channel_and_ignores_nan():
    x = _radar()
    x[3, 2, 0] = np.nan
    x[7, :, 1] = np.nan
    norm = Normalizer.fit(x)
    for c in range(2):
        assert norm.mean[c] == pytest.approx(float(np.nanmean(x[..., c].astype(np.float64))), rel=1e-9)
        assert norm.std[c] == pytest.approx(float(np.nanstd(x[..., c].astype(np.float64))), rel=1e-9)
    assert norm.mean[0] > norm.mean[1]  # VV is brighter than VH: channels were not mixed


def test_transform_standardises_and_keeps_nan():
    x = _radar()
    x[0, 0, 1] = np.nan
    z = Normalizer.fit(x).transform(x)
    assert z.dtype == np.float32 and z.flags["C_CONTIGUOUS"] and z.shape == x.shape
    assert np.isnan(z[0, 0, 1]) and np.isfinite(z[0, 0, 0])
    np.testing.assert_allclose(np.nanmean(z, axis=(0, 1)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.nanstd(z, axis=(0, 1)), 1.0, atol=1e-5)


def test_inverse_undoes_transform():
    x = _radar()
    norm = Normalizer.fit(x)
    np.testing.assert_allclose(norm.inverse(norm.transform(x)), x, atol=1e-4)


def test_constant_channel_is_only_centred():
    x = _radar()
    x[..., 1] = -20.0
    norm = Normalizer.fit(x)
    assert norm.std[1] == 1.0
    assert np.all(norm.transform(x)[..., 1] == 0.0)


def test_dict_round_trip_is_json_able():
    norm = Normalizer.fit(_radar())
    d = json.loads(json.dumps(norm.to_dict()))
    assert Normalizer.from_dict(d) == norm


@pytest.mark.parametrize("bad", [{"mean": [0.0], "std": [1.0, 1.0]}, {"mean": [0.0, 0.0], "std": [1.0, 0.0]},
                                 {"std": [1.0, 1.0]}, {"mean": [0, 0], "std": [1, 1], "channels": ["vh", "vv"]}])
def test_from_dict_rejects_malformed(bad):
    with pytest.raises(ValueError):
        Normalizer.from_dict(bad)


def test_bad_shape_names_source():
    with pytest.raises(DatacubeError, match=r"my file.*\(n, T, 2\)"):
        Normalizer.fit(np.zeros((4, 5), np.float32), source="my file")
    with pytest.raises(DatacubeError, match="floating"):
        Normalizer.fit(np.zeros((4, 5, 2), np.int64))


def test_all_nan_channel_is_refused():
    x = _radar()
    x[..., 1] = np.nan
    with pytest.raises(DatacubeError, match="vh"):
        Normalizer.fit(x)
