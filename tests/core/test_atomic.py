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


def test_new_path_never_replaces_even_a_file_created_meanwhile(tmp_path):
    from photolab.core.atomic import atomic_new_path
    from photolab.core.naming import numbered_candidates

    target = tmp_path / "out.txt"
    with atomic_new_path(target, numbered_candidates) as new:
        new.temporary.write_text("first")
        target.write_text("someone else's")  # appears while the export is being written
    assert new.path == tmp_path / "out-1.txt" and new.path.read_text() == "first"
    assert target.read_text() == "someone else's"
    with pytest.raises(FileAccessError, match="already exists"):
        with atomic_new_path(target) as new:  # no other names allowed
            new.temporary.write_text("second")
    assert sorted(os.listdir(tmp_path)) == ["out-1.txt", "out.txt"]
