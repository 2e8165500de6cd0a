"""Turn a dataset as some producer stored it into a valid datacube (see :mod:`mcnnseq.datacube`).

Every reader (NetCDF, Zarr, GeoTIFF stacks, paired S1/S2 cubes) ends in :func:`standardize_cube`,
so aliases, no-data, σ0 decoding, NDVI, cloud masks, CRS and size limits behave the same whatever
the file format.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import DIMS, new_cube, validate_cube
from mcnnseq.defaults import MAX_CELLS
from mcnnseq.errors import DatacubeError
from mcnnseq.io import decode
from mcnnseq.io.aliases import DIM_ALIASES, GEOGRAPHIC_DIMS, VARIABLE_ALIASES, find_dim, find_roles, normalize_name

#: Largest cube (dates × rows × columns) a reader accepts by default: the one limit of
#: :data:`mcnnseq.defaults.MAX_CELLS` (25 million cells). The finished cube takes about 13 bytes a cell;
#: decoding needs a few times that for a moment. Pass ``max_pixels=None`` to lift the limit.
DEFAULT_MAX_PIXELS: int = MAX_CELLS

#: Optional optical bands kept as ``red``, ``green``, ``blue`` reflectance (true-colour map context).
TRUE_COLOUR: tuple[str, str, str] = ("red", "green", "blue")

#: Attributes that describe how a file stored a variable, not the variable: dropped when reading.
_STORAGE_ATTRS = ("grid_mapping", "coordinates", "_FillValue", "missing_value", "scale_factor", "add_offset",
                  "_Unsigned", "valid_range", "valid_min", "valid_max", "dtype")


def check_options(*, sigma0: str, sigma0_log_dn, nodata) -> str:
    """Validate the decode keywords shared by every reader; return ``sigma0`` in lower case."""
    if not isinstance(sigma0, str) or sigma0.lower() not in decode.SIGMA0_MODES:
        raise ValueError(f"sigma0 must be one of {', '.join(decode.SIGMA0_MODES)}, got {sigma0!r}")
    sigma0 = sigma0.lower()
    if sigma0_log_dn is not None:
        if sigma0 != "auto":
            raise ValueError("give either sigma0='db'/'linear' or sigma0_log_dn=(gain, offset), not both")
        if len(tuple(sigma0_log_dn)) != 2:
            raise ValueError(f"sigma0_log_dn must be (gain, offset), got {sigma0_log_dn!r}")
    if nodata is not None and not isinstance(nodata, (int, float, np.number)):
        raise ValueError(f"nodata must be a number or None, got {nodata!r}")
    return sigma0


def check_size(n_time: int, n_y: int, n_x: int, *, max_pixels: int | None, source: str | None) -> None:
    """Refuse a cube larger than ``max_pixels`` cells (time × y × x) before anything is loaded."""
    cells = int(n_time) * int(n_y) * int(n_x)
    if max_pixels is not None and cells > max_pixels:
        raise DatacubeError(
            f"is too large: {n_time} dates x {n_y} x {n_x} pixels = {cells:,} cells, more than "
            f"max_pixels={max_pixels:,} (about {13 * cells / 1e9:.1f} GB in memory); open it lazily instead "
            "(open_cube(..., chunks='auto'); on the command line `predict --chunks auto` or --workers N: read and "
            "predicted block by block), cut out an area of interest first, or raise max_pixels", source=source)


def rename_dims(raw: xr.Dataset, *, source: str | None) -> xr.Dataset:
    """Rename dimension aliases (``t`` -> ``time``…); reject latitude/longitude grids."""
    geo = [d for d in raw.dims if str(d).lower() in GEOGRAPHIC_DIMS]
    if geo:
        raise DatacubeError(
            f"is on a latitude/longitude grid (dims {', '.join(map(str, raw.dims))}); a datacube needs a "
            "projected grid with x/y coordinates in metres — reproject it first, e.g. "
            "ds.rio.reproject('EPSG:32631') for UTM zone 31N", source=source)
    mapping = {}
    for canonical in DIM_ALIASES:
        found = find_dim([str(d) for d in raw.dims], canonical)
        if found is None:
            raise DatacubeError(f"has no '{canonical}' dimension (found dims: "
                                f"{', '.join(map(str, raw.dims)) or 'none'}; accepted names: "
                                f"{', '.join(DIM_ALIASES[canonical])})", source=source)
        if found != canonical:
            if canonical in raw.variables:
                raise DatacubeError(f"has both a '{found}' dimension and a '{canonical}' variable", source=source)
            mapping[found] = canonical
    return raw.rename(mapping) if mapping else raw


def resolve_crs(raw: xr.Dataset, *, crs=None, source: str | None):
    """The dataset's CRS as a :class:`pyproj.CRS`, or None when it declares none.

    Looked for, in order: the ``crs`` argument; the grid-mapping variable named by the variables'
    ``grid_mapping``; variables ``spatial_ref`` and ``crs`` (CF attributes, ``crs_wkt`` or
    ``spatial_ref``); global attributes ``crs``, ``crs_wkt``, ``spatial_ref``, ``epsg``.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    def parse(value, where: str):
        try:
            return CRS.from_user_input(value)
        except (CRSError, TypeError, ValueError) as exc:
            raise DatacubeError(f"the CRS in {where} cannot be understood ({exc})", source=source) from None

    if crs is not None:
        return parse(crs, "the crs argument")
    candidates = []
    for var in raw.variables.values():
        gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
        if isinstance(gm, str) and gm not in candidates:
            candidates.append(gm)
    candidates += [c for c in ("spatial_ref", "crs") if c not in candidates]
    for name in candidates:
        if name not in raw.variables:
            continue
        attrs = raw[name].attrs
        if "crs_wkt" in attrs or "spatial_ref" in attrs:
            return parse(attrs.get("crs_wkt") or attrs["spatial_ref"], f"variable '{name}'")
        if "grid_mapping_name" in attrs:
            try:
                return CRS.from_cf(dict(attrs))
            except (CRSError, TypeError, ValueError, KeyError) as exc:
                raise DatacubeError(f"the grid mapping in variable '{name}' cannot be understood ({exc})",
                                    source=source) from None
        for key in ("epsg_code", "epsg", "EPSG"):
            if key in attrs:
                return parse(f"EPSG:{str(attrs[key]).split(':')[-1]}", f"variable '{name}'")
    for key in ("crs", "crs_wkt", "spatial_ref", "epsg"):
        if key in raw.attrs:
            value = raw.attrs[key]
            if key == "epsg":
                value = f"EPSG:{str(value).split(':')[-1]}"
            return parse(value, f"the global attribute '{key}'")
    return None


def canonical_crs(crs):
    """``"EPSG:nnnn"`` when ``crs`` (a :class:`pyproj.CRS`) is exactly that EPSG code, else ``crs``.

    Writing the code rather than a re-parsed WKT makes rioxarray store the same ``crs_wkt`` text the
    original cube had, so a cube survives a file round trip unchanged.
    """
    from pyproj import CRS

    epsg = crs.to_epsg(min_confidence=100)
    if epsg is not None and CRS.from_epsg(epsg) == crs:
        return f"EPSG:{epsg}"
    return crs


def grid_coords(raw: xr.Dataset, *, source: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The ``x`` and ``y`` pixel-centre coordinates, checked: numeric, finite, evenly spaced."""
    out = []
    for name in ("x", "y"):
        if name not in raw.coords:
            raise DatacubeError("has no coordinate values (pixel centres in CRS units are needed)",
                                source=source, variable=name)
        values = np.asarray(raw[name].values)
        if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
            raise DatacubeError("coordinates must be finite numbers (pixel centres in CRS units)",
                                source=source, variable=name)
        values = values.astype(np.float64)
        if values.size > 1:
            step = np.diff(values)
            if (step == 0).any() or not (np.all(step > 0) or np.all(step < 0)):
                raise DatacubeError("coordinates are not strictly increasing or decreasing", source=source,
                                    variable=name)
            if np.abs(step - step[0]).max() > 1e-6 * abs(step[0]):
                raise DatacubeError("coordinates are not evenly spaced (a datacube is a regular grid)",
                                    source=source, variable=name)
        out.append(values)
    return out[0], out[1]


def time_values(var: xr.DataArray, *, source: str | None, name: str) -> np.ndarray:
    """Dates of a time coordinate as ``datetime64[ns]`` (non-standard calendars converted), or raise."""
    values = np.asarray(var.values)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]")
    if values.dtype.kind in "iuf":
        raise DatacubeError("holds plain numbers, not dates (a 'units' attribute such as "
                            "'days since 2018-01-01' is missing)", source=source, variable=name)
    try:
        return pd.DatetimeIndex([pd.Timestamp(str(v)) for v in values]).values.astype("datetime64[ns]")
    except (TypeError, ValueError) as exc:
        raise DatacubeError(f"values are not dates ({exc})", source=source, variable=name) from None


def _cube_values(var: xr.DataArray, *, source: str | None, variable: str, spatial_only: bool = False) -> np.ndarray:
    """``var``'s values ordered ``(time, y, x)`` (or ``(y, x)``); extra dims of length 1 dropped."""
    dims = tuple(map(str, var.dims))
    big = [d for d in var.dims if d not in DIMS and var.sizes[d] != 1]
    if big or not {"y", "x"} <= set(var.dims):
        if not {"y", "x"} <= set(var.dims):
            problem = f"has dims {dims}: it is not on the cube's ('y', 'x') grid"
        else:
            problem = f"has dims {dims}, expected ('time', 'y', 'x') ('{big[0]}' has length {var.sizes[big[0]]})"
        raise DatacubeError(problem, source=source, variable=variable)
    var = var.isel({d: 0 for d in var.dims if d not in DIMS})
    wanted = DIMS if (not spatial_only or "time" in var.dims) else ("y", "x")
    if set(var.dims) != set(wanted):
        raise DatacubeError(f"has dims {dims}, expected {wanted}", source=source, variable=variable)
    return np.asarray(var.transpose(*wanted).values)


def _static_map(values: np.ndarray, *, source: str | None, variable: str) -> np.ndarray:
    """A class map stored with a time axis (as openEO does for static layers) -> ``(y, x)``."""
    if values.ndim == 2:
        return values
    first = values[0]
    same = (values == first) | (np.isnan(values) & np.isnan(first))
    if not same.all():
        raise DatacubeError("changes from date to date; a crop/field map is one (y, x) layer",
                            source=source, variable=variable)
    return first


def clean_attrs(attrs: Mapping) -> dict:
    """``attrs`` without the keys that only describe how a file stored the variable."""
    return {k: v for k, v in attrs.items() if k not in _STORAGE_ATTRS}


def _keep_stored_crs_text(cube: xr.Dataset, raw: xr.Dataset, crs, *, crs_given: bool) -> None:
    """Reuse a stored ``spatial_ref`` description of the same CRS verbatim.

    Re-serialising a parsed WKT does not always give the same text back, so without this a cube
    written and read again would differ in its ``spatial_ref`` attributes.
    """
    from pyproj import CRS

    if crs_given or "spatial_ref" not in raw.variables or "spatial_ref" not in cube.coords:
        return
    stored = clean_attrs(raw["spatial_ref"].attrs)
    text = stored.get("crs_wkt") or stored.get("spatial_ref")
    try:
        same = text is not None and CRS.from_user_input(text) == crs
    except Exception:  # noqa: BLE001  (pyproj's CRSError and friends: then the text is not reused)
        same = False
    if same:
        cube.variables["spatial_ref"].attrs = stored


def _examples(role: str, n: int = 5) -> str:
    seen, shown = set(), []
    for name in VARIABLE_ALIASES[role]:
        key = normalize_name(name)
        if key not in seen:
            seen.add(key)
            shown.append(name)
    return ", ".join(shown[:n])


def require_roles(roles: Mapping[str, str], names: list[str], *, source: str | None) -> None:
    """Raise unless ``roles`` hold radar (vv, vh) and optical (ndvi, or red and nir) variables."""
    missing = [f"{label} ({_examples(role)}…)" for role, label in (("vv", "VV backscatter"),
                                                                  ("vh", "VH backscatter")) if role not in roles]
    if "ndvi" not in roles and not ("red" in roles and "nir" in roles):
        missing.append("NDVI (ndvi, or red and nir bands such as B04 and B08)")
    if missing:
        raise DatacubeError(f"no {' and no '.join(missing)} variable found; the file has: "
                            f"{', '.join(names) or 'no variables'} (map other names with names={{...}})",
                            source=source)


def standardize_cube(raw: xr.Dataset, *, source: str | None, nodata: float | None = None, sigma0: str = "auto",
                     sigma0_log_dn: tuple[float, float] | None = None, names: Mapping[str, str] | None = None,
                     crs=None, max_pixels: int | None = DEFAULT_MAX_PIXELS, exact_attrs: bool = False,
                     validate: bool = True) -> xr.Dataset:
    """Build a valid datacube from ``raw`` (any aliases and encodings); raise :class:`DatacubeError`.

    ``raw`` needs time/y/x dims (aliases like ``t`` accepted), radar (``vv``/``vh`` or aliases) and
    optical data (``ndvi``, or ``red`` and ``nir`` reflectances). ``nodata`` is masked in every
    variable; ``sigma0``/``sigma0_log_dn`` say how σ0 is stored (see :func:`decode.radar_to_db`);
    ``names`` maps roles to variable names the aliases do not cover; ``crs`` overrides the file's.
    The cube has ``source`` in its ``attrs`` unless ``raw`` already names one. Dates come out as
    ``datetime64[ns]``. Variable attributes: the defaults of :func:`new_cube` completed by those of
    ``raw``, or (``exact_attrs``, for files our writers made) exactly those of ``raw``. When ``raw``
    has all three of the red, green and blue bands (``B04``/``B03``/``B02`` or aliases), the cube keeps
    them as ``red``, ``green``, ``blue`` reflectance 0..1 (:func:`decode.reflectance`) for true-colour maps.
    ``validate=False`` skips the final :func:`validate_cube` (the lazy reader standardises one block at a
    time, and a block may rightly hold no optical value at all).
    """
    sigma0 = check_options(sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, nodata=nodata)
    if not isinstance(raw, xr.Dataset):
        raise DatacubeError(f"expected an xarray.Dataset, got {type(raw).__name__}", source=source)
    time_renamed = "time" not in raw.dims
    raw = rename_dims(raw, source=source)
    check_size(raw.sizes["time"], raw.sizes["y"], raw.sizes["x"], max_pixels=max_pixels, source=source)
    candidates = [str(n) for n in raw.variables if n not in raw.dims]
    roles = find_roles(candidates, source=source, explicit=names)
    require_roles(roles, candidates, source=source)

    x, y = grid_coords(raw, source=source)
    time = time_values(raw["time"], source=source, name="time")
    out_crs = resolve_crs(raw, crs=crs, source=source)
    if out_crs is None:
        hint = ""
        if np.abs(x).max() <= 180 and np.abs(y).max() <= 90:
            hint = " (the x/y values look like degrees: reproject to a projected CRS such as UTM)"
        raise DatacubeError("has no CRS: no grid-mapping variable, 'spatial_ref'/'crs' variable or 'crs' "
                            f"attribute found; pass crs='EPSG:…' if you know it{hint}", source=source)

    # Measurement variables: (time, y, x) float64 with NaN for no data.
    values: dict[str, np.ndarray] = {}
    for role in ("vv", "vh", "ndvi", "red", "nir", "ndvi_true"):
        if role not in roles or (role in ("red", "nir") and "ndvi" in roles):
            continue
        name = roles[role]
        stored = _cube_values(raw[name], source=source, variable=name)
        if nodata is None:
            marker = decode.suspicious_nodata(stored)
            if marker is not None:
                count = int((stored == marker).sum())
                raise DatacubeError(
                    f"holds {marker} (the extreme {stored.dtype} value) in {count:,} cell(s), which is almost "
                    f"always an undeclared no-data marker: pass nodata={marker} (or nodata=float('nan') if it "
                    "is real data)", source=source, variable=name)
        arr = decode.mask_nodata(stored, nodata)
        decode.reject_infinite(arr, source=source, variable=name)
        values[role] = arr

    how: dict[str, str] = {}
    for role in ("vv", "vh"):
        units = str(raw[roles[role]].attrs.get("units", ""))
        values[role], how[role] = decode.radar_to_db(values[role], sigma0=sigma0, sigma0_log_dn=sigma0_log_dn,
                                                     units=units, source=source, variable=roles[role])
    if "ndvi" in roles:
        ndvi = values["ndvi"].astype(np.float32)
    else:
        ndvi = decode.ndvi_from_bands(values.pop("red"), values.pop("nir"))
        red, nir = roles["red"], roles["nir"]
        how["ndvi"] = f"computed from bands: NDVI = ({nir} - {red}) / ({nir} + {red})"

    masked = np.zeros(ndvi.shape, dtype=bool)
    if "cloud" in roles:
        stored = _cube_values(raw[roles["cloud"]], source=source, variable=roles["cloud"])
        masked |= decode.cloud_from_mask(stored if stored.dtype == bool else decode.mask_nodata(stored, nodata),
                                         source=source, variable=roles["cloud"])
    if "scl" in roles:
        stored = _cube_values(raw[roles["scl"]], source=source, variable=roles["scl"])
        masked |= decode.cloud_from_scl(decode.mask_nodata(stored, nodata))
    ndvi[masked] = np.nan

    # True colour (optional, for map context): kept only when all three bands are there.
    colour: dict[str, np.ndarray] = {}
    if all(role in roles for role in TRUE_COLOUR):
        for role in TRUE_COLOUR:
            colour[role] = decode.reflectance(_cube_values(raw[roles[role]], source=source, variable=roles[role]),
                                              nodata=nodata)

    maps: dict[str, np.ndarray] = {}
    for role, dtype in (("crop", np.int16), ("field", np.int32)):
        if role in roles:
            name = roles[role]
            stored = _cube_values(raw[name], source=source, variable=name, spatial_only=True)
            flat = _static_map(decode.mask_nodata(stored, nodata), source=source, variable=name)
            maps[role] = decode.class_codes(flat, dtype=dtype, source=source, variable=name)

    s1_time = None
    if "s1_time" in roles:
        var = raw[roles["s1_time"]]
        if var.dims != ("time",):
            raise DatacubeError(f"has dims {var.dims}, expected ('time',)", source=source, variable=roles["s1_time"])
        s1_time = time_values(var, source=source, name=roles["s1_time"])

    attrs = {k: v for k, v in raw.attrs.items()}
    attrs.setdefault("source", source or "datacube")
    cube = new_cube(vv=values["vv"], vh=values["vh"], ndvi=ndvi, time=time, s1_time=s1_time if s1_time is not None
                    else time, x=x, y=y, crs=canonical_crs(out_crs), crop=maps.get("crop"), field=maps.get("field"),
                    ndvi_true=values.get("ndvi_true"), attrs=attrs)

    for role, band in zip(TRUE_COLOUR, ("B04", "B03", "B02")):
        if role in colour:
            cube[role] = xr.Variable(DIMS, colour[role], {"units": "1", "long_name": f"surface reflectance, {role} "
                                                          f"(Sentinel-2 {band})"})
    for role in ("vv", "vh", "ndvi", "cloud", "crop", "field", "ndvi_true") + tuple(colour):
        name = roles.get(role)
        if role not in cube.data_vars or (name is None and not how.get(role)):
            continue
        if name == role and not how.get(role):
            stored = clean_attrs(raw[name].attrs)
            if exact_attrs:
                cube.variables[role].attrs = stored
            else:
                cube.variables[role].attrs.update(
                    {k: v for k, v in stored.items() if not (isinstance(v, str) and not v.strip())})
            continue
        if name is not None and name != role:
            cube.variables[role].attrs["source_variable"] = name
        if how.get(role):
            cube.variables[role].attrs["decoding"] = how[role]
    _keep_stored_crs_text(cube, raw, out_crs, crs_given=crs is not None)
    for coord, original in (("x", "x"), ("y", "y"), ("time", "time"), ("s1_time", roles.get("s1_time"))):
        if original in raw.variables and not (coord == "time" and time_renamed):
            cube.variables[coord].attrs = clean_attrs(raw[original].attrs)
    return validate_cube(cube, source=source) if validate else cube
