"""Hidden-state alignment: an extra loss term between student and teacher decoder layers.

For each aligned pair (student layer i, teacher layer j) a bias-free linear
projection P maps the output of student layer i (its residual stream, before the
final norm) into the teacher's hidden size. P starts as the identity when both
sizes are equal. Per supervised token, the term is the mean over pairs of

- ``mse``: mean over the teacher's hidden size of (P s - t)^2;
- ``cosine``: 1 - cos(P s, t).

The trainer adds ``weight * sum over supervised tokens / N`` to the loss, with the
same divisor N as the KD and CE terms. The projections train with the student and
are saved in the resume state, but they are not part of the exported student.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from shochu.models import read_model_description

ALIGNMENT_LOSSES = ("mse", "cosine")
# Keeps the cosine defined for an all-zero hidden state.
_COSINE_EPS = 1e-8


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """Return the decoder layers of a causal LM (a plain or a PEFT-wrapped transformers model)."""
    decoder = model.get_decoder()
    layers = getattr(decoder, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ValueError(f"{type(decoder).__name__} has no `layers` list of decoder layers, so its hidden "
                         f"states cannot be aligned; remove train.hidden_alignment")
    return layers


@contextlib.contextmanager
def capture_layer_outputs(model: torch.nn.Module, indices: Sequence[int]) -> Iterator[dict[int, torch.Tensor]]:
    """Collect the output hidden states of the given decoder layers during the forward passes inside the block.

    Forward hooks read each layer's own output, so every captured state is the
    residual stream before the final norm, the last layer included.
    """
    captured: dict[int, torch.Tensor] = {}
    layers = decoder_layers(model)
    handles = []
    for index in sorted(set(indices)):

        def hook(_module, _args, output, index=index):
            captured[index] = output[0] if isinstance(output, tuple) else output

        handles.append(layers[index].register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def resolve_pairs(layers: str | Sequence[Sequence[int]], student_dir: Path, student_layers: int,
                  teacher_layers: int) -> list[tuple[int, int]]:
    """Return the (student layer, teacher layer) pairs that ``train.hidden_alignment.layers`` names.

    ``"auto"`` reads the kept teacher layers from the pruning record that
    ``shochu.models.prune_layers`` writes beside the student.
    """
    if layers == "auto":
        record = read_model_description(student_dir)
        kept = record.get("kept_layers")
        if not kept:
            raise ValueError(f"train.hidden_alignment.layers is 'auto', but the student in {student_dir} has no "
                             f"pruning record (kept_layers in shochu_model.json), so the teacher layer of each "
                             f"student layer is unknown; list the pairs, for example [[0, 0], [1, 3]]")
        if record.get("teacher_layers") != teacher_layers or len(kept) != student_layers:
            raise ValueError(f"the pruning record of {student_dir} (layers {kept} of {record.get('teacher_layers')}) "
                             f"does not fit a {student_layers}-layer student of a {teacher_layers}-layer teacher; "
                             f"list train.hidden_alignment.layers explicitly")
        pairs = list(enumerate(kept))
    else:
        pairs = [(int(student), int(teacher)) for student, teacher in layers]

    outside = [[student, teacher] for student, teacher in pairs
               if student >= student_layers or teacher >= teacher_layers]
    if outside:
        raise ValueError(f"train.hidden_alignment.layers pairs {outside} are outside the student's {student_layers} "
                         f"or the teacher's {teacher_layers} layers (counted from 0)")
    return pairs


def alignment_distance(projected: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Return the per-row distance between projected student and teacher states ``(rows, hidden)``."""
    if loss == "mse":
        return (projected - target).pow(2).mean(dim=-1)
    if loss == "cosine":
        return 1.0 - F.cosine_similarity(projected, target, dim=-1, eps=_COSINE_EPS)
    raise ValueError(f"alignment loss {loss!r} must be one of {', '.join(ALIGNMENT_LOSSES)}")


class HiddenAlignment(torch.nn.Module):
    """The learned projections of every aligned layer pair and the alignment term."""

    def __init__(self, pairs: Sequence[tuple[int, int]], student_hidden: int, teacher_hidden: int, loss: str,
                 seed: int = 0) -> None:
        super().__init__()
        if loss not in ALIGNMENT_LOSSES:
            raise ValueError(f"alignment loss {loss!r} must be one of {', '.join(ALIGNMENT_LOSSES)}")
        self.pairs = [(int(student), int(teacher)) for student, teacher in pairs]
        self.loss = loss
        self.projections = torch.nn.ModuleList(
            torch.nn.Linear(student_hidden, teacher_hidden, bias=False) for _ in self.pairs)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for projection in self.projections:
                if student_hidden == teacher_hidden:
                    projection.weight.copy_(torch.eye(teacher_hidden))
                else:
                    # A seeded generator keeps the global RNG stream, and so dropout, as without alignment.
                    torch.nn.init.orthogonal_(projection.weight, generator=generator)

    @property
    def student_layers(self) -> list[int]:
        return sorted({student for student, _ in self.pairs})

    @property
    def teacher_layers(self) -> list[int]:
        return sorted({teacher for _, teacher in self.pairs})

    def forward(self, student_states: dict[int, torch.Tensor], teacher_states: Sequence[torch.Tensor],
                supervised: torch.Tensor) -> torch.Tensor:
        """Sum the per-token term over supervised positions; differentiable in the student states and projections.

        ``student_states`` maps a student layer to its output ``(batch, length, hidden)``;
        ``teacher_states`` holds the teacher outputs in the order of ``teacher_layers``.
        ``supervised`` is the boolean ``(batch, length)`` mask of the positions to align.
        """
        teacher_by_layer = dict(zip(self.teacher_layers, teacher_states, strict=True))
        rows = supervised.reshape(-1)
        total = None
        for (student, teacher), projection in zip(self.pairs, self.projections, strict=True):
            source = student_states[student].reshape(-1, student_states[student].shape[-1])[rows].float()
            target = teacher_by_layer[teacher].reshape(-1, teacher_by_layer[teacher].shape[-1])[rows].float()
            projected = F.linear(source, projection.weight.float())
            distance = alignment_distance(projected, target, self.loss).sum()
            total = distance if total is None else total + distance
        return total / len(self.pairs)
