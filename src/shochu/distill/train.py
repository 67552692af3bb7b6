"""Train stage: distil the student from stored teacher soft labels.

The loop: AdamW with linear warm-up and cosine decay; validation every
``eval_every`` optimizer steps; early stopping after ``patience`` validations
without improvement; the best checkpoint by validation loss is kept in
``train/best``. The latest state (weights, optimizer moments, data position
and RNG state) is saved in ``train/last`` at every validation, as safetensors
and JSON, so a killed run resumes from it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors.torch import load_file, save_file

from shochu.config import RunConfig, TrainConfig
from shochu.distill.data import Batch, EncodedExample, collate, encode_records
from shochu.distill.labels import SoftLabels, tokenizer_fingerprint
from shochu.distill.losses import LossOutput, LossSettings, TopKLabels, distillation_loss
from shochu.models import load_model, load_tokenizer, prepare_models
from shochu.workspace import Workspace, fingerprint_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "train"


def settings(config: RunConfig) -> dict[str, Any]:
    return {**config.section("train"), "student": config.section("student")}


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    return {"build": workspace.output_fingerprint("build"), "label": workspace.output_fingerprint("label")}


@dataclass
class TrainState:
    """Loop state that a resumed run needs besides weights and optimizer moments."""

    step: int = 0
    best_step: int = 0
    best_val_loss: float = math.inf
    validations_without_improvement: int = 0
    stopped_early: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def run(config: RunConfig, workspace: Workspace, stop_after_steps: int | None = None) -> dict[str, Any]:
    """Train, resuming from ``train/last`` when an interrupted run left one.

    ``stop_after_steps`` ends the process's work after that many optimizer steps
    in this call without writing the manifest, as a killed run would; tests use it.
    """
    started = time.time()
    build_dir = workspace.require("build", NAME)
    label_dir = workspace.require("label", NAME)
    _, student_dir = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                    workspace.models_dir, config.teacher.licence)
    folder = workspace.stage_dir(NAME)
    if workspace.is_complete(NAME):
        folder = workspace.reset(NAME)
    folder.mkdir(parents=True, exist_ok=True)

    trainer = Trainer(config, student_dir, build_dir, label_dir, folder,
                      run_fingerprint=fingerprint_json({"settings": settings(config), "inputs": inputs(config, workspace)}))
    finished = trainer.fit(stop_after_steps)
    if not finished:
        return {}

    state = trainer.state
    best_val_loss = state.best_val_loss if math.isfinite(state.best_val_loss) else None
    counts = {"steps_run": state.step, "best_step": state.best_step, "best_val_loss": best_val_loss,
              "stopped_early": state.stopped_early, "train_examples": len(trainer.train_examples),
              "validation_examples": len(trainer.validation_examples), "dropped": trainer.dropped}
    return workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started)


class Trainer:
    def __init__(self, config: RunConfig, student_dir: Path, build_dir: Path, label_dir: Path,
                 folder: Path, run_fingerprint: str = "") -> None:
        self.args: TrainConfig = config.train
        self.folder = folder
        # Identifies the settings and inputs; a saved state from other ones is not resumed.
        self.run_fingerprint = run_fingerprint
        self.metrics_path = folder / "metrics.jsonl"
        torch.manual_seed(self.args.seed)

        self.tokenizer = load_tokenizer(student_dir, padding_side="right")
        self.train_labels = SoftLabels(label_dir, "train")
        self.validation_labels = SoftLabels(label_dir, "validation")
        self._check_tokenizer(student_dir)
        self.temperature = self.train_labels.temperature
        self.loss_settings = LossSettings(
            kd_ratio=self.args.kd_ratio, temperature=self.temperature, divergence=self.args.divergence,
            jsd_beta=self.args.jsd_beta, skew_alpha=self.args.skew_alpha,
            topk_convention=self.args.topk_convention, chunk_size=self.args.loss_chunk_size)

        max_seq_len = config.label.max_seq_len
        self.dropped: dict[str, int] = {}
        self.train_examples = self._examples(build_dir / "train.jsonl", self.train_labels, max_seq_len, "train")
        self.validation_examples = self._examples(build_dir / "validation.jsonl", self.validation_labels,
                                                  max_seq_len, "validation")
        if not self.train_examples:
            raise ValueError("no training examples have soft labels; re-run `shochu label`")

        self.model = load_model(student_dir)
        self.model.train()
        if getattr(self.model.get_output_embeddings(), "bias", None) is not None:
            raise ValueError(f"the student in {student_dir} has an output projection with a bias, "
                             f"which the chunked loss does not support")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.args.learning_rate,
                                           weight_decay=self.args.weight_decay)
        self.state = TrainState()
        self._epoch_orders: dict[int, list[int]] = {}

    # --- setup --------------------------------------------------------------

    def _check_tokenizer(self, student_dir: Path) -> None:
        student = tokenizer_fingerprint(self.tokenizer)
        if student != self.train_labels.tokenizer_fingerprint:
            raise ValueError(
                f"the student tokenizer in {student_dir} differs from the tokenizer that produced the "
                f"soft labels (vocabulary, special tokens or chat template); the student must share the "
                f"teacher's tokenizer, so re-create it from the teacher or re-run `shochu label`"
            )

    def _examples(self, path: Path, labels: SoftLabels, max_seq_len: int, split: str) -> list[EncodedExample]:
        examples, truncated = encode_records(self.tokenizer, read_jsonl(path), max_seq_len)
        kept = [example for example in examples if example.example_id in labels]
        self.dropped[split] = len(truncated) + len(examples) - len(kept)
        for example in kept:
            rows = labels.get(example.example_id)[0].shape[0]
            assert rows == example.response_tokens, (
                f"{example.example_id}: {rows} soft-label rows for {example.response_tokens} response tokens")
        return kept

    # --- loop ---------------------------------------------------------------

    def fit(self, stop_after_steps: int | None = None) -> bool:
        """Run until max_steps or early stop; return False when stopped by ``stop_after_steps``."""
        self._resume()
        steps_this_call = 0
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
                   TextColumn("{task.completed}/{task.total} steps"), TextColumn("{task.fields[info]}"),
                   TimeRemainingColumn())
        with Progress(*columns) as progress:
            task = progress.add_task("distilling", total=self.args.max_steps, completed=self.state.step, info="")
            while self.state.step < self.args.max_steps and not self.state.stopped_early:

                # Forward and backward over grad_accum micro-batches.
                micro_batches = [self._micro_batch(self.state.step * self.args.grad_accum + i)
                                 for i in range(self.args.grad_accum)]
                record = self._optimizer_step(micro_batches)
                self.state.step += 1
                steps_this_call += 1
                self._log(record)
                progress.update(task, completed=self.state.step,
                                info=f"loss {record['loss']:.3f} | {record['ms_per_step']:.0f} ms/step")

                # Validate, keep the best checkpoint, save state for resume.
                if self.state.step % self.args.eval_every == 0 or self.state.step == self.args.max_steps:
                    self._validate_and_checkpoint()

                if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                    return False

        if not (self.folder / "best").exists():
            self._validate_and_checkpoint()
        return True

    def _order(self, epoch: int) -> list[int]:
        order = list(range(len(self.train_examples)))
        random.Random(f"{self.args.seed}:{epoch}").shuffle(order)
        return order

    def _micro_batch(self, index: int) -> Batch:
        """Return micro-batch ``index`` of an endless stream of shuffled epochs.

        The order depends only on the seed and the index, so a resumed run
        continues with exactly the batches the interrupted one would have seen.
        """
        count = len(self.train_examples)
        chosen = []
        for position in range(index * self.args.batch_size, (index + 1) * self.args.batch_size):
            epoch, offset = divmod(position, count)
            if epoch not in self._epoch_orders:
                self._epoch_orders = {epoch: self._order(epoch)}
            chosen.append(self.train_examples[self._epoch_orders[epoch][offset]])
        return collate(chosen, self.tokenizer.pad_token_id)

    def _optimizer_step(self, micro_batches: list[Batch]) -> dict[str, Any]:
        step_started = time.perf_counter()
        learning_rate = self._learning_rate(self.state.step)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

        # Normalise by the supervised tokens of the whole accumulated step, not per micro-batch.
        total_tokens = sum(int(batch.target_mask.sum()) for batch in micro_batches)
        kd_sum = ce_sum = 0.0
        for batch in micro_batches:
            output = self._loss_terms(batch, self.train_labels, num_supervised=total_tokens)
            output.loss.backward()
            kd_sum += float(output.kd_sum)
            ce_sum += float(output.ce_sum) if output.ce_sum is not None else 0.0

        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

        tokens = max(total_tokens, 1)
        kd, ce = kd_sum / tokens, ce_sum / tokens
        return {"split": "train", "step": self.state.step + 1, "loss": self._combine(kd, ce), "kd_loss": kd,
                "ce_loss": ce, "lr": learning_rate, "grad_norm": float(grad_norm), "tokens": total_tokens,
                "ms_per_step": (time.perf_counter() - step_started) * 1000}

    def _combine(self, kd: float, ce: float) -> float:
        # CE is not computed when kd_ratio is 1, and then has no weight.
        return self.args.kd_ratio * self.temperature**2 * kd + (1 - self.args.kd_ratio) * ce

    def _loss_terms(self, batch: Batch, labels: SoftLabels, num_supervised: int | None = None) -> LossOutput:
        decoder = self.model.get_decoder()
        hidden = decoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        # Soft-label rows follow the supervised positions in row-major order, as labelling wrote them.
        soft = [labels.get(example_id) for example_id in batch.example_ids]
        teacher = TopKLabels(torch.cat([s[0] for s in soft]), torch.cat([s[1] for s in soft]),
                             torch.cat([s[2] for s in soft]))
        return distillation_loss(hidden, teacher, self.loss_settings,
                                 weight=self.model.get_output_embeddings().weight, labels=batch.targets,
                                 mask=batch.target_mask, num_supervised=num_supervised)

    def _learning_rate(self, step: int) -> float:
        """Linear warm-up to the peak, then cosine decay to a tenth of it at max_steps."""
        peak = self.args.learning_rate
        if step < self.args.warmup_steps:
            return peak * (step + 1) / self.args.warmup_steps
        progress = (step - self.args.warmup_steps) / max(1, self.args.max_steps - self.args.warmup_steps)
        return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    # --- validation and checkpoints ------------------------------------------

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        self.model.eval()
        kd_sum = ce_sum = 0.0
        tokens = 0
        for first in range(0, len(self.validation_examples), self.args.batch_size):
            batch = collate(self.validation_examples[first : first + self.args.batch_size],
                            self.tokenizer.pad_token_id)
            output = self._loss_terms(batch, self.validation_labels)
            kd_sum += float(output.kd_sum)
            ce_sum += float(output.ce_sum) if output.ce_sum is not None else 0.0
            tokens += output.tokens
        self.model.train()
        kd, ce = kd_sum / max(tokens, 1), ce_sum / max(tokens, 1)
        return {"split": "validation", "step": self.state.step, "loss": self._combine(kd, ce),
                "kd_loss": kd, "ce_loss": ce, "tokens": tokens}

    def _validate_and_checkpoint(self) -> None:
        if not self.validation_examples:
            # NOTE: without a validation split the last step counts as the best.
            record = {"split": "validation", "step": self.state.step, "loss": None}
            improved = True
        else:
            record = self.validate()
            improved = record["loss"] < self.state.best_val_loss
        record["best"] = improved
        self._log(record)

        if improved:
            self.state.best_step = self.state.step
            self.state.best_val_loss = record["loss"] if self.validation_examples else math.inf
            self.state.validations_without_improvement = 0
            self._save_model(self.folder / "best")
        else:
            self.state.validations_without_improvement += 1
            if self.state.validations_without_improvement >= self.args.patience:
                self.state.stopped_early = True
                logger.info("early stop at step %d: no improvement in %d validations",
                            self.state.step, self.args.patience)
        self._save_resume_state()

    def _save_model(self, destination: Path) -> None:
        temporary = destination.with_name(destination.name + ".partial")
        if temporary.exists():
            shutil.rmtree(temporary)
        self.model.save_pretrained(temporary, safe_serialization=True)
        self.tokenizer.save_pretrained(temporary)
        val_loss = self.state.best_val_loss if math.isfinite(self.state.best_val_loss) else None
        write_json(temporary / "trainer_state.json", {"step": self.state.step, "val_loss": val_loss})
        _replace_folder(temporary, destination)

    def _save_resume_state(self) -> None:
        temporary = self.folder / "last.partial"
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.mkdir()
        self.model.save_pretrained(temporary, safe_serialization=True)
        save_file(_optimizer_tensors(self.optimizer), str(temporary / "optimizer.safetensors"))
        save_file({"cpu_rng": torch.get_rng_state()}, str(temporary / "rng.safetensors"))
        state = dict(self.state.__dict__)
        state.pop("history")
        write_json(temporary / "trainer_state.json", state)
        write_json(temporary / "run.json", {"fingerprint": self.run_fingerprint})
        _replace_folder(temporary, self.folder / "last")

    def _resume(self) -> None:
        last = self.folder / "last"
        if not last.exists() and (self.folder / "last.old").exists():
            # Killed while swapping folders: the previous complete state is still there.
            os.replace(self.folder / "last.old", last)
        if (last / "trainer_state.json").exists() and not self._same_run(last):
            logger.warning("%s was saved with other settings or inputs; training starts from step 0", last)
            shutil.rmtree(last)
        if not (last / "trainer_state.json").exists():
            if self.metrics_path.exists():
                self.metrics_path.unlink()
            return

        saved = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))
        self.state = TrainState(**saved)
        weights = load_file(str(last / "model.safetensors"))
        missing, unexpected = self.model.load_state_dict(weights, strict=False)
        missing = [key for key in missing if key != "lm_head.weight"]
        if missing or unexpected:
            raise RuntimeError(f"{last} does not match the student: missing {missing[:3]}, unexpected {unexpected[:3]}")
        _load_optimizer_tensors(self.optimizer, load_file(str(last / "optimizer.safetensors")))
        torch.set_rng_state(load_file(str(last / "rng.safetensors"))["cpu_rng"])
        self._truncate_metrics(self.state.step)
        logger.info("resumed training at step %d (best step %d)", self.state.step, self.state.best_step)

    def _same_run(self, last: Path) -> bool:
        saved = last / "run.json"
        if not saved.exists():
            return False
        return json.loads(saved.read_text(encoding="utf-8")).get("fingerprint") == self.run_fingerprint

    def _truncate_metrics(self, step: int) -> None:
        """Drop metric lines written after the checkpoint that the run resumes from."""
        if not self.metrics_path.exists():
            return
        kept = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record["step"] <= step:
                kept.append(line)
        self.metrics_path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    def _log(self, record: dict[str, Any]) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if record["split"] == "validation" and record["loss"] is not None:
            logger.info("step %d | val loss %.4f | kd %.4f | ce %.4f%s", record["step"], record["loss"],
                        record.get("kd_loss", float("nan")), record.get("ce_loss", float("nan")),
                        " | best" if record.get("best") else "")


def _replace_folder(source: Path, destination: Path) -> None:
    """Swap a finished folder into place; a reader never sees a half-written one."""
    previous = destination.with_name(destination.name + ".old")
    if previous.exists():
        shutil.rmtree(previous)
    if destination.exists():
        os.replace(destination, previous)
    os.replace(source, destination)
    if previous.exists():
        shutil.rmtree(previous)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Flatten AdamW's per-parameter state into named tensors for safetensors."""
    tensors = {}
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{index}.{name}"] = tensor.contiguous()
    return tensors


def _load_optimizer_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    state_dict = optimizer.state_dict()
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        index, name = key.split(".", 1)
        restored.setdefault(int(index), {})[name] = tensor
    state_dict["state"] = restored
    optimizer.load_state_dict(state_dict)
