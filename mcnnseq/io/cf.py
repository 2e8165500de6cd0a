"""CF-1.9 metadata for the files our writers make, so that every GIS finds the grid, the CRS and the dates.

What a reader of a NetCDF datacube needs beyond the numbers (CF conventions 1.9, §4–5):

* every variable on the ``(y, x)`` grid names the grid-mapping variable in ``grid_mapping``
  (``spatial_ref``, which carries ``crs_wkt``, ``spatial_ref`` and the CF projection parameters that
  rioxarray writes) — GDAL's netCDF driver and ``xr.open_dataset(decode_coords="all").rio.crs`` use it;
* ``x``/``y`` are projection coordinates (``standard_name``, ``axis``, ``units`` in the CRS's unit);
* dates are CF dates (xarray encodes ``datetime64`` as ``days since …`` with a ``calendar``);
* every data variable has ``units`` and ``long_name``; the file says ``Conventions = "CF-1.9"``.

:func:`add_cf_metadata` adds what is missing and returns what it added, so the readers can drop
exactly that again and a cube survives a round trip unchanged (:mod:`mcnnseq.io.roundtrip`).
"""

from __future__ import annotations

import xarray as xr

CONVENTIONS = "CF-1.9"
GRID_MAPPING = "spatial_ref"

#: Defaults for data variables that have no ``units`` / ``long_name`` of their own.
VARIABLE_DEFAULTS: dict[str, dict[str, str]] = {
    "vv": {"units": "dB", "long_name": "Sentinel-1 VV backscatter"},
    "vh": {"units": "dB", "long_name": "Sentinel-1 VH backscatter"},
    "ndvi": {"units": "1", "long_name": "Sentinel-2 NDVI (NaN where missing)"},
    "cloud": {"units": "1", "long_name": "optical value missing or masked (1 = cloudy or missing)"},
    "crop": {"units": "1", "long_name": "crop class code"},
    "field": {"units": "1", "long_name": "field id"},
    "ndvi_true": {"units": "1", "long_name": "NDVI under the clouds (reference)"},
    "ndvi_pred": {"units": "1", "long_name": "NDVI predicted from Sentinel-1"},
    "ndvi_filled": {"units": "1", "long_name": "NDVI gap-filled: observed where clear, predicted elsewhere"},
    "red": {"units": "1", "long_name": "surface reflectance, red (Sentinel-2 B04)"},
    "green": {"units": "1", "long_name": "surface reflectance, green (Sentinel-2 B03)"},
    "blue": {"units": "1", "long_name": "surface reflectance, blue (Sentinel-2 B02)"},
}

_COORDS: dict[str, dict[str, str]] = {
    "x": {"standard_name": "projection_x_coordinate", "long_name": "x coordinate of projection", "axis": "X"},
    "y": {"standard_name": "projection_y_coordinate", "long_name": "y coordinate of projection", "axis": "Y"},
    "time": {"standard_name": "time", "long_name": "date of the Sentinel-2 observation", "axis": "T"},
    "s1_time": {"long_name": "date of the paired Sentinel-1 acquisition"},
}

_UNIT_NAMES = {"metre": "m", "meter": "m", "m": "m", "foot": "ft", "us survey foot": "US_survey_foot"}


def _crs_unit(ds: xr.Dataset) -> str | None:
    crs = ds.rio.crs if hasattr(ds, "rio") else None
    if crs is None:
        return None
    try:
        from pyproj import CRS

        info = CRS.from_user_input(crs).axis_info
        return _UNIT_NAMES.get(info[0].unit_name.lower(), info[0].unit_name) if info else None
    except Exception:  # noqa: BLE001  (an odd CRS: the coordinates just get no units)
        return None


def add_cf_metadata(ds: xr.Dataset) -> dict[str, list[str]]:
    """Add the CF attributes ``ds`` lacks, in place (``ds`` should be a copy); return ``{variable: [added keys]}``
    (``""`` for global attributes). Coordinates ``x``/``y`` get no ``_FillValue`` (CF: coordinates have none)."""
    import rioxarray  # noqa: F401  (registers .rio)

    added: dict[str, list[str]] = {}

    def add(name: str, key: str, value: str) -> None:
        attrs = ds.attrs if name == "" else ds.variables[name].attrs
        if key not in attrs:
            attrs[key] = value
            added.setdefault(name, []).append(key)

    add("", "Conventions", CONVENTIONS)
    has_grid = GRID_MAPPING in ds.variables
    for name, var in ds.data_vars.items():
        name = str(name)
        if has_grid and {"y", "x"} <= set(var.dims):
            var.attrs.pop("grid_mapping", None)
            add(name, "grid_mapping", GRID_MAPPING)
        for key, value in VARIABLE_DEFAULTS.get(name, {"units": "1", "long_name": name.replace("_", " ")}).items():
            add(name, key, value)
    unit = _crs_unit(ds)
    for name, attrs in _COORDS.items():
        if name in ds.variables:
            for key, value in attrs.items():
                add(name, key, value)
            if name in ("x", "y"):
                ds.variables[name].encoding["_FillValue"] = None
                if unit:
                    add(name, "units", unit)
    return added


def strip_added(ds: xr.Dataset, added: dict[str, list[str]]) -> None:
    """Undo :func:`add_cf_metadata` on a freshly opened file, in place (``added`` from the round-trip record)."""
    for name, keys in added.items():
        attrs = ds.attrs if name == "" else (ds.variables[name].attrs if name in ds.variables else None)
        if attrs is None:
            continue
        for key in keys:
            attrs.pop(key, None)
