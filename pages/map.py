"""Map page: reference NDVI, clouds, predictions of every model, error and per-pixel R² maps; click a pixel."""

import numpy as np
import streamlit as st

from mcnnseq.datacube import reference_ndvi
from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import maps, plots, runs, state
from mcnnseq.ui.raster import GridGeometry, colorize, png_data_url

st.title("Maps")
cube = state.current_cube()
ds = cube.ds
st.caption(f"Dataset: **{cube.title}**")
active = runs.runs_or_stop(cube)
try:
    scene = runs.scene_predictions(cube, active)
except McnnSeqError as err:
    st.error(f"The models cannot predict this dataset: {err}")
    st.stop()

summary = cube.summary
dates = summary.dates
has_truth = "ndvi_true" in ds.variables
ref_name = "NDVI under the clouds (simulated truth)" if has_truth else "observed NDVI (reference)"
frac = np.asarray(summary.cloud_fraction_per_date)
cloudy = np.flatnonzero((frac > 0.05) & (frac < 0.95))
date = st.select_slider("Date", options=dates, value=dates[int(cloudy[0]) if cloudy.size else 0],
                        key=f"map_date:{cube.key}")
ti = dates.index(date)
ref = np.asarray(reference_ndvi(ds).isel(time=ti).values)
obs = np.asarray(ds["ndvi"].isel(time=ti).values)
cloud = np.asarray(ds["cloud"].isel(time=ti).values)
preds = {name: np.asarray(scene[name]["ndvi_pred"].isel(time=ti).values) for name in active}
ny, nx = ref.shape
if not np.isfinite(ref).any():
    st.warning(f"{date} has no optical observation anywhere: the predictions are shown, errors cannot be.")

# a radio, not tabs: Leaflet drawn inside a hidden tab measures a 0-px container and zooms out to the world
view = st.radio("View", ["grid", "map"], horizontal=True, key="map_view", label_visibility="collapsed",
                format_func={"grid": "Side by side", "map": "On the map (click a pixel)"}.get)

if view == "grid":
    obs_rgba = colorize(obs)
    obs_rgba[cloud] = (255, 255, 255, 255)
    vv = np.asarray(ds["vv"].isel(time=ti).values)
    panels = [("Reference NDVI" + (" (simulated truth)" if has_truth else ""), png_data_url(colorize(ref))),
              (f"Observed NDVI, white = cloud ({100 * frac[ti]:.0f} %)", png_data_url(obs_rgba)),
              ("VV (dB): the radar sees through clouds", png_data_url(colorize(vv, cmap="radar")))]
    for name, p in preds.items():  # one row per model: prediction, error, per-pixel R² (Fig. 15)
        panels += [(f"{name} prediction", png_data_url(colorize(p))),
                   (f"{name} error (prediction − reference)", png_data_url(colorize(p - ref, cmap="error"))),
                   (f"{name} per-pixel R² (all dates)",
                    png_data_url(colorize(runs.pixel_r2(cube, active, name), cmap="score")))]
    fig = plots.image_grid(panels, cols=3, height_per_row=330, aspect=ny / nx,
                           title=f"{date}" + (" — SIMULATED" if cube.simulated else ""))
    st.plotly_chart(fig, width="stretch", key="map_grid")
    c1, c2, c3, c4 = st.columns(4)
    with c4:
        maps.legend("radar", label="VV backscatter (dB)")
    with c1:
        maps.legend("ndvi", label="NDVI")
    with c2:
        maps.legend("error", label="error, NDVI (blue: under-, red: over-predicted)")
    with c3:
        maps.legend("score", label="per-pixel R² over the series (Fig. 15)")
    st.caption("Zoom or pan one panel and all follow. Per-pixel R² covers every pixel (training pixels included); "
               "the Dates page scores the test pixels only.")

else:
    geom = GridGeometry.from_cube(ds)
    c1, c2 = st.columns([2, 1])
    model = c1.selectbox("Model on the map", list(active), key="map_model")
    tiles = c2.checkbox("OpenStreetMap background (needs internet)", key="map_tiles",
                        help="Off by default: the map itself works offline; without internet the tiles stay grey.")
    row_key, col_key = f"map_row:{cube.key}", f"map_col:{cube.key}"
    st.session_state[row_key] = int(min(max(st.session_state.get(row_key, ny // 2), 0), ny - 1))
    st.session_state[col_key] = int(min(max(st.session_state.get(col_key, nx // 2), 0), nx - 1))
    m = maps.new_map(geom, tiles=tiles)
    maps.add_raster(m, geom, ref, name=f"reference NDVI {date}", show=False)
    maps.add_raster(m, geom, obs, name=f"observed NDVI {date}", show=False)
    maps.add_mask(m, geom, cloud, name="cloud / missing", show=False)
    maps.add_raster(m, geom, preds[model] - ref, name=f"{model} error", cmap="error", show=False)
    maps.add_raster(m, geom, runs.pixel_r2(cube, active, model), name=f"{model} per-pixel R²", cmap="score",
                    show=False)
    maps.add_raster(m, geom, preds[model], name=f"{model} prediction {date}")
    maps.show_pixel_map(m, geom, row_key=row_key, col_key=col_key, key=f"map_map:{cube.key}",
                        click_key=f"map_click:{cube.key}", height=480,
                        legend_label=f"{model} prediction, {date} (switch layers with the control at the top right)"
                        + (" — SIMULATED scene" if cube.simulated else ""))
    c1, c2, _ = st.columns([1, 1, 3])
    row = c1.number_input("Row", min_value=0, max_value=ny - 1, key=row_key)
    col = c2.number_input("Column", min_value=0, max_value=nx - 1, key=col_key)
    px = ds.isel(y=int(row), x=int(col))
    fig = plots.pixel_series_figure(
        dates, vv=px["vv"].values, vh=px["vh"].values, ndvi=px["ndvi"].values,
        ndvi_true=px["ndvi_true"].values if has_truth else None, s1_dates=summary.s1_dates,
        predictions={name: scene[name]["ndvi_pred"].isel(y=int(row), x=int(col)).values for name in active},
        title=f"Pixel row {row}, column {col}", simulated=cube.simulated)
    st.plotly_chart(fig, width="stretch", key="map_pixel_chart")
