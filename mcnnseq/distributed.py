"""Whole-scene prediction on a Dask cluster: block by block, written to Zarr (or NetCDF), bounded memory.

The same code runs on one laptop (a :class:`distributed.LocalCluster`, ``workers=N``) or on many
machines (an existing scheduler, ``scheduler="tcp://host:8786"``; every worker must see the input
and output paths, e.g. a shared file system)::

    from mcnnseq.distributed import PortableModel, predict_scene
    from mcnnseq.io import open_cube

    cube = open_cube("tile.zarr", chunks="auto")            # lazy: nothing is loaded
    summary = predict_scene(PortableModel.from_checkpoint("cnn.pt"), cube, "tile_ndvi.zarr", workers=2)

How it works:

* The cube (lazy or in memory) is cut into spatial blocks holding whole time series (the cube's
  dask chunks, or :func:`mcnnseq.io.lazy.block_shape`); every block is one task (its own culled
  dask graph travels with it) that reads and decodes its inputs, predicts with :func:`mcnnseq.prediction.predict_radar` (the function
  :func:`~mcnnseq.prediction.predict_cube` uses, so the values are the same) and writes its region of
  the output store, returning only four pixel counts. A worker holds about one block's inputs and
  outputs per thread: memory does not grow with the scene.
* The model travels as a :class:`PortableModel` — a checkpoint's bytes, or the registry name and
  parameters of a classic gap-filler (no weights) — scattered to every worker once; each worker
  process builds the model once (checkpoints through :func:`mcnnseq.checkpoints.load_checkpoint`,
  i.e. ``torch.load(weights_only=True)``: nothing is unpickled) and keeps it for every block.
* Output: any of ``ndvi_pred``, ``ndvi_filled``, ``ndvi_std``, ``fill_source`` (see
  :mod:`mcnnseq.prediction`) with the input's
  dates, grid, CRS (``spatial_ref`` grid mapping) and attributes, written to ``<name>.partial-<pid>``
  and moved into place when complete. ``.nc`` targets are written as Zarr first, then streamed
  into one NetCDF file block by block by this process.
* ``fill_source`` needs the cube's optical dates (a date with a clear value anywhere): each block
  writes its codes as if every date had one and returns which dates it saw clear; when the last block is
  done, the blocks of a date no block saw clear get their cloud-filled codes rewritten as no-optical-date
  (a pass over the uint8 codes only, skipped when every date was seen clear). The cube is read once.
* With ``products=("ndvi_filled",)`` only, pixels whose every date is clear need no prediction
  (their filled series is the observed one): they are not predicted, and counted separately.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from mcnnseq.datacube import DIMS
from mcnnseq.errors import CheckpointError, ClusterError, DatacubeError, ModelConfigError
from mcnnseq.prediction import (CHUNK_PIXELS, SCENE_PRECISION, ProgressCallback, _check_inputs, _output_dataset,
                                predict_radar_std)

#: What a scene prediction can write (see :mod:`mcnnseq.prediction`): ``ndvi_std`` only for models with a σ
#: model, ``ndvi_filled`` and ``fill_source`` only for cubes with ``ndvi``.
PRODUCTS: tuple[str, ...] = ("ndvi_pred", "ndvi_filled", "ndvi_std", "fill_source")


#: Seconds to wait for an existing scheduler before giving up (``scheduler=``).
CONNECT_TIMEOUT_S: float = 10.0
#: After a failed block, at most this many seconds to wait for the blocks still running elsewhere to end
#: (they cannot be interrupted) before the partial output is removed.
STOP_WAIT_S: float = 300.0


# ------------------------------------------------------------------------------------------ the model

@dataclass(frozen=True)
class PortableModel:
    """What a worker needs to rebuild a model: checkpoint bytes, or a registry name and parameters.

    ``kind`` is ``"checkpoint"`` (``data`` = the bytes of a file written by
    :func:`mcnnseq.checkpoints.save_checkpoint`) or ``"named"`` (``name`` a key of
    :data:`mcnnseq.models.registry.GAP_FILLERS`, ``params`` its constructor keywords as JSON text). ``label`` names the
    model in outputs ("CNN"); ``source`` names its file in error messages.
    """

    kind: str
    label: str
    data: bytes = b""
    name: str = ""
    params: str = "{}"
    source: str | None = None
    digest: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("checkpoint", "named"):
            raise ValueError(f"kind must be 'checkpoint' or 'named', got {self.kind!r}")
        h = hashlib.sha256(f"{self.kind}\0{self.name}\0{self.params}\0".encode())
        h.update(self.data)
        object.__setattr__(self, "digest", h.hexdigest())

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> "PortableModel":
        """The checkpoint file at ``path``, checked here first (:class:`CheckpointError` if unreadable)."""
        from mcnnseq.checkpoints import load_checkpoint

        path = Path(path)
        trained = load_checkpoint(path)  # refuse a bad file here, not on every worker
        return cls(kind="checkpoint", label=trained.name, data=path.read_bytes(), source=path.name)

    @classmethod
    def from_model(cls, model) -> "PortableModel":
        """A model in memory: a trained network (saved to bytes as it is now) or a classic gap-filler."""
        from mcnnseq.training import TrainedModel

        if isinstance(model, TrainedModel):
            from mcnnseq.checkpoints import save_checkpoint

            with tempfile.TemporaryDirectory(prefix="mcnnseq-model-") as tmp:
                data = save_checkpoint(model, Path(tmp) / "model.pt").read_bytes()
            source = Path(model.source).name if model.source else None
            return cls(kind="checkpoint", label=model.name, data=data, source=source)
        from mcnnseq.models.registry import GAP_FILLERS

        key = getattr(model, "model_name", None)
        if key in GAP_FILLERS and callable(getattr(model, "config", None)):
            return cls(kind="named", label=str(getattr(model, "name", key) or key), name=key,
                       params=json.dumps(model.config(), sort_keys=True, default=str))
        raise ModelConfigError(f"cannot send {type(model).__name__} to dask workers: give a trained model "
                               f"(TrainedModel, sent as checkpoint bytes) or a classic gap-filler "
                               f"({', '.join(GAP_FILLERS)})")

    def build(self):
        """The model (a :class:`mcnnseq.prediction.Predictor`); raises like the loaders do."""
        if self.kind == "checkpoint":
            from mcnnseq.checkpoints import load_checkpoint

            fd, tmp = tempfile.mkstemp(prefix="mcnnseq-worker-", suffix=".pt")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(self.data)
                try:
                    trained = load_checkpoint(tmp)
                except CheckpointError as exc:
                    raise CheckpointError(exc.problem, source=self.source) from None
            finally:
                os.unlink(tmp)
            trained.source = self.source
            return trained
        from mcnnseq.models.registry import GAP_FILLERS

        spec = GAP_FILLERS.get(self.name)
        if spec is None:
            raise ModelConfigError(f"unknown model {self.name!r} (known by name: {', '.join(GAP_FILLERS)})")
        return spec.cls(**json.loads(self.params))


_MODELS: dict[str, object] = {}
_MODELS_LOCK = threading.Lock()


def worker_model(spec: PortableModel, *, torch_threads: int | None = 1):
    """``spec``'s model, built once per process (a worker keeps it for all its blocks)."""
    with _MODELS_LOCK:
        model = _MODELS.get(spec.digest)
        if model is None:
            if torch_threads is not None and spec.kind == "checkpoint":
                import torch

                torch.set_num_threads(int(torch_threads))
            model = spec.build()
            _BUILDS[0] += 1
            _MODELS.clear()  # one model at a time per worker: a scene's model replaces the last one
            _MODELS[spec.digest] = model
        return model


def models_built_here() -> int:
    """How many models this process has built (one per worker per scene: the tests check it)."""
    return _BUILDS[0]


_BUILDS = [0]


# ------------------------------------------------------------------------------------------ the cluster

@contextlib.contextmanager
def cluster_client(*, workers: int | None = None, scheduler: str | None = None, threads_per_worker: int = 1,
                   processes: bool = True, memory_limit: str | float | None = "auto",
                   timeout: float = CONNECT_TIMEOUT_S) -> Iterator:
    """A :class:`distributed.Client`: on ``scheduler`` (an address) or on a new ``LocalCluster``.

    ``workers`` worker processes (threads with ``processes=False``) of ``threads_per_worker``
    threads each; the cluster is closed on exit. An unreachable scheduler raises
    :class:`ClusterError` after ``timeout`` seconds.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None and workers is not None:
        raise ValueError("give workers (a local cluster) or scheduler (an existing one), not both")
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot connect to the Dask scheduler at {scheduler!r} within {timeout:g} s "
                               f"({type(exc).__name__}: {str(exc).strip()[:200]}); is it running, and is the "
                               "address tcp://HOST:PORT?", source=scheduler) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = 1 if workers is None else int(workers)
    if n < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    import logging

    import dask

    # a local cluster is an implementation detail here: its INFO chatter and the "still alive, killing"
    # notices of a worker slow to stop on a busy machine are not the user's business (errors still show)
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        # distributed's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers: each block's large numpy
        # temporaries are then unmapped and faulted in again, which costs 2-3x the CPU of a block (measured
        # 7.3 s vs 3.0 s for 512 x 512 x 31 with the CNN); one thread per library stays as distributed has it
        environ = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
        with dask.config.set({"logging.distributed": "error", "distributed.worker.profile.enabled": False,
                              "distributed.nanny.pre-spawn-environ": environ}), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Port 8787 is already in use" and friends
            cluster = LocalCluster(n_workers=n, threads_per_worker=int(threads_per_worker), processes=processes,
                                   dashboard_address=None, memory_limit=memory_limit)
        try:
            with Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


# ------------------------------------------------------------------------------------------ the blocks

@dataclass
class SceneSummary:
    """What :func:`predict_scene` did: pixel counts, where it wrote, ``seconds`` from the first block
    (the model already on every worker) to the last block written."""

    path: Path
    model: str
    pixels: int
    pixels_predicted: int
    pixels_clear_not_predicted: int
    pixels_incomplete_radar: int
    blocks: int
    seconds: float
    workers: int

    @property
    def px_per_s(self) -> float:
        return self.pixels / self.seconds if self.seconds > 0 else float("nan")

    def to_text(self) -> str:
        lines = [f"wrote {self.path}: {self.model}, {self.pixels:,} pixels in {self.blocks} blocks on "
                 f"{self.workers} worker(s), {self.seconds:.1f} s ({self.px_per_s:,.0f} px/s)",
                 f"  predicted {self.pixels_predicted:,} px; incomplete radar (NaN) {self.pixels_incomplete_radar:,} px"]
        if self.pixels_clear_not_predicted:
            lines.append(f"  clear on every date, not predicted (filled = observed) {self.pixels_clear_not_predicted:,} px")
        return "\n".join(lines)

    def attrs(self) -> dict:
        return {"pixels": self.pixels, "pixels_predicted": self.pixels_predicted,
                "pixels_clear_not_predicted": self.pixels_clear_not_predicted,
                "pixels_incomplete_radar": self.pixels_incomplete_radar}


def _block_task(vv: np.ndarray, vh: np.ndarray, observed: np.ndarray | None, spec: PortableModel, *,
                store: str, region: tuple[slice, slice], products: tuple[str, ...], chunk_pixels: int,
                torch_threads: int | None, source: str, precision: str = SCENE_PRECISION) -> np.ndarray:
    """Predict one block ((T, rows, cols) inputs) and write its region.

    Returns (4 + T,) int64: the four pixel counts (all, predicted, clear and not predicted, incomplete
    radar), then 1 for each date with a clear NDVI value in this block (0 without ``ndvi``). Its
    ``fill_source`` codes treat every date as having optical observations somewhere in the cube; the
    caller relabels the dates no block saw clear (:func:`_relabel_no_optical`)."""
    import zarr

    from mcnnseq.flags import fill_source

    model = worker_model(spec, torch_threads=torch_threads)
    vv = np.asarray(vv, dtype=np.float32)
    vh = np.asarray(vh, dtype=np.float32)
    radar_ok = np.isfinite(vv).all(axis=0) & np.isfinite(vh).all(axis=0)
    skip = np.zeros(radar_ok.shape, dtype=bool)
    if observed is not None and not {"ndvi_pred", "ndvi_std"} & set(products):
        skip = np.isfinite(observed).all(axis=0)  # filled = observed on every date: nothing to predict
    if skip.any():
        vv = np.where(skip[None], np.float32(np.nan), vv)
    pred, std = predict_radar_std(model, vv, vh, chunk_pixels=chunk_pixels, name=spec.label, source=source,
                                  ndvi=observed, precision=precision, with_std="ndvi_std" in products)
    group = zarr.open_group(store, mode="r+")
    rows, cols = region
    if "ndvi_pred" in products:
        group["ndvi_pred"][:, rows, cols] = pred
    if "ndvi_std" in products and std is not None:
        group["ndvi_std"][:, rows, cols] = std
    if "ndvi_filled" in products and observed is not None:
        group["ndvi_filled"][:, rows, cols] = np.where(np.isfinite(observed), observed, pred).astype(np.float32)
    clear = np.zeros(vv.shape[0], dtype=bool)
    if observed is not None:
        clear = np.isfinite(observed).reshape(observed.shape[0], -1).any(axis=1)
    if "fill_source" in products and observed is not None:
        group["fill_source"][:, rows, cols] = fill_source(observed, pred, np.ones(vv.shape[0], dtype=bool))
    counts = [radar_ok.size, int((radar_ok & ~skip).sum()), int((skip & radar_ok).sum()), int((~radar_ok).sum())]
    return np.concatenate([np.asarray(counts, dtype=np.int64), clear.astype(np.int64)])


def _relabel_no_optical(store: str, region: tuple[slice, slice], dates: Sequence[int]) -> None:
    """In ``store``'s ``fill_source``, on ``dates`` (no clear value anywhere in the cube) and in ``region``,
    rewrite cloud-filled codes as no-optical-date (only the uint8 codes are read and written)."""
    import zarr

    from mcnnseq.flags import CLOUD_FILLED, NO_OPTICAL_DATE

    codes = zarr.open_group(store, mode="r+")["fill_source"]
    rows, cols = region
    index = np.asarray(dates, dtype=np.int64)
    block = codes.get_orthogonal_selection((index, rows, cols))
    codes.set_orthogonal_selection((index, rows, cols),
                                   np.where(block == CLOUD_FILLED, NO_OPTICAL_DATE, block).astype(block.dtype))


def _read_and_predict_block(payload: bytes, spec: PortableModel, **kwargs) -> np.ndarray:
    """One whole block in one task: compute its inputs here (reading and decoding their part of the file,
    one thread), predict, write. Nothing stays in the worker's memory between blocks, and no block's
    inputs travel between workers.

    The block's garbage is collected before the task ends: decoding builds xarray objects whose ``.rio``
    accessors refer back to them (reference cycles), so a decoded block's arrays (about 100 MB at 512 x 512
    x 31) outlive the task until Python's cyclic collector runs — and it counts objects, not bytes, so
    several blocks' worth piled up in a worker (measured: 1.28 GB peak instead of 1.05 GB). In a worker
    process the objects that live on (libraries, the model) are frozen out of the collector once per
    scene (:func:`_load_on_worker`), so this collection only walks what the block made (microseconds).
    """
    try:
        return _compute_and_predict(payload, spec, **kwargs)
    finally:
        gc.collect()


def _compute_and_predict(payload: bytes, spec: PortableModel, **kwargs) -> np.ndarray:
    import pickle

    import dask

    arrays = pickle.loads(payload)
    # the graph is culled and left unfused (see _block_payload): the block is decoded once for all three
    values = dask.compute(*arrays, scheduler="synchronous", optimize_graph=False)
    vv, vh, observed = values if len(values) == 3 else (*values, None)
    del arrays, values
    return _block_task(vv, vh, observed, spec, **kwargs)


def _block_payload(parts: Sequence) -> bytes:
    """The graphs of one block's inputs (dask arrays), culled to that block, pickled for its task.

    Not fused: low-level fusion inlines the shared decoding task (``standardize_cube`` on the block's
    raw values, which yields vv, vh, ndvi and cloud together) into each input's chain, so a fused
    graph decodes the block three times, with three times the memory.
    """
    import cloudpickle
    import dask

    with dask.config.set({"optimization.fuse.active": False}):
        culled = dask.optimize(*parts)
    return cloudpickle.dumps(culled)


def _load_on_worker(spec: PortableModel, torch_threads: int | None, client_pid: int | None = None) -> int:
    """Build ``spec``'s model on this worker; in a worker process (not the client's), then collect the
    garbage and freeze what is left (libraries, worker state, the model) out of the cyclic collector,
    so that the per-block collection of :func:`_read_and_predict_block` costs microseconds, not 0.1-0.3 s.
    Done again for every scene (unfreezing first), so nothing frozen outlives its use for long."""
    worker_model(spec, torch_threads=torch_threads)
    if client_pid is not None and os.getpid() != client_pid:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    return os.getpid()


def _running_here(keys: set, dask_worker=None) -> int:
    """How many of ``keys`` still occupy a thread of this worker (cancelled ones included)."""
    return sum(1 for ts in dask_worker.state.all_running_tasks if ts.key in keys)


def _wait_until_stopped(client, keys: Sequence, timeout: float = STOP_WAIT_S) -> None:
    """Wait (at most ``timeout`` seconds) until no task of ``keys`` runs on any worker."""
    wanted = set(keys)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = client.run(_running_here, wanted)
        except Exception:  # noqa: BLE001  (a worker lost or the cluster closing: nothing more to wait for)
            return
        if not any(running.values()):
            return
        time.sleep(0.1)


def _regular_blocks(cube: xr.Dataset, chunks) -> xr.Dataset:
    """``cube`` chunked in regular spatial blocks holding every date (what the Zarr output needs)."""
    from mcnnseq.io.lazy import block_shape

    ny, nx = cube.sizes["y"], cube.sizes["x"]
    if chunks is not None:
        rows, cols = block_shape(chunks, ny=ny, nx=nx)
    elif cube["vv"].chunks is not None:
        found = dict(zip(cube["vv"].dims, cube["vv"].chunks))
        rows, cols = found["y"][0], found["x"][0]
    else:
        rows, cols = block_shape("auto", ny=ny, nx=nx)
    return cube.chunk({"time": -1, "y": rows, "x": cols})


def _init_store(template: xr.Dataset, path: Path) -> None:
    """Write the output's metadata and coordinates (not its data) to a new Zarr store."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr v3 "consolidated metadata" notices
        template.to_zarr(path, mode="w", compute=False, consolidated=False)


def _finish_store(path: Path, attrs: Mapping) -> None:
    import zarr

    group = zarr.open_group(path, mode="r+")
    group.attrs.update({k: int(v) for k, v in attrs.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path))


def predict_scene(model: PortableModel, cube: xr.Dataset, output: str | os.PathLike, *, client=None,
                  workers: int | None = None, scheduler: str | None = None, chunks=None,
                  products: Sequence[str] = PRODUCTS, chunk_pixels: int = CHUNK_PIXELS,
                  torch_threads: int | None = 1, progress: ProgressCallback | None = None,
                  processes: bool = True, timeout: float = CONNECT_TIMEOUT_S,
                  precision: str = SCENE_PRECISION) -> SceneSummary:
    """Predict every pixel of ``cube`` with ``model`` on a Dask cluster; write ``output`` (.zarr or .nc).

    ``cube``: a datacube (:mod:`mcnnseq.datacube`), lazy (``open_cube(..., chunks=...)``) or in
    memory. ``model``: a :class:`PortableModel` (or a trained model / gap-filler, converted with
    :meth:`PortableModel.from_model`). The cluster: ``client`` (an open
    :class:`distributed.Client`), else ``scheduler`` (an address), else a ``LocalCluster`` of
    ``workers`` processes (default 1) with one thread each (``processes=False``: threads of this
    process). ``chunks`` re-blocks the cube (see :func:`mcnnseq.io.lazy.block_shape`); by default
    its own dask chunks. ``products``: which of ``ndvi_pred``/``ndvi_filled`` to write (without
    ``ndvi_pred``, pixels clear on every date are not predicted). ``torch_threads``: intra-op
    threads of torch on each worker. ``progress(done, total)``: pixels written so far, after each block.
    ``timeout``: seconds to wait for ``scheduler``.

    Raises :class:`DatacubeError` / :class:`CheckpointError` as :func:`mcnnseq.prediction.predict_cube`
    does (block errors surface here), :class:`ClusterError` for an unreachable scheduler.
    """
    import dask

    if not isinstance(model, PortableModel):
        model = PortableModel.from_model(model)
    products = tuple(products)
    if not products or any(p not in PRODUCTS for p in products):
        raise ValueError(f"products must be some of {PRODUCTS}, got {products!r}")
    _check_inputs(cube, chunk_pixels)
    has_ndvi = "ndvi" in cube.data_vars
    if not has_ndvi:
        products = tuple(p for p in products if p not in ("ndvi_filled", "fill_source"))
        if not products:
            raise DatacubeError("has no 'ndvi': only ndvi_pred and ndvi_std can be written",
                                source=str(cube.attrs.get("source")))
    if "ndvi_std" in products:
        from mcnnseq.prediction import has_std

        if not has_std(model.build()):       # a classic gap-filler, or a checkpoint saved before σ
            products = tuple(p for p in products if p != "ndvi_std")
            if not products:
                raise ModelConfigError(f"{model.label} has no σ model: ndvi_std cannot be written")
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in (".zarr", ".nc"):
        raise ValueError(f"the output must end in .zarr or .nc, got {output.name!r}")

    cube = _regular_blocks(cube, chunks)
    source = str(cube.attrs.get("source") or "datacube")
    vv, vh = (cube[v].transpose(*DIMS).data for v in ("vv", "vh"))
    observed = None
    if has_ndvi:
        ndvi = cube["ndvi"].transpose(*DIMS).data.astype(np.float32)
        observed = dask.array.where(cube["cloud"].transpose(*DIMS).data.astype(bool), np.float32(np.nan), ndvi) \
            if "cloud" in cube.data_vars else ndvi

    zeros = dask.array.zeros(vv.shape, dtype=np.float32, chunks=vv.chunks)
    template = _output_dataset(cube, model.label, zeros, zeros if "ndvi_filled" in products else None,
                               std=zeros if "ndvi_std" in products else None,
                               source=zeros.astype(np.uint8) if "fill_source" in products else None)
    if "ndvi_pred" not in products:
        template = template.drop_vars("ndvi_pred")
    if not {"ndvi_pred", "ndvi_std"} & set(products) and has_ndvi:
        template.attrs["skipped_pixels"] = "pixels clear on every date are not predicted (filled = observed)"
    # coordinates are written now, with the metadata (a dask-backed one would be left out of the store)
    template = template.assign_coords({name: template[name].variable.compute() for name in template.coords
                                       if name not in template.dims})
    for name in template.data_vars:
        template[name].encoding["grid_mapping"] = "spatial_ref"

    store = output if suffix == ".zarr" else output.with_name(f".{output.name}.zarr")
    tmp = store.with_name(f".{store.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _init_store(template, tmp)
    except OSError as exc:
        raise DatacubeError(f"cannot be written ({exc.strerror or exc})", source=output.name) from exc

    ystarts = np.cumsum((0,) + vv.chunks[1])
    xstarts = np.cumsum((0,) + vv.chunks[2])
    total = int(vv.shape[1] * vv.shape[2])
    try:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(cluster_client(workers=workers, scheduler=scheduler,
                                                            processes=processes, timeout=timeout))
            addresses = list(client.scheduler_info(n_workers=-1).get("workers", {}))
            if not addresses:
                raise ClusterError("the Dask cluster has no worker", source=str(client.scheduler.address))
            spec = client.scatter(model, broadcast=True, hash=False)
            # every worker builds the model once, now (a bad checkpoint fails here, before any block)
            loads = [client.submit(_load_on_worker, spec, torch_threads, os.getpid(), workers=[a],
                                   allow_other_workers=False, pure=False) for a in addresses]
            client.gather(loads)
            t0 = time.perf_counter()
            futures, sizes, regions = [], [], []
            for i in range(len(vv.chunks[1])):
                for j in range(len(vv.chunks[2])):
                    region = (slice(int(ystarts[i]), int(ystarts[i + 1])), slice(int(xstarts[j]), int(xstarts[j + 1])))
                    # the block's own (culled) graph travels with its task: read, decode, predict, write in one
                    parts = [a.blocks[0, i, j] for a in (vv, vh, observed) if a is not None]
                    futures.append(client.submit(_read_and_predict_block, _block_payload(parts), spec, pure=False,
                                                 store=str(tmp), region=region, products=products,
                                                 chunk_pixels=int(chunk_pixels), torch_threads=torch_threads,
                                                 source=source, precision=precision))
                    sizes.append(vv.chunks[1][i] * vv.chunks[2][j])
                    regions.append(region)
            tasks = futures
            index = {f.key: k for k, f in enumerate(futures)}
            from distributed import as_completed

            counts = np.zeros(4, dtype=np.int64)
            seen_clear = np.zeros(vv.shape[0], dtype=bool)
            done = 0
            try:
                for fut in as_completed(futures, loop=client.loop):
                    result = fut.result()
                    counts += result[:4]
                    seen_clear |= result[4:].astype(bool)
                    done += sizes[index[fut.key]]
                    if progress is not None:
                        progress(done, total)
                no_optical = [int(t) for t in np.flatnonzero(~seen_clear)]
                if "fill_source" in products and no_optical:
                    futures = [client.submit(_relabel_no_optical, str(tmp), region, no_optical, pure=False)
                               for region in regions]
                    client.gather(futures)
            except BaseException:
                # a cancelled task that already runs goes on to its end and writes its region: wait for
                # those before the partial store is removed, or a late write recreates its folders
                client.cancel(futures)
                _wait_until_stopped(client, [f.key for f in futures])
                raise
            finally:
                client.cancel(futures)
        seconds = time.perf_counter() - t0
        summary = SceneSummary(path=output, model=model.label, pixels=int(counts[0]),
                               pixels_predicted=int(counts[1]), pixels_clear_not_predicted=int(counts[2]),
                               pixels_incomplete_radar=int(counts[3]), blocks=len(tasks), seconds=seconds,
                               workers=len(addresses))
        _finish_store(tmp, summary.attrs())
        if suffix == ".zarr":
            from mcnnseq.io.netcdf import replace_path

            replace_path(tmp, output)
        else:
            _zarr_to_netcdf(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _zarr_to_netcdf(store: Path, output: Path) -> None:
    """Stream a finished prediction store into one NetCDF file, a block at a time, in this process."""
    import dask

    from mcnnseq.io import write_netcdf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(store, decode_coords="all")
    try:
        with dask.config.set(scheduler="synchronous"):
            write_netcdf(ds, output, validate=False)
    finally:
        ds.close()


def open_prediction(path: str | os.PathLike) -> xr.Dataset:
    """Open a prediction written by :func:`predict_scene` (lazily), with its CRS and dates."""
    import rioxarray  # noqa: F401

    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix.lower() == ".zarr" or path.is_dir():
            return xr.open_zarr(path, decode_coords="all")
        return xr.open_dataset(path, decode_coords="all", chunks={})

__all__ = ["CONNECT_TIMEOUT_S", "PRODUCTS", "PortableModel", "SceneSummary", "cluster_client",
           "open_prediction", "predict_scene", "worker_model"]
