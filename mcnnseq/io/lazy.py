"""Cubes larger than memory: standardise a dataset lazily (dask), one spatial block at a time.

The in-memory readers load a file and hand it to :func:`~mcnnseq.io.standardize.standardize_cube`.
Here the same function runs on every spatial block of a chunked dataset when (and where) the block
is computed, so decoding — no-data, σ0 linear / dB / log-encoded digital numbers, NDVI from bands,
cloud masks, class maps — gives exactly the values the in-memory path gives. Nothing is read when
the cube is opened except metadata, the coordinates and a *sample*: a few windows of at most
:data:`SAMPLE_SIDE` pixels a side (all dates) spread over the grid, which are decoded and validated (:func:`~mcnnseq.datacube.validate_cube`) at once, so a
wrong option (``nodata``, ``sigma0`` …) fails immediately with the in-memory path's message.

What the sample cannot see is checked per block when the block is computed: an undeclared no-data
marker, infinite values, σ0 outside the plausible dB range and NDVI outside −1 … 1 anywhere in the
file raise :class:`~mcnnseq.errors.DatacubeError` then (from ``compute``, ``to_zarr``…). Decisions
that need the whole cube in memory are taken from the sample: ``sigma0="auto"`` decides between dB
and linear from the sampled values (or the variables' ``units``), and a cube whose sample holds no
radar or no optical value at all is refused.

Blocks always hold whole time series (``time`` is one chunk): a pixel's series is what a model
predicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from mcnnseq.datacube import DIMS, validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import decode
from mcnnseq.io.aliases import find_roles
from mcnnseq.io.standardize import grid_coords, rename_dims, require_roles, standardize_cube

#: Default side of a spatial block, pixels (31 dates x 512 x 512 float32 = 32 MB a variable).
DEFAULT_BLOCK: int = 512
#: Windows decoded and validated when a cube is opened lazily (centred in blocks along the grid's diagonal)…
SAMPLE_BLOCKS: int = 3
#: … of at most this many pixels a side (all dates): a few MB, whatever the block size.
SAMPLE_SIDE: int = 128
#: When those windows hold no radar or no optical value, a grid of this many x this many windows is read too.
SAMPLE_GRID: int = 4

Chunks = int | str | Mapping[str, int] | tuple[int, int]


def block_shape(chunks: Chunks, *, ny: int, nx: int, stored: Mapping[str, int] | None = None) -> tuple[int, int]:
    """``(rows, cols)`` of a spatial block for the ``chunks`` argument of the lazy readers.

    ``chunks``: ``"auto"`` (:data:`DEFAULT_BLOCK` pixels a side, rounded up to whole stored chunks
    so no stored chunk is read twice), an int (square blocks), ``(rows, cols)``, or a mapping with
    ``"y"``/``"x"`` (missing or −1 = the whole axis). ``stored``: the file's own chunk sizes.
    Raises ``ValueError`` for anything else.
    """
    stored = dict(stored or {})
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks must be 'auto', a block size in pixels, (rows, cols) or "
                             f"{{'y': rows, 'x': cols}}, got {chunks!r}")
        rows, cols = DEFAULT_BLOCK, DEFAULT_BLOCK
        if stored.get("y"):
            rows = -(-rows // stored["y"]) * stored["y"]
        if stored.get("x"):
            cols = -(-cols // stored["x"]) * stored["x"]
    elif isinstance(chunks, Mapping):
        unknown = set(chunks) - {"y", "x", "time"}
        if unknown:
            raise ValueError(f"chunks may only give 'y' and 'x' block sizes (a block holds every date), "
                             f"got {sorted(unknown)}")
        rows, cols = chunks.get("y", -1), chunks.get("x", -1)
    elif isinstance(chunks, tuple):
        if len(chunks) != 2:
            raise ValueError(f"chunks as a tuple is (rows, cols), got {chunks!r}")
        rows, cols = chunks
    elif isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        rows = cols = int(chunks)
    else:
        raise ValueError(f"chunks must be 'auto', a block size in pixels, (rows, cols) or "
                         f"{{'y': rows, 'x': cols}}, got {chunks!r}")
    out = []
    for value, size in ((rows, ny), (cols, nx)):
        if value is None or (isinstance(value, (int, np.integer)) and int(value) == -1):
            value = size
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or int(value) < 1:
            raise ValueError(f"block sizes must be positive integers (or -1 for a whole axis), got {chunks!r}")
        out.append(max(1, min(int(value), size)))
    return out[0], out[1]


def stored_chunks(raw: xr.Dataset, names: list[str]) -> dict[str, int]:
    """The largest on-disk chunk size along ``y``/``x`` among ``names`` (from the backend's encoding)."""
    found: dict[str, int] = {}
    for name in names:
        var = raw[name]
        sizes = var.encoding.get("preferred_chunks") or {}
        if not sizes and var.encoding.get("chunksizes"):
            sizes = dict(zip(var.dims, var.encoding["chunksizes"]))
        if not sizes and var.encoding.get("chunks"):
            sizes = dict(zip(var.dims, var.encoding["chunks"]))
        for dim in ("y", "x"):
            if dim in sizes and sizes[dim]:
                found[dim] = max(found.get(dim, 0), int(sizes[dim]))
    return found


def _window(center_y: int, center_x: int, ny: int, nx: int, side: int) -> tuple[slice, slice]:
    h, w = min(side, ny), min(side, nx)
    y0 = min(max(0, center_y - h // 2), ny - h)
    x0 = min(max(0, center_x - w // 2), nx - w)
    return slice(y0, y0 + h), slice(x0, x0 + w)


def _sample_slices(ny: int, nx: int, rows: int, cols: int, n: int, side: int) -> list[tuple[slice, slice]]:
    """``n`` windows of ``side`` pixels at the centres of blocks spread along the block grid's diagonal."""
    by, bx = -(-ny // rows), -(-nx // cols)
    picks: list[tuple[int, int]] = []
    for k in range(max(1, n)):
        f = k / (n - 1) if n > 1 else 0.0
        iy, ix = round(f * (by - 1)), round(f * (bx - 1))
        if (iy, ix) not in picks:
            picks.append((iy, ix))
    return [_window(min(ny, iy * rows + rows // 2), min(nx, ix * cols + cols // 2), ny, nx, side)
            for iy, ix in picks]


def _grid_slices(ny: int, nx: int, k: int, side: int) -> list[tuple[slice, slice]]:
    """Windows of ``side`` pixels at the centres of a ``k`` x ``k`` grid over the whole cube."""
    return [_window(int((i + 0.5) * ny / k), int((j + 0.5) * nx / k), ny, nx, side)
            for i in range(k) for j in range(k)]


def _standardize_block(block: xr.Dataset, *, options: dict, coords: tuple[str, ...]) -> xr.Dataset:
    """One block of ``raw`` -> the same block of the cube (decoded exactly as in memory; values checked)."""
    cube = standardize_cube(block, validate=False, max_pixels=None, **options)
    finite = [bool(np.isfinite(cube[v].values).any()) for v in ("vv", "vh", "ndvi")]
    if all(finite):  # a block may rightly hold no optical value: then only the per-value checks apply
        validate_cube(cube, source=options.get("source"))
    cube = cube.drop_vars([c for c in cube.coords if c not in coords])
    return cube


def _concat_sample(cubes: list[xr.Dataset]) -> xr.Dataset:
    """The sampled windows side by side along ``x`` (a stand-in grid, for validation only)."""
    height = min(c.sizes["y"] for c in cubes)
    parts, x0 = [], 0.0
    y = cubes[0]["y"].values[:height]
    for c in cubes:
        c = c.isel(y=slice(0, height))
        n = c.sizes["x"]
        parts.append(c.assign_coords(x=np.arange(x0, x0 + n, dtype=np.float64), y=y))
        x0 += n
    return xr.concat(parts, dim="x", data_vars="all", coords="minimal", compat="override", join="override") \
        if len(parts) > 1 else parts[0]


def resolve_sigma0(samples: list[xr.Dataset], roles: Mapping[str, str], *, sigma0: str, sigma0_log_dn, nodata,
                   source: str | None) -> str:
    """The σ0 mode for every block: ``sigma0`` as given, or for ``"auto"`` the one the sample shows.

    In memory ``"auto"`` looks at all of a variable's values; a lazy cube decides once, from the
    sampled windows (or the ``units`` attribute), so that every block is decoded the same way.
    """
    if sigma0_log_dn is not None or sigma0 != "auto":
        return sigma0
    modes = {}
    for role in ("vv", "vh"):
        var = samples[0][roles[role]]
        values = np.concatenate([decode.mask_nodata(np.asarray(s[roles[role]].values), nodata).ravel()
                                 for s in samples])
        modes[role] = "linear" if decode.looks_linear(values, units=str(var.attrs.get("units", ""))) else "db"
    if modes["vv"] != modes["vh"]:
        raise DatacubeError(
            f"VV looks {modes['vv']} and VH {modes['vh']} in the sampled windows; say how the radar is stored "
            "(sigma0='db' or 'linear', --sigma0 on the command line)", source=source)
    return modes["vv"]


def standardize_lazy(raw: xr.Dataset, *, source: str | None, chunks: Chunks = "auto", nodata: float | None = None,
                     sigma0: str = "auto", sigma0_log_dn: tuple[float, float] | None = None,
                     names: Mapping[str, str] | None = None, crs=None, exact_attrs: bool = False,
                     sample_blocks: int = SAMPLE_BLOCKS) -> xr.Dataset:
    """A dask-backed datacube from ``raw`` (an opened, not loaded, dataset), decoded block by block.

    Same arguments and result as :func:`~mcnnseq.io.standardize.standardize_cube` (whose values it
    reproduces exactly), except: no size limit; ``chunks`` sets the spatial block (see
    :func:`block_shape`; every block holds all dates); validation reads only ``sample_blocks`` windows
    now (more when they hold no data) and checks every block when it is computed (see the module docstring).
    """
    renamed = rename_dims(raw, source=source)
    candidates = [str(n) for n in renamed.variables if n not in renamed.dims]
    roles = find_roles(candidates, source=source, explicit=names)
    require_roles(roles, candidates, source=source)
    x, y = grid_coords(renamed, source=source)
    ny, nx = renamed.sizes["y"], renamed.sizes["x"]
    mapping = {_renamed_from(raw, d): d for d in DIMS}
    y_dim, x_dim = _renamed_from(raw, "y"), _renamed_from(raw, "x")
    rows, cols = block_shape(chunks, ny=ny, nx=nx,
                             stored=stored_chunks(renamed, [n for n in roles.values() if n in renamed.data_vars]))
    prepared = raw.assign_coords({x_dim: (x_dim, x, raw[x_dim].attrs) if x_dim in raw.coords else x,
                                  y_dim: (y_dim, y, raw[y_dim].attrs) if y_dim in raw.coords else y})
    other = {d: -1 for d in prepared.dims if d not in (x_dim, y_dim)}
    prepared = prepared.chunk({**other, y_dim: rows, x_dim: cols})

    options = dict(source=source, nodata=nodata, sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, names=names, crs=crs,
                   exact_attrs=exact_attrs)
    def read(windows: list[tuple[slice, slice]]) -> list[xr.Dataset]:
        try:
            return [prepared.isel({y_dim: ys, x_dim: xs}).load() for ys, xs in windows]
        except Exception as exc:  # noqa: BLE001  (format libraries raise many types for a broken file)
            raise DatacubeError(f"cannot be read: the file is corrupt or truncated ({type(exc).__name__}: "
                                f"{str(exc).strip()[:200]})", source=source) from exc

    def empty(cubes: list[xr.Dataset]) -> list[str]:
        return [v for v in ("vv", "vh", "ndvi") if not any(np.isfinite(c[v].values).any() for c in cubes)]

    side = min(SAMPLE_SIDE, rows, cols)  # a window lies within one block
    windows = _sample_slices(ny, nx, rows, cols, sample_blocks, side)
    samples = read(windows)
    options["sigma0"] = resolve_sigma0(samples, roles, sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, nodata=nodata,
                                       source=source)
    decoded = [standardize_cube(s, validate=False, max_pixels=None, **options) for s in samples]
    if empty(decoded):  # e.g. the sampled windows fell on a swath's no-data border: look wider
        more = [w for w in _grid_slices(ny, nx, SAMPLE_GRID, side) if w not in windows]
        decoded += [standardize_cube(s, validate=False, max_pixels=None, **options) for s in read(more)]
        windows += more
    for var in empty(decoded):
        what = "optical" if var == "ndvi" else "radar"
        raise DatacubeError(f"holds no {what} value at all in {len(windows)} sampled windows of up to "
                            f"{side} x {side} pixels (all dates) spread over the grid: check nodata, "
                            "or the file is empty", source=source, variable=var)
    validate_cube(_concat_sample(decoded), source=source)

    template = _template(decoded[0], x=x, y=y, rows=rows, cols=cols)
    blocks = prepared.rename({k: v for k, v in mapping.items() if k != v})
    cube = xr.map_blocks(_standardize_block, blocks, kwargs={"options": options, "coords": tuple(template.coords)},
                         template=template)
    # coordinates that are not along y/x come from the template (else each would compute a block)
    cube = cube.assign_coords({name: template[name].variable for name in template.coords
                               if not {"y", "x"} & set(template[name].dims)})
    for name in cube.variables:
        cube.variables[name].attrs = dict(template.variables[name].attrs)
        cube.variables[name].encoding = dict(decoded[0].variables[name].encoding) \
            if name in decoded[0].variables else {}
    cube.attrs = dict(template.attrs)
    return cube


def _renamed_from(raw: xr.Dataset, canonical: str) -> str:
    from mcnnseq.io.aliases import find_dim

    return str(find_dim([str(d) for d in raw.dims], canonical))


def _template(first: xr.Dataset, *, x: np.ndarray, y: np.ndarray, rows: int, cols: int) -> xr.Dataset:
    """The whole cube's structure (variables, dtypes, attributes, coordinates) as lazy zeros."""
    import dask.array as da

    nt = first.sizes["time"]
    data_vars = {}
    for name, var in first.data_vars.items():
        shape = tuple({"time": nt, "y": y.size, "x": x.size}.get(d, var.sizes[d]) for d in var.dims)
        chunks = tuple({"time": -1, "y": rows, "x": cols}.get(d, -1) for d in var.dims)
        data_vars[name] = (var.dims, da.zeros(shape, dtype=var.dtype, chunks=chunks), dict(var.attrs))
    coords = {}
    for name, coord in first.coords.items():
        if name == "x":
            coords[name] = ("x", x, dict(coord.attrs))
        elif name == "y":
            coords[name] = ("y", y, dict(coord.attrs))
        elif set(coord.dims) <= {"time"}:
            coords[name] = (coord.dims, coord.values, dict(coord.attrs))
    return xr.Dataset(data_vars, coords=coords, attrs=dict(first.attrs))


__all__ = ["DEFAULT_BLOCK", "SAMPLE_BLOCKS", "SAMPLE_GRID", "SAMPLE_SIDE", "block_shape", "resolve_sigma0", "standardize_lazy", "stored_chunks"]
