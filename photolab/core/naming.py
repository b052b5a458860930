"""Export file names: templates such as ``{date}_{name}_{seq}``, and numbered names that never replace a file.

Placeholders: ``{name}`` the input's file name without extension; ``{date}`` the capture date (YYYY-MM-DD)
from the metadata, else the input file's modification date; ``{seq}`` the 1-based position in the batch,
zero-padded to the width of the batch size (``07`` of 12, ``007`` of 100); ``{camera}`` make and model,
made safe for file names (``Canon-EOS-5D-Mark-II``; ``unknown-camera`` without metadata). ``{{`` and ``}}``
are literal braces. The template gives the name without its extension.
"""

from __future__ import annotations

import datetime as _datetime
import re
import string
from pathlib import Path

from photolab.core.photo import PhotoMetadata

PLACEHOLDERS = ("name", "date", "seq", "camera")
DEFAULT_TEMPLATE = "{name}"
UNKNOWN_CAMERA = "unknown-camera"
UNKNOWN_DATE = "unknown-date"
_UNSAFE = re.compile(r"[^\w.+-]+")  # anything but letters, digits, _ . + - becomes one "-"
_FORBIDDEN = set('/\\:*?"<>|\0')


def check_template(template: str) -> None:
    """Raise a ValueError (one line) if ``template`` is not a usable name template."""
    template = str(template)
    if not template.strip():
        raise ValueError("the name template is empty")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bad name template {template!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
    for literal, field, spec, conversion in fields:
        if _FORBIDDEN & set(literal):
            raise ValueError(f"the name template {template!r} contains a character not allowed in file names "
                             f"({' '.join(sorted(_FORBIDDEN & set(literal)))})")
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{field}}} in the name template; use "
                             + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS))
        if spec or conversion:
            raise ValueError(f"placeholder {{{field}}} takes no format (write {{{field}}} alone)")


def safe_name(text: str) -> str:
    """``text`` usable in a file name on every system: runs of other characters become "-"."""
    return _UNSAFE.sub("-", text.strip()).strip("-.")


def camera_name(metadata: PhotoMetadata | None) -> str:
    """Make and model, file-name safe, the make not repeated when the model already starts with it."""
    make = (metadata.camera_make or "").strip() if metadata else ""
    model = (metadata.camera_model or "").strip() if metadata else ""
    first_word = make.split(" ")[0].lower()
    if make and model and first_word and model.lower().startswith(first_word):
        make = ""  # "NIKON CORPORATION" + "NIKON D850" -> NIKON-D850
    return safe_name(f"{make} {model}") or UNKNOWN_CAMERA


def capture_date(metadata: PhotoMetadata | None, source: str | Path | None) -> str:
    """YYYY-MM-DD of the capture, else of the source file's modification, else ``unknown-date``."""
    iso = metadata.datetime if metadata is not None else None
    if iso:
        try:
            return _datetime.date.fromisoformat(iso[:10]).isoformat()
        except ValueError:
            pass
    if source is not None:
        try:
            return _datetime.date.fromtimestamp(Path(source).stat().st_mtime).isoformat()
        except (OSError, ValueError, OverflowError):
            pass
    return UNKNOWN_DATE


def expand_template(template: str, source: str | Path, metadata: PhotoMetadata | None = None, *,
                    index: int = 0, count: int = 1) -> str:
    """The file name (without extension) ``template`` gives the ``index``-th (0-based) of ``count`` photos,
    ``source`` with ``metadata``. Raises ValueError for a bad template or an empty result."""
    check_template(template)
    width = len(str(max(1, count)))
    values = {"name": Path(source).stem, "seq": f"{index + 1:0{width}d}"}
    if "{date}" in template:
        values["date"] = capture_date(metadata, source)
    if "{camera}" in template:
        values["camera"] = camera_name(metadata)
    name = template.format_map(_Lazy(values)).strip()
    if name in ("", ".", ".."):
        raise ValueError(f"the name template {template!r} gives an empty file name")
    return name


class _Lazy(dict):
    """Values computed only when the template uses them."""

    def __missing__(self, key):  # only reached for placeholders the check let through
        raise ValueError(f"unknown placeholder {{{key}}}")


def numbered_candidates(target: Path):
    """``target``, then NAME-1.EXT, NAME-2.EXT, ... (endless)."""
    target = Path(target)
    yield target
    number = 1
    while True:
        yield target.with_name(f"{target.stem}-{number}{target.suffix}")
        number += 1
