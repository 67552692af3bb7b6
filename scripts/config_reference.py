"""Write docs/config.md, the reference of every run-config setting, from the pydantic models.

The models in ``shochu.config`` are the single source of the defaults and descriptions; this
script only lays them out, one table per section. A test fails when the committed file differs
from what the script writes, so run it after changing a setting:

    .venv/bin/python scripts/config_reference.py
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shochu.config import RunConfig

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "config.md"

HEADER = """\
# Run configuration reference

Every setting of a Shochu run config (YAML), with its type and default. A run config names only
what differs from these defaults; see `examples/acme/shochu.yaml` for a complete example.
Relative paths are resolved against the folder of the config file.

This file is generated from `src/shochu/config.py` by `scripts/config_reference.py`.
"""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """Return the settings model inside ``annotation`` (``X``, ``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "empty"
    if isinstance(annotation, type):
        return annotation.__name__ if not issubclass(annotation, BaseModel) else "section"
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(value) for value in arguments)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(argument) for argument in arguments)
    if origin is list:
        return f"list of {_type_name(arguments[0])}" if arguments else "list"
    if origin is dict:
        return "mapping"
    return str(annotation).replace("typing.", "")


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(section)"
    if value is None:
        return "empty"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _rows(model: type[BaseModel], prefix: str, sections: list[tuple[str, type[BaseModel]]]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _model_of(field.annotation)
        if nested is not None:
            sections.append((key, nested))
            description = (field.description or nested.__doc__ or "").strip().split("\n")[0]
            rows.append(f"| `{key}` | section, see below | {_default(field)} | {description} |")
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
    return rows


def render() -> str:
    parts = [HEADER]
    sections: list[tuple[str, type[BaseModel]]] = [("", RunConfig)]
    while sections:
        key, model = sections.pop(0)
        parts.append(f"\n## `{key}`\n" if key else "\n## Top level\n")
        parts.append("| setting | type | default | meaning |\n|---|---|---|---|")
        found: list[tuple[str, type[BaseModel]]] = []
        parts.extend(_rows(model, f"{key}." if key else "", found))
        sections.extend(found)
    return "\n".join(parts) + "\n"


def main() -> int:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
