"""What a file format cannot hold natively, stored beside the data so our readers give it back exactly.

NetCDF attributes cannot be booleans, dicts or None, and every file format forgets the resolution of a
``datetime64`` (``[s]`` vs ``[ns]``). The writers store those facts as one JSON attribute
(:data:`MARKER`, or a GeoTIFF tag); the readers restore them and drop the marker. Files from other
producers have no marker and are read the ordinary way.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

#: Name of the global attribute / GeoTIFF tag holding the round-trip record.
MARKER = "mcnnseq_io"
FORMAT_VERSION = 1
TIME_COORDS = ("time", "s1_time")


def to_jsonable(value: Any) -> Any:
    """numpy scalars/arrays -> Python numbers/lists (for JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def _netcdf_safe(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, dict):
        return False
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in value) \
            or all(isinstance(v, str) for v in value)
    return isinstance(value, (str, int, float, np.number, np.ndarray))


def encode_attrs(attrs: dict) -> tuple[dict, dict]:
    """Split ``attrs`` into NetCDF-safe ones and the rest (kept as JSON in the marker)."""
    safe, special = {}, {}
    for key, value in attrs.items():
        if _netcdf_safe(value):
            safe[key] = value
        else:
            special[key] = to_jsonable(value)
    return safe, special


def time_dtypes(obj: xr.Dataset | xr.DataArray) -> dict[str, str]:
    """``{'time': 'datetime64[s]', …}`` for the time coordinates ``obj`` has."""
    return {name: str(obj[name].dtype) for name in TIME_COORDS if name in obj.coords}


def encode_dataset(ds: xr.Dataset, *, extra_vars: list[str], cf_added: dict[str, list[str]] | None = None
                   ) -> xr.Dataset:
    """A copy of ``ds`` whose attributes a NetCDF file can hold, with the marker attribute added.

    ``cf_added``: the attributes the writer added for CF conventions (:func:`mcnnseq.io.cf.add_cf_metadata`),
    which the reader drops again.
    """
    out = ds.copy()
    record: dict[str, Any] = {"version": FORMAT_VERSION, "time_dtypes": time_dtypes(ds), "attrs": {},
                              "extra_vars": list(extra_vars)}
    if cf_added:
        record["cf_added"] = cf_added
    out.attrs, special = encode_attrs(dict(ds.attrs))
    if special:
        record["attrs"][""] = special
    for name in out.variables:
        out.variables[name].attrs, special = encode_attrs(dict(ds.variables[name].attrs))
        if special:
            record["attrs"][str(name)] = special
    out.attrs[MARKER] = json.dumps(record, default=str)
    return out


def decode_dataset(raw: xr.Dataset) -> tuple[xr.Dataset, dict | None]:
    """Undo :func:`encode_dataset` on a freshly opened file; return it and the record (None if foreign)."""
    text = raw.attrs.get(MARKER)
    if text is None:
        return raw, None
    try:
        record = json.loads(text)
    except (TypeError, ValueError):
        return raw, None
    raw = raw.copy()
    raw.attrs = {k: v for k, v in raw.attrs.items() if k != MARKER}
    if record.get("cf_added"):
        from mcnnseq.io.cf import strip_added

        strip_added(raw, record["cf_added"])
    for name, special in record.get("attrs", {}).items():
        if name == "":
            raw.attrs.update(special)
        elif name in raw.variables:
            raw.variables[name].attrs.update(special)
    return raw, record


def restore_time_dtypes(obj, record: dict | None):
    """Cast ``time``/``s1_time`` back to the resolution recorded by the writer."""
    if not record:
        return obj
    for name, dtype in record.get("time_dtypes", {}).items():
        if name in obj.coords and str(obj[name].dtype) != dtype:
            coord = obj[name]
            obj = obj.assign_coords({name: (coord.dims, coord.values.astype(dtype), coord.attrs)})
    return obj
