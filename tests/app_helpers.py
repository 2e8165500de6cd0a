"""What every AppTest page test needs: the folium stand-in, the exception check, reading plotly charts."""

from __future__ import annotations

import base64
import json
from unittest.mock import patch

import numpy as np
from streamlit.testing.v1 import AppTest


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def fake_map(result=None):
    """A stand-in for streamlit_folium.st_folium (AppTest cannot run folium) that records the folium map
    it is given and returns ``result`` (default: no click)."""
    return patch("streamlit_folium.st_folium", return_value=result or {"last_clicked": None})


def chart(at: AppTest, key: str) -> dict:
    """The plotly figure JSON of the chart with ``key``."""
    for el in at.get("plotly_chart"):
        if el.proto.id and key in el.proto.id or getattr(el, "key", None) == key:
            return json.loads(el.proto.spec)
    raise AssertionError(f"no plotly chart {key!r}")


def values(v) -> np.ndarray:
    """A plotly JSON array: a list (None = NaN) or plotly 6's typed array ``{"dtype", "bdata"}``."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return arr.reshape(v["shape"]) if "shape" in v else arr
    return np.array([np.nan if x is None else x for x in v], dtype=float)
