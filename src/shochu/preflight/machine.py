"""The machine's RAM (within any cgroup limit), GPU memory and free disk space, measured when the check runs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

# cgroup v2 and v1 memory limit files; v1 reports "no limit" as a number near 2**63.
_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
_CGROUP_USAGE = (Path("/sys/fs/cgroup/memory.current"), Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
_NO_LIMIT = 1 << 60


@dataclass
class Gpu:
    name: str
    total: int
    free: int


@dataclass
class Machine:
    """Memory in bytes. ``ram_total`` and ``ram_available`` already respect a cgroup limit."""

    ram_total: int
    ram_available: int
    cpus: int
    disk_path: str
    disk_free: int
    cgroup_limit: int | None = None
    gpus: list[Gpu] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["gpus"] = [gpu.__dict__ for gpu in self.gpus]
        return data


def _read_number(paths: tuple[Path, ...]) -> int | None:
    for path in paths:
        try:
            text = path.read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _NO_LIMIT:
            return int(text)
    return None


def gpus() -> list[Gpu]:
    """List CUDA devices with their total and free memory; empty without a CUDA build of torch or a GPU."""
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    found = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        found.append(Gpu(name=torch.cuda.get_device_name(index), total=int(total), free=int(free)))
    return found


def existing_parent(path: Path) -> Path:
    """Return ``path`` or its nearest existing parent, for a workspace not created yet."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def probe(workspace: Path | None = None) -> Machine:
    """Measure this machine now; ``workspace`` is where the disk space is checked (default: here)."""
    memory = psutil.virtual_memory()
    total, available = memory.total, memory.available
    limit = _read_number(_CGROUP_LIMITS)
    if limit is not None and limit < total:
        usage = _read_number(_CGROUP_USAGE) or 0
        total, available = limit, min(available, max(limit - usage, 0))
    disk_path = existing_parent(workspace or Path.cwd())
    return Machine(ram_total=int(total), ram_available=int(available), cpus=os.cpu_count() or 1,
                   disk_path=str(disk_path), disk_free=int(shutil.disk_usage(disk_path).free),
                   cgroup_limit=limit, gpus=gpus())
