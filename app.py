"""MCNN-Seq Studio — the dashboard's frame: page config, navigation over ``pages/``, the shared sidebar.

Run with ``streamlit run app.py``. Everything the pages show comes from the session's
:class:`mcnnseq.workspace.Workspace` (``mcnnseq.ui.state.workspace()``), so switching pages loses nothing.
"""

import os
from pathlib import Path

# Before torch loads: OpenMP threads that spin while they wait for work starve each other on a CPU shared with
# other programs; the app predicts 5-6x faster under load with passive waiting (scripts/measure_omp_wait.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from mcnnseq.ui import runs, sidebar, state  # noqa: E402

st.set_page_config(page_title="MCNN-Seq Studio", page_icon=str(Path(__file__).parent / "assets" / "ui" / "icon.png"),
                   layout="wide")

navigation = st.navigation([
    st.Page("pages/data.py", title="Data", icon=":material/dataset:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/dates.py", title="Dates", icon=":material/calendar_month:"),
    st.Page("pages/crops.py", title="Crops", icon=":material/grass:"),
    st.Page("pages/map.py", title="Map", icon=":material/map:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
])
ws = state.workspace()
runs.harvest(ws)  # a finished training job's models become runs, whichever page is open
ws.offer_shipped()  # the shipped demo models, on the scene they were trained on
ws.offer_classic()  # the classic gap-fillers (no training), unticked: the user ticks them beside the networks
sidebar.draw(ws)
runs.warm_up(ws)  # their results, computed in the background
navigation.run()
