"""Row bands: whole-image pixel work done a few rows at a time, on all cores.

Small bands keep temporaries in the cache (whole-image float temporaries are several times slower on a
24 MP photo and multiply the peak memory), and OpenCV and NumPy release the GIL, so threads give real
parallelism. Work functions must write disjoint rows only.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    """Threads used for band work (the cores, at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


def _forget_pool_in_child() -> None:
    """A forked child (e.g. a data-loader worker) inherits the pool object but none of its threads."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(worker_count(), thread_name_prefix="photolab-bands")
        return _pool


def run_in_bands(height: int, rows: int, work: Callable[[int, int], None], *, steps: int = 1,
                 after_step: Callable[[float], None] | None = None) -> None:
    """Call ``work(start, end)`` for consecutive bands of ``rows`` rows covering ``0..height``, in parallel.

    The bands are processed in ``steps`` groups; ``after_step(fraction_done)`` runs between groups (a
    place to report progress or raise to cancel: bands of later groups are then never started).
    """
    bands = [(start, min(height, start + rows)) for start in range(0, height, max(1, rows))]
    per_group = max(1, -(-len(bands) // max(1, steps)))
    for first in range(0, len(bands), per_group):
        group = bands[first:first + per_group]
        if len(group) == 1 or worker_count() == 1:
            for start, end in group:
                work(start, end)
        else:
            for _ in _executor().map(lambda band: work(*band), group):
                pass
        if after_step is not None:
            after_step(group[-1][1] / height)


def run_shared(count: int, work: Callable[[int, Any], None], scratch: Callable[[], Any]) -> None:
    """Call ``work(index, state)`` for every index in ``0..count``, on the calling thread and on the pool's
    threads that are free, each taking the next index as it finishes one; each thread makes its own ``state =
    scratch()``. The caller never waits for a busy pool: helpers that have not started when the caller runs out
    of work are cancelled, so a preview is not queued behind an export's bands. The first error is raised."""
    counter = itertools.count()
    failed = threading.Event()

    def run() -> None:
        state = scratch()
        for index in counter:
            if index >= count or failed.is_set():
                return
            try:
                work(index, state)
            except BaseException:
                failed.set()
                raise

    helpers = [] if count < 2 else [_executor().submit(run) for _ in range(min(count, worker_count()) - 1)]
    try:
        run()
    finally:
        started = [helper for helper in helpers if not helper.cancel()]
        for helper in started:
            helper.exception()  # wait for it
    for helper in started:
        if helper.exception() is not None:
            raise helper.exception()
