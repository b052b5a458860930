"""photolab-cli's --ray paths on a local Ray runtime (2 CPUs, no dashboard, one for the whole module): the
batch outputs equal the single-process ones, a killed worker loses nothing, training runs two DDP workers."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'photolab[cluster]'")

from photolab.cli import main  # noqa: E402
from photolab.cli.develop import DevelopWork, develop_work  # noqa: E402
from photolab.cluster.batch import map_files  # noqa: E402
from photolab.core.atomic import atomic_path  # noqa: E402
from photolab.core.recipe import Recipe  # noqa: E402
from photolab.models.store.manager import ModelManager  # noqa: E402
from tests.cli.test_models import PHOTOS, seeded, store  # noqa: E402,F401 - fixtures
from tests.cli.test_train import make_folder, seed_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_data_dir(tmp_path_factory) -> Path:
    """The PhotoLab data folder of the Ray workers (where they find learned looks), for the whole module."""
    return tmp_path_factory.mktemp("ray-data")


@pytest.fixture(scope="module", autouse=True)
def local_ray(ray_data_dir):
    """One local Ray runtime for the module; its workers import this checkout (photolab and tests)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "PHOTOLAB_DATA_DIR": str(ray_data_dir)}})
    yield
    ray.shutdown()


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        rng = np.random.default_rng(index)
        pixels = cv2.GaussianBlur((rng.random((64, 96, 3)) * 255).astype(np.uint8), (5, 5), 0)
        paths.append(folder / f"p{index}.png")
        cv2.imwrite(str(paths[-1]), pixels)
    return paths


def no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".part" in p.name]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_look_apply_on_ray_writes_the_single_process_outputs(ray_data_dir, tmp_path, capsys, monkeypatch):
    from utils.look_pairs import make_pairs  # here: Ray workers import this module without the tests' sys.path

    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(ray_data_dir))  # the workers' data folder: they load the look
    pairs = make_pairs(tmp_path / "pairs", 4)
    code, _, err = run(capsys, "look", "learn", pairs, "--name", "warm", "--minutes", "2", "--max-steps", "3",
                       "--folds", "0", "--threads", "1")
    assert code == 0, err
    inputs = photos(tmp_path / "in", 3)
    here, there = tmp_path / "here", tmp_path / "there"
    for out, ray_args in ((here, []), (there, ["--ray"])):
        code, stdout, err = run(capsys, "look", "apply", *inputs, "-o", out, "--look", "warm", "--json", *ray_args)
        summary = json.loads(stdout)
        assert code == 0 and summary["succeeded"] == 3, err
        assert [r["input"] for r in summary["results"]] == [str(p) for p in inputs]
    for name in ["p0.jpg", "p1.jpg", "p2.jpg"]:
        assert (there / name).read_bytes() == (here / name).read_bytes(), name
    assert no_partial_files(there)


def test_develop_and_denoise_on_ray_write_the_single_process_outputs(tmp_path, capsys):
    inputs = photos(tmp_path / "in", 3)
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    here, there = tmp_path / "here", tmp_path / "there"
    for out, ray_args in ((here, []), (there, ["--ray"])):
        code, stdout, _ = run(capsys, "develop", *inputs, broken, "-o", out, "--exposure", "0.5", "--json",
                              *ray_args)
        summary = json.loads(stdout)
        assert code == 1 and summary["succeeded"] == 3 and summary["failed"] == 1
        assert [r["input"] for r in summary["results"]] == [str(p) for p in [*inputs, broken]]
        assert "broken.jpg" in summary["results"][3]["error"]
        code, stdout, _ = run(capsys, "denoise", *inputs[:2], "-o", out / "denoised", "--sigma", "15", "--json",
                              *ray_args)
        assert code == 0 and sorted(json.loads(line)["input"] for line in stdout.splitlines()) == \
            [str(p) for p in inputs[:2]]
    for name in ["p0.jpg", "p1.jpg", "p2.jpg", "denoised/p0.png", "denoised/p1.png"]:
        assert (there / name).read_bytes() == (here / name).read_bytes(), name
    assert no_partial_files(there) and no_partial_files(there / "denoised")


def test_classify_on_ray_gives_the_single_process_labels(store, tmp_path, capsys):
    missing = str(tmp_path / "missing.jpg")
    here = run(capsys, "classify", *PHOTOS, missing, "--model", "pets", "--top", "3", "--json")
    there = run(capsys, "classify", *PHOTOS, missing, "--model", "pets", "--top", "3", "--json", "--ray")
    assert here[0] == there[0] == 1
    lines_here, lines_there = ([json.loads(line) for line in out.splitlines()] for out in (here[1], there[1]))
    assert len(lines_there) == 2
    for a, b in zip(lines_here, lines_there):  # a worker runs torch on 1 thread: sums differ in the last bits
        assert a["image"] == b["image"] and a["label"] == b["label"]
        assert [label for label, _ in a["topk"]] == [label for label, _ in b["topk"]]
        assert [p for _, p in a["topk"]] == pytest.approx([p for _, p in b["topk"]], abs=1e-6)
    assert there[2].count("missing.jpg: the file does not exist") == 1


def develop_until_killed(work: DevelopWork):
    """develop_work, except that the worker developing p1 the first time stops half-way through writing it
    and says which process it is (the test then kills that process)."""
    marker = work.target.parent / "worker.pid"
    if work.source.name == "p1.png" and not marker.exists():
        with atomic_path(work.target) as temporary:
            temporary.write_bytes(b"half a jpeg")
            marker.write_text(str(os.getpid()))
            time.sleep(60)  # killed here: no clean-up, no exception, the temporary file stays
    return develop_work(work)


def kill_the_worker_when_it_says(marker: Path) -> threading.Thread:
    def kill() -> None:
        for _ in range(600):
            if marker.exists() and marker.read_text():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_costs_a_retry_not_a_file(tmp_path, capsys):
    inputs = photos(tmp_path / "in", 4)
    out = tmp_path / "out"
    out.mkdir()
    works = [DevelopWork(p, out / f"{p.stem}.jpg", Recipe(), "jpg", 92, "AHD", None, None, "srgb") for p in inputs]
    killer = kill_the_worker_when_it_says(out / "worker.pid")
    heard = []
    results = map_files(develop_until_killed, works, address="local", names=[str(p) for p in inputs],
                        targets=[w.target for w in works], on_result=lambda result: heard.append(result.index))
    killer.join(1)
    assert not killer.is_alive() and (out / "worker.pid").exists()  # a worker was killed
    assert capsys.readouterr().out == ""  # Ray's "task failed, retrying" stays off stdout (--json)
    assert sorted(heard) == [0, 1, 2, 3]  # each input reported once
    assert [r.error for r in results] == [None] * 4 and all(r.value == (96, 64) for r in results)
    assert no_partial_files(out)
    for work in works:  # the retried file is whole, and what the single-process step writes
        expected = tmp_path / "expected.jpg"
        develop_work(DevelopWork(work.source, expected, *list(vars(work).values())[2:]))
        assert work.target.read_bytes() == expected.read_bytes()


def test_a_failing_file_is_reported_once_not_retried(tmp_path):
    missing = DevelopWork(tmp_path / "gone.png", tmp_path / "gone.jpg", Recipe(), "jpg", 92, "AHD", None, None,
                          "srgb")
    calls = []
    [result] = map_files(develop_work, [missing], address="local", names=["gone.png"], targets=[missing.target],
                         on_result=calls.append)
    assert len(calls) == 1 and "gone.png: the file does not exist" in result.error and result.value is None


def test_training_on_ray_runs_two_ddp_workers_and_saves_a_usable_model(tmp_path, monkeypatch, capsys):
    from photolab.models.store import manager as manager_module

    folder = make_folder(tmp_path / "photos", per_class=6)
    seed_store(tmp_path / "data")
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(manager_module, "BUILTIN_MODELS_DIR", tmp_path / "no-builtins")
    code, out, err = run(capsys, "train", folder, "--name", "colours", "--base", "base", "--epochs", "2",
                         "--ray", "--workers", "2", "--json")
    assert code == 0, err
    assert "strategy: last (--ray trains one model data-parallel" in err
    summary = json.loads(out)
    assert summary["model"] == "colours" and summary["epochs_run"] == 2 and summary["classes"] == ["blue", "green",
                                                                                                   "red"]
    entry = ModelManager().get("colours")
    assert "on Ray (2 workers, DDP over gloo)" in entry.card.training["description"]
    assert entry.card.training["recipe"]["strategy"] == "last" and entry.card.license == "user-trained; see your data"
    picture = next((folder / "red").glob("*.png"))
    code, out, _ = run(capsys, "classify", picture, "--model", "colours", "--json")
    assert code == 0 and json.loads(out)["label"] in ("blue", "green", "red")


def die_on_p0(work: DevelopWork):
    """develop_work, except that p0 kills its worker every time."""
    if work.source.name == "p0.png":
        os._exit(1)
    return develop_work(work)


def test_a_file_that_kills_every_worker_is_reported_lost_and_the_rest_are_written(tmp_path):
    inputs = photos(tmp_path / "in", 2)
    works = [DevelopWork(p, tmp_path / f"{p.stem}.jpg", Recipe(), "jpg", 92, "AHD", None, None, "srgb")
             for p in inputs]
    lost, done = map_files(die_on_p0, works, address="local", names=[str(p) for p in inputs],
                           targets=[w.target for w in works], retries=1)
    assert lost.error == f"{inputs[0]}: its Ray worker died on every one of 2 attempts; nothing was written"
    assert done.error is None and works[1].target.exists() and not works[0].target.exists()
