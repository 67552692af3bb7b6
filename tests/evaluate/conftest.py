"""Shared fixtures for the evaluate tests.

Only fixtures live here. Helpers that test modules import by name go in plain modules such as
``evaluate_workspace.py``, because pytest imports every conftest.py outside a package under the one
module name ``conftest``, and the last one loaded replaces the others in ``sys.modules``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shochu.models import load_model, load_tokenizer


@pytest.fixture(scope="module")
def varied_teacher(tiny_model_dir: Path):
    """The tiny teacher with larger random weights and a left-padding tokenizer.

    The larger weights keep the next-token distributions from being flat, so
    greedy answers vary with the prompt. At the default init scale the tiny
    model repeats one token whatever the prompt, and a padding bug would go
    unnoticed.
    """
    model = load_model(tiny_model_dir)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" not in name:
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
    return model, load_tokenizer(tiny_model_dir, padding_side="left")
