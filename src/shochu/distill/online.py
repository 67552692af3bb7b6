"""Online teacher: the frozen teacher run beside the student on every training batch.

With ``train.teacher: online`` the trainer reads no stored soft labels. Each
process loads its own copy of the teacher (eval mode, no gradients, weights in the
trainer's autocast dtype). Per micro-batch the loss receives the teacher's final
hidden states at the supervised positions with its output projection
(``TeacherHidden``), so full-vocabulary teacher logits exist only one loss chunk
at a time. The teacher's output projection is kept in float32 so that the teacher
logits are not rounded to bfloat16 before the softmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from shochu.distill.alignment import capture_layer_outputs
from shochu.distill.losses import TeacherHidden
from shochu.models import load_model


def teacher_identity(folder: Path) -> list[list]:
    """Name, size and modification time of every file of a model folder: cheap, and changed by every re-import."""
    return [[path.relative_to(folder).as_posix(), path.stat().st_size, path.stat().st_mtime_ns]
            for path in sorted(folder.rglob("*")) if path.is_file()]


@dataclass
class TeacherOutput:
    """The teacher side of one micro-batch."""

    final: TeacherHidden  # final hidden states of the supervised positions, row-major
    layers: list[torch.Tensor]  # outputs (batch, length, hidden) of the requested decoder layers, in order


class OnlineTeacher:
    """A frozen teacher model that produces ``TeacherOutput`` for student micro-batches."""

    def __init__(self, folder: Path, device: torch.device, dtype: torch.dtype,
                 layers: Sequence[int] = ()) -> None:
        self.folder = folder
        model = load_model(folder, dtype=dtype)
        model.requires_grad_(False)
        model.eval()
        self.model = model.to(device)
        output = model.get_output_embeddings()
        if getattr(output, "bias", None) is not None:
            raise ValueError(f"the teacher in {folder} has an output projection with a bias, which the "
                             f"chunked loss does not support; use train.teacher 'labels'")
        self.output_weight = output.weight.detach().float()
        self.columns = self.output_weight.shape[0]
        self.hidden_size = int(self.model.config.hidden_size)
        self.num_layers = int(self.model.config.num_hidden_layers)
        self.layers = sorted(set(layers))

    @torch.no_grad()
    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, supervised: torch.Tensor) -> TeacherOutput:
        """Run the teacher on a micro-batch; ``supervised`` is the ``(batch, length)`` mask of the loss."""
        with capture_layer_outputs(self.model, self.layers) as captured:
            hidden = self.model.get_decoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        final = hidden[supervised.to(torch.bool)].float()
        return TeacherOutput(TeacherHidden(final, self.output_weight), [captured[index] for index in self.layers])
