"""The desktop entry, the AppStream metadata and the app agree on one id, and what they name exists."""

import configparser
import xml.etree.ElementTree as ElementTree
from pathlib import Path

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
