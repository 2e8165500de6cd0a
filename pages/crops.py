"""Crops page: per-crop NDVI profiles ±2σ, observed vs predicted, with VV/VH panels (Table 3, Figs. 9–11)."""

import numpy as np
import pandas as pd
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import plots, runs, state

st.title("Crop profiles")
cube = state.current_cube()
st.caption(f"Dataset: **{cube.title}** — mean NDVI of the test pixels of each class, ±2σ, observed vs predicted.")
active = runs.runs_or_stop(cube)
choices = [v for v in ("crop", "field") if v in cube.ds.variables]
if not choices:
    st.info("This dataset has no crop or field map, so there are no per-crop profiles. Load a cube with a `crop` "
            "variable (or a crop GeoTIFF beside the stacks) on the **Data** page.", icon=":material/info:")
    st.stop()
by = st.radio("Group pixels by", choices, horizontal=True, key="crops_by",
              format_func={"crop": "crop class", "field": "field"}.get) if len(choices) > 1 else choices[0]
try:
    profiles, agreement = runs.crop_results(cube, active, by=by)
except McnnSeqError as err:
    st.error(f"Cannot compute the profiles: {err}")
    st.stop()

from mcnnseq.paper import CROP_CLASSES, TABLE3  # noqa: E402


def class_label(code) -> str:
    return CROP_CLASSES.get(int(code), str(code)) if by == "crop" else f"field {int(code)}"


st.subheader("Agreement of the mean curves (Table 3 form)")
table = agreement.pivot(index=by, columns="model", values=["r2", "rmse"])
table.columns = [f"{m} {'R²' if k == 'r2' else 'RMSE'}" for k, m in table.columns]
table = table[[f"{m} {k}" for m in active for k in ("R²", "RMSE") if f"{m} {k}" in table.columns]]
table["pixels"] = agreement.groupby(by)["n_pixels"].max()
if by == "crop" and cube.simulated:
    table["paper MCNN-Seq R²"] = [f"{TABLE3[int(c)][0]:.3f}" if int(c) in TABLE3 else "—" for c in table.index]
table.index = [class_label(c) for c in table.index]
scores = [c for c in table.columns if c.endswith((" R²", " RMSE")) and not c.startswith("paper")]
st.dataframe(table.style.format("{:.3f}", na_rep="—", subset=scores),
             width="stretch", key="crops_table")
st.caption("R² and RMSE between the observed and the predicted mean NDVI curve of each class over the scored dates. "
           + ("The paper's values (Table 3) are for one field per crop of the real Imperial Valley; ours are for "
              "every test pixel of the class in the SIMULATED scene." if by == "crop" and cube.simulated else ""))

st.subheader("Profiles")
codes = sorted(int(c) for c in profiles[by].unique())
if by == "field" and len(codes) > 200:
    st.caption(f"{len(codes)} fields; choose one by its id.")
code = st.selectbox("Class", codes, format_func=class_label, key=f"crops_class:{cube.key}:{by}")
first = next(iter(active))
obs = profiles[(profiles["model"] == first) & (profiles[by] == code)]
model_profiles = {name: profiles[(profiles["model"] == name) & (profiles[by] == code)] for name in active}

held = runs._results(cube, active)
rkey = f"radar:{by}"
if rkey not in held:
    from mcnnseq.metrics import radar_profiles

    mask = runs.experiment_for(cube).split.masks()["test"]
    held[rkey] = radar_profiles(cube.ds["vv"].values, cube.ds["vh"].values, cube.ds[by].values,
                                dates=cube.ds["time"].values, mask=mask, class_column=by)
radar = held[rkey][held[rkey][by] == code]
in_class = np.asarray(cube.ds[by].values) == code
cloud_frac = np.asarray(cube.ds["cloud"].values)[:, in_class].mean(axis=1) if in_class.any() else np.zeros(0)
cloudy = [t for t, f in zip(pd.DatetimeIndex(cube.ds["time"].values), cloud_frac) if f > 0.5]
fig = plots.crop_profile_figure(obs, radar, title=f"{class_label(code)} — mean ± 2σ of the test pixels",
                                model_profiles=model_profiles, cloudy_dates=cloudy, simulated=cube.simulated)
st.plotly_chart(fig, width="stretch", key="crops_chart")
st.caption("Grey bands: dates on which more than half of this class's pixels were cloudy in the optical data.")
