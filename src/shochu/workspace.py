"""Workspace folders, stage manifests and atomic writes.

A workspace is one folder per run. Each stage owns a sub-folder named after it
(``ingest/``, ``protect/``, ...). A stage is complete when its folder holds a
``manifest.json``; the manifest is written last, so a killed stage never looks
complete. Files are written to a temporary name in the same folder and renamed
into place, so a reader sees either the old file or the whole new one.

The manifest records the stage's resolved config section and fingerprints of
its inputs. ``Workspace.is_fresh`` compares those with the current run, and
``shochu run`` skips a stage whose manifest still matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"

# Read once: os.umask can only be queried by setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)

# Stages in pipeline order. Each later stage lists the stages whose outputs it
# reads, so that a changed upstream stage makes the downstream ones stale.
# "progressive" runs only when progressive.chain is set.
STAGES: tuple[str, ...] = ("ingest", "protect", "build", "label", "train", "eval", "export", "progressive",
                           "report")

_VERSIONED_PACKAGES = ("torch", "transformers", "safetensors", "presidio-analyzer", "gguf")


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that decide a stage's output."""
    versions = {"python": platform.python_version()}
    for name in ("shochu", *_VERSIONED_PACKAGES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def fingerprint_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_json(value: Any) -> str:
    """Return the SHA-256 of a value's canonical JSON form (sorted keys)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return fingerprint_bytes(text.encode("utf-8"))


def fingerprint_tree(root: Path, exclude: Iterable[str] = ()) -> str:
    """Return one SHA-256 over every file under ``root``: relative paths and contents."""
    excluded = set(exclude)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in excluded or path.name in excluded:
            continue
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(fingerprint_file(path).encode("ascii") + b"\0")
    return digest.hexdigest()


# --- atomic writes --------------------------------------------------------


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    # mkstemp creates the file as 0600; give it the mode a plain open() would.
    os.chmod(temporary_path, 0o666 & ~_UMASK)
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    finally:
        if temporary_path.exists():
            temporary_path.unlink()


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line, atomically; return the number of records."""
    count = 0
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL file; a malformed line raises ``ValueError`` naming file and line."""
    return list(iter_jsonl(path))


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file one line at a time; a malformed line raises ``ValueError``."""
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: invalid JSON ({error.msg}); "
                                 f"delete the file and re-run the stage that wrote it") from error


# --- stages and manifests -------------------------------------------------


class Workspace:
    """A run's folder: one sub-folder per stage, each closed by a manifest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def stage_dir(self, stage: str) -> Path:
        if stage not in STAGES and stage not in ("models", "check"):
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        return self.root / stage

    @property
    def models_dir(self) -> Path:
        """Folder for converted teacher and initial student weights, shared by stages."""
        return self.root / "models"

    def manifest_path(self, stage: str) -> Path:
        return self.stage_dir(stage) / MANIFEST_NAME

    def manifest(self, stage: str) -> dict[str, Any] | None:
        path = self.manifest_path(stage)
        if not path.exists():
            return None
        return read_json(path)

    def is_complete(self, stage: str) -> bool:
        return self.manifest_path(stage).exists()

    def require(self, stage: str, needed_by: str) -> Path:
        """Return a finished stage's folder, or raise naming the command to run first."""
        if not self.is_complete(stage):
            raise FileNotFoundError(
                f"stage {needed_by!r} needs the output of {stage!r}, but {self.stage_dir(stage)} "
                f"has no {MANIFEST_NAME}; run `shochu {stage}{' FOLDER' if stage == 'ingest' else ''} "
                f"--workspace {self.root}` first"
            )
        return self.stage_dir(stage)

    def is_fresh(self, stage: str, config: dict[str, Any], inputs: dict[str, str]) -> bool:
        """Return True when the stage finished with this config and these input fingerprints."""
        manifest = self.manifest(stage)
        if manifest is None:
            return False
        return manifest.get("config_fingerprint") == fingerprint_json(config) and manifest.get("inputs") == inputs

    def stale_reasons(self, stage: str, config: dict[str, Any], inputs: dict[str, str]) -> list[str]:
        """Return why a finished stage must run again: the settings and inputs that changed, by name."""
        manifest = self.manifest(stage)
        if manifest is None:
            return ["it has not finished before"]
        reasons = []
        old_config = manifest.get("config") or {}
        changed = sorted(_changed_keys(old_config, config))
        if changed:
            reasons.append("settings changed: " + ", ".join(changed))
        elif manifest.get("config_fingerprint") != fingerprint_json(config):
            reasons.append("settings changed")
        old_inputs = manifest.get("inputs") or {}
        changed_inputs = sorted(key for key in old_inputs.keys() | inputs.keys()
                                if old_inputs.get(key) != inputs.get(key))
        if changed_inputs:
            reasons.append("inputs changed: " + ", ".join(changed_inputs))
        return reasons

    def invalidate(self, stage: str) -> None:
        """Remove a stage's manifest so that the stage counts as not run."""
        path = self.manifest_path(stage)
        if path.exists():
            path.unlink()

    def reset(self, stage: str) -> Path:
        """Empty a stage's folder and return it, ready for a fresh run."""
        folder = self.stage_dir(stage)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return folder

    def finish(
        self,
        stage: str,
        config: dict[str, Any],
        inputs: dict[str, str],
        counts: dict[str, Any],
        started: float,
        outputs: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Write the stage's manifest, which marks it complete, and return it."""
        manifest = {
            "stage": stage,
            "config": config,
            "config_fingerprint": fingerprint_json(config),
            "inputs": inputs,
            "outputs": outputs or {},
            "counts": counts,
            "versions": library_versions(),
            "wall_time_s": round(time.time() - started, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_json(self.manifest_path(stage), manifest)
        logger.info("stage %s finished in %.1f s: %s", stage, manifest["wall_time_s"], counts)
        return manifest

    def output_fingerprint(self, stage: str) -> str:
        """Fingerprint of a finished stage, which downstream manifests record as their input."""
        manifest = self.manifest(stage)
        if manifest is None:
            raise FileNotFoundError(f"stage {stage!r} has not finished in {self.root}; "
                                    f"run `shochu {stage} --workspace {self.root}` first")
        return fingerprint_json({"stage": stage, "config": manifest["config_fingerprint"],
                                 "inputs": manifest["inputs"], "outputs": manifest.get("outputs", {})})


def _changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Return the dotted names of the settings that differ between two config sections."""
    if isinstance(old, dict) and isinstance(new, dict):
        changed = []
        for key in old.keys() | new.keys():
            changed.extend(_changed_keys(old.get(key), new.get(key), f"{prefix}{key}."))
        return changed
    return [prefix.rstrip(".")] if old != new else []
