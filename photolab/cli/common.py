"""What every photolab-cli sub-command shares: the one error format, the log that takes what libraries print,
argument types, the progress renderer, and path checks that never raise."""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import math
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Callable, Iterator, TextIO

from photolab.jobs import describe_error

ERROR_PREFIX = "photolab-cli: error:"
WARNING_PREFIX = "photolab-cli: warning:"
LOG_DIR_ENV = "PHOTOLAB_LOG_DIR"
LOG_NAME = "photolab-cli.log"
_LOG_BYTES = 1_000_000  # the log is cut to its newest half beyond this


def one_line(message) -> str:
    """``message`` as a single line (line breaks and runs of spaces become one space)."""
    return " ".join(str(message).split())


def fail(message) -> int:
    """Print ``message`` as a one-line CLI error on stderr; return the exit status 1."""
    print(f"{ERROR_PREFIX} {one_line(message)}", file=sys.stderr, flush=True)
    return 1


def warn(message) -> None:
    """Print ``message`` as a one-line CLI warning on stderr."""
    print(f"{WARNING_PREFIX} {one_line(message)}", file=sys.stderr, flush=True)


def log_dir() -> Path:
    """Where photolab-cli keeps its log: ``$PHOTOLAB_LOG_DIR``, else the platform's user log folder."""
    override = os.environ.get(LOG_DIR_ENV, "").strip()
    if override:
        return Path(override)
    from platformdirs import user_log_dir

    return Path(user_log_dir("photolab", appauthor=False))


@contextlib.contextmanager
def library_output_to_log(*, verbose: bool, argv: list[str]) -> Iterator[Path | None]:
    """Run a command with what libraries print kept off the user's terminal.

    Python logging and warnings go to the log file; so does everything written to file descriptor 2 by C
    code (OpenCV's ``[ WARN ]`` lines, libpng, LibRaw) when ``sys.stderr`` is the process's real stderr: fd 2
    then points at the log while ``sys.stderr`` keeps the terminal for PhotoLab's own messages. With
    ``verbose`` nothing is redirected and logging goes to stderr. Yields the log's path (None if verbose
    or when no log can be written).
    """
    root = logging.getLogger()
    previous_level = root.level
    logging.captureWarnings(True)
    if verbose:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield None
        finally:
            root.removeHandler(handler)
            root.setLevel(previous_level)
            logging.captureWarnings(False)
        return
    log_path = _open_log()
    handler = logging.FileHandler(log_path, encoding="utf-8") if log_path else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("photolab.cli").info("photolab-cli %s", " ".join(argv))
    redirect = _redirect_fd2(log_path) if log_path else contextlib.nullcontext()
    try:
        with redirect, warnings.catch_warnings():
            warnings.simplefilter("default")
            yield log_path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)
        logging.captureWarnings(False)


def _open_log() -> Path | None:
    """The log file, created if needed and cut to its newest half when it grows past ~1 MB; None when the log
    folder cannot be written (the command still runs, its library output then goes nowhere)."""
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        if path.exists() and path.stat().st_size > _LOG_BYTES:
            newest = path.read_bytes()[-_LOG_BYTES // 2:]
            path.write_bytes(newest[newest.find(b"\n") + 1:])
        with open(path, "a", encoding="utf-8"):
            pass
        return path
    except OSError:
        return None


@contextlib.contextmanager
def _redirect_fd2(log_path: Path) -> Iterator[None]:
    """Point file descriptor 2 at the log for the duration; ``sys.stderr`` keeps writing to the terminal."""
    try:
        real_stderr = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (tests): nothing to redirect
        real_stderr = False
    if not real_stderr:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding=sys.stderr.encoding,
                         errors="backslashreplace")
    original = sys.stderr
    with open(log_path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
    sys.stderr = terminal
    try:
        yield
    finally:
        terminal.flush()
        sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()


def unexpected_error(error: BaseException, command: str, log_path: Path | None) -> str:
    """The one line shown for an error PhotoLab did not foresee; its traceback goes to the log."""
    logging.getLogger("photolab.cli").error("%s failed:\n%s", command,
                                            "".join(traceback.format_exception(error)))
    where = f"details in {log_path}" if log_path else "run with --verbose for details"
    return f"{describe_error(error, command)} ({where})"


def same_file(first: str | Path, second: str | Path) -> bool:
    """True when both paths name one file (links followed; for a path that does not exist yet, the same
    resolved name); never raises, even on a symlink loop."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return os.path.realpath(first) == os.path.realpath(second)


def whole_number(low: int, high: int | None = None, *, multiple_of: int = 1,
                 what: str = "") -> Callable[[str], int]:
    """An argparse type accepting whole numbers in ``[low, high]`` (no upper bound when ``high`` is None) that
    are multiples of ``multiple_of``; ``what`` names the value in the error message."""
    label = f"{what} " if what else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{label}must be {bound}, got {value}")
        if value % multiple_of:
            raise argparse.ArgumentTypeError(f"{label}must be a multiple of {multiple_of}, got {value}")
        return value
    return parse


def number(low: float, high: float, *, what: str = "", example: str = "") -> Callable[[str], float]:
    """An argparse type accepting finite numbers in ``[low, high]``; ``what`` names the value and ``example``
    shows a valid one in the error messages."""
    label = f"{what} " if what else ""
    expected = f"a number such as {example}" if example else "a number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{label}must be between {low:g} and {high:g}, got {text}")
        return value
    return parse


jpeg_quality = whole_number(1, 100, what="quality")
"""The ``--quality`` type of every command that writes JPEG/WebP."""

DEVICES = ("cpu", "cuda", "auto")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda|auto`` (auto: a GPU when there is one), the same on every command that runs a model."""
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where the network runs: cpu (default), cuda, or auto (a GPU when there is one)")


def add_ray_option(parser: argparse.ArgumentParser) -> None:
    """``--ray [ADDRESS]`` on a batch or training command: alone, the value ``"local"`` (a local Ray runtime,
    see :mod:`photolab.cluster.runtime`); absent, None."""
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run on Ray: alone, a local Ray runtime sized to this machine; with ADDRESS "
                             "(HOST:PORT of a running cluster's head), that cluster "
                             "(needs pip install 'photolab[cluster]')")


class Progress:
    """The one progress renderer of photolab-cli, on stderr: a bar rewritten in place on a terminal (with
    the item being worked on and an ETA); on a pipe a line per 10 % with ``lines_on_pipe`` (long single jobs
    such as training, whose logs want a heartbeat), else nothing, so that a pipe sees only the messages."""

    def __init__(self, stream: TextIO | None = None, *, total: int = 1, lines_on_pipe: bool = False,
                 width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.width = max(1, total), width
        self.on_terminal = self.stream.isatty()
        self.quiet = not self.on_terminal and not lines_on_pipe
        self.start = time.monotonic()
        self._decile = -1
        self._last = ""

    def __call__(self, fraction: float, message: str = "", index: int = 0) -> None:
        """Report ``fraction`` of item ``index`` (of ``total``) done; ``message`` says what is happening."""
        if self.quiet:
            return
        overall = min(1.0, (index + fraction) / self.total)
        if self.on_terminal:
            filled = int(overall * self.width)
            elapsed = time.monotonic() - self.start
            eta = f" ETA {elapsed * (1 - overall) / overall:4.0f} s" if 0.02 < overall < 1 else ""
            count = f" {index + 1}/{self.total}" if self.total > 1 else ""
            line = f"\r[{'#' * filled}{'-' * (self.width - filled)}] {overall:4.0%}{count}{eta} {message}"[:120]
            if line != self._last:
                self.stream.write(line.ljust(len(self._last)))
                self.stream.flush()
                self._last = line
        elif int(overall * 10) > self._decile:
            self._decile = int(overall * 10)
            self.stream.write(f"{overall:.0%} {message}\n")
            self.stream.flush()

    def clear(self) -> None:
        """Remove the bar from the terminal (before printing a message)."""
        if self.on_terminal and self._last:
            self.stream.write("\r" + " " * len(self._last) + "\r")
            self.stream.flush()
            self._last = ""

    def finish(self) -> None:
        """End the bar's line."""
        if self.on_terminal and self._last:
            self.stream.write("\n")
            self.stream.flush()
            self._last = ""


def run_job_with_progress(job) -> None:
    """Run a long single job (training, adaptation) in the foreground with a progress line on stderr; Ctrl+C
    cancels the job (which then decides what it keeps) instead of killing the process."""
    progress = Progress(lines_on_pipe=True)
    job.on_progress(progress)
    previous = None
    if threading.current_thread() is threading.main_thread():  # signals can only be set there
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, lambda *_: job.cancel())
    try:
        job.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    progress.finish()
