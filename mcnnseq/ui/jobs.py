"""Training in a background thread, so the dashboard stays responsive (no Streamlit here).

A :class:`TrainingJob` trains one or more models one after the other on an experiment, records the
per-epoch history and the progress as it goes, and stops cleanly when :meth:`TrainingJob.stop` is
called (the loop polls the stop flag before every batch; the best epoch so far is kept). The page
polls the job (a ``st.fragment`` that reruns every second) and, when it has finished, moves the
trained models into the session. Switching pages does not interrupt a job.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

import pandas as pd

from mcnnseq.errors import McnnSeqError


@dataclass
class TrainingJob:
    """Train ``configs`` (``mcnnseq.training.TrainConfig``, one per model) on ``experiment`` in a thread.

    Read-only for the UI while running: ``status`` ("running", "done", "stopped", "failed"),
    ``current`` (display name of the model in training), ``progress`` (0..1 over all models),
    ``history`` (rows of ``model, epoch, step, train_loss, val_loss, train_r2, val_r2, seconds``, one per
    evaluation point),
    ``results`` (display name -> ``TrainedModel``), ``error`` (a message, when failed).
    :func:`progress_text` is what the page and the sidebar show.
    """

    experiment: object
    configs: list
    cube_key: str
    label: str = ""
    preset: str = "custom"  #: the preset the runs are named after ("quick", "paper"…)
    harvested: list | None = None  #: ids of the runs made from the results, once the session took them
    status: str = "running"
    current: str = ""
    current_index: int = 0  #: index in ``configs`` of the model in training
    progress: float = 0.0
    error: str | None = None
    results: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    _rows: list = field(default_factory=list, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> "TrainingJob":
        self._thread = threading.Thread(target=self._run, name=f"mcnnseq-train-{self.cube_key}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop before the next batch; models already trained (and the best epoch so far) are kept."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self.status == "running"

    def progress_text(self) -> str:
        """``"Training CNN (2 of 3): 44 %"``: the one text the Train page and the sidebar show."""
        n = len(self.configs)
        if not self.running:
            return f"Training {self.status}: {100 * self.progress:.0f} %"
        which = ""
        if self.current and n > 1:
            which = f" ({self.current_index + 1} of {n})"
        text = f"Training {self.current or '…'}{which}: {100 * self.progress:.0f} %"
        return text + (" — stopping…" if self.stopping else "")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def history(self) -> pd.DataFrame:
        """Per-epoch curves so far (one row per model and epoch)."""
        with self._lock:
            rows = list(self._rows)
        cols = ["model", "epoch", "step", "train_loss", "val_loss", "train_r2", "val_r2", "seconds"]
        return pd.DataFrame(rows, columns=cols)

    def _run(self) -> None:
        from mcnnseq import experiment as exp_mod
        from mcnnseq.models.registry import display_name
        from mcnnseq.training import Callback

        job = self
        n = len(self.configs)

        class _Progress(Callback):
            def __init__(self, index: int, name: str):
                self.index, self.name = index, name

            def on_step_end(self, step: int, max_steps: int) -> None:
                # the step budget is an upper bound: early stopping may end a model sooner
                job.progress = min(1.0, (self.index + step / max(max_steps, 1)) / n)

            def on_epoch_end(self, record) -> None:
                with job._lock:
                    job._rows.append({"model": self.name, "epoch": record.epoch, "step": record.step,
                                      "train_loss": record.train_loss,
                                      "val_loss": record.val_loss, "train_r2": record.train_r2,
                                      "val_r2": record.val_r2, "seconds": record.seconds})

        try:
            for i, config in enumerate(self.configs):
                if self._stop.is_set():
                    break
                name = display_name(config.model)
                self.current, self.current_index = name, i
                trained = exp_mod.train(self.experiment, config, callbacks=[_Progress(i, name)],
                                        should_stop=self._stop.is_set)
                if trained.best_epoch is not None:
                    self.results[name] = trained
                self.progress = (i + 1) / n
            self.status = "stopped" if self._stop.is_set() else "done"
        except McnnSeqError as err:
            self.error, self.status = str(err), "failed"
        except Exception as err:  # noqa: BLE001  (a background thread must report, not die silently)
            self.error = f"{type(err).__name__}: {err}"
            self.status = "failed"
            traceback.print_exc()
        finally:
            self.current = ""
            self.finished = time.time()
