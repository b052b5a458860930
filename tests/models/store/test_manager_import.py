"""Import, download and export through the manager; every bad input fails clearly and leaves the store as it was."""

import hashlib
import json
import shutil
import warnings

import pytest
import torch
from safetensors.torch import save_file

from photolab.jobs import JobState
from photolab.models import ModelImportError
from photolab.models.store.download import ChecksumMismatchError, DownloadError
from photolab.models.store.export import TORCHSCRIPT_CARD, ModelExportError, onnx_available
from photolab.models.store.importing import identify_architecture
from photolab.models.store.manager import ModelManager, download_job, import_job
from photolab.models.archs.seresnet import find_weights
from photolab.models.store.timm_import import load_timm_checkpoint

from tests.models.store_utils import (TINY_CLASSES, Resource, files_in, loopback_server, save_safetensors, tiny_model,
                                      to_legacy_keys)
from tests.models.timm_reference import state_dict_keys

MARKER_NAME = "pwned"


class Payload:
    """Unpickling this would create a file: the importer must never run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return save_safetensors(tiny_model(seed=0), tmp_path_factory.mktemp("weights") / "pets.safetensors")


@pytest.fixture
def manager(tmp_path):
    return ModelManager(data_dir=tmp_path / "data", builtin_dir=tmp_path / "builtin")


def assert_store_untouched(manager):
    assert manager.list_models() == []
    assert files_in(manager.models_dir) == []
    assert files_in(manager.temp_dir) == []


def test_weights_of_another_architecture_are_refused(manager, tiny_file):
    with pytest.raises(ModelImportError, match=r"pets.safetensors: does not fit seresnet34: \d+ missing: layer1.2"):
        manager.import_file(tiny_file, architecture="seresnet34")
    with pytest.raises(ModelImportError, match="holds a timm new ResNet checkpoint but the model is a legacy SENet"):
        manager.import_file(tiny_file, architecture="legacy_seresnet18")
    with pytest.raises(ModelImportError, match="unknown model 'resnet9000'"):
        manager.import_file(tiny_file, architecture="resnet9000")
    assert_store_untouched(manager)


def test_weights_of_no_known_architecture_are_refused(manager, tmp_path):
    path = tmp_path / "mlp.safetensors"
    save_file({"0.weight": torch.zeros(4, 8), "0.bias": torch.zeros(4)}, str(path))
    with pytest.raises(ModelImportError, match="mlp.safetensors: these are not SE-ResNet weights"):
        manager.import_file(path)
    assert_store_untouched(manager)


def test_a_pickle_that_would_run_code_is_refused_unrun(manager, tmp_path):
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "trap": Payload(str(marker))}, path)
    with pytest.raises(ModelImportError, match="evil.pth: refused to load: not a weights-only pickle"):
        manager.import_file(path)
    assert not marker.exists()
    assert_store_untouched(manager)


def test_truncated_and_empty_files_are_refused(manager, tiny_file, tmp_path):
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(tiny_file.read_bytes()[: tiny_file.stat().st_size // 2])
    with pytest.raises(ModelImportError, match="cut.safetensors: not a readable weights file"):
        manager.import_file(cut)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ModelImportError, match="empty.pth: not a readable weights file"):
        manager.import_file(empty)
    with pytest.raises(ModelImportError, match="no such weights file"):
        manager.import_file(tmp_path / "missing.safetensors")
    assert_store_untouched(manager)


def test_labels_from_files_and_their_count(manager, tiny_file, tmp_path):
    (tmp_path / "labels.txt").write_text("tabby\n\nspaniel\nwren\n")
    (tmp_path / "labels.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(ModelImportError, match="the weights have 3 classes but 2 labels were given"):
        manager.import_file(tiny_file, labels=tmp_path / "labels.json")
    assert_store_untouched(manager)
    entry = manager.import_file(tiny_file, labels=tmp_path / "labels.txt")
    assert entry.card.classes == ("tabby", "spaniel", "wren")


def test_timm_catalogue_checkpoint_gets_catalogue_card_and_timm_outputs(manager, tmp_path):
    weights = find_weights("legacy_seresnet18")
    state = to_legacy_keys(tiny_model(seed=2, num_classes=1000, arch="legacy_seresnet18").state_dict())
    path = tmp_path / weights.file_name
    torch.save(state, path)
    entry = manager.import_file(path)
    card = entry.card
    assert (card.name, card.architecture, card.legacy) == ("legacy_seresnet18.in1k", "legacy_seresnet18", True)
    assert card.classes == tuple(f"class {i}" for i in range(1000))
    assert (card.preprocessing.interpolation, card.preprocessing.crop_pct) == ("bicubic", 0.875)
    assert card.license == "apache-2.0"
    assert card.source == {"kind": "imported", "file": weights.file_name, "url": weights.url,
                           "timm_weights": "legacy_seresnet18.in1k"}
    reference = load_timm_checkpoint(path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(manager.load(entry).model(x), reference(x), rtol=0, atol=0)


def test_architecture_is_recognised_from_timm_key_layouts():
    for arch in ("legacy_seresnet18", "legacy_seresnet50", "seresnet50", "seresnext26d_32x4d"):
        state = {k: torch.empty(shape, device="meta") for k, shape, _ in state_dict_keys(arch)}
        assert identify_architecture(state) == arch
    assert identify_architecture(tiny_model(arch="seresnet34").state_dict()) == "seresnet34"


def test_safetensors_export_carries_the_card_back_in(manager, tiny_file, tmp_path):
    manager.import_file(tiny_file, labels=list(TINY_CLASSES), license="cc0-1.0")
    out = manager.export("pets", tmp_path / "pets-export.safetensors")
    again = manager.import_file(out, name="pets2")
    assert again.card.classes == TINY_CLASSES and again.card.license == "cc0-1.0"
    assert again.card.preprocessing == manager.get("pets").card.preprocessing
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(manager.load("pets2").model(x), manager.load("pets").model(x), rtol=0, atol=0)


def test_torchscript_export_computes_the_same_and_holds_the_card(manager, tiny_file, tmp_path):
    entry = manager.import_file(tiny_file, labels=list(TINY_CLASSES))
    out = manager.export("pets", tmp_path / "pets.pt")
    extra = {TORCHSCRIPT_CARD: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated, still works
        scripted = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra[TORCHSCRIPT_CARD])["classes"] == list(TINY_CLASSES)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), manager.load(entry).model(x))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["pets.pt"]  # no temporaries left


def test_onnx_export_explains_what_is_missing(manager, tiny_file, tmp_path):
    manager.import_file(tiny_file)
    if onnx_available():
        pytest.skip("onnx is installed here; the missing-package path cannot be exercised")
    with pytest.raises(ModelExportError, match="ONNX export needs the 'onnx' Python package"):
        manager.export("pets", tmp_path / "pets.onnx")
    assert not (tmp_path / "pets.onnx").exists()
    with pytest.raises(ModelExportError, match="cannot tell the export format"):
        manager.export("pets", tmp_path / "pets.zip")


@pytest.mark.skipif(not onnx_available(), reason="the onnx package is not installed")
def test_onnx_export_writes_a_model(manager, tiny_file, tmp_path):
    import onnx

    manager.import_file(tiny_file)
    out = manager.export("pets", tmp_path / "pets.onnx")
    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["image"]


def test_download_by_url_is_verified_imported_and_cleaned_up(manager, tiny_file):
    data = tiny_file.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with loopback_server({"models/pets.safetensors": Resource(data)}) as server:
        url = server.url("models/pets.safetensors")
        job = download_job(manager, url, sha256=sha, labels=list(TINY_CLASSES))
        reports = []
        job.on_progress(lambda fraction, message: reports.append(fraction))
        entry = job.run()
    assert job.state is JobState.FINISHED, job.error_message
    assert entry.name == "pets" and entry.card.classes == TINY_CLASSES
    assert entry.card.source == {"kind": "downloaded", "url": url, "file": "pets.safetensors", "timm_weights": None}
    assert reports[-1] == 1.0 and reports == sorted(reports)
    assert files_in(manager.temp_dir) == []


def test_download_with_checksum_mismatch_leaves_nothing(manager, tiny_file):
    with loopback_server({"pets.safetensors": Resource(tiny_file.read_bytes())}) as server:
        with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
            manager.download(server.url("pets.safetensors"), sha256="0" * 64)
        # a catalogue entry fetched from a mirror is checked against the hash in its torch.hub file name
        with pytest.raises(ChecksumMismatchError, match=r"expected SHA-256 4bb0ce65\.\.\."):
            manager.download("legacy_seresnet18.in1k", url=server.url("pets.safetensors"))
    assert_store_untouched(manager)


def test_truncated_download_leaves_only_a_resumable_part(manager, tiny_file):
    data = tiny_file.read_bytes()
    resource = Resource(data, truncate_at=len(data) // 3)
    with loopback_server({"pets.safetensors": resource}) as server:
        with pytest.raises(DownloadError, match="truncated.*run it again to resume"):
            manager.download(server.url("pets.safetensors"))
        assert manager.list_models() == [] and files_in(manager.models_dir) == []
        assert sorted(p.suffix for p in manager.temp_dir.iterdir()) == [".json", ".part"]
        resource.truncate_at = None
        entry = manager.download(server.url("pets.safetensors"))
        assert server.requests[-1]["range"] == f"bytes={len(data) // 3}-"
    assert entry.card.sha256 and files_in(manager.temp_dir) == []


def test_downloaded_weights_of_the_wrong_architecture_are_refused(manager, tiny_file):
    with loopback_server({"m.safetensors": Resource(tiny_file.read_bytes())}) as server:
        with pytest.raises(ModelImportError, match="does not fit seresnext26d_32x4d"):
            manager.download("seresnext26d_32x4d.bt_in1k", url=server.url("m.safetensors"))
    assert_store_untouched(manager)


def test_download_refuses_unknown_names_and_taken_names(manager, tiny_file):
    with pytest.raises(ModelImportError, match="neither a URL nor in the timm catalogue"):
        manager.download("resnet9000")
    manager.import_file(tiny_file)
    with pytest.raises(Exception, match="'pets' is already installed"):
        manager.download("http://127.0.0.1:9/pets.safetensors")
    shutil.rmtree(manager.models_dir)


def test_import_job_reports_progress_and_can_be_cancelled(manager, tiny_file):
    cancelled = import_job(manager, tiny_file)
    cancelled.on_progress(lambda fraction, message: cancelled.cancel())
    cancelled.run()
    assert cancelled.state is JobState.CANCELLED
    assert_store_untouched(manager)
    job = import_job(manager, tiny_file, name="pets-job")
    messages = []
    job.on_progress(lambda fraction, message: messages.append(message))
    entry = job.run()
    assert job.state is JobState.FINISHED and entry.name == "pets-job"
    assert messages[0] == "Reading pets.safetensors" and "Storing pets-job" in messages
