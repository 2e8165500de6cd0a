"""mcnnseq.ui.runs: a finished job's models become new runs once; progress bars appear only when there is a wait."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _harvest_script():
    import streamlit as st

    from mcnnseq.ui import runs, state
    from mcnnseq.ui.jobs import TrainingJob

    class Model:
        name = "CNN"

        def predict(self, X):
            return X[..., 0]

    ws = state.workspace()
    if "mcnn_job" not in st.session_state:
        job = TrainingJob(experiment=None, configs=[], cube_key="k", label="quick preset: 1 epoch", preset="quick")
        job.status = "done"
        job.results = {"CNN": Model()}
        st.session_state["mcnn_job"] = job
    runs.harvest(ws)
    runs.harvest(ws)
    st.write(", ".join(f"{r.name}|{r.cube_key}|{r.description}" for r in ws._runs.values()))


def test_a_finished_job_becomes_runs_once():
    at = AppTest.from_function(_harvest_script, default_timeout=30)
    at.run()
    at.run()
    assert at.markdown[0].value == "CNN · quick|k|quick preset: 1 epoch"
    assert len(at.session_state["mcnn_job"].harvested) == 1


def _progress_script():
    import streamlit as st

    from mcnnseq.ui import runs

    with runs.progress_bar() as report:
        if st.session_state.get("work"):
            report(0.5, "half")
            st.session_state["drawn"] = True
    st.write("end")


def test_progress_bar_only_when_reported_and_gone_at_the_end():
    at = AppTest.from_function(_progress_script, default_timeout=30)
    at.run()
    assert not at.get("progress")
    at.session_state["work"] = True
    at.run()
    assert at.session_state["drawn"] and not at.get("progress")  # removed once the work is done


def test_warm_up_is_off_in_tests(monkeypatch):
    from mcnnseq.ui import runs

    monkeypatch.setenv("MCNNSEQ_WARM_UP", "0")
    assert runs.warm_up(object()) is None
