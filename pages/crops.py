"""Crops page: per-crop (or per-field) NDVI profiles ±2σ, observed vs each run, with VV/VH panels (Table 3, Figs. 9–11)."""

import pandas as pd
import streamlit as st

from mcnnseq.paper import TABLE3
from mcnnseq.ui import page, plots, runs, state
from mcnnseq.workspace import FLAT_CURVE_STD

ws, cube = page.start("Crop profiles", "mean NDVI of the test pixels of each class, ±2σ, observed vs predicted.")
compared = page.runs_or_stop(ws)
choices = [v for v in ("crop", "field") if v in cube.ds.variables]
if not choices:
    st.info("This dataset has no crop or field map, so there are no per-crop profiles. Load a cube with a `crop` "
            "variable (or a crop GeoTIFF beside the stacks) on the **Data** page.", icon=":material/info:")
    st.stop()
c1, c2 = st.columns([2, 1])
by = c1.radio("Group pixels by", choices, horizontal=True, format_func={"crop": "crop class", "field": "field"}.get,
              **state.remember("crops_by", choices[0], options=choices)) if len(choices) > 1 else choices[0]
min_pixels = c2.number_input("Smallest class shown (test pixels)", 1, 10_000,
                             help="Classes with fewer test pixels are left out: their mean curve is mostly noise.",
                             **state.remember(f"crops_min:{by}", 10 if by == "field" else 1))
with runs.progress_bar() as progress:
    view = page.or_stop("Cannot compute the profiles", lambda: ws.crop_view(compared, by=by, progress=progress))
colors = plots.run_colors([(r.name, r.kind) for r in compared])
codes = view.codes(min_pixels=int(min_pixels))
if not codes:
    st.info(f"No {by} has {int(min_pixels)} test pixels or more: lower the smallest class shown.")
    st.stop()

st.subheader("Agreement of the mean curves (Table 3 form)")
rows = []
for code in codes:
    row = {"class": view.label(code), "test pixels": int(view.classes.at[code, "test_pixels"])}
    for r in compared:
        row[f"{r.name} R²"] = view.agreement.at[code, (r.name, "r2")] if (r.name, "r2") in view.agreement else None
        row[f"{r.name} RMSE"] = view.agreement.at[code, (r.name, "rmse")] if (r.name, "rmse") in view.agreement else None
    if by == "crop" and cube.simulated:
        row["paper MCNN-Seq R² (real data)"] = f"{TABLE3[code][0]:.3f}" if code in TABLE3 else "—"
    rows.append(row)
table = pd.DataFrame(rows).set_index("class")
scores = [c for c in table.columns if c.endswith((" R²", " RMSE")) and not c.startswith("paper")]
st.dataframe(table.style.format("{:.3f}", na_rep="—", subset=scores), width="stretch", key="crops_table")
n_flat = int(view.classes.loc[codes, "flat"].sum())
st.caption("R² and RMSE between the observed and the predicted mean NDVI curve of each class over the scored dates."
           + (f" {n_flat} class(es) have a flat observed curve (standard deviation over the dates below "
              f"{FLAT_CURVE_STD:g} NDVI, the noise of one NDVI value): an R² against it measures noise, so none is shown "
              "(—)." if n_flat else "")
           + (" The paper's values (Table 3) are for one field per crop of the real Imperial Valley; ours are for "
              "every test pixel of the class in the SIMULATED scene." if by == "crop" and cube.simulated else ""))

st.subheader("Profiles")
label = "Crop" if by == "crop" else "Field"
if by == "field" and len(codes) > 200:
    st.caption(f"{len(codes)} fields; choose one by its id.")
code = st.selectbox(label, codes, format_func=view.label,
                    **state.remember(f"crops_class:{cube.key}:{by}", codes[0], options=codes))
bands = ["sigma", "spread"]
band = st.radio("Band around each run", bands, horizontal=True,
                format_func={"sigma": "model uncertainty (±2σ)", "spread": "spread of the pixels (±2 SD)"}.get,
                help="±2σ: the run's own uncertainty (root-mean-square σ of the class's test pixels), where about "
                     "95 % of true values lie; ±2 SD: how much the class's pixels differ from each other.",
                **state.remember("crops_band", "sigma", options=bands))
sigma = {}
if band == "sigma":
    with runs.progress_bar() as progress:
        sigma = page.or_stop("Cannot compute the uncertainty", lambda: ws.profile_sigma(compared, by=by,
                                                                                        progress=progress))
    sigma = {name: frame[frame[by] == code] for name, frame in sigma.items()}
fig = plots.crop_profile_figure(view.observed(code), view.radar_of(code),
                                title=f"{view.label(code)} — mean of the test pixels",
                                model_profiles=view.predicted(code), cloudy_dates=view.cloudy_dates[code],
                                simulated=cube.simulated, colors=colors, model_sigma=sigma)
st.plotly_chart(fig, width="stretch", key="crops_chart")
no_sigma = [r.name for r in compared if band == "sigma" and r.name not in sigma]
st.caption("Grey bands: dates on which more than half of this class's pixels were cloudy in the optical data. "
           "The observed curve's band is the spread of its pixels (±2 SD)."
           + (f" No σ for {', '.join(no_sigma)} (no uncertainty model): their band is the pixels' spread."
              if no_sigma else ""))
