"""mcnnseq.memo: computed once, waiters see the computing thread's progress, failures leave nothing behind."""

from __future__ import annotations

import threading
import time

import pytest

from mcnnseq.memo import ResultStore, is_missing, sub_progress


def test_compute_once_then_memoised():
    store = ResultStore()
    calls = []
    assert store.compute("k", lambda p: calls.append(1) or 42) == 42
    assert store.compute("k", lambda p: calls.append(1) or 0) == 42
    assert calls == [1] and "k" in store and store.get("k") == 42


def test_a_second_thread_waits_for_the_first_and_sees_its_progress():
    store = ResultStore()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(progress):
        calls.append("slow")
        progress(0.5, "half way")
        started.set()
        release.wait(10)
        return "done"

    worker = threading.Thread(target=store.compute, args=("k", slow))
    worker.start()
    started.wait(10)
    seen = []
    waiter = threading.Thread(target=lambda: seen.append(store.compute("k", lambda p: "again",
                                                                       lambda f, t: seen.append((f, t)))))
    waiter.start()
    time.sleep(0.3)
    release.set()
    worker.join(10)
    waiter.join(10)
    assert calls == ["slow"] and seen[-1] == "done"
    assert (0.5, "half way") in seen


def test_a_failure_leaves_nothing_and_the_waiter_computes_itself():
    store = ResultStore()
    started = threading.Event()

    def boom(progress):
        started.set()
        time.sleep(0.2)
        raise RuntimeError("no")

    errors = []
    worker = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, store.compute, "k", boom)))
    worker.start()
    started.wait(10)
    assert store.compute("k", lambda p: "fine") == "fine"
    worker.join(10)
    assert errors and store.get("k") == "fine"


def test_discard_drops_values_and_computations_in_flight():
    store = ResultStore()
    store.put(("a", 1), 1)
    store.put(("b", 1), 2)
    assert store.claim(("a", 2))
    assert store.discard(lambda k: k[0] == "a") == 2
    assert store.keys() == [("b", 1)]
    store.fulfil(("a", 2), 3)  # finished after it was discarded: not stored
    assert ("a", 2) not in store and is_missing(store.wait(("a", 2)))


def test_sub_progress_maps_onto_a_range():
    seen = []
    part = sub_progress(lambda f, t: seen.append(round(f, 3)), 0.5, 1.0)
    part(0.0, "")
    part(0.5, "")
    part(2.0, "")
    assert seen == [0.5, 0.75, 1.0]
    sub_progress(None, 0, 1)(0.3, "nothing happens")
