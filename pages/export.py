"""Export page: download cubes (NetCDF, GeoTIFF), profiles and metrics (CSV), model files.

Files are written only when a button is clicked (deferred downloads), by the same writers as the CLI.
"""

import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import exports, runs, state

st.title("Export")
cube = state.current_cube()
ds = cube.ds
st.caption(f"Dataset: **{cube.title}**")
base = exports.slug(cube.label if cube.origin == "upload" else cube.key.replace(":", "_"))


def download(label: str, make, file_name: str, mime: str, key: str) -> None:
    st.download_button(label, data=make, file_name=file_name, mime=mime, key=key, on_click="ignore",
                       icon=":material/download:")


st.subheader("The dataset")
c1, c2 = st.columns(2)
with c1:
    download("Cube as NetCDF", lambda: exports.netcdf_bytes(ds, name=f"{base}.nc"), f"{base}.nc",
             "application/x-netcdf", "export_cube_nc")
with c2:
    download("Cube as GeoTIFF stack (zip)", lambda: exports.geotiff_stack_zip(ds, folder=base), f"{base}_geotiff.zip",
             "application/zip", "export_cube_tif")
if cube.simulated:
    st.caption("The demo cube is SIMULATED; its files say so in their attributes.")

active = runs.runs_or_stop(cube, purpose=" to export predictions, metrics and model files")

try:
    scene = runs.scene_predictions(cube, active)
    ev = runs.evaluation(cube, active)
except McnnSeqError as err:
    st.error(f"The models cannot be used on this dataset: {err}")
    st.stop()

st.subheader("Predicted and gap-filled NDVI")
st.caption("`ndvi_pred`: the model's NDVI on every date; `ndvi_filled`: observed where clear, predicted under "
           "clouds. GeoTIFFs have one band per date (dates in the band descriptions) and the input's CRS and "
           "transform.")
for name, pred in scene.items():
    s = exports.slug(name)
    c = st.columns(3)
    with c[0]:
        download(f"{name}: NetCDF (both)", lambda p=pred, s=s: exports.netcdf_bytes(p, name=f"{base}_{s}.nc", validate=False),
                 f"{base}_{s}_ndvi.nc", "application/x-netcdf", f"export_pred_nc_{s}")
    with c[1]:
        download(f"{name}: predicted GeoTIFF", lambda p=pred, s=s: exports.geotiff_bytes(p["ndvi_pred"], name=f"{s}.tif"),
                 f"{base}_{s}_ndvi_pred.tif", "image/tiff", f"export_pred_tif_{s}")
    with c[2]:
        if "ndvi_filled" in pred:
            download(f"{name}: gap-filled GeoTIFF",
                     lambda p=pred, s=s: exports.geotiff_bytes(p["ndvi_filled"], name=f"{s}.tif"),
                     f"{base}_{s}_ndvi_filled.tif", "image/tiff", f"export_fill_tif_{s}")

st.subheader("Metrics and profiles (CSV)")
c = st.columns(3)
with c[0]:
    download("Per-date R² / RMSE (Table 4 form)", lambda: exports.csv_bytes(exports.per_date_table(ev.per_date)),
             f"{base}_metrics_per_date.csv", "text/csv", "export_dates_csv")
if "crop" in ds.variables:
    try:
        profiles, agreement = runs.crop_results(cube, active, by="crop")
    except McnnSeqError as err:
        st.error(f"No crop profiles: {err}")
    else:
        with c[1]:
            download("Crop profiles (mean, ±2σ)", lambda: exports.csv_bytes(profiles, index=False),
                     f"{base}_crop_profiles.csv", "text/csv", "export_profiles_csv")
        with c[2]:
            download("Crop agreement (Table 3 form)", lambda: exports.csv_bytes(agreement, index=False),
                     f"{base}_crop_metrics.csv", "text/csv", "export_crops_csv")

st.subheader("Model files")
st.caption("Checkpoints reload exactly (`mcnnseq.checkpoints.load_checkpoint`, or the Train page's loader).")
c = st.columns(max(len(active), 1))
for i, (name, run) in enumerate(active.items()):
    s = exports.slug(name)
    with c[i]:
        download(f"{name} model (.pt)", lambda m=run.model, s=s: exports.checkpoint_bytes(m, name=f"{s}.pt"),
                 f"{base}_{s}.pt", "application/octet-stream", f"export_model_{s}")
        st.caption(run.label)
