"""This browser session's :class:`~mcnnseq.workspace.Workspace`, and widget choices that survive page changes.

Everything a page works on lives in the workspace (cube, runs, results); this module only keeps it in
``st.session_state``. Streamlit forgets a widget's value when a script run does not draw the widget
(another page is shown); :func:`remember` keeps each choice under a persistent key instead, restores
it before the widget is drawn and copies the user's change back, so the Dates date, the Map date,
the ticked runs… are where the user left them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from mcnnseq.workspace import Workspace

K_WORKSPACE = "mcnn_workspace"
K_MESSAGE = "mcnn_data_message"  # (level, text) shown on the Data page after a load attempt
_PREFIX = "_w_"


def workspace() -> Workspace:
    """This session's workspace (made on first use, with the server-wide caches of :mod:`mcnnseq.ui.cache`)."""
    ws = st.session_state.get(K_WORKSPACE)
    if ws is None:
        from mcnnseq.ui import cache

        ws = Workspace(simulate=cache.simulate, shipped_models=cache.shipped_models, shared=cache.shared_results(),
                       precomputed=cache.precomputed_predictions, precomputed_scores=cache.precomputed_scores)
        st.session_state[K_WORKSPACE] = ws
    return ws


# ----------------------------------------------------------------------------------------- messages

def set_message(level: str, text: str) -> None:
    """Remember a message (``"error"``, ``"success"``, ``"warning"``) for the Data page to show."""
    st.session_state[K_MESSAGE] = (level, text)


def show_message() -> None:
    msg = st.session_state.get(K_MESSAGE)
    if msg:
        getattr(st, msg[0])(msg[1])


# ----------------------------------------------------------------------------------------- choices

def choice(key: str, default: Any = None) -> Any:
    """The remembered value of the choice ``key`` (``default`` when the user never made it)."""
    return st.session_state.get(key, default)


def set_choice(key: str, value: Any) -> None:
    """Set the choice ``key`` (from a callback or before its widget is drawn)."""
    st.session_state[key] = value


def _valid(value: Any, default: Any, options: Sequence | None, multi: bool) -> Any:
    if options is None:
        return value
    opts = list(options)
    if multi:
        kept = [v for v in (value or []) if v in opts]
        return kept if kept or not value else [v for v in (default or []) if v in opts]
    return value if value in opts else (default if default in opts else (opts[0] if opts else None))


def remember(key: str, default: Any = None, *, options: Sequence | None = None, multi: bool = False,
             on_change: Callable[[Any], None] | None = None) -> dict:
    """Keyword arguments (``key``, ``on_change``) that make a widget remember its value under ``key``.

    ``options``: the widget's options, so a remembered value that is no longer one of them falls
    back to ``default`` (``multi`` for multiselects: values no longer offered are dropped).
    ``on_change(value)`` is called with the new value when the user changes it. Use as
    ``st.radio("Metric", opts, **remember("dates_metric", "r2", options=opts))``.
    """
    value = _valid(st.session_state.get(key, default), default, options, multi)
    st.session_state[key] = value
    wkey = _PREFIX + key
    st.session_state[wkey] = value

    def keep() -> None:
        st.session_state[key] = st.session_state[wkey]
        if on_change is not None:
            on_change(st.session_state[key])

    return {"key": wkey, "on_change": keep}
