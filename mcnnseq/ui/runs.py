"""Background work of the dashboard and its progress: the training job, the shipped models' warm-up.

* The session's :class:`~mcnnseq.ui.jobs.TrainingJob` trains in a thread; :func:`harvest` turns its
  finished models into runs of the workspace (once), whichever page is open.
* :func:`warm_up` scores and predicts the shipped demo models in a background thread, once per
  server, so the first visit to Dates, Crops, Map or Export does not wait for it.
* :func:`progress_bar` turns the workspace's progress callbacks into a Streamlit progress bar.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import streamlit as st

from mcnnseq.memo import Progress
from mcnnseq.ui.jobs import TrainingJob
from mcnnseq.workspace import Workspace

K_JOB = "mcnn_job"

#: cube keys whose shipped models' warm-up was started in this server process
_WARMED: set[str] = set()
_WARM_LOCK = threading.Lock()


# ----------------------------------------------------------------------------------------- training

def job() -> TrainingJob | None:
    """The session's training job (running or finished), if any."""
    return st.session_state.get(K_JOB)


def running_job_progress() -> TrainingJob | None:
    """Inside a fragment that refreshes itself: draw the running job's progress bar and return the job;
    None (nothing drawn) without a job. A finished job reruns the whole app (its models become runs)."""
    j = job()
    if j is None:
        return None
    if not j.running:
        st.rerun()
    st.progress(j.progress, text=j.progress_text())
    return j


def start_training(ws: Workspace, configs: Sequence, *, preset: str, label: str) -> TrainingJob:
    """Train ``configs`` (one ``TrainConfig`` per model) on the shown cube's experiment, in a thread."""
    new = TrainingJob(experiment=ws.experiment(), configs=list(configs), cube_key=ws.cube.key, label=label,
                      preset=preset)
    st.session_state[K_JOB] = new.start()
    return new


def harvest(ws: Workspace) -> TrainingJob | None:
    """When the session's job has ended, add its trained models to the workspace as new runs (once)."""
    j = job()
    if j is not None and not j.running and j.harvested is None:
        j.harvested = [ws.add_run(trained, preset=j.preset, origin="trained", description=j.label,
                                  cube_key=j.cube_key).id
                       for trained in j.results.values()]
    return j


# ----------------------------------------------------------------------------------------- progress

@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A :data:`~mcnnseq.memo.Progress` drawing a progress bar where this is called; the bar appears at
    the first report (nothing is drawn when the result was ready) and is removed at the end."""
    slot = st.empty()
    bar = None

    def report(fraction: float, text: str) -> None:
        nonlocal bar
        value = min(max(float(fraction), 0.0), 1.0)
        if bar is None:
            bar = slot.progress(value, text=text)
        else:
            bar.progress(value, text=text)

    try:
        yield report
    finally:
        slot.empty()


# ----------------------------------------------------------------------------------------- warm-up

def warm_up(ws: Workspace) -> threading.Thread | None:
    """Score and predict the shown cube's shipped models in a background thread, once per server.

    ``MCNNSEQ_WARM_UP=0`` in the environment turns this off (the in-process AppTests do). Returns
    the thread started, or None.
    """
    if os.environ.get("MCNNSEQ_WARM_UP", "1") == "0":
        return None
    cube = ws.cube
    shipped = [r for r in ws.runs() if r.origin == "shipped"]
    if not shipped:
        return None
    with _WARM_LOCK:
        if cube.key in _WARMED or ws.has_scene_predictions(shipped):
            return None
        _WARMED.add(cube.key)
    # not a daemon: a thread killed inside torch at interpreter exit aborts the process
    thread = threading.Thread(target=_warm, args=(ws, shipped, cube), name="mcnnseq-warm-up", daemon=False)
    thread.start()
    return thread


def _warm(ws: Workspace, runs, cube) -> None:
    try:
        ws.warm_up(runs, cube=cube)
    except Exception:  # noqa: BLE001  (a page asking for these results computes them and shows the error)
        with _WARM_LOCK:
            _WARMED.discard(cube.key)
