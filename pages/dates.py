"""Dates page: per-date R²/RMSE of the runs compared (Table 4), density scatter and error histograms."""

import numpy as np
import pandas as pd
import streamlit as st

from mcnnseq.ui import page, plots, runs, state

ws, cube = page.start("Accuracy per date", "scores on the test pixels, against " + (
    "the NDVI under the clouds (known because the scene is simulated)." if state.workspace().cube.has_truth
    else "the observed NDVI (dates without any observation are predicted, never scored)."))
compared = page.runs_or_stop(ws)
with runs.progress_bar() as progress:
    ev = page.or_stop("The runs cannot be scored on this dataset", lambda: ws.evaluation(compared, progress=progress))
colors = plots.run_colors([(r.name, r.kind) for r in compared])
elsewhere = ws.other_split(compared)
if elsewhere:
    st.warning(f"{', '.join(elsewhere)}: trained under another protocol or split of this dataset than the one chosen "
               "on the Train page, so some of these test pixels may have been its training pixels.",
               icon=":material/warning:")

table = ev.per_date
per_date = table.drop(index="mean", errors="ignore")
per_date.index = pd.DatetimeIndex(per_date.index)
dates = [str(d.date()) for d in per_date.index]

from mcnnseq.experiment import MIN_SCORED  # noqa: E402
from mcnnseq.paper import S2_DATES, table4  # noqa: E402

paper_dates = tuple(dates) == tuple(S2_DATES)
kinds = list(dict.fromkeys(r.kind for r in compared))
c1, c2 = st.columns([1, 2])
metric = c1.radio("Metric", ["r2", "rmse"], horizontal=True, format_func={"r2": "R²", "rmse": "RMSE"}.get,
                  **state.remember("dates_metric", "r2", options=["r2", "rmse"]))
show_paper = c2.checkbox("Show the paper's Table 4 (dotted)", disabled=not paper_dates,
                         help="Only for the paper's 31 dates (the demo scene).",
                         **state.remember("dates_paper", False)) and paper_dates
reference = None
if show_paper:
    paper = table4()
    reference = paper[[k for k in paper.columns.get_level_values(0).unique() if k in kinds]]
    if cube.simulated:
        c2.warning("The dotted lines are the paper's scores on the **real** Imperial Valley scene (Table 4); "
                   "the solid ones are scores on this SIMULATED scene. Compare their shapes, not their values.",
                   icon=":material/warning:")
st.plotly_chart(plots.per_date_chart(per_date, metric=metric, reference=reference, simulated=cube.simulated,
                                     colors=colors,
                                     reference_label="paper, real data" if cube.simulated else "paper"),
                width="stretch", key="dates_chart")

st.subheader("Table 4 form")
shown = table[[c for c in table.columns if c[1] in ("r2", "rmse")]].astype(float)
shown.index = [str(pd.Timestamp(i).date()) if i != "mean" else "mean" for i in shown.index]
shown.columns = [f"{m} {'R²' if k == 'r2' else 'RMSE'}" for m, k in shown.columns]
st.dataframe(shown.style.format("{:.4f}", na_rep="—"), width="stretch", height=35 * (len(shown) + 1) + 3,
             key="dates_table")
st.caption("Dates with no truth show — (predicted, never scored); the mean row averages the scored dates.")

st.subheader("Error by gap length")
from mcnnseq.workspace import GAP_GROUPS, gap_table  # noqa: E402

if ev.by_gap.empty or not np.isfinite(ev.by_gap[["r2", "rmse"]].to_numpy(float)).any():
    st.info("No test pixel has enough observed dates to hide a gap on it (at least two others must stay observed).")
else:
    st.plotly_chart(plots.gap_chart(ev.by_gap, ev.by_days, metric=metric, simulated=cube.simulated, colors=colors),
                    width="stretch", key="dates_gap_chart")
    gaps = gap_table(ev)
    shown_gaps = gaps[[c for c in gaps.columns if c[1] in ("r2", "rmse")]].astype(float)
    shown_gaps.columns = [f"{m} {'R²' if k == 'r2' else 'RMSE'}" for m, k in shown_gaps.columns]
    shown_gaps.index = [f"{v} date{'s' if v != '1' else ''} missing" if g == GAP_GROUPS[0]
                        else (f"{v} days since clear" if v[0].isdigit() or v[0] == ">" else v)
                        for g, v in gaps.index]
    st.dataframe(shown_gaps.style.format("{:.4f}", na_rep="—"), width="stretch", key="dates_gap_table")
    first = gaps.columns[0][0]
    st.caption("On each test pixel, k consecutive **observed** dates (k = 1 … 4, where the series allows) are hidden "
               "(seeded), the runs predict them, and the hidden values are the truth: runs that fill from the NDVI "
               "(the classic gap-fillers) see the rest of the series, radar-only networks need none. Right: the same "
               "hidden values by days from the last clear date before the gap. — : fewer than "
               f"{int(MIN_SCORED)} hidden values (counts: {', '.join(f'{v}: {int(n):,}' for (_, v), n in zip(gaps.index, gaps[(first, 'n')]))}).")

st.subheader("One date")
scored = [d for d, n in zip(dates, np.isfinite(ev.truth).sum(axis=0)) if n > 0]
if not scored:
    st.info("No date has any truth to score against.")
    st.stop()
c1, c2 = st.columns([3, 1])
date = c1.select_slider("Date", options=scored,
                        **state.remember(f"dates_date:{cube.key}", scored[len(scored) // 2], options=scored))
names = [r.name for r in compared]
name = c2.selectbox("Density scatter of", names, **state.remember("dates_run", names[0], options=names))
j = dates.index(date)
from mcnnseq.metrics import density_scatter, error_histogram  # noqa: E402

truth = ev.truth[:, j]
sim = " — SIMULATED" if cube.simulated else ""
left, right = st.columns(2)
h2 = density_scatter(truth, ev.predictions[name][:, j], bins=80)
r2 = per_date.loc[pd.Timestamp(date), (name, "r2")]
rmse = per_date.loc[pd.Timestamp(date), (name, "rmse")]
left.plotly_chart(plots.density_figure(h2.counts, h2.x_edges, h2.y_edges,
                                       title=f"{name}, {date}<br>R² {r2:.3f}, RMSE {rmse:.3f}" + sim),
                  width="stretch", key="dates_density")
hists = {}
for run_name, pred in ev.predictions.items():
    h = error_histogram(truth, pred[:, j])
    hists[run_name] = (h.counts, h.edges)
right.plotly_chart(plots.error_hist_figure(hists, title=f"Errors on {date}<br>prediction − truth" + sim, colors=colors),
                   width="stretch", key="dates_hist")
