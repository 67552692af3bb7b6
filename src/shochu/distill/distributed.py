"""Process-group helpers for the label and train stages under ``accelerate launch``.

One process is the default and needs no launcher. Under
``accelerate launch --multi_gpu --num_processes N -m shochu <stage> ...`` (or
``torchrun --nproc_per_node N -m shochu ...``) every process runs the same
stage: each labels its own shards or trains on its own slice of every batch,
and only the main process writes the index, checkpoints, metrics and
manifests. Without GPUs the processes use the gloo backend on the CPU.

FSDP and DeepSpeed come from accelerate's own config file
(``accelerate launch --config_file fsdp.yaml ...``), which the trainer's
``Accelerator`` reads; nothing in Shochu's config selects them.

NOTE: only DDP is tested (two CPU processes, gloo). FSDP and DeepSpeed have not
run here. The loss reads the output weight inside the wrapped module's forward,
so FSDP must leave that weight unsharded there; check this on GPUs first.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from accelerate import Accelerator


@functools.cache
def accelerator() -> Accelerator:
    """Create (once per process) the ``Accelerator``, on the CPU when there is no GPU."""
    return Accelerator(cpu=not torch.cuda.is_available())


def rank() -> int:
    return accelerator().process_index


def world_size() -> int:
    return accelerator().num_processes


def is_main() -> bool:
    return accelerator().is_main_process


def barrier() -> None:
    accelerator().wait_for_everyone()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Run the block on the main process, then on the others (for shared set-up such as model conversion)."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def shutdown() -> None:
    """Wait for every process, then close the process group (no-op when none was started).

    A process that exits while another still uses the group can abort in
    the gloo backend ("terminate called without an active exception").
    """
    if not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return
    barrier()
    torch.distributed.destroy_process_group()


def reduce_sum(values: list[float]) -> list[float]:
    """Sum a few numbers over all processes (identity with one process)."""
    if world_size() == 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=accelerator().device)
    return accelerator().reduce(tensor, reduction="sum").tolist()


def gather_tensor(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Gather every process's copy of a same-shaped tensor, in rank order."""
    if world_size() == 1:
        return [tensor]
    gathered = accelerator().gather(tensor.to(accelerator().device).unsqueeze(0))
    return [row.cpu() for row in gathered]
