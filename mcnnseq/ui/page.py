"""What every page starts with: its title and dataset line, the runs it compares (or why there are none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import runs, state
from mcnnseq.workspace import Cube, Run, Workspace

T = TypeVar("T")


def start(title: str, caption: str | None = "") -> tuple[Workspace, Cube]:
    """The page's title and dataset line (none when ``caption`` is None); returns the session's workspace
    and the cube shown. A finished training job's models become runs here too (``app.py`` does it as
    well, but a page must not depend on the frame having run first)."""
    st.title(title)
    ws = state.workspace()
    runs.harvest(ws)
    ws.offer_classic()  # the classic gap-fillers are runs of every cube (app.py does it too)
    cube = ws.cube
    if caption is not None:
        st.caption(f"Dataset: **{cube.title}**" + (f" — {caption}" if caption else ""))
    return ws, cube


def runs_or_stop(ws: Workspace, *, purpose: str = "") -> list[Run]:
    """The ticked runs (the shipped demo models offered first); with none, say why and stop the page."""
    message = ws.offer_shipped()
    if message:
        st.warning(message)
    ticked = ws.ticked()
    if not ticked:
        st.info("No run is ticked in the sidebar: tick one there (the classic gap-fillers “Linear · classic” and "
                f"“Whittaker · classic” need no training) or train a network on the **Train** page{purpose}.",
                icon=":material/info:")
        st.stop()
    return ticked


def or_stop(what: str, fn: Callable[[], T]) -> T:
    """``fn()``; a :class:`McnnSeqError` is shown as ``what: message`` and stops the page."""
    try:
        return fn()
    except McnnSeqError as err:
        st.error(f"{what}: {err}")
        st.stop()
        raise  # unreachable: st.stop raises
