"""Data page: load the demo scene or a file, see its summary, a map preview and one pixel's series."""

import numpy as np
import pandas as pd
import streamlit as st

from mcnnseq import defaults
from mcnnseq.datacube import reference_ndvi
from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import maps, page, plots, state, truecolor, upload
from mcnnseq.ui.raster import GridGeometry, PointPlaces
from mcnnseq.workspace import DemoSpec, file_key

ws, cube = page.start("Data", caption=None)
ds = cube.ds
if cube.simulated:
    st.info(f"**{defaults.SIMULATED_BADGE}** — {cube.label}. A simulated Imperial Valley scene (UTM 11N, 10 m "
            "pixels, the paper's 31 dates); not observations.", icon=":material/science:")
else:
    st.caption(f"Loaded: **{cube.label}**")
state.show_message()


# ----------------------------------------------------------------------------------------- loading

def _load_demo() -> None:
    ws.use_demo(DemoSpec(int(st.session_state["data_demo_size"]), int(st.session_state["data_demo_seed"]),
                         ws.demo_spec.scenario))
    state.set_message("success", "Demo scene loaded (SIMULATED).")


def _decode_options(prefix: str) -> dict:
    """The keywords of ``mcnnseq.io.open_cube`` / ``open_geotiff_stack`` set in a tab's decoding form."""
    opts: dict = {}
    if st.session_state.get(f"{prefix}_nodata_on"):
        opts["nodata"] = int(st.session_state[f"{prefix}_nodata"])
    sigma0 = st.session_state.get(f"{prefix}_sigma0", "auto")
    if sigma0 == "log-dn":
        opts["sigma0_log_dn"] = (float(st.session_state[f"{prefix}_gain"]), float(st.session_state[f"{prefix}_offset"]))
    elif sigma0 != "auto":
        opts["sigma0"] = sigma0
    return opts


def _failed(what: str, err: McnnSeqError) -> None:
    state.set_message("error", f"Could not load {what} — {upload.in_form_words(str(err))}. "
                               "The data already loaded is kept.")


def _load_netcdf() -> None:
    f = st.session_state.get("data_nc_file")
    if f is None:
        state.set_message("warning", "Choose a NetCDF file first.")
        return
    try:
        ds_new = upload.load_netcdf(upload.Upload(f.name, f.getvalue()), options=_decode_options("data_nc"))
    except McnnSeqError as err:
        _failed("the file", err)
        return
    ws.use_file(ds_new, name=f.name, key=file_key(f.name, f.getvalue()))
    state.set_message("success", f"Loaded {f.name}.")


def _load_geotiffs() -> None:
    files = {}
    for role in ("vv", "vh", "ndvi", "dates", "crop"):
        f = st.session_state.get(f"data_tif_{role}")
        if f is not None:
            files[role] = upload.Upload(f.name, f.getvalue())
    missing = [r for r in ("vv", "vh", "ndvi") if r not in files]
    if missing:
        state.set_message("warning", f"Choose the {', '.join(missing)} GeoTIFF(s) first.")
        return
    try:
        ds_new = upload.load_geotiff_stack(files, options=_decode_options("data_tif"))
    except McnnSeqError as err:
        _failed("the GeoTIFF stack", err)
        return
    name = " + ".join(u.name for u in files.values())
    ws.use_file(ds_new, name=name, key=file_key(name, *(u.data for u in files.values())))
    state.set_message("success", f"Loaded {name}.")


def _load_table() -> None:
    f = st.session_state.get("data_table_file")
    if f is None:
        state.set_message("warning", "Choose a CSV or Parquet table first.")
        return
    options = {"crs": (st.session_state.get("data_table_crs") or "").strip() or None,
               "sigma0": st.session_state.get("data_table_sigma0", "auto")}
    try:
        ds_new = upload.load_table(upload.Upload(f.name, f.getvalue()), options=options)
    except McnnSeqError as err:
        _failed("the table", err)
        return
    ws.use_file(ds_new, name=f.name, key=file_key(f.name, f.getvalue()))
    state.set_message("success", f"Loaded {f.name}: {ds_new.sizes['x']:,} points, {ds_new.sizes['time']} dates.")


def _decode_widgets(prefix: str) -> None:
    f = upload.FORM
    with st.expander("Decoding options (e.g. for an openEO export)"):
        c1, c2 = st.columns(2)
        nodata_on = c1.checkbox(f["nodata_on"], key=f"{prefix}_nodata_on")
        c1.number_input(f["nodata"], value=65535, step=1, key=f"{prefix}_nodata", disabled=not nodata_on,
                        help="Stored value meaning 'no data' in every variable, e.g. 65535.")
        sigma0 = c2.selectbox(f["sigma0"], ["auto", "db", "linear", "log-dn"], key=f"{prefix}_sigma0",
                              format_func=f.get)
        c2.number_input(f["gain"], value=20.0, key=f"{prefix}_gain", disabled=sigma0 != "log-dn")
        c2.number_input(f["offset"], value=-83.0, key=f"{prefix}_offset", disabled=sigma0 != "log-dn")


spec = ws.demo_spec
with st.expander("Load data: demo scene or your own cube", expanded=False):
    tab_demo, tab_nc, tab_tif, tab_table = st.tabs(["Demo scene (simulated)", "NetCDF cube", "GeoTIFF stacks",
                                                    "Parcel / point table"])
    with tab_demo:
        c1, c2 = st.columns(2)
        c1.number_input("Size (pixels per side, 10 m each)", min_value=10, max_value=1000, step=10, value=spec.size,
                        key="data_demo_size")
        c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=spec.seed, key="data_demo_seed")
        st.caption("The cloud scenario is chosen in the sidebar.")
        st.button("Simulate the demo scene", on_click=_load_demo, key="data_demo_go")
    with tab_nc:
        st.file_uploader("NetCDF datacube (vv, vh, ndvi or red/nir, optional crop; aliases such as VV, "
                         "S1-SIGMA0-VV, B04/B08 are understood)", type=["nc", "nc4", "netcdf", "h5"],
                         key="data_nc_file")
        _decode_widgets("data_nc")
        st.button("Load this cube", on_click=_load_netcdf, key="data_nc_go", type="primary")
        st.caption(f"Files up to {st.get_option('server.maxUploadSize')} MB (`server.maxUploadSize` in "
                   f"`.streamlit/config.toml`); cubes of more than {defaults.MAX_CELLS / 1e6:.0f} million cells "
                   "(dates x rows x columns) are refused: cut out an area, or use the command line on the whole cube.")
    with tab_tif:
        st.caption("One GeoTIFF per variable, one band per date (dates in the band descriptions or a dates.csv).")
        c1, c2, c3 = st.columns(3)
        c1.file_uploader("VV (dB or linear)", type=["tif", "tiff"], key="data_tif_vv")
        c2.file_uploader("VH (dB or linear)", type=["tif", "tiff"], key="data_tif_vh")
        c3.file_uploader("NDVI", type=["tif", "tiff"], key="data_tif_ndvi")
        c1.file_uploader("dates.csv (optional)", type=["csv"], key="data_tif_dates")
        c2.file_uploader("Crop classes (optional, one band)", type=["tif", "tiff"], key="data_tif_crop")
        _decode_widgets("data_tif")
        st.button("Load these GeoTIFFs", on_click=_load_geotiffs, key="data_tif_go", type="primary")
    with tab_table:
        st.caption("Long form, one row per id and date (an Earth Engine or openEO export of parcel or point series): "
                   "`id`, `date`, `vv`, `vh` (dB or linear σ0), `ndvi` (empty where cloudy), optional `crop` and "
                   "`lon`/`lat` (or `x`/`y` with their CRS). Radar and optical rows may have dates of their own; each "
                   "id is one sample. See docs/data-formats.md.")
        st.file_uploader("CSV or Parquet table", type=list(upload.TABLE_TYPES), key="data_table_file")
        c1, c2 = st.columns(2)
        c1.text_input("CRS of the x/y columns (if the table has x/y, not lon/lat)", placeholder="e.g. EPSG:32631",
                      key="data_table_crs")
        c2.selectbox("Radar values are", ["auto", "db", "linear"], key="data_table_sigma0",
                     format_func=upload.FORM.get)
        st.button("Load this table", on_click=_load_table, key="data_table_go", type="primary")


# ----------------------------------------------------------------------------------------- summary

summary = cube.summary
t, ny, nx = summary.shape
st.subheader("Summary")
c = st.columns(4)
if cube.is_points:
    c[0].metric("Points", f"{nx:,}", "parcel / point table, one sample per id", delta_color="off", delta_arrow="off")
else:
    c[0].metric("Grid", f"{ny} x {nx} px", f"{abs(summary.resolution[0]):g} m pixels", delta_color="off",
                delta_arrow="off")
c[1].metric("Dates", t, f"{summary.dates[0]} … {summary.dates[-1]}", delta_color="off", delta_arrow="off")
no_obs = summary.dates_without_observation
n_seen = t - len(no_obs)
c[2].metric("Pixels with a gap", f"{100 * cube.pixels_with_a_gap:.0f} %",
            f"{len(no_obs)} date{'s' if len(no_obs) > 1 else ''} never observed" if no_obs
            else "cloudy on at least one date", delta_color="off", delta_arrow="off",
            help="Share of pixels whose NDVI series misses at least one date"
                 + (f". A date with no optical value at all leaves a gap in every pixel; on the {n_seen} observed "
                    f"dates, {100 * summary.pixels_with_a_cloud:.0f} % of the pixels are cloudy at least once."
                    if no_obs else "."))
if cube.is_points:
    c[3].metric("Crop labels", "yes" if summary.has_crop else "no", "points with a place: "
                + (f"{int(PointPlaces.from_cube(ds).located.sum()):,}" if PointPlaces.from_cube(ds) else "none"),
                delta_color="off", delta_arrow="off")
    st.caption(f"Coordinates: {summary.crs}. " + str(ds.attrs.get("pairing", "")))
else:
    c[3].metric("Crop map", "yes" if summary.has_crop else "no",
                "true colour: own bands" if truecolor.has_bands(ds) else "true colour: simulated" if cube.simulated
                else "no true-colour bands", delta_color="off", delta_arrow="off")
    st.caption(f"CRS {summary.crs}; bounds (left, bottom, right, top) "
               + ", ".join(f"{b:.0f}" for b in summary.bounds) + " m")
if no_obs:
    st.warning("No optical observation at all on " + ", ".join(no_obs) + ": these dates are predicted but never scored.")
ranges = pd.DataFrame({name: {"min": lo, "median": summary.medians[name], "max": hi,
                              "unit": "dB" if name in ("vv", "vh") else "NDVI"}
                       for name, (lo, hi) in summary.ranges.items()}).T
cl, cr = st.columns([1, 2])
cl.dataframe(ranges, width="stretch")
cr.plotly_chart(plots.cloud_fraction_chart(summary.dates, summary.cloud_fraction_per_date, simulated=cube.simulated),
                width="stretch", key="data_cloud_chart")


# ----------------------------------------------------------------------------------------- points

if cube.is_points:
    st.subheader("Map of the points")
    frac = np.asarray(summary.cloud_fraction_per_date)
    partly = np.flatnonzero((frac > 0.02) & (frac < 0.95))
    date = st.select_slider("Date", options=summary.dates,
                            **state.remember(f"data_date:{cube.key}", summary.dates[int(partly[0]) if partly.size
                                                                                    else 0], options=summary.dates))
    ti = summary.dates.index(date)
    ids = cube.ids
    index_key = f"data_point:{cube.key}"
    state.set_choice(index_key, int(min(max(state.choice(index_key, 0), 0), len(ids) - 1)))
    places = PointPlaces.from_cube(ds)
    observed = np.where(np.asarray(ds["cloud"].isel(time=ti).values), np.nan,
                        np.asarray(ds["ndvi"].isel(time=ti).values)).reshape(-1)
    if places is None:
        st.info("This table has no coordinates (`lon`/`lat`, or `x`/`y` with their CRS): no map, choose a point by "
                "its id below.", icon=":material/info:")
    else:
        m = maps.new_points_map(places)
        maps.add_points(m, places, observed, name=f"observed NDVI {date}")
        maps.show_point_map(m, places, index_key=index_key, key=f"data_points_map:{cube.key}",
                            click_key=f"data_points_click:{cube.key}", height=430,
                            legend_label=f"Observed NDVI {date} (hollow grey: cloudy or no value, "
                                         f"{100 * frac[ti]:.0f} % of the points); click a point for its series")
    st.subheader("One point's series")
    pick = st.selectbox("Point (id)", list(range(len(ids))), format_func=lambda i: ids[i], **state.remember(index_key))
    px = ws.pixel_series(0, int(pick))
    fig = plots.pixel_series_figure(px.dates, vv=px.vv, vh=px.vh, ndvi=px.ndvi, ndvi_true=px.ndvi_true,
                                    s1_dates=px.s1_dates, simulated=cube.simulated, optical=px.optical,
                                    title=f"Point {ids[pick]}" + (f" — {px.crop}" if px.crop else ""))
    st.plotly_chart(fig, width="stretch", key="data_pixel_chart")
    st.stop()


# ----------------------------------------------------------------------------------------- map preview

st.subheader("Map preview")
geom = GridGeometry.from_cube(ds)
frac = np.asarray(summary.cloud_fraction_per_date)
partly = np.flatnonzero((frac > 0.02) & (frac < 0.95))
default_date = summary.dates[int(partly[0]) if partly.size else 0]
date = st.select_slider("Date", options=summary.dates,
                        **state.remember(f"data_date:{cube.key}", default_date, options=summary.dates))
ti = summary.dates.index(date)
ndvi_t = np.asarray(ds["ndvi"].isel(time=ti).values)
cloud_t = np.asarray(ds["cloud"].isel(time=ti).values)

row_key, col_key = f"data_row:{cube.key}", f"data_col:{cube.key}"
state.set_choice(row_key, int(min(max(state.choice(row_key, ny // 2), 0), ny - 1)))
state.set_choice(col_key, int(min(max(state.choice(col_key, nx // 2), 0), nx - 1)))

m = maps.new_map(geom)
colour = truecolor.composite(ds, ti)
maps.add_rgb(m, geom, colour.rgba(), name=colour.label)
if cube.has_truth:
    maps.add_raster(m, geom, np.asarray(reference_ndvi(ds).isel(time=ti).values),
                    name="NDVI under the clouds (simulated truth)", show=False)
maps.add_raster(m, geom, ndvi_t, name=f"NDVI {date}", opacity=0.85)
maps.add_mask(m, geom, cloud_t, name="cloud / missing")
maps.show_pixel_map(m, geom, row_key=row_key, col_key=col_key, key=f"data_map:{cube.key}",
                    click_key=f"data_click:{cube.key}", height=430,
                    legend_label=f"NDVI {date} (white: cloud / missing, {100 * frac[ti]:.0f} % of the pixels; layers "
                    "at the top right, the true colour under them)"
                    + (" — SIMULATED scene" if cube.simulated else ""))


# ----------------------------------------------------------------------------------------- one pixel

st.subheader("One pixel's series")
st.caption("Pick a pixel by row/column, or click the map.")
c1, c2, _ = st.columns([1, 1, 3])
row = c1.number_input("Row", min_value=0, max_value=ny - 1, **state.remember(row_key))
col = c2.number_input("Column", min_value=0, max_value=nx - 1, **state.remember(col_key))
px = ws.pixel_series(int(row), int(col))
fig = plots.pixel_series_figure(px.dates, vv=px.vv, vh=px.vh, ndvi=px.ndvi, ndvi_true=px.ndvi_true,
                                s1_dates=px.s1_dates, simulated=cube.simulated, optical=px.optical,
                                title=f"Pixel row {row}, column {col}" + (f" — {px.crop}" if px.crop else ""))
st.plotly_chart(fig, width="stretch", key="data_pixel_chart")
