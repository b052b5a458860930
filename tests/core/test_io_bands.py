"""Row-band helper used by RAW conversion and export: coverage, errors, cancellation, fork safety."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

from photolab.core.bands import run_in_bands


def test_bands_cover_every_row_once():
    counts = np.zeros(1001, dtype=int)

    def work(start, end):
        counts[start:end] += 1

    fractions = []
    run_in_bands(1001, 7, work, steps=10, after_step=fractions.append)
    assert (counts == 1).all()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 10


def test_errors_propagate_and_later_groups_never_start():
    started = []

    def work(start, end):
        started.append(start)
        if start == 0:
            raise ValueError("bad band")

    with pytest.raises(ValueError, match="bad band"):
        run_in_bands(100, 10, work, steps=5)
    assert max(started) < 20  # the first group (two bands) only

    def stop(fraction):
        raise KeyboardInterrupt  # stands for JobCancelled

    started.clear()
    with pytest.raises(KeyboardInterrupt):
        run_in_bands(100, 10, lambda start, end: started.append(start), steps=5, after_step=stop)
    assert sorted(started) == [0, 10]


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs fork")
def test_usable_in_a_forked_child():
    """Data-loader workers fork after the pool exists; the child must not wait on threads it lacks."""
    run_in_bands(64, 8, lambda start, end: None)  # make sure the pool exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        signal.alarm(20)  # a deadlocked child dies instead of hanging the test run
        rows = np.zeros(64)
        run_in_bands(64, 8, lambda start, end: rows.__setitem__(slice(start, end), 1))
        os.write(write, b"ok" if rows.all() else b"no")
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok" and status == 0
