"""PowerPoint (.pptx) files, read with python-pptx: one "Slide N: title" section per slide."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE

from shochu.ingest.readers.base import Reader
from shochu.ingest.readers.markdown import markdown_table


class PowerPointReader(Reader):
    format = "pptx"
    suffixes = (".pptx",)
    markdown = True

    def read(self, path: Path) -> tuple[str, dict[str, Any]]:
        presentation = pptx.Presentation(str(path))
        sections = [_slide_markdown(number, slide)
                    for number, slide in enumerate(presentation.slides, start=1)]

        metadata: dict[str, Any] = {"slides": len(sections)}
        if presentation.core_properties.title:
            metadata["title"] = presentation.core_properties.title
        return "\n\n".join(sections), metadata


def _slide_markdown(number: int, slide: Any) -> str:
    """Render the slide's title as a heading, then its text and tables, then its speaker notes."""
    title_shape = slide.shapes.title
    title = title_shape.text_frame.text.strip() if title_shape is not None else ""
    parts = [f"## Slide {number}: {title}" if title else f"## Slide {number}"]

    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        text = _shape_text(shape)
        if text:
            parts.append(text)

    notes = _notes_text(slide)
    if notes:
        parts.append("Speaker notes:\n" + notes)
    return "\n\n".join(parts)


def _reading_order(shapes: Iterable[Any]) -> Iterator[Any]:
    """Yield shapes top to bottom, then left to right, with group members in their group's place."""
    def position(shape: Any) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    for shape in sorted(shapes, key=position):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _reading_order(shape.shapes)
        else:
            yield shape


def _shape_text(shape: Any) -> str:
    if shape.has_text_frame:
        lines = ["  " * paragraph.level + _paragraph_text(paragraph)
                 for paragraph in shape.text_frame.paragraphs]
        return "\n".join(line for line in lines if line.strip())
    if getattr(shape, "has_table", False):
        rows = [["" if cell.is_spanned else cell.text for cell in row.cells] for row in shape.table.rows]
        return markdown_table(rows)
    return ""


def _paragraph_text(paragraph: Any) -> str:
    # python-pptx returns a line break inside a paragraph (<a:br/>) as a vertical tab.
    return paragraph.text.replace("\v", " ").strip()


def _notes_text(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text.strip() if frame is not None else ""
