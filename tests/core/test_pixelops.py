"""map_bands and run_shared: every row is filled once, by bands shared out among the calling thread and the
free pool threads, each with its own scratch; a busy pool never makes the caller wait."""

import threading
import time

import numpy as np
import pytest

from photolab.core import bands
from photolab.core.develop.pixelops import map_bands


@pytest.mark.parametrize("workers", [1, 3])
def test_every_band_knows_its_rows_and_gets_its_own_scratch(monkeypatch, workers):
    monkeypatch.setattr(bands, "worker_count", lambda: workers)
    height, width = 1001, 300  # 218 rows a band: five bands, the last one short
    pixels = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    threads = set()

    def kernel(band):
        threads.add(threading.get_ident())
        band.planes[0][:] = band.pixels[..., 0]  # through the scratch, so shared scratch would mix bands up
        time.sleep(0.01)
        band.out[:] = band.pixels * 2.0
        band.out[..., 0] = band.planes[0] + np.arange(band.top, band.top + band.pixels.shape[0])[:, None]

    out = map_bands(pixels, kernel, planes=1)
    np.testing.assert_array_equal(out[..., 1:], pixels[..., 1:] * 2.0)
    np.testing.assert_allclose(out[..., 0], pixels[..., 0] + np.arange(height)[:, None], rtol=1e-6)
    assert threading.get_ident() in threads and len(threads) <= workers


def test_the_caller_does_the_work_itself_while_the_pool_is_busy_and_errors_come_back():
    release = threading.Event()
    pool = bands._executor()
    blockers = [pool.submit(release.wait) for _ in range(pool._max_workers)]  # every pool thread busy
    try:
        done = []
        started = time.perf_counter()
        bands.run_shared(6, lambda index, state: done.append((index, state)), lambda: threading.get_ident())
        assert time.perf_counter() - started < 2.0
        assert sorted(index for index, _ in done) == list(range(6))
        assert {state for _, state in done} == {threading.get_ident()}
    finally:
        release.set()
        for blocker in blockers:
            blocker.result()

    def fail(index, state):
        if index == 3:
            raise ValueError("band 3")

    with pytest.raises(ValueError, match="band 3"):
        bands.run_shared(8, fail, lambda: None)
