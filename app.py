"""MCNN-Seq Studio — the dashboard's frame: page config, navigation over ``pages/``, the shared sidebar.

Run with ``streamlit run app.py``. Everything the pages show comes from :mod:`mcnnseq`; the session's
cube and runs live in :mod:`mcnnseq.ui.state`, so switching pages loses nothing.
"""

from pathlib import Path

import streamlit as st

from mcnnseq.ui import runs, state

st.set_page_config(page_title="MCNN-Seq Studio", page_icon=str(Path(__file__).parent / "assets" / "ui" / "icon.png"), layout="wide")

navigation = st.navigation([
    st.Page("pages/data.py", title="Data", icon=":material/dataset:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/dates.py", title="Dates", icon=":material/calendar_month:"),
    st.Page("pages/crops.py", title="Crops", icon=":material/grass:"),
    st.Page("pages/map.py", title="Map", icon=":material/map:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
])
state.sidebar()
runs.warm_up(state.current_cube())  # the shipped demo models' results, computed in the background
navigation.run()
