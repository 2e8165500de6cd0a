"""Per-channel standardisation of the radar input (VV, VH in dB).

The mean and standard deviation of each polarisation are fitted on the *training* inputs only
(NaN-aware) and travel with the trained model (and its checkpoint), so that prediction applies
exactly the transform the model was trained with. NDVI targets are **not** normalised: they are
already in [-1, 1] and the loss, R² and RMSE are then in NDVI units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcnnseq.errors import DatacubeError

CHANNELS: tuple[str, str] = ("vv", "vh")

#: A channel whose spread is below this (dB) is only centred, not scaled (avoids dividing by ~0).
MIN_STD_DB: float = 1e-6


def check_radar_array(X: np.ndarray, *, source: str = "model input") -> np.ndarray:
    """Return ``X`` as a float32 array after checking its shape is ``(n, T, 2)`` (VV, VH in dB).

    Raises :class:`DatacubeError` naming ``source`` otherwise.
    """
    arr = np.asarray(X)
    if arr.ndim != 3 or arr.shape[-1] != 2:
        raise DatacubeError(f"radar input must have shape (n, T, 2) with VV, VH in dB, got {arr.shape}",
                            source=source, variable="vv/vh")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DatacubeError(f"radar input must be floating point (dB), got dtype {arr.dtype}",
                            source=source, variable="vv/vh")
    return arr.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Normalizer:
    """``x_norm = (x_dB - mean) / std`` per channel; ``mean``, ``std`` are (VV, VH) in dB."""

    mean: tuple[float, float]
    std: tuple[float, float]

    @classmethod
    def fit(cls, X: np.ndarray, *, source: str = "training data") -> "Normalizer":
        """Fit on ``X`` (n, T, 2) dB, ignoring NaNs. Raises :class:`DatacubeError` if a channel has no value."""
        arr = check_radar_array(X, source=source)
        mean, std = [], []
        for c, name in enumerate(CHANNELS):
            values = arr[..., c]
            finite = values[np.isfinite(values)].astype(np.float64)
            if finite.size == 0:
                raise DatacubeError("no finite value to fit the input normalisation on", source=source,
                                    variable=name)
            m, s = float(finite.mean()), float(finite.std())
            mean.append(m)
            std.append(s if s > MIN_STD_DB else 1.0)
        return cls(mean=(mean[0], mean[1]), std=(std[0], std[1]))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` (n, T, 2) dB -> (n, T, 2) float32 standardised, C-contiguous (NaN stays NaN)."""
        arr = check_radar_array(X)
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray((arr - mean) / std, dtype=np.float32)

    def inverse(self, Xn: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: standardised (n, T, 2) -> dB float32."""
        arr = np.asarray(Xn, dtype=np.float32)
        return (arr * np.asarray(self.std, np.float32) + np.asarray(self.mean, np.float32)).astype(np.float32)

    def to_dict(self) -> dict:
        """JSON-able form (stored in checkpoints)."""
        return {"channels": list(CHANNELS), "mean": [float(v) for v in self.mean],
                "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed dict."""
        try:
            mean = [float(v) for v in d["mean"]]
            std = [float(v) for v in d["std"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed normalisation record: {exc}") from exc
        if len(mean) != 2 or len(std) != 2 or not all(np.isfinite(mean + std)) or min(std) <= 0:
            raise ValueError(f"malformed normalisation record: mean={mean}, std={std}")
        if list(d.get("channels", CHANNELS)) != list(CHANNELS):
            raise ValueError(f"normalisation channels {d.get('channels')} are not {list(CHANNELS)}")
        return cls(mean=(mean[0], mean[1]), std=(std[0], std[1]))
