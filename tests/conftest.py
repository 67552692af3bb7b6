"""Shared fixtures: tiny chat models built in the test, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tiny_models import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer tiny chat model folder, shared by the whole session (treat as read-only)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-teacher"), layers=4)


@pytest.fixture(scope="session")
def tiny_student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller tiny model with the same tokenizer as ``tiny_model_dir``."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-student"), layers=2, seed=1)
