"""Map page: true colour, reference NDVI, clouds, each compared run's prediction, error and per-pixel R²; click a pixel."""

import numpy as np
import streamlit as st

from mcnnseq import attention
from mcnnseq.datacube import reference_ndvi
from mcnnseq.ui import maps, page, plots, runs, state, truecolor
from mcnnseq.ui.raster import GridGeometry, PointPlaces, colorize, png_data_url

ws, cube = page.start("Maps")
ds = cube.ds
compared = page.runs_or_stop(ws)
with runs.progress_bar() as progress:
    scene = page.or_stop("The runs cannot predict this dataset", lambda: ws.scene_predictions(compared,
                                                                                            progress=progress))
colors = plots.run_colors([(r.name, r.kind) for r in compared])


def pixel_section(row: int, col: int, title: str) -> None:
    """The pixel's series (flags, ±2σ bands) and, beside it, the attention heatmap of an MCNN-Seq run."""
    px = ws.pixel_series(row, col, compared)
    fig = plots.pixel_series_figure(px.dates, vv=px.vv, vh=px.vh, ndvi=px.ndvi, ndvi_true=px.ndvi_true,
                                    s1_dates=px.s1_dates, predictions=px.predictions, colors=colors, stds=px.stds,
                                    optical=px.optical, title=title + (f" — {px.crop}" if px.crop else ""),
                                    simulated=cube.simulated)
    attentive = [r for r in compared if attention.has_attention(r.model)]
    if not attentive:
        st.plotly_chart(fig, width="stretch", key="map_pixel_chart")
        st.caption("Marks: ● observed, ◇ cloud-filled (predicted), ✕ no optical date (predicted); shaded: ±2σ of "
                   "each run with an uncertainty (about 95 % of true values lie inside).")
        return
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(fig, width="stretch", key="map_pixel_chart")
        st.caption("Marks: ● observed, ◇ cloud-filled (predicted), ✕ no optical date (predicted); shaded: ±2σ of "
                   "each run with an uncertainty (about 95 % of true values lie inside).")
    with right:
        names = [r.name for r in attentive]
        name = st.selectbox("Attention of", names, **state.remember("map_attention_run", names[0], options=names))
        weights = ws.attention(ws.run_named(name), row, col)
        if weights is None:
            st.info("This pixel's radar series is incomplete: no attention weights.", icon=":material/info:")
            return
        st.plotly_chart(plots.attention_figure(weights, px.dates, px.s1_dates or px.dates,
                                               title=f"{name}: attention", simulated=cube.simulated),
                        width="stretch", key="map_attention_chart")
        st.caption("Each row: how much each radar date weighed in that date's predicted NDVI (a row sums to 1).")

summary = cube.summary
dates = summary.dates
has_truth = cube.has_truth
frac = np.asarray(summary.cloud_fraction_per_date)
cloudy = np.flatnonzero((frac > 0.05) & (frac < 0.95))
date = st.select_slider("Date", options=dates, **state.remember(f"map_date:{cube.key}",
                                                                 dates[int(cloudy[0]) if cloudy.size else 0],
                                                                 options=dates))
ti = dates.index(date)

if cube.is_points:  # a parcel/point table: markers where the table gives places, no raster
    ids = cube.ids
    index_key = f"map_point:{cube.key}"
    state.set_choice(index_key, int(min(max(state.choice(index_key, 0), 0), len(ids) - 1)))
    places = PointPlaces.from_cube(ds)
    names = [r.name for r in compared]
    name = st.selectbox("Run on the map", names, **state.remember("map_run", names[0], options=names))
    ref = np.asarray(reference_ndvi(ds).isel(time=ti).values).reshape(-1)
    pred = np.asarray(scene[name]["ndvi_pred"].isel(time=ti).values).reshape(-1)
    if places is None:
        st.info("This table has no coordinates (`lon`/`lat`, or `x`/`y` with their CRS), so there is no map: choose "
                "a point by its id.", icon=":material/info:")
    else:
        m = maps.new_points_map(places)
        maps.add_points(m, places, ref, name=f"observed NDVI {date}", show=False)
        maps.add_points(m, places, pred - ref, name=f"{name} error", cmap="error", show=False)
        if "ndvi_std" in scene[name]:
            maps.add_points(m, places, np.asarray(scene[name]["ndvi_std"].isel(time=ti).values).reshape(-1),
                            name=f"{name} σ (uncertainty) {date}", cmap="sigma", show=False, unit="NDVI σ")
        maps.add_points(m, places, pred, name=f"{name} prediction {date}")
        maps.show_point_map(m, places, index_key=index_key, key=f"map_points_map:{cube.key}",
                            click_key=f"map_points_click:{cube.key}", height=480,
                            legend_label=f"{name} prediction, {date} (layers: the control at the top right); "
                                         "click a point for its series")
        st.caption(f"{int(places.located.sum()):,} of {len(ids):,} points have a place.")
    pick = st.selectbox("Point (id)", list(range(len(ids))), format_func=lambda i: ids[i],
                        **state.remember(index_key))
    pixel_section(0, int(pick), f"Point {ids[pick]}")
    st.stop()
ref = np.asarray(reference_ndvi(ds).isel(time=ti).values)
obs = np.asarray(ds["ndvi"].isel(time=ti).values)
cloud = np.asarray(ds["cloud"].isel(time=ti).values)
preds = {r.name: np.asarray(scene[r.name]["ndvi_pred"].isel(time=ti).values) for r in compared}
sigmas = {r.name: np.asarray(scene[r.name]["ndvi_std"].isel(time=ti).values) for r in compared
          if "ndvi_std" in scene[r.name]}  # the whole-scene σ, memoised with the predictions
colour = truecolor.composite(ds, ti)
ny, nx = ref.shape
if not np.isfinite(ref).any():
    st.warning(f"{date} has no optical observation anywhere: the predictions are shown, errors cannot be.")

# a radio, not tabs: Leaflet drawn inside a hidden tab measures a 0-px container and zooms out to the world
views = ["grid", "map"]
view = st.radio("View", views, horizontal=True, label_visibility="collapsed",
                format_func={"grid": "Side by side", "map": "On the map (click a pixel)"}.get,
                **state.remember("map_view", "grid", options=views))

if view == "grid":
    obs_rgba = colorize(obs)
    obs_rgba[cloud] = (255, 255, 255, 255)
    vv = np.asarray(ds["vv"].isel(time=ti).values)
    panels = [(("simulated true colour" if colour.simulated else "true colour") + " (nearest clear date)",
               png_data_url(colour.rgba())),
              ("reference NDVI" + (" (simulated truth)" if has_truth else ""), png_data_url(colorize(ref))),
              (f"observed NDVI, white: cloud ({100 * frac[ti]:.0f} %)", png_data_url(obs_rgba)),
              ("VV (dB), through the clouds", png_data_url(colorize(vv, cmap="radar")))]
    panels.append(("", None))
    for r in compared:  # one row per run: prediction, gap-filled, error, per-pixel R² (Fig. 15), σ
        p = preds[r.name]
        filled = scene[r.name]["ndvi_filled"].isel(time=ti).values if "ndvi_filled" in scene[r.name] else None
        sigma = sigmas.get(r.name)
        panels += [(f"<b>{r.name}</b>: prediction", png_data_url(colorize(p))),
                   ("gap-filled", png_data_url(colorize(filled)) if filled is not None else None),
                   ("error (prediction − reference)", png_data_url(colorize(p - ref, cmap="error"))),
                   ("per-pixel R² (all dates)", png_data_url(colorize(ws.pixel_r2(r), cmap="score"))),
                   ("σ (uncertainty)" if sigma is not None else "σ: none for this run",
                    png_data_url(colorize(sigma, cmap="sigma")) if sigma is not None else None)]
    fig = plots.image_grid(panels, cols=5, height_per_row=280, aspect=ny / nx, pixel_size=summary.resolution,
                           title=f"{date}" + (" — SIMULATED" if cube.simulated else ""))
    st.plotly_chart(fig, width="stretch", key="map_grid")
    c1, c2, c3, c4, c5 = st.columns(5)
    with c5:
        maps.legend("sigma", label="σ, NDVI (±2σ holds about 95 % of true values)")
    with c1:
        maps.legend("ndvi", label="NDVI")
    with c2:
        maps.legend("error", label="error, NDVI (blue: under-, red: over-predicted)")
    with c3:
        maps.legend("score", label="per-pixel R² over the series (Fig. 15)")
    with c4:
        maps.legend("radar", label="VV backscatter (dB)")
    left, bottom, right, top = summary.bounds
    st.caption(f"Axes: metres from the scene's north-west corner (x {left:,.0f}, y {top:,.0f} m, {summary.crs}). "
               "Zoom or pan one panel and all follow. Per-pixel R² covers every pixel (training pixels included); "
               "the Dates page scores the test pixels only. σ: each run's uncertainty on this date (about 95 % of true "
               "values lie within its prediction ± 2σ; none for a run without an uncertainty model). " + colour.label[:1].upper() + colour.label[1:] + "."
               + (" The classic gap-fillers keep (Linear) or smooth (Whittaker) the observed values, so their error "
                  "and per-pixel R² mostly show the cloudy dates." if any(r.origin == "classic" for r in compared)
                  else ""))

else:
    geom = GridGeometry.from_cube(ds)
    c1, c2 = st.columns([2, 1])
    names = [r.name for r in compared]
    name = c1.selectbox("Run on the map", names, **state.remember("map_run", names[0], options=names))
    run = ws.run_named(name)
    tiles = c2.checkbox("OpenStreetMap background (needs internet)",
                        help="Off by default: the map works offline, over the cube's own true colour.",
                        **state.remember("map_tiles", False))
    row_key, col_key = f"map_row:{cube.key}", f"map_col:{cube.key}"
    state.set_choice(row_key, int(min(max(state.choice(row_key, ny // 2), 0), ny - 1)))
    state.set_choice(col_key, int(min(max(state.choice(col_key, nx // 2), 0), nx - 1)))
    m = maps.new_map(geom, tiles=tiles)
    maps.add_rgb(m, geom, colour.rgba(), name=colour.label)
    maps.add_raster(m, geom, ref, name=f"reference NDVI {date}", show=False)
    maps.add_raster(m, geom, obs, name=f"observed NDVI {date}", show=False)
    maps.add_mask(m, geom, cloud, name="cloud / missing", show=False)
    maps.add_raster(m, geom, preds[name] - ref, name=f"{name} error", cmap="error", show=False)
    maps.add_raster(m, geom, ws.pixel_r2(run), name=f"{name} per-pixel R²", cmap="score", show=False)
    if name in sigmas:
        maps.add_raster(m, geom, sigmas[name], name=f"{name} σ (uncertainty) {date}", cmap="sigma", show=False)
    maps.add_raster(m, geom, preds[name], name=f"{name} prediction {date}", opacity=0.8)
    maps.show_pixel_map(m, geom, row_key=row_key, col_key=col_key, key=f"map_map:{cube.key}",
                        click_key=f"map_click:{cube.key}", height=480,
                        legend_label=f"{name} prediction, {date}, over the {colour.label} (layers: the control at "
                        "the top right)" + (" — SIMULATED scene" if cube.simulated else ""))
    c1, c2, _ = st.columns([1, 1, 3])
    row = c1.number_input("Row", min_value=0, max_value=ny - 1, **state.remember(row_key))
    col = c2.number_input("Column", min_value=0, max_value=nx - 1, **state.remember(col_key))
    pixel_section(int(row), int(col), f"Pixel row {row}, column {col}")
