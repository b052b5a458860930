#!/usr/bin/env python3
"""Set up PhotoLab on a machine that has only Python, then launch it or run the tests.

    python3 packaging/bootstrap.py run [PHOTO...]            # the app, with the bundled sample photo by default
    python3 packaging/bootstrap.py test [PYTEST ARGS...]     # the tests, with the locked versions (and Ray)
    python3 packaging/bootstrap.py test --latest [ARGS...]   # the tests with the newest releases (.venv-latest)
    python3 packaging/bootstrap.py lock                      # re-resolve packaging/constraints.txt

It installs the Qt system libraries with apt-get when they are missing (Debian/Ubuntu, as root), makes a
virtual environment in .venv, installs PhotoLab into it in editable mode (a CPU build of PyTorch first)
with the exact versions of packaging/constraints.txt, and reinstalls only when pyproject.toml or the lock
changes. ``test`` also installs the ``cluster`` extra (Ray), so that the --ray tests run. pyproject.toml keeps version ranges for users; the lock is what CI and these commands install.
``--latest`` installs the newest releases the ranges allow into a separate .venv-latest (refreshed on every
call) so that drift is caught on purpose; ``lock`` resolves those newest releases and writes them as the
new lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
LATEST_VENV = ROOT / ".venv-latest"
LOCK = ROOT / "packaging" / "constraints.txt"
SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"
TORCH_CPU = "torch==2.13.0"
EXTRAS = {"run": "test", "test": "test,cluster", "lock": "test,cluster"}
"""The extras each command installs: the tests also need Ray (the cluster extra) for the --ray tests."""
# Shared libraries Qt's xcb/offscreen platforms load, and the Debian packages that provide them.
QT_SYSTEM_LIBRARIES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "lock"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "lock":
        write_lock(LATEST_VENV, EXTRAS[command])
        return 0
    install_system_libraries()
    if command == "test" and rest[:1] == ["--latest"]:
        rest = rest[1:]
        venv = LATEST_VENV
        install_python_packages(venv, locked=False, extras=EXTRAS[command])
        print(f"Testing with the newest releases: {', '.join(installed_versions(venv))}", flush=True)
    else:
        venv = VENV
        install_python_packages(venv, locked=True, extras=EXTRAS[command])
    if command == "run":
        return subprocess.call([str(_bin(venv) / "photolab"), *(rest or [str(SAMPLE)])])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.call([str(_python(venv)), "-m", "pytest", *rest], cwd=ROOT, env=env)


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _python(venv: Path) -> Path:
    return _bin(venv) / ("python.exe" if os.name == "nt" else "python")


def install_system_libraries() -> None:
    """apt-get the Qt runtime libraries that are missing (Linux with apt only; elsewhere Qt brings its own)."""
    if not sys.platform.startswith("linux") or not shutil.which("apt-get"):
        return
    try:
        known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return
    missing = sorted({package for library, package in QT_SYSTEM_LIBRARIES.items() if library not in known})
    if not missing:
        return
    if os.geteuid() != 0:
        print(f"PhotoLab needs these system packages: sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        return
    print(f"Installing Qt system libraries: {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def install_python_packages(venv: Path, *, locked: bool, extras: str = "test") -> None:
    """Create ``venv`` and install PhotoLab with ``extras``: the locked versions (skipped when pyproject.toml,
    the lock and the extras are unchanged since the last install), or the newest releases (``locked=False``,
    every time)."""
    stamp = venv / ".photolab-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()
                            + extras.encode()).hexdigest()
    if locked and stamp.exists() and stamp.read_text() == wanted and (_bin(venv) / "photolab").exists():
        return
    python = _python(venv)
    if not python.exists():
        print(f"Creating the virtual environment in {venv.name}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    has_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode == 0
    if not has_torch:
        print(f"Installing PyTorch ({TORCH_CPU}, CPU build)", flush=True)
        subprocess.run([*pip, TORCH_CPU], check=True)
    if locked:
        print(f"Installing PhotoLab and its dependencies (versions from {LOCK.relative_to(ROOT)})", flush=True)
        subprocess.run([*pip, "-c", str(LOCK), "-e", f"{ROOT}[{extras}]"], check=True)
    else:
        # The newest release of everything but PyTorch: its newest wheels are CUDA builds of several GB.
        print("Installing PhotoLab and the newest releases of its dependencies", flush=True)
        subprocess.run([*pip, "--upgrade", "--upgrade-strategy", "eager", "-e", f"{ROOT}[{extras}]", TORCH_CPU],
                       check=True)
    stamp.write_text(wanted if locked else "")


def installed_versions(venv: Path) -> list[str]:
    """``name==version`` of every package in ``venv`` but PhotoLab itself, sorted by name."""
    frozen = subprocess.run([str(_python(venv)), "-m", "pip", "freeze", "--exclude-editable",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    pins = [line.strip() for line in frozen.splitlines() if "==" in line and not line.startswith("#")]
    # A local version label (torch's "+cpu") names a build, not a release: pip matches 2.13.0 to 2.13.0+cpu.
    return sorted((pin.split("+")[0] for pin in pins), key=lambda pin: pin.split("==")[0].lower())


def write_lock(venv: Path, extras: str) -> None:
    """Resolve the newest releases the ranges in pyproject.toml allow, with ``extras`` (in ``venv``), and write
    them, pinned exactly, to packaging/constraints.txt."""
    install_python_packages(venv, locked=False, extras=extras)
    pins = installed_versions(venv)
    header = ("# Exact versions that CI and packaging/bootstrap.py install (pip install -c ...).\n"
              "# pyproject.toml keeps ranges for users. Regenerate with: python3 packaging/bootstrap.py lock\n"
              "# (then run python3 packaging/bootstrap.py test, and commit both).\n")
    LOCK.write_text(header + "".join(f"{pin}\n" for pin in pins))
    print(f"Wrote {len(pins)} pins to {LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
