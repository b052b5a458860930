"""Without the cluster extra, --ray says how to install it (and nothing is written)."""

import sys

from photolab.cli import main


def test_ray_option_without_ray_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when it is not installed
    photo = tmp_path / "p.png"
    photo.write_bytes(b"not read")
    assert main(["develop", str(photo), "-o", str(tmp_path / "out"), "--ray"]) == 1
    err = capsys.readouterr().err
    assert "--ray needs Ray, which is not installed; install it with: pip install 'photolab[cluster]'" in err
    assert not list((tmp_path / "out").iterdir())
