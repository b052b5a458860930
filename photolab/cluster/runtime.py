"""Starting or joining the Ray runtime the ``--ray [ADDRESS]`` option names.

``--ray`` alone starts a local runtime sized to the machine (every CPU and GPU, no dashboard); ``--ray
ADDRESS`` (``HOST:PORT`` of a running cluster's head, or ``ray://HOST:10001`` for Ray Client) joins a
cluster. A runtime that is already running in this process (tests start one with two CPUs) is reused.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from pathlib import Path
from typing import Iterator

from photolab.core.errors import PhotoLabError

LOCAL = "local"
"""The address meaning: start a local runtime (what ``--ray`` without an address gives, see
:func:`photolab.cli.common.add_ray_option`)."""

INSTALL_HINT = "pip install 'photolab[cluster]'"


class ClusterError(PhotoLabError):
    """Ray is missing, or the cluster cannot be reached or run the work; the message says what to do."""


def import_ray(*parts: str):
    """The ``ray`` module with its ``parts`` imported (``"data"``, ``"train.torch"``), or a :class:`ClusterError`
    saying how to install Ray. Ray's warnings and errors then go where photolab-cli's log goes (the log file,
    or the terminal with ``--verbose``), not over the progress bar."""
    try:
        import ray

        for part in parts:
            importlib.import_module(f"ray.{part}")
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    for name in ["ray", *(n for n in logging.root.manager.loggerDict if n.startswith("ray."))]:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))  # not Ray Data's per-operator dumps
    return ray


@contextlib.contextmanager
def ray_runtime(address: str, *parts: str) -> Iterator[object]:
    """Yield the ``ray`` module (with ``parts``, see :func:`import_ray`) connected to ``address`` (:data:`LOCAL`:
    a new local runtime); a runtime this function started is shut down on leaving, one that was already
    running is left alone."""
    ray = import_ray(*parts)
    with _no_worker_messages_on_stdout(ray):
        if ray.is_initialized():
            yield ray
            return
        with _started(ray, address):
            yield ray


@contextlib.contextmanager
def _no_worker_messages_on_stdout(ray) -> Iterator[None]:
    """Keep the driver's relay of worker and raylet messages off stdout (Ray prints "task failed, retrying"
    there when a worker dies, which would break ``--json``); PhotoLab reports each file's fate itself, and
    the messages stay in Ray's session logs. Ray has no public switch for this, hence its private flag."""
    module = getattr(getattr(ray, "_private", None), "worker", None)
    if module is None or not hasattr(module, "_worker_logs_enabled"):
        yield
        return
    previous, module._worker_logs_enabled = module._worker_logs_enabled, False
    try:
        yield
    finally:
        module._worker_logs_enabled = previous


@contextlib.contextmanager
def _started(ray, address: str) -> Iterator[None]:
    """``ray.init`` for ``address`` (see :func:`ray_runtime`), shut down on leaving."""
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                   configure_logging=False)
    if address == LOCAL:
        # Local workers import this very photolab (a source checkout, or the installed one).
        source = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
        options.update(address="local", runtime_env={"env_vars": {"PYTHONPATH": path}})
    else:
        options.update(address=address)
    try:
        ray.init(**options)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        where = "a local Ray runtime" if address == LOCAL else f"the Ray cluster at {address}"
        raise ClusterError(f"cannot start or join {where}: {' '.join(str(exc).split())[:300]}") from None
    try:
        yield
    finally:
        ray.shutdown()


def cluster_gpus(ray) -> int:
    """How many GPUs the connected runtime has."""
    return int(ray.cluster_resources().get("GPU", 0))
