import os

import pytest

from photolab.core.atomic import atomic_path, write_bytes_atomic
from photolab.core.errors import FileAccessError


def test_write_replaces_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_keeps_old_file_and_removes_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("cancelled")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileAccessError, match="does not exist"):
        write_bytes_atomic(tmp_path / "nope" / "out.txt", b"x")
