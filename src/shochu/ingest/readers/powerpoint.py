"""PowerPoint (.pptx) files, read with python-pptx: one "Slide N: title" section per slide."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

from shochu.ingest.readers.base import InputFile, ReadOptions, Reader
from shochu.ingest.readers.markdown import markdown_table
from shochu.ingest.readers.running import drop_running_lines, running_lines
from shochu.ingest.readers.sensitivity import edge_lines, office_labels

# Paragraph ends, line breaks (python-pptx returns <a:br/> as a vertical tab) and spaces around them.
_LINE_BREAKS = re.compile(r"[ \t]*[\n\v][ \t]*")
# Placeholders that repeat on every slide, like a PDF's running footer.
_FURNITURE_PLACEHOLDERS = {PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.DATE}


class PowerPointReader(Reader):
    format = "pptx"
    suffixes = (".pptx",)
    markdown = True

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        presentation = pptx.Presentation(file.stream())
        slides = [_read_slide(number, slide) for number, slide in enumerate(presentation.slides, start=1)]

        # A text box repeated on most slides (company name, slide number) is a
        # running footer, removed as in PDF pages.
        running = running_lines([slide.body for slide in slides])
        sections = [slide.markdown(running) for slide in slides]

        metadata: dict[str, Any] = {"slides": len(sections)}
        if presentation.core_properties.title:
            metadata["title"] = presentation.core_properties.title
        metadata["marking_lines"] = [line for slide in slides for line in slide.furniture]
        metadata["edge_lines"] = [line for slide in slides for line in edge_lines(slide.body)]
        labels = office_labels(file.data)
        if labels:
            metadata["sensitivity_labels"] = labels
        return "\n\n".join(sections), metadata


@dataclass
class _Slide:
    heading: str
    body: list[str]  # lines of the text frames and tables, top to bottom
    notes: str
    furniture: list[str]  # text of the footer, date and slide number placeholders

    def markdown(self, running: set[str]) -> str:
        """Render the heading, the body without running lines, then the speaker notes."""
        parts = [self.heading]
        body = "\n".join(drop_running_lines(self.body, running))
        if body:
            parts.append(body)
        if self.notes:
            parts.append("Speaker notes:\n" + self.notes)
        return "\n\n".join(parts)


def _read_slide(number: int, slide: Any) -> _Slide:
    """Collect the slide's title, the text of its other shapes and its speaker notes."""
    title_shape = slide.shapes.title
    # A heading is one line; a full-width space inside the title is kept as written.
    title = _LINE_BREAKS.sub(" ", title_shape.text_frame.text).strip() if title_shape is not None else ""
    heading = f"## Slide {number}: {title}" if title else f"## Slide {number}"

    body: list[str] = []
    furniture: list[str] = []
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.is_placeholder and shape.placeholder_format.type in _FURNITURE_PLACEHOLDERS:
            furniture.extend(_shape_text(shape).split("\n"))
            continue
        text = _shape_text(shape)
        if not text:
            continue
        if body:
            body.append("")  # a blank line keeps each text frame or table its own paragraph
        body.extend(text.split("\n"))
    return _Slide(heading, body, _notes_text(slide), furniture)


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
