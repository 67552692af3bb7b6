"""Shochu protect stage: mask personal data in chunks and tickets before any model sees them."""

from shochu.protect.masker import Masker, MaskResult

__all__ = ["Masker", "MaskResult"]
