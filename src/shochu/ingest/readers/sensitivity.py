"""Sensitivity markings and labels, kept as document metadata for the protect stage.

Markings are words such as 社外秘 or "Confidential" printed in a running
header or footer, or at the top or bottom of a page or document. The same word
in the middle of body text is a mention, not a marking, and is ignored.
Readers pass the lines to search to ``markings_in``: page headers and footers
(taken before running headers and footers are removed), and the short lines at
the top and bottom of each page or document.

Labels are Microsoft Purview (MIP) sensitivity labels that Office stores in an
OOXML package: ``MSIP_Label_<id>_<field>`` custom properties in
``docProps/custom.xml``, and the ``docMetadata/LabelInfo.xml`` part that newer
Office versions write instead.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from defusedxml import ElementTree

# Lines at the top and bottom of a page or document searched for markings.
EDGE_LINES = 3
# Longest edge line taken for a marking line. Headers, footers and stamps are
# short; a longer line at a page edge is body text that mentions the word.
_MAX_EDGE_LINE_CHARS = 60
_CUSTOM_PROPERTIES = "docProps/custom.xml"
_LABEL_INFO = "docMetadata/LabelInfo.xml"
_MSIP_PROPERTY = re.compile(r"^MSIP_Label_([0-9A-Fa-f-]{36})_(\w+)$")
# Largest XML part read for labels; real ones are a few kilobytes.
_MAX_PART_BYTES = 1 << 20

# Marking patterns and the canonical form recorded for each. Thai has no spaces
# between words, so ลับ ("secret"), ลับมาก and ลับที่สุด count only standing
# alone or as เอกสารลับ ("secret document"), never inside a word such as กลับ.
_THAI = r"\u0e00-\u0e7f"
_MARKINGS = [
    (re.compile("関係者外秘"), "関係者外秘"),
    (re.compile("社外秘"), "社外秘"),
    (re.compile("部外秘"), "部外秘"),
    (re.compile("極秘"), "極秘"),
    (re.compile("機密"), "機密"),
    (re.compile(r"\bstrictly\s+confidential\b", re.IGNORECASE), "Strictly Confidential"),
    (re.compile(r"\bconfidential\b", re.IGNORECASE), "Confidential"),
    (re.compile(rf"(?<![{_THAI}])(?:เอกสาร)?ลับ(ที่สุด|มาก)?(?![{_THAI}])"), "ลับ"),
]
# Words that name classification levels, counted to tell a list of levels from a marking.
_LEVEL_WORDS = re.compile(r"(?i:\b(?:public|internal|confidential|restricted|secret)\b)"
                          r"|社外秘|関係者外秘|部外秘|極秘|機密|公開|社内限")
_MARKING_ORDER = [marking for _, marking in _MARKINGS] + ["ลับมาก", "ลับที่สุด"]


def edge_lines(lines: list[str], count: int = EDGE_LINES) -> list[str]:
    """Return the first and last ``count`` non-blank lines of a page or document."""
    text_lines = [line for line in lines if line.strip()]
    if len(text_lines) <= 2 * count:
        return text_lines
    return text_lines[:count] + text_lines[-count:]


def marking_candidates(lines: Iterable[str]) -> list[str]:
    """Keep the edge lines that look like a header, footer or stamp.

    Such a line is short, is not a Markdown table row, and names one
    classification level: a line naming several ("Internal Confidential
    Strictly Confidential") is the header of a table that explains the levels.
    """
    return [line for line in lines
            if len(line.strip()) <= _MAX_EDGE_LINE_CHARS and not line.lstrip().startswith("|")
            and len(_LEVEL_WORDS.findall(line)) < 2]


def markings_in(lines: Iterable[str]) -> list[str]:
    """Return the canonical markings found in ``lines``, in the order of ``_MARKINGS``.

    A line marked "Strictly Confidential" does not also count as "Confidential".
    """
    found: set[str] = set()
    for line in lines:
        line_markings = set()
        for pattern, marking in _MARKINGS:
            match = pattern.search(line)
            if match is not None:
                line_markings.add(marking + (match.group(1) or "") if marking == "ลับ" else marking)
        if "Strictly Confidential" in line_markings:
            line_markings.discard("Confidential")
        found |= line_markings
    return sorted(found, key=_MARKING_ORDER.index)


def office_labels(data: bytes) -> list[dict[str, Any]]:
    """Return the sensitivity labels stored in an OOXML package, one dict per label id.

    Each dict contains ``id`` and whatever the package records of ``name``,
    ``enabled``, ``method``, ``site_id`` and ``set_date``. A damaged or
    missing part yields no labels rather than an error, because the document's
    text can still be read.
    """
    labels: dict[str, dict[str, Any]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            custom = _read_part(package, _CUSTOM_PROPERTIES)
            label_info = _read_part(package, _LABEL_INFO)
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    if custom:
        _merge_custom_properties(custom, labels)
    if label_info:
        _merge_label_info(label_info, labels)
    return [labels[label_id] for label_id in sorted(labels)]


def _read_part(package: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = package.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _MAX_PART_BYTES:
        return None
    with package.open(info) as stream:
        return stream.read(_MAX_PART_BYTES)


# Field names of MSIP_Label_<id>_<field> properties, as recorded in the metadata.
_MSIP_FIELDS = {"Name": "name", "Enabled": "enabled", "Method": "method", "SiteId": "site_id",
                "SetDate": "set_date"}


def _merge_custom_properties(xml: bytes, labels: dict[str, dict[str, Any]]) -> None:
    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # noqa: BLE001 - defusedxml raises several unrelated types for bad or hostile XML
        return
    for prop in root:
        match = _MSIP_PROPERTY.match(prop.get("name") or "")
        if match is None or match.group(2) not in _MSIP_FIELDS:
            continue
        value = "".join(prop.itertext()).strip()
        label = labels.setdefault(match.group(1).lower(), {"id": match.group(1).lower()})
        label[_MSIP_FIELDS[match.group(2)]] = value


def _merge_label_info(xml: bytes, labels: dict[str, dict[str, Any]]) -> None:
    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # noqa: BLE001 - defusedxml raises several unrelated types for bad or hostile XML
        return
    for element in root.iter():
        if not element.tag.endswith("}label") or not element.get("id"):
            continue
        label_id = element.get("id").strip("{}").lower()
        label = labels.setdefault(label_id, {"id": label_id})
        enabled = element.get("enabled")
        if enabled is not None:
            label.setdefault("enabled", "true" if enabled in ("1", "true") else "false")
        for attribute, key in (("method", "method"), ("siteId", "site_id")):
            if element.get(attribute):
                label.setdefault(key, element.get(attribute).strip("{}"))
