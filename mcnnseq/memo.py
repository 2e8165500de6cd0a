"""A thread-safe memo for results that take a while: computed once, shared with whoever asks meanwhile.

A :class:`ResultStore` maps keys to computed values. :meth:`ResultStore.compute` returns the value,
computing it if nobody has; when another thread is computing the same key (a background warm-up, a
second browser tab), the caller waits for that result instead of computing it twice, and sees that
thread's progress through its own progress callback. A computation that fails leaves nothing behind;
a waiter then computes the value itself (and meets the error itself).

Progress callbacks (:data:`Progress`) take a fraction in 0..1 and a short text for the user.
No Streamlit here: the dashboard turns a :data:`Progress` into a progress bar (``mcnnseq.ui.runs``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

#: ``progress(fraction, text)``: fraction of the work done in 0..1, and what is being done.
Progress = Callable[[float, str], None]

_MISSING = object()


def no_progress(fraction: float, text: str) -> None:
    """A :data:`Progress` that shows nothing."""


def sub_progress(progress: Progress | None, start: float, stop: float) -> Progress:
    """A :data:`Progress` mapping 0..1 onto ``start``..``stop`` of ``progress`` (for a step of a longer job)."""
    if progress is None:
        return no_progress

    def report(fraction: float, text: str) -> None:
        progress(start + (stop - start) * min(max(float(fraction), 0.0), 1.0), text)

    return report


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    text: str = ""


class ResultStore:
    """Key -> value, each computed once (see the module docstring). Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, Any] = {}
        self._pending: dict[Hashable, _Pending] = {}

    # ------------------------------------------------------------------ plain access

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._values.get(key, default)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._values)

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Forget every value (and every computation in flight) whose key satisfies ``predicate``.

        A computation in flight for such a key keeps running, but its result is not stored; threads
        waiting for it wake up and compute the value themselves if they still want it.
        """
        with self._lock:
            gone = [k for k in self._values if predicate(k)]
            for k in gone:
                del self._values[k]
            stopped = [k for k in self._pending if predicate(k)]
            for k in stopped:
                self._pending.pop(k).done.set()
        return len(gone) + len(stopped)

    # ------------------------------------------------------------------ computing

    def claim(self, key: Hashable) -> bool:
        """Reserve ``key`` for the calling thread; False when it has a value or is being computed."""
        with self._lock:
            if key in self._values or key in self._pending:
                return False
            self._pending[key] = _Pending()
            return True

    def report(self, key: Hashable, fraction: float, text: str) -> None:
        """Progress of the computation of a claimed ``key`` (seen by the threads waiting for it)."""
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            pending.fraction, pending.text = float(fraction), text

    def fulfil(self, key: Hashable, value: Any) -> None:
        """Store the value of a claimed ``key`` and wake its waiters (dropped if the key was discarded)."""
        with self._lock:
            pending = self._pending.pop(key, None)
            if pending is not None:
                self._values[key] = value
        if pending is not None:
            pending.done.set()

    def abandon(self, key: Hashable) -> None:
        """Give up a claimed ``key`` (its computation failed); waiters then compute it themselves."""
        with self._lock:
            pending = self._pending.pop(key, None)
        if pending is not None:
            pending.done.set()

    def wait(self, key: Hashable, progress: Progress | None = None, *, poll: float = 0.1) -> Any:
        """The value of ``key``, waiting while another thread computes it; ``_MISSING`` if nobody does."""
        while True:
            with self._lock:
                if key in self._values:
                    return self._values[key]
                pending = self._pending.get(key)
            if pending is None:
                return _MISSING
            if pending.done.wait(poll):
                continue
            if progress is not None:
                progress(pending.fraction, pending.text or "Finishing a computation started elsewhere…")

    def compute(self, key: Hashable, fn: Callable[[Progress], T], progress: Progress | None = None) -> T:
        """The value of ``key``; computed with ``fn(progress)`` unless it exists or is being computed."""
        while True:
            value = self.wait(key, progress)
            if value is not _MISSING:
                return value
            if not self.claim(key):
                continue  # another thread claimed it between our wait and our claim: wait for it

            def report(fraction: float, text: str, _key=key) -> None:
                self.report(_key, fraction, text)
                if progress is not None:
                    progress(fraction, text)

            try:
                value = fn(report)
            except BaseException:
                self.abandon(key)
                raise
            self.fulfil(key, value)
            return value


def is_missing(value: Any) -> bool:
    """True for what :meth:`ResultStore.wait` returns when no thread computes the key."""
    return value is _MISSING


def keys_with(store: ResultStore, parts: Iterable[Hashable]) -> list[Hashable]:
    """Keys of ``store`` (tuples) holding every one of ``parts`` (a debugging and test helper)."""
    wanted = list(parts)
    return [k for k in store.keys() if isinstance(k, tuple) and all(p in k for p in wanted)]
