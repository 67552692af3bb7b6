"""Shochu protect stage: mask personal data in chunks and tickets before training data is built from them."""

from shochu.protect.masker import Masker, MaskResult

__all__ = ["Masker", "MaskResult"]
