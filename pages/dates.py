"""Dates page: per-date R²/RMSE of every trained model (Table 4), density scatter and error histogram."""

import numpy as np
import pandas as pd
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import plots, runs, state

st.title("Accuracy per date")
cube = state.current_cube()
st.caption(f"Dataset: **{cube.title}** — scores on the test pixels, against "
           + ("the NDVI under the clouds (known because the scene is simulated)." if "ndvi_true" in cube.ds.variables
              else "the observed NDVI (dates without any observation are predicted, never scored)."))
active = runs.runs_or_stop(cube)
try:
    ev = runs.evaluation(cube, active)
except McnnSeqError as err:
    st.error(f"The models cannot be scored on this dataset: {err}")
    st.stop()

table = ev.per_date
per_date = table.drop(index="mean", errors="ignore")
per_date.index = pd.DatetimeIndex(per_date.index)
dates = [str(d.date()) for d in per_date.index]

paper_dates = False
try:
    from mcnnseq.paper import S2_DATES, table4

    paper_dates = tuple(dates) == tuple(S2_DATES)
except ImportError:
    pass
c1, c2 = st.columns([1, 1])
metric = c1.radio("Metric", ["r2", "rmse"], horizontal=True, format_func={"r2": "R²", "rmse": "RMSE"}.get,
                  key="dates_metric")
show_paper = c2.checkbox("Show the paper's Table 4 (dotted)", value=False, disabled=not paper_dates,
                         key="dates_paper", help="Only for the paper's 31 dates (the demo scene).")
reference = table4()[[m for m in table4().columns.get_level_values(0).unique() if m in active]] \
    if (paper_dates and show_paper) else None
st.plotly_chart(plots.per_date_chart(per_date, metric=metric, reference=reference, simulated=cube.simulated),
                width="stretch", key="dates_chart")

st.subheader("Table 4 form")
shown = table.copy()
shown.index = [str(pd.Timestamp(i).date()) if i != "mean" else "mean" for i in shown.index]
shown.columns = [f"{m} {'R²' if k == 'r2' else 'RMSE'}" for m, k in shown.columns]
st.dataframe(shown.style.format("{:.4f}", na_rep="—"), width="stretch", height=min(38 * (len(shown) + 1), 600),
             key="dates_table")
st.caption("Dates with no truth show — (predicted, never scored); the mean row averages the scored dates.")

st.subheader("One date")
scored = [d for d, n in zip(dates, np.isfinite(ev.truth).sum(axis=0)) if n > 0]
if not scored:
    st.info("No date has any truth to score against.")
    st.stop()
c1, c2 = st.columns([3, 1])
date = c1.select_slider("Date", options=scored, value=scored[len(scored) // 2], key=f"dates_date:{cube.key}")
model = c2.selectbox("Density scatter of", list(active), key="dates_model")
j = dates.index(date)
from mcnnseq.metrics import density_scatter, error_histogram  # noqa: E402

truth = ev.truth[:, j]
sim = " — SIMULATED" if cube.simulated else ""
left, right = st.columns(2)
h2 = density_scatter(truth, ev.predictions[model][:, j], bins=80)
r2 = per_date.loc[pd.Timestamp(date), (model, "r2")]
rmse = per_date.loc[pd.Timestamp(date), (model, "rmse")]
left.plotly_chart(plots.density_figure(h2.counts, h2.x_edges, h2.y_edges,
                                       title=f"{model}, {date}: R² {r2:.3f}, RMSE {rmse:.3f}" + sim),
                  width="stretch", key="dates_density")
hists = {}
for name, pred in ev.predictions.items():
    h = error_histogram(truth, pred[:, j])
    hists[name] = (h.counts, h.edges)
right.plotly_chart(plots.error_hist_figure(hists, title=f"Errors on {date} (prediction − truth)" + sim),
                   width="stretch", key="dates_hist")
