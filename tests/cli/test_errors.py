"""photolab-cli's one error boundary: every failure is one line on stderr and an exit status; what libraries
print goes to the log (or to the terminal with --verbose)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from photolab.cli import common, main
from photolab.cli import develop as develop_module


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((16, 24, 3), 120, np.uint8))
    return path


def test_an_unforeseen_error_is_one_line_and_its_traceback_goes_to_the_log(photo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(common.LOG_DIR_ENV, str(tmp_path / "log"))

    def broken(path):
        raise TypeError("an 'int' where a 'str' was expected\nsecond line")

    monkeypatch.setattr(develop_module.io, "read_metadata", broken)
    assert main(["info", str(photo)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("photolab-cli: error: info failed: TypeError: an 'int'")
    assert "second line" not in err and str(tmp_path / "log" / common.LOG_NAME) in err
    log = (tmp_path / "log" / common.LOG_NAME).read_text()
    assert "Traceback" in log and "second line" in log and "photolab-cli info" in log


def test_a_symlink_loop_is_one_line_for_every_command(tmp_path, capsys):
    loop = tmp_path / "m.dng"
    loop.symlink_to(loop)
    for argv in (["develop", str(loop)], ["develop", str(loop), "-o", str(tmp_path / "out")], ["info", str(loop)],
                 ["denoise", str(loop), "-o", str(tmp_path / "d.png")],
                 ["burst", str(loop), str(loop), "-o", str(tmp_path / "b.tif")]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "m.dng" in err and "Traceback" not in err, argv


def test_develop_keeps_going_after_a_file_it_cannot_place(photo, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    assert main(["develop", str(photo), "-o", str(blocker / "sub"), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] == 1 and "cannot create the output folder" in result["results"][0]["error"]


def run_cli_process(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run photolab-cli in a fresh process after ``code`` (which may patch it), with its log in tmp_path."""
    script = textwrap.dedent(code) + "\nfrom photolab.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"
    env = dict(os.environ, PHOTOLAB_LOG_DIR=str(tmp_path / "log"))
    return subprocess.run([sys.executable, "-c", "import sys\n" + script, *args], capture_output=True, text=True,
                          env=env, timeout=120)


NOISY_READER = """
    import os, warnings
    from photolab.cli import develop
    original = develop.io.read_metadata
    def noisy(path):
        os.write(2, b"libpng error: IDAT: CRC error\\n[ WARN:0@0.1] global loadsave.cpp imread_\\n")
        warnings.warn("Possible corrupt EXIF data", UserWarning)
        return original(path)
    develop.io.read_metadata = noisy
"""


def test_what_libraries_print_goes_to_the_log_not_the_terminal(photo, tmp_path):
    done = run_cli_process(NOISY_READER, tmp_path, "info", str(photo))
    assert done.returncode == 0 and json.loads(done.stdout)["width"] == 24
    assert done.stderr == ""
    log = (tmp_path / "log" / common.LOG_NAME).read_text()
    assert "IDAT: CRC error" in log and "[ WARN:0@0.1]" in log and "Possible corrupt EXIF data" in log

    failed = run_cli_process(NOISY_READER, tmp_path, "info", str(tmp_path / "missing.png"))
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1
    assert failed.stderr.startswith("photolab-cli: error:") and "missing.png" in failed.stderr

    verbose = run_cli_process(NOISY_READER, tmp_path, "info", str(photo), "--verbose")
    assert "IDAT: CRC error" in verbose.stderr and "Possible corrupt EXIF data" in verbose.stderr


def test_one_line_folds_any_message():
    assert common.one_line("a\n  b\tc ") == "a b c"
