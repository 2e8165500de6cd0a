"""Data page: load the demo scene or an upload, see its summary, a map preview and one pixel's series."""

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.paper import CROP_CLASSES
from mcnnseq.ui import maps, plots, state, upload
from mcnnseq.ui.raster import GridGeometry

st.title("Data")
cube = state.current_cube()
ds = cube.ds
if cube.simulated:
    st.info(f"**{state.SIMULATED_BADGE}** — {cube.label}. A simulated Imperial Valley scene (UTM 11N, 10 m pixels, "
            "the paper's 31 dates); not observations.", icon=":material/science:")
else:
    st.caption(f"Loaded: **{cube.label}**")
state.show_message()


# ----------------------------------------------------------------------------------------- loading

def _load_demo() -> None:
    state.set_demo_params(st.session_state["data_demo_size"], st.session_state["data_demo_seed"])
    state.set_message("success", "Demo scene loaded (SIMULATED).")


def _decode_options(prefix: str) -> dict:
    """The keywords of ``mcnnseq.io.open_cube`` / ``open_geotiff_stack`` set in a tab's decoding expander."""
    opts: dict = {}
    if st.session_state.get(f"{prefix}_nodata_on"):
        opts["nodata"] = float(st.session_state[f"{prefix}_nodata"])
    sigma0 = st.session_state.get(f"{prefix}_sigma0", "auto")
    if sigma0 == "log-dn":
        opts["sigma0_log_dn"] = (float(st.session_state[f"{prefix}_gain"]), float(st.session_state[f"{prefix}_offset"]))
    elif sigma0 != "auto":
        opts["sigma0"] = sigma0
    return opts


def _accept(ds_new, name: str, digest: str) -> None:
    key = f"upload:{name}:{digest}"  # the runs of a cube are kept under this key
    state.set_uploaded_cube(state.LoadedCube(ds=ds_new, key=key, label=name, simulated=False, origin="upload"))
    state.set_message("success", f"Loaded {name}.")


def _digest(*blobs: bytes) -> str:
    h = hashlib.sha1()
    for b in blobs:
        h.update(b)
    return h.hexdigest()[:12]


def _load_netcdf() -> None:
    f = st.session_state.get("data_nc_file")
    if f is None:
        state.set_message("warning", "Choose a NetCDF file first.")
        return
    try:
        ds_new = upload.load_netcdf(upload.Upload(f.name, f.getvalue()), options=_decode_options("data_nc"))
    except McnnSeqError as err:
        state.set_message("error", f"Could not load the file — {err}. The data already loaded is kept.")
        return
    _accept(ds_new, f.name, _digest(f.getvalue()))


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
        state.set_message("error", f"Could not load the GeoTIFF stack — {err}. The data already loaded is kept.")
        return
    _accept(ds_new, " + ".join(u.name for u in files.values()), _digest(*(u.data for u in files.values())))


def _decode_widgets(prefix: str) -> None:
    with st.expander("Decoding options (e.g. for an openEO export)"):
        st.caption("Error messages name these as `nodata=` and `sigma0=` / `sigma0_log_dn=(gain, offset)`.")
        c1, c2 = st.columns(2)
        c1.checkbox("Values equal to a no-data code are missing", key=f"{prefix}_nodata_on")
        c1.number_input("No-data code (nodata)", value=65535.0, key=f"{prefix}_nodata")
        c2.selectbox("Radar values are", ["auto", "db", "linear", "log-dn"], key=f"{prefix}_sigma0",
                     format_func={"auto": "detect (dB or linear σ0)", "db": "σ0 in dB", "linear": "linear σ0",
                                  "log-dn": "log-encoded DN: dB = gain·log10(DN) + offset"}.get)
        c2.number_input("gain", value=20.0, key=f"{prefix}_gain")
        c2.number_input("offset", value=-83.0, key=f"{prefix}_offset")


size, seed = state.demo_params()
with st.expander("Load data: demo scene or your own cube", expanded=False):
    tab_demo, tab_nc, tab_tif = st.tabs(["Demo scene (simulated)", "NetCDF cube", "GeoTIFF stacks"])
    with tab_demo:
        c1, c2 = st.columns(2)
        c1.number_input("Size (pixels per side, 10 m each)", min_value=10, max_value=1000, step=10, value=size,
                        key="data_demo_size")
        c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=seed, key="data_demo_seed")
        st.caption("The cloud scenario is chosen in the sidebar.")
        st.button("Simulate the demo scene", on_click=_load_demo, key="data_demo_go")
    with tab_nc:
        st.file_uploader("NetCDF datacube (vv, vh, ndvi or red/nir, optional crop; aliases such as VV, "
                         "S1-SIGMA0-VV, B04/B08 are understood)", type=["nc", "nc4", "netcdf", "h5"],
                         key="data_nc_file")
        _decode_widgets("data_nc")
        st.button("Load this cube", on_click=_load_netcdf, key="data_nc_go", type="primary")
        st.caption(f"Files up to {st.get_option('server.maxUploadSize')} MB (`server.maxUploadSize` in "
                   f"`.streamlit/config.toml`); cubes of more than {upload.MAX_CELLS / 1e6:.0f} million cells "
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


# ----------------------------------------------------------------------------------------- summary

summary = cube.summary
t, ny, nx = summary.shape
st.subheader("Summary")
c = st.columns(4)
c[0].metric("Grid", f"{ny} x {nx} px", f"{abs(summary.resolution[0]):g} m pixels", delta_color="off", delta_arrow="off")
c[1].metric("Dates", t, f"{summary.dates[0]} … {summary.dates[-1]}", delta_color="off", delta_arrow="off")
c[2].metric("Pixels with a cloudy date", f"{100 * summary.pixels_with_a_cloud:.0f} %")
c[3].metric("Crop map", "yes" if summary.has_crop else "no")
st.caption(f"CRS {summary.crs}; bounds (left, bottom, right, top) "
           + ", ".join(f"{b:.0f}" for b in summary.bounds) + " m")
if summary.dates_without_observation:
    st.warning("No optical observation at all on " + ", ".join(summary.dates_without_observation)
               + ": these dates are predicted but never scored.")
ranges = pd.DataFrame({name: {"min": lo, "median": summary.medians[name], "max": hi,
                              "unit": "dB" if name in ("vv", "vh") else "NDVI"}
                       for name, (lo, hi) in summary.ranges.items()}).T
cl, cr = st.columns([1, 2])
cl.dataframe(ranges, width="stretch")
cr.plotly_chart(plots.cloud_fraction_chart(summary.dates, summary.cloud_fraction_per_date, simulated=cube.simulated),
                width="stretch", key="data_cloud_chart")


# ----------------------------------------------------------------------------------------- map preview

st.subheader("Map preview")
geom = GridGeometry.from_cube(ds)
frac = np.asarray(summary.cloud_fraction_per_date)
partly = np.flatnonzero((frac > 0.02) & (frac < 0.95))
default_date = summary.dates[int(partly[0]) if partly.size else 0]
date = st.select_slider("Date", options=summary.dates, value=default_date, key=f"data_date:{cube.key}")
ti = summary.dates.index(date)
ndvi_t = np.asarray(ds["ndvi"].isel(time=ti).values)
cloud_t = np.asarray(ds["cloud"].isel(time=ti).values)

row_key, col_key = f"data_row:{cube.key}", f"data_col:{cube.key}"
st.session_state[row_key] = int(min(max(st.session_state.get(row_key, ny // 2), 0), ny - 1))
st.session_state[col_key] = int(min(max(st.session_state.get(col_key, nx // 2), 0), nx - 1))

m = maps.new_map(geom)
if "ndvi_true" in ds.variables:
    maps.add_raster(m, geom, np.asarray(ds["ndvi_true"].isel(time=ti).values),
                    name="NDVI under the clouds (simulated truth)", show=False)
maps.add_raster(m, geom, ndvi_t, name=f"NDVI {date}")
maps.add_mask(m, geom, cloud_t, name="cloud / missing")
maps.show_pixel_map(m, geom, row_key=row_key, col_key=col_key, key=f"data_map:{cube.key}",
                    click_key=f"data_click:{cube.key}", height=430,
                    legend_label=f"NDVI {date} (white: cloud / missing, {100 * frac[ti]:.0f} % of the pixels)"
                    + (" — SIMULATED scene" if cube.simulated else ""))


# ----------------------------------------------------------------------------------------- one pixel

st.subheader("One pixel's series")
st.caption("Pick a pixel by row/column, or click the map.")
c1, c2, _ = st.columns([1, 1, 3])
row = c1.number_input("Row", min_value=0, max_value=ny - 1, key=row_key)
col = c2.number_input("Column", min_value=0, max_value=nx - 1, key=col_key)
px = ds.isel(y=int(row), x=int(col))
fig = plots.pixel_series_figure(
    summary.dates, vv=px["vv"].values, vh=px["vh"].values, ndvi=px["ndvi"].values,
    ndvi_true=px["ndvi_true"].values if "ndvi_true" in ds.variables else None,
    s1_dates=summary.s1_dates, simulated=cube.simulated,
    title=f"Pixel row {row}, column {col}" + (f" — {CROP_CLASSES.get(int(px['crop']), 'class ' + str(int(px['crop'])))}"
                                              if "crop" in ds.variables else ""))
st.plotly_chart(fig, width="stretch", key="data_pixel_chart")
