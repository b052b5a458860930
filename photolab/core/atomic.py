"""Atomic file writing: write a temporary file beside the target, then rename it over the target.

A crash, a cancel or a full disk leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from photolab.core.errors import FileAccessError


def _temporary_beside(target: Path) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileAccessError(f"{target}: the folder {folder} does not exist")
    try:
        handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix,
                                                  dir=folder)
    except OSError as exc:
        raise FileAccessError(f"{target}: cannot write in {folder} ({exc.strerror or exc})") from exc
    os.close(handle)
    return Path(temporary_name)


def leftover_temporaries(target: str | Path) -> list[Path]:
    """The temporary files a writer of ``target`` left behind when its process was killed before it could
    remove them (a crash, SIGKILL, a lost machine): the names :func:`atomic_path` and :func:`atomic_new_path`
    give them, in the target's folder."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        return sorted(folder.glob(f".{glob.escape(target.name)}.*.part{glob.escape(target.suffix)}"))
    except OSError:
        return []


def _set_mode(temporary: Path, target: Path | None) -> None:
    """The target's permissions if it exists, else those a new file gets (mkstemp's are 0600)."""
    if target is not None and target.exists():
        with contextlib.suppress(OSError):
            os.chmod(temporary, os.stat(target).st_mode & 0o777)
    else:
        with contextlib.suppress(OSError):
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``target``.

    On any exception (including cancellation) the temporary file is removed and the target untouched.
    """
    target = Path(target)
    temporary = _temporary_beside(target)
    try:
        yield temporary
        _set_mode(temporary, target)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise FileAccessError(f"{target}: cannot be written ({exc.strerror or exc})") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class NewFile:
    """What :func:`atomic_new_path` yields: write ``temporary``; ``path`` is the name it got, once published."""

    temporary: Path
    path: Path | None = None


MAX_NUMBERED = 100_000


@contextlib.contextmanager
def atomic_new_path(target: str | Path, candidates: Callable[[Path], Iterable[Path]] | None = None
                    ) -> Iterator[NewFile]:
    """Like :func:`atomic_path`, but never replaces a file: the written file gets the first free name of
    ``candidates(target)`` (default: ``target`` only, and an existing one is a FileAccessError), taken with a
    hard link, which fails rather than replace a file created meanwhile. Where the file system has no hard
    links, a name found free is taken with a rename."""
    target = Path(target)
    new = NewFile(_temporary_beside(target))
    try:
        yield new
        _set_mode(new.temporary, None)
        for count, candidate in enumerate(candidates(target) if candidates else [target]):
            if count >= MAX_NUMBERED:
                break
            try:
                os.link(new.temporary, candidate)
            except FileExistsError:
                continue
            except OSError:  # no hard links here (FAT, some network shares)
                if os.path.lexists(candidate):
                    continue
                os.rename(new.temporary, candidate)
                new.path = candidate
                return
            new.temporary.unlink()
            new.path = candidate
            return
        raise FileAccessError(f"{target} already exists; PhotoLab does not replace it")
    except OSError as exc:
        new.temporary.unlink(missing_ok=True)
        raise FileAccessError(f"{target}: cannot be written ({exc.strerror or exc})") from exc
    except BaseException:
        new.temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (fsynced before the rename)."""
    with atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
