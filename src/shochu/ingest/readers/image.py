"""Images (PNG, JPEG, TIFF), read by OCR; each frame of a multi-page TIFF is one page."""

from __future__ import annotations

import warnings
from typing import Any

from PIL import Image, ImageSequence, UnidentifiedImageError

from shochu.ingest.readers import ocr
from shochu.ingest.readers.base import InputFile, ReadError, ReadOptions, Reader


class ImageReader(Reader):
    format = "image"
    suffixes = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

    def read(self, file: InputFile, options: ReadOptions) -> tuple[str, dict[str, Any]]:
        ocr.check_available(options)
        pages = []
        # Pillow warns about, and past twice its pixel limit refuses, images large
        # enough to exhaust memory; both count as a decompression bomb here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(file.stream()) as image:
                    for frame in ImageSequence.Iterator(image):
                        pages.append(ocr.recognize(frame.copy(), options).strip())
            except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
                raise ReadError(f"the image is too large to read safely ({error}); scale it down or "
                                f"split it, then re-run") from error
            except (UnidentifiedImageError, OSError) as error:
                raise ReadError(f"the image cannot be decoded ({error}); it may be damaged or cut off. "
                                f"Open it in an image viewer, save it again and re-run") from error
        return "\n\n".join(page for page in pages if page), {"pages": len(pages), "ocr": True}
