"""Export page: download the cube (NetCDF, GeoTIFF), each compared run's predictions, metrics (CSV), model files.

Files are written only when a button is clicked (deferred downloads), by the same writers as the CLI;
predictions are the ones the Map page shows (predicted once per run and cube, never again here).
"""

import streamlit as st

from mcnnseq.ui import exports, page, runs

#: The prediction variables offered as GeoTIFFs: (variable, label, widget-key tag).
GEOTIFF_LAYERS = (("ndvi_pred", "predicted", "pred"), ("ndvi_filled", "gap-filled", "fill"), ("ndvi_std", "σ", "std"),
                  ("fill_source", "fill source", "source"))

ws, cube = page.start("Export")
ds = cube.ds
stem = cube.file_stem


def download(label: str, make, file_name: str, mime: str, key: str) -> None:
    st.download_button(label, data=make, file_name=file_name, mime=mime, key=key, on_click="ignore",
                       icon=":material/download:")


st.subheader("The dataset")
c1, c2 = st.columns(2)
with c1:
    download("Cube as NetCDF", lambda: exports.netcdf_bytes(ds, name=f"{stem}.nc"),
             exports.file_name(stem, suffix=".nc"), "application/x-netcdf", "export_cube_nc")
with c2:
    if cube.is_points:  # a parcel/point table has no raster grid: it goes back out as a table
        download("Table as CSV", lambda: exports.table_file(ds, "csv"), exports.file_name(stem, suffix=".csv"),
                 "text/csv", "export_cube_csv")
    else:
        download("Cube as GeoTIFF stack (zip)", lambda: exports.geotiff_stack_zip(ds, folder=stem),
                 exports.file_name(stem, "geotiff", suffix=".zip"), "application/zip", "export_cube_tif")
st.caption("NetCDF files follow the CF-1.9 conventions (CRS in `spatial_ref`, named by every variable's "
           "`grid_mapping`), so QGIS, GDAL and xarray + rioxarray place them; GeoTIFFs have one band per date."
           + (" The demo cube is SIMULATED; its files say so in their attributes." if cube.simulated else ""))

compared = page.runs_or_stop(ws, purpose=" to export predictions, metrics and model files")
with runs.progress_bar() as progress:
    scene = page.or_stop("The runs cannot predict this dataset",
                         lambda: ws.scene_predictions(compared, progress=lambda f, t: progress(0.9 * f, t)))
    ev = page.or_stop("The runs cannot be scored on this dataset",
                      lambda: ws.evaluation(compared, progress=lambda f, t: progress(0.9 + 0.1 * f, t)))

st.subheader("Predicted and gap-filled NDVI")
st.caption("`ndvi_pred`: the model's NDVI on every date; `ndvi_filled`: observed where clear, predicted under "
           "clouds; `ndvi_std`: the prediction's σ (about 95 % of true values within ±2σ; runs with an uncertainty "
           "model); `fill_source`: 0 observed, 1 cloud-filled, 2 no optical date, 3 no value. The NetCDF holds them "
           "all. GeoTIFFs have one band per date (dates in the band descriptions) and the input's CRS and "
           "transform.")
if cube.is_points:
    st.caption("A parcel/point table goes back out in its own long form, one row per id and date: `vv`, `vh`, "
               "`ndvi` (observed), `ndvi_pred` and `ndvi_filled`, with the id's crop and place.")
for r in compared:
    pred = scene[r.name]
    s = exports.slug(r.name)
    c = st.columns(3)
    if cube.is_points:
        with c[0]:
            download(f"{r.name}: gap-filled table (CSV)", lambda p=pred: exports.table_file(p, "csv", cube=ds),
                     exports.file_name(stem, r.name, "ndvi_filled", suffix=".csv"), "text/csv", f"export_fill_csv_{s}")
        with c[1]:
            download(f"{r.name}: gap-filled table (Parquet)",
                     lambda p=pred: exports.table_file(p, "parquet", cube=ds),
                     exports.file_name(stem, r.name, "ndvi_filled", suffix=".parquet"),
                     "application/vnd.apache.parquet", f"export_fill_parquet_{s}")
        with c[2]:
            download(f"{r.name}: NetCDF (both)",
                     lambda p=pred, n=r.name: exports.netcdf_bytes(p, name=exports.file_name(stem, n, suffix=".nc"),
                                                                   validate=False),
                     exports.file_name(stem, r.name, "ndvi", suffix=".nc"), "application/x-netcdf",
                     f"export_pred_nc_{s}")
        continue
    with c[0]:
        download(f"{r.name}: NetCDF (both)",
                 lambda p=pred, n=r.name: exports.netcdf_bytes(p, name=exports.file_name(stem, n, suffix=".nc"),
                                                               validate=False),
                 exports.file_name(stem, r.name, "ndvi", suffix=".nc"), "application/x-netcdf", f"export_pred_nc_{s}")
    # predicted and gap-filled beside the NetCDF, σ and fill source on a second row
    for col, (var, label, tag) in zip([c[1], c[2], *st.columns(3)[1:]], GEOTIFF_LAYERS):
        if var in pred:
            with col:
                download(f"{r.name}: {label} GeoTIFF",
                         lambda p=pred, v=var: exports.geotiff_bytes(p[v], name=f"{v}.tif"),
                         exports.file_name(stem, r.name, var, suffix=".tif"), "image/tiff", f"export_{tag}_tif_{s}")

st.subheader("Metrics and profiles (CSV)")
c = st.columns(3)
with c[0]:
    download("Per-date R² / RMSE (Table 4 form)", lambda: exports.csv_bytes(exports.per_date_table(ev.per_date)),
             exports.file_name(stem, "metrics_per_date", suffix=".csv"), "text/csv", "export_dates_csv")
with c[0]:
    download("Error by gap length", lambda: exports.csv_bytes(exports.gap_length_table(ev)),
             exports.file_name(stem, "metrics_by_gap", suffix=".csv"), "text/csv", "export_gaps_csv")
if "crop" in ds.variables:
    with runs.progress_bar() as progress:
        view = page.or_stop("No crop profiles", lambda: ws.crop_view(compared, by="crop", progress=progress))
    with c[1]:
        download("Crop profiles (mean, ±2σ)", lambda: exports.csv_bytes(view.profiles, index=False),
                 exports.file_name(stem, "crop_profiles", suffix=".csv"), "text/csv", "export_profiles_csv")
    with c[2]:
        download("Crop agreement (Table 3 form)", lambda: exports.csv_bytes(exports.agreement_table(view)),
                 exports.file_name(stem, "crop_metrics", suffix=".csv"), "text/csv", "export_crops_csv")

st.subheader("Model files")
st.caption("Checkpoints reload exactly (`mcnnseq.checkpoints.load_checkpoint`, or the Train page's loader).")
c = st.columns(max(len(compared), 1))
for i, r in enumerate(compared):
    with c[i]:
        if r.checkpointable:
            download(f"{r.name} model (.pt)", lambda m=r.model: exports.checkpoint_bytes(m, name="model.pt"),
                     exports.file_name(stem, r.name, suffix=".pt"), "application/octet-stream",
                     f"export_model_{exports.slug(r.name)}")
        else:
            st.caption(f"{r.name}: nothing to save (no trained weights).")
        st.caption(r.description)
