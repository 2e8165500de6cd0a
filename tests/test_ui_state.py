"""mcnnseq.ui.state: one workspace per session; widget choices survive runs that do not draw the widget."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from mcnnseq.ui import state

    if st.session_state.get("show", True):
        opts = ["a", "b", "c"]
        if st.session_state.get("fewer"):
            opts = ["a", "c"]
        st.radio("Pick", opts, **state.remember("pick", "a", options=opts))
        st.multiselect("Many", ["x", "y", "z"], **state.remember("many", ["x", "y"], options=["x", "y", "z"],
                                                                 multi=True, on_change=lambda v: st.session_state.update(seen=v)))
    st.session_state["ws_id"] = id(state.workspace())


def test_a_choice_survives_a_run_without_its_widget():
    at = AppTest.from_function(_script, default_timeout=30)
    at.run()
    assert at.radio(key="_w_pick").value == "a"
    at.radio(key="_w_pick").set_value("b").run()
    at.session_state["show"] = False
    at.run()  # another "page": the widget is not drawn, Streamlit forgets its own key
    assert at.session_state["pick"] == "b"
    at.session_state["show"] = True
    at.run()
    assert at.radio(key="_w_pick").value == "b"


def test_a_choice_no_longer_offered_falls_back_and_callbacks_see_the_value():
    at = AppTest.from_function(_script, default_timeout=30)
    at.run()
    at.radio(key="_w_pick").set_value("b").run()
    at.session_state["fewer"] = True
    at.run()
    assert at.radio(key="_w_pick").value == "a"
    at.multiselect(key="_w_many").set_value(["z"]).run()
    assert at.session_state["seen"] == ["z"] and at.session_state["many"] == ["z"]


def test_one_workspace_per_session():
    at = AppTest.from_function(_script, default_timeout=30)
    at.run()
    first = at.session_state["ws_id"]
    at.run()
    assert at.session_state["ws_id"] == first
    other = AppTest.from_function(_script, default_timeout=30)
    other.run()
    assert other.session_state["ws_id"] != first
