"""Shared fixtures for the protect tests."""

from __future__ import annotations

import pytest

from shochu.config import ProtectConfig
from shochu.protect import Masker


@pytest.fixture(scope="session")
def masker() -> Masker:
    """A masker with the default entities and threshold, built once (about 5 s of imports)."""
    return Masker(ProtectConfig())
