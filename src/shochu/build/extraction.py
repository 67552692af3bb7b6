"""Extraction into a user-defined JSON schema: the field list shown to the teacher and output validation."""

from __future__ import annotations

import datetime
import json
from typing import Any

from shochu.config import ExtractionConfig

_TYPE_NAMES = {"string": "string", "integer": "integer", "number": "number", "boolean": "true or false",
               "date": "date as YYYY-MM-DD", "list": "list of strings"}


def describe_fields(schema: ExtractionConfig) -> str:
    """Render the schema as one line per field, for the ``{fields}`` placeholder."""
    lines = []
    for field in schema.fields:
        line = f"- {field.name} ({_TYPE_NAMES[field.type]}{', required' if field.required else ''})"
        if field.description:
            line += f": {field.description}"
        lines.append(line)
    return "\n".join(lines)


def first_json_object(text: str) -> str | None:
    """Return the first balanced ``{...}`` in ``text``, skipping braces inside strings."""
    start = text.find("{")
    while start >= 0:
        depth, in_string, escaped = 0, False, False
        for position in range(start, len(text)):
            character = text[position]
            if in_string:
                if escaped:
                    escaped = False
                elif character == "\\":
                    escaped = True
                elif character == '"':
                    in_string = False
            elif character == '"':
                in_string = True
            elif character == "{":
                depth += 1
            elif character == "}":
                depth -= 1
                if depth == 0:
                    return text[start : position + 1]
        start = text.find("{", start + 1)
    return None


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str) and bool(value.strip())
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        if not isinstance(value, str):
            return False
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def parse_extraction(text: str, schema: ExtractionConfig) -> tuple[dict[str, Any] | None, str | None]:
    """Parse and validate a teacher's extraction; return (the object, None) or (None, the reason).

    Reasons: ``no_json``, ``invalid_json``, ``unknown_field``, ``missing_required``,
    ``wrong_type`` and ``all_null``. The object gets every schema field, in
    schema order, with null for the fields the teacher left out.
    """
    candidate = first_json_object(text)
    if candidate is None:
        return None, "no_json"
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        return None, "invalid_json"

    names = [field.name for field in schema.fields]
    if set(value) - set(names):
        return None, "unknown_field"
    result: dict[str, Any] = {}
    for field in schema.fields:
        item = value.get(field.name)
        if item is None:
            if field.required:
                return None, "missing_required"
        elif not _type_ok(field.type, item):
            return None, "wrong_type"
        result[field.name] = item
    if all(item is None for item in result.values()):
        return None, "all_null"
    return result, None


def extraction_text(value: dict[str, Any]) -> str:
    """The response form of a valid extraction: compact JSON, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False)


def extracted_values(value: dict[str, Any]) -> str:
    """The extracted values joined as text, for the grounding check; booleans are left out (never quoted)."""
    parts = []
    for item in value.values():
        if isinstance(item, list):
            parts.extend(str(element) for element in item)
        elif item is not None and not isinstance(item, bool):
            parts.append(str(item))
    return " ".join(parts)
