"""The desktop entry, the AppStream metadata and the app agree on one id, and what they name exists."""

import configparser
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from photolab.gui.app import APP_ID, ICON_DIR

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def test_desktop_entry_launches_photolab_with_our_icon_and_formats():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / f"{APP_ID}.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] == "photolab"
    assert desktop["Icon"] == APP_ID and (ICON_DIR / "photolab.svg").is_file()
    assert "image/x-adobe-dng" in desktop["MimeType"] and desktop["MimeType"].endswith(";")


def test_appstream_metadata_names_the_desktop_entry_and_an_existing_screenshot():
    root = ElementTree.parse(PACKAGING / f"{APP_ID}.metainfo.xml").getroot()
    assert root.get("type") == "desktop-application" and root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert {binary.text for binary in root.iter("binary")} == {"photolab", "photolab-cli"}
    for image in root.iter("image"):
        assert (ROOT / image.text).is_file()


def _locked_versions() -> dict[str, str]:
    pins = {}
    for line in (PACKAGING / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_lock_pins_every_dependency_exactly_and_within_the_users_ranges():
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _locked_versions()
    extras = project["optional-dependencies"]
    for text in project["dependencies"] + extras["test"] + extras["cluster"]:
        requirement = Requirement(text)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not in packaging/constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"


def test_bootstrap_installs_the_locked_cpu_build_of_torch():
    source = (PACKAGING / "bootstrap.py").read_text()
    torch_pin = re.search(r'TORCH_CPU = "torch==([^"]+)"', source).group(1)
    assert _locked_versions()["torch"] == torch_pin


def test_bootstrap_tests_install_the_cluster_extra_so_the_ray_tests_run():
    source = (PACKAGING / "bootstrap.py").read_text()
    assert re.search(r'"test": "test,cluster"', source)
