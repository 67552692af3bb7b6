"""Train stage: distil the student from stored teacher soft labels or an online teacher.

The loop: AdamW with linear warm-up and cosine decay (a ``LambdaLR`` schedule),
gradient accumulation, gradient clipping and optional bfloat16 autocast of the
student's forward pass. Full fine-tuning by default; with ``train.lora`` only a
PEFT LoRA adapter trains, and saved checkpoints hold the merged weights.

Every ``eval_every`` optimizer steps the loop validates and ranks the
checkpoint by ``train.metric`` in the direction ``train.metric_mode`` states:
the best is kept in ``train/best``, the next ``keep_best - 1`` in
``train/checkpoints/step-N``, and training stops early after ``patience``
validations without a new best. ``train/last`` then receives what an exact
resume needs: the trainable weights, optimizer moments, schedule, every
process's RNG state and the data position (examples consumed from the seeded
stream of shuffled epochs).

The teacher side (``train.teacher``) is either the stored top-k soft labels of
the label stage or, with ``online``, the teacher itself run on every micro-batch
(``shochu.distill.online``); only the online teacher provides the hidden states
that ``train.hidden_alignment`` (``shochu.distill.alignment``) needs.

Every ``log_every`` steps one line with the KD, CE, alignment and total losses,
tokens/s and peak memory goes to ``metrics.jsonl`` and the console.

Several processes (``accelerate launch``, see ``shochu.distill.distributed``)
run data-parallel: each micro-batch of ``batch_size`` examples per process is
one slice of a global micro-batch of ``batch_size * processes`` examples, the
loss is normalised by the supervised tokens of the whole global step, and only
the main process writes files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import resource
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors.torch import load_file, save_file

from shochu.config import RunConfig, TrainConfig
from shochu.distill import distributed
from shochu.distill.alignment import HiddenAlignment, capture_layer_outputs, resolve_pairs
from shochu.distill.checkpoints import BEST_DIR, BestCheckpoints, apply_moves, step_folder
from shochu.distill.data import Batch, EncodedExample, collate, encode_records
from shochu.distill.labels import SoftLabels
from shochu.distill.losses import LossSettings, TeacherHidden, TopKLabels, distillation_loss
from shochu.distill.lora import add_adapter, is_adapter_model, merged_copy
from shochu.distill.online import OnlineTeacher, teacher_identity
from shochu.distill.vocab import check_same_tokenizer, shared_vocab_size
from shochu.generation import resolve_dtype
from shochu.models import load_model, load_tokenizer, prepare_models
from shochu.workspace import Workspace, fingerprint_json, read_jsonl, write_json

logger = logging.getLogger(__name__)

NAME = "train"
# Validation record key of each train.metric name.
METRIC_KEYS = {"val_loss": "loss", "val_kd_loss": "kd_loss", "val_ce_loss": "ce_loss"}
# Prefix of the alignment projections among the trainable tensors of the resume state.
ALIGNMENT_PREFIX = "hidden_alignment."


def settings(config: RunConfig) -> dict[str, Any]:
    values = {**config.section("train"), "student": config.section("student")}
    if config.train.teacher == "online":
        # The label stage's manifest covers these with stored labels; online, training itself depends on them.
        values["teacher"] = config.teacher.path
        values["label"] = {"temperature": config.label.temperature, "max_seq_len": config.label.max_seq_len}
    return values


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    if config.train.teacher == "online":
        teacher_dir = workspace.models_dir / "teacher"
        identity = teacher_identity(teacher_dir) if teacher_dir.is_dir() else []
        return {"build": workspace.output_fingerprint("build"), "teacher": fingerprint_json(identity)}
    return {"build": workspace.output_fingerprint("build"), "label": workspace.output_fingerprint("label")}


@dataclass
class TrainState:
    """Loop state that a resumed run needs besides weights, optimizer moments and RNG."""

    step: int = 0
    # Examples consumed from the global stream of shuffled epochs, over all processes.
    examples_seen: int = 0
    best_step: int = 0
    best_metric: float | None = None
    validations_without_improvement: int = 0
    stopped_early: bool = False
    # (step, metric) of the kept checkpoints, best first.
    kept: list[list[float]] = field(default_factory=list)


def run(config: RunConfig, workspace: Workspace, stop_after_steps: int | None = None) -> dict[str, Any]:
    """Train, resuming from ``train/last`` when an interrupted run left one.

    ``stop_after_steps`` ends the process's work after that many optimizer steps
    in this call without writing the manifest, as a killed run would; tests use it.
    """
    started = time.time()
    build_dir = workspace.require("build", NAME)
    # The online teacher replaces the stored soft labels, so the label stage need not have run.
    label_dir = workspace.require("label", NAME) if config.train.teacher == "labels" else workspace.stage_dir("label")
    with distributed.main_first():
        teacher_dir, student_dir = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                                  workspace.models_dir, config.teacher.licence)
    folder = workspace.stage_dir(NAME)
    if distributed.is_main():
        if workspace.is_complete(NAME):
            folder = workspace.reset(NAME)
        folder.mkdir(parents=True, exist_ok=True)
    distributed.barrier()

    run_fingerprint = fingerprint_json({"settings": settings(config), "inputs": inputs(config, workspace)})
    trainer = Trainer(config, student_dir, build_dir, label_dir, folder, run_fingerprint=run_fingerprint,
                      teacher_dir=teacher_dir)
    finished = trainer.fit(stop_after_steps)
    if not finished:
        return {}

    state = trainer.state
    counts = {"steps_run": state.step, "teacher": config.train.teacher, "best_step": state.best_step,
              "metric": config.train.metric,
              "best_metric": state.best_metric,
              # The report shows this figure; it exists only when validation loss ranks checkpoints.
              "best_val_loss": state.best_metric if config.train.metric == "val_loss" else None,
              "kept_checkpoints": [int(step) for step, _ in state.kept],
              "stopped_early": state.stopped_early, "train_examples": len(trainer.train_examples),
              "validation_examples": len(trainer.validation_examples), "dropped": trainer.dropped,
              "processes": distributed.world_size(), "trainable_parameters": trainer.trainable_parameters}
    if distributed.is_main():
        workspace.finish(NAME, settings(config), inputs(config, workspace), counts, started)
    distributed.barrier()
    return workspace.manifest(NAME)


class StudentLoss(torch.nn.Module):
    """The student's forward pass and the distillation loss as one module.

    DDP synchronises gradients only for work done inside the wrapped module's
    ``forward``, and the loss projects hidden states with the output weight
    itself, so both belong here; so do the hidden-alignment projections.

    The teacher side is either stored soft labels (``logprobs``, ``ids``,
    ``rest``) or the online teacher's supervised final hidden states and output
    projection (``teacher_hidden``, ``teacher_weight``) with, for alignment, its
    layer outputs (``teacher_layers``). ``forward`` returns the loss, the KD sum
    and the CE sum; the alignment sum of the same call is left in ``align_sum``.
    """

    def __init__(self, model: torch.nn.Module, loss_settings: LossSettings, autocast_dtype: torch.dtype,
                 vocab_size: int | None = None, alignment: HiddenAlignment | None = None,
                 alignment_weight: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.loss_settings = loss_settings
        self.autocast_dtype = autocast_dtype
        # Logit columns that the loss compares; columns past the tokenizer's size are padding rows.
        self.vocab_size = vocab_size
        self.alignment = alignment
        self.alignment_weight = alignment_weight
        self.align_sum = torch.zeros(())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, targets: torch.Tensor,
                target_mask: torch.Tensor, logprobs: torch.Tensor | None = None, ids: torch.Tensor | None = None,
                rest: torch.Tensor | None = None, num_supervised: int | None = None,
                teacher_hidden: torch.Tensor | None = None, teacher_weight: torch.Tensor | None = None,
                teacher_layers: list[torch.Tensor] | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        layers = self.alignment.student_layers if self.alignment is not None else []
        with _autocast(input_ids.device, self.autocast_dtype), capture_layer_outputs(self.model, layers) as states:
            hidden = self.model.get_decoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if teacher_hidden is not None:
            teacher = TeacherHidden(teacher_hidden, teacher_weight)
        else:
            # Soft-label rows follow the supervised positions in row-major order, as labelling wrote them.
            teacher = TopKLabels(logprobs, ids, rest)
        output = distillation_loss(hidden, teacher, self.loss_settings,
                                   weight=self.model.get_output_embeddings().weight, labels=targets,
                                   mask=target_mask, num_supervised=num_supervised, vocab_size=self.vocab_size)
        ce_sum = output.ce_sum if output.ce_sum is not None else torch.zeros_like(output.kd_sum)
        loss = output.loss
        self.align_sum = torch.zeros_like(output.kd_sum)
        if self.alignment is not None:
            if teacher_layers is None:
                raise ValueError("hidden-state alignment needs the online teacher's layer outputs (teacher_layers)")
            supervised = target_mask.to(torch.bool) & (targets != -100)
            align_sum = self.alignment(states, teacher_layers, supervised)
            loss = loss + self.alignment_weight * align_sum / max(num_supervised or output.tokens, 1)
            self.align_sum = align_sum.detach()
        return loss, output.kd_sum, ce_sum


class Trainer:
    def __init__(self, config: RunConfig, student_dir: Path, build_dir: Path, label_dir: Path,
                 folder: Path, run_fingerprint: str = "", teacher_dir: Path | None = None) -> None:
        """Set up the student, its data and the teacher side.

        ``label_dir`` is read only with ``train.teacher: labels``. ``teacher_dir`` is
        the imported teacher that ``train.teacher: online`` runs; by default the
        ``teacher`` folder beside ``student_dir``, as in a workspace's models folder.
        """
        self.args: TrainConfig = config.train
        self.folder = folder
        # Identifies the settings and inputs; a saved state from other ones is not resumed.
        self.run_fingerprint = run_fingerprint
        self.metrics_path = folder / "metrics.jsonl"
        self.accelerator = distributed.accelerator()
        self.device = self.accelerator.device
        self.autocast_dtype = _autocast_dtype(self.args.dtype, self.device)
        # Loaded before seeding, so that the student's random streams are those of a run with stored labels.
        self.online = self._load_online_teacher(teacher_dir or student_dir.parent / "teacher")
        torch.manual_seed(self.args.seed)

        self.tokenizer = load_tokenizer(student_dir, padding_side="right")
        self.train_labels: SoftLabels | None = None
        self.validation_labels: SoftLabels | None = None
        if self.online is None:
            self.train_labels = SoftLabels(label_dir, "train")
            self.validation_labels = SoftLabels(label_dir, "validation")
            self._check_tokenizer(student_dir)
            self.temperature = self.train_labels.temperature
            teacher_columns = self.train_labels.teacher_columns
            teacher_name = f"the teacher {self.train_labels.teacher_name}"
        else:
            check_same_tokenizer(load_tokenizer(self.online.folder, padding_side="right"), self.tokenizer,
                                 str(self.online.folder), str(student_dir))
            # The temperature that stored labels would have been made at.
            self.temperature = config.label.temperature
            teacher_columns = self.online.columns
            teacher_name = f"the teacher in {self.online.folder}"
        if self.args.metric == "val_ce_loss" and self.args.kd_ratio == 1.0:
            raise ValueError("train.metric is val_ce_loss, but train.kd_ratio=1 gives CE no weight and it is "
                             "not computed; choose val_loss or val_kd_loss, or lower kd_ratio")
        self.loss_settings = LossSettings(
            kd_ratio=self.args.kd_ratio, temperature=self.temperature, divergence=self.args.divergence,
            jsd_beta=self.args.jsd_beta, skew_alpha=self.args.skew_alpha,
            topk_convention=self.args.topk_convention, chunk_size=self.args.loss_chunk_size)

        self.dropped: dict[str, int] = {}
        self.train_examples = self._examples(build_dir / "train.jsonl", self.train_labels, config, "train")
        self.validation_examples = self._examples(build_dir / "validation.jsonl", self.validation_labels,
                                                  config, "validation")
        if not self.train_examples:
            raise ValueError("no training examples have soft labels; re-run `shochu label`" if self.online is None
                             else f"no training examples in {build_dir / 'train.jsonl'} fit label.max_seq_len="
                                  f"{config.label.max_seq_len}; raise it or re-run `shochu build`")
        if not self.validation_examples and distributed.is_main():
            logger.warning("train: no validation examples, so checkpoints cannot be ranked, early stopping "
                           "is off and train/best is the last step; raise build.split.validation and re-run "
                           "`shochu build` to rank them")

        model = load_model(student_dir)
        if getattr(model.get_output_embeddings(), "bias", None) is not None:
            raise ValueError(f"the student in {student_dir} has an output projection with a bias, "
                             f"which the chunked loss does not support")
        vocab_size = shared_vocab_size(len(self.tokenizer), teacher_columns,
                                       model.get_output_embeddings().weight.shape[0],
                                       teacher_name, f"the student in {student_dir}")
        self.alignment = self._alignment(model, student_dir)
        if self.args.lora is not None:
            model = add_adapter(model, self.args.lora)
        model.train()
        self.model = model
        self.trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
        if self.alignment is not None:
            self.alignment.to(self.device)
            self.trainable += list(self.alignment.parameters())
        self.trainable_parameters = sum(parameter.numel() for parameter in self.trainable)
        optimizer = torch.optim.AdamW(self.trainable, lr=self.args.learning_rate, weight_decay=self.args.weight_decay)
        # Not passed to accelerator.prepare, which would step it once per process.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        self.student = StudentLoss(model, self.loss_settings, self.autocast_dtype, vocab_size, self.alignment,
                                   self.args.hidden_alignment.weight if self.args.hidden_alignment else 0.0)
        self.wrapped, self.optimizer = self.accelerator.prepare(self.student, optimizer)

        self.state = TrainState()
        self.ranking = BestCheckpoints(self.args.keep_best, self.args.metric_mode)
        self._epoch_orders: dict[int, list[int]] = {}
        self._interval: dict[str, float] = {}

    # --- setup --------------------------------------------------------------

    def _load_online_teacher(self, teacher_dir: Path) -> OnlineTeacher | None:
        if self.args.teacher != "online":
            return None
        if not (teacher_dir / "config.json").is_file():
            raise FileNotFoundError(f"train.teacher is 'online', but {teacher_dir} contains no imported teacher; "
                                    f"run `shochu train` in the workspace, which imports it, or `shochu check`")
        # Every process loads its own copy; weights in the autocast dtype (float32 on a CPU).
        return OnlineTeacher(teacher_dir, self.device, self.autocast_dtype)

    def _alignment(self, model: torch.nn.Module, student_dir: Path) -> HiddenAlignment | None:
        setting = self.args.hidden_alignment
        if setting is None:
            return None
        if self.online is None:
            raise ValueError("train.hidden_alignment needs train.teacher 'online': stored soft labels hold no "
                             "teacher hidden states")
        pairs = resolve_pairs(setting.layers, student_dir, int(model.config.num_hidden_layers), self.online.num_layers)
        alignment = HiddenAlignment(pairs, int(model.config.hidden_size), self.online.hidden_size, setting.loss,
                                    seed=self.args.seed)
        self.online.layers = alignment.teacher_layers
        if distributed.is_main():
            logger.info("aligning hidden states of (student, teacher) layers %s with %s loss, weight %g",
                        pairs, setting.loss, setting.weight)
        return alignment

    def _check_tokenizer(self, student_dir: Path) -> None:
        check_same_tokenizer(self.train_labels.load_tokenizer(), self.tokenizer,
                             self.train_labels.teacher_name, str(student_dir))

    def _examples(self, path: Path, labels: SoftLabels | None, config: RunConfig, split: str) -> list[EncodedExample]:
        if labels is None:
            # Online teacher: the same encoding and length limit as labelling, without stored rows to check.
            examples, truncated = encode_records(self.tokenizer, read_jsonl(path), config.label.max_seq_len)
            self.dropped[split] = len(truncated)
            return examples
        labels.check_settings(self.tokenizer, config.label.temperature, config.label.top_k)
        examples, truncated = encode_records(self.tokenizer, read_jsonl(path), config.label.max_seq_len)
        labels.check_examples(examples)
        # Examples whose response max_seq_len would cut are dropped, here and in labelling.
        self.dropped[split] = len(truncated)
        for example in examples:
            rows = labels.get(example.example_id)[0].shape[0]
            assert rows == example.response_tokens, (
                f"{example.example_id}: {rows} soft-label rows for {example.response_tokens} response tokens")
        return examples

    # --- loop ---------------------------------------------------------------

    def fit(self, stop_after_steps: int | None = None) -> bool:
        """Run until max_steps or early stop; return False when stopped by ``stop_after_steps``."""
        self._resume()
        steps_this_call = 0
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
                   TextColumn("{task.completed}/{task.total} steps"), TextColumn("{task.fields[info]}"),
                   TimeRemainingColumn())
        with Progress(*columns, disable=not distributed.is_main()) as progress:
            task = progress.add_task("distilling", total=self.args.max_steps, completed=self.state.step, info="")
            while self.state.step < self.args.max_steps and not self.state.stopped_early:

                # Forward and backward over grad_accum micro-batches, then one optimizer step.
                record = self._optimizer_step()
                self.state.step += 1
                steps_this_call += 1
                self._add_to_interval(record)
                progress.update(task, completed=self.state.step,
                                info=f"loss {record['loss']:.3f} | {record['seconds'] * 1000:.0f} ms/step")

                # Log the interval's terms, throughput and memory.
                if self.state.step % self.args.log_every == 0 or self.state.step == self.args.max_steps:
                    self._log_interval()

                # Validate, rank the checkpoint, save state for resume.
                if self.state.step % self.args.eval_every == 0 or self.state.step == self.args.max_steps:
                    self._validate_and_checkpoint()

                if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                    return False

        if not (self.folder / BEST_DIR).exists() and distributed.is_main():
            self._write_checkpoint(self.folder / BEST_DIR, None)
        distributed.barrier()
        return True

    def _order(self, epoch: int) -> list[int]:
        order = list(range(len(self.train_examples)))
        random.Random(f"{self.args.seed}:{epoch}").shuffle(order)
        return order

    def _stream(self, position: int) -> EncodedExample:
        """Example at ``position`` of an endless stream of shuffled epochs, a function of the seed only."""
        epoch, offset = divmod(position, len(self.train_examples))
        if epoch not in self._epoch_orders:
            self._epoch_orders = {epoch: self._order(epoch)}
        return self.train_examples[self._epoch_orders[epoch][offset]]

    def _micro_batch(self, first: int) -> Batch:
        """This process's slice of the global micro-batch that starts at stream position ``first``."""
        start = first + distributed.rank() * self.args.batch_size
        chosen = [self._stream(position) for position in range(start, start + self.args.batch_size)]
        return collate(chosen, self.tokenizer.pad_token_id)

    def _optimizer_step(self) -> dict[str, Any]:
        step_started = time.perf_counter()
        processes = distributed.world_size()
        global_batch = self.args.batch_size * processes
        micro_batches = [self._micro_batch(self.state.examples_seen + index * global_batch)
                         for index in range(self.args.grad_accum)]

        # Normalise by the supervised tokens of the whole step (all micro-batches, all processes).
        local_tokens = sum(int(batch.target_mask.sum()) for batch in micro_batches)
        (total_tokens,) = distributed.reduce_sum([local_tokens])
        kd_sum = ce_sum = align_sum = 0.0
        for index, batch in enumerate(micro_batches):
            last = index == len(micro_batches) - 1
            sync = contextlib.nullcontext() if last else self.accelerator.no_sync(self.wrapped)
            with sync:
                loss, kd, ce = self.wrapped(**self._loss_inputs(batch, self.train_labels),
                                            num_supervised=int(total_tokens))
                # DDP averages gradients over processes; scaling by their number turns that into the sum.
                self.accelerator.backward(loss * processes)
            kd_sum += float(kd)
            ce_sum += float(ce)
            align_sum += float(self.student.align_sum)

        grad_norm = self.accelerator.clip_grad_norm_(self.trainable, self.args.max_grad_norm)
        learning_rate = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.examples_seen += self.args.grad_accum * global_batch

        input_tokens = sum(int(batch.attention_mask.sum()) for batch in micro_batches)
        kd_sum, ce_sum, align_sum, input_tokens = distributed.reduce_sum([kd_sum, ce_sum, align_sum, input_tokens])
        tokens = max(int(total_tokens), 1)
        return {"loss": self._combine(kd_sum / tokens, ce_sum / tokens, align_sum / tokens), "kd_sum": kd_sum,
                "ce_sum": ce_sum, "align_sum": align_sum, "tokens": int(total_tokens),
                "input_tokens": int(input_tokens), "lr": learning_rate, "grad_norm": float(grad_norm),
                "seconds": time.perf_counter() - step_started}

    def _loss_inputs(self, batch: Batch, labels: SoftLabels | None) -> dict[str, Any]:
        """Keyword arguments of ``StudentLoss`` for one micro-batch: the batch and its teacher side."""
        tensors = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "targets": batch.targets,
                   "target_mask": batch.target_mask}
        tensors = {name: tensor.to(self.device) for name, tensor in tensors.items()}
        if self.online is not None:
            supervised = tensors["target_mask"].to(torch.bool) & (tensors["targets"] != -100)
            teacher = self.online.run(tensors["input_ids"], tensors["attention_mask"], supervised)
            inputs: dict[str, Any] = {**tensors, "teacher_hidden": teacher.final.hidden,
                                      "teacher_weight": teacher.final.weight}
            if self.alignment is not None:
                inputs["teacher_layers"] = teacher.layers
            return inputs
        soft = [labels.get(example_id) for example_id in batch.example_ids]
        stored = {"logprobs": torch.cat([s[0] for s in soft]), "ids": torch.cat([s[1] for s in soft]),
                  "rest": torch.cat([s[2] for s in soft])}
        return {**tensors, **{name: tensor.to(self.device) for name, tensor in stored.items()}}

    def _combine(self, kd: float, ce: float, align: float = 0.0) -> float:
        # CE is not computed when kd_ratio is 1, and then has no weight.
        total = self.args.kd_ratio * self.temperature**2 * kd + (1 - self.args.kd_ratio) * ce
        if self.args.hidden_alignment is not None:
            total += self.args.hidden_alignment.weight * align
        return total

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up to the peak, then cosine decay to a tenth of it at max_steps."""
        if step < self.args.warmup_steps:
            return (step + 1) / self.args.warmup_steps
        progress = (step - self.args.warmup_steps) / max(1, self.args.max_steps - self.args.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    # --- logging --------------------------------------------------------------

    def _add_to_interval(self, record: dict[str, Any]) -> None:
        interval = self._interval
        for key in ("kd_sum", "ce_sum", "align_sum", "tokens", "input_tokens", "seconds"):
            interval[key] = interval.get(key, 0.0) + record[key]
        interval["steps"] = interval.get("steps", 0) + 1
        interval["lr"], interval["grad_norm"] = record["lr"], record["grad_norm"]

    def _log_interval(self) -> None:
        interval, self._interval = self._interval, {}
        tokens = max(interval["tokens"], 1)
        kd, ce, align = interval["kd_sum"] / tokens, interval["ce_sum"] / tokens, interval["align_sum"] / tokens
        record = {"split": "train", "step": self.state.step, "steps": int(interval["steps"]),
                  "loss": self._combine(kd, ce, align), "kd_loss": kd, "ce_loss": ce, **self._align_field(align),
                  "lr": interval["lr"], "grad_norm": interval["grad_norm"], "tokens": int(interval["tokens"]),
                  "tokens_per_s": interval["input_tokens"] / interval["seconds"],
                  "supervised_tokens_per_s": interval["tokens"] / interval["seconds"],
                  "ms_per_step": interval["seconds"] * 1000 / interval["steps"], **self._memory()}
        self._write_metrics(record)
        if distributed.is_main():
            logger.info("step %d | loss %.4f | kd %.4f | ce %.4f%s | %.0f tokens/s | peak RSS %.0f MiB",
                        record["step"], record["loss"], kd, ce, self._align_text(record), record["tokens_per_s"],
                        record["peak_rss_mib"])

    def _align_field(self, align: float) -> dict[str, float]:
        """The alignment term per supervised token, for records of runs that align hidden states."""
        return {"align_loss": align} if self.alignment is not None else {}

    @staticmethod
    def _align_text(record: dict[str, Any]) -> str:
        return f" | align {record['align_loss']:.4f}" if "align_loss" in record else ""

    def _memory(self) -> dict[str, float]:
        """Peak resident memory of the largest process and, on a GPU, peak allocated GPU memory."""
        # ru_maxrss is in KiB on Linux.
        memory = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
        if self.device.type == "cuda":
            memory.append(torch.cuda.max_memory_allocated(self.device) / 2**20)
        peaks = torch.stack(distributed.gather_tensor(torch.tensor(memory, dtype=torch.float64))).amax(0).tolist()
        result = {"peak_rss_mib": round(peaks[0], 1)}
        if len(peaks) > 1:
            result["cuda_peak_mib"] = round(peaks[1], 1)
        return result

    def _write_metrics(self, record: dict[str, Any]) -> None:
        if not distributed.is_main():
            return
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    # --- validation and checkpoints ------------------------------------------

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Validation losses over every validation example; processes split the batches."""
        self.model.eval()
        kd_sum = ce_sum = align_sum = 0.0
        tokens = 0
        starts = range(0, len(self.validation_examples), self.args.batch_size)
        for first in starts[distributed.rank() :: distributed.world_size()]:
            batch = collate(self.validation_examples[first : first + self.args.batch_size],
                            self.tokenizer.pad_token_id)
            _, kd, ce = self.student(**self._loss_inputs(batch, self.validation_labels))
            kd_sum += float(kd)
            ce_sum += float(ce)
            align_sum += float(self.student.align_sum)
            tokens += int(batch.target_mask.sum())
        self.model.train()
        kd_sum, ce_sum, align_sum, tokens = distributed.reduce_sum([kd_sum, ce_sum, align_sum, tokens])
        kd, ce, align = kd_sum / max(tokens, 1), ce_sum / max(tokens, 1), align_sum / max(tokens, 1)
        return {"split": "validation", "step": self.state.step, "loss": self._combine(kd, ce, align),
                "kd_loss": kd, "ce_loss": ce, **self._align_field(align), "tokens": int(tokens)}

    def _validate_and_checkpoint(self) -> None:
        if not self.validation_examples:
            # NOTE: without a validation split the last step counts as the best.
            record: dict[str, Any] = {"split": "validation", "step": self.state.step, "loss": None, "best": True}
            self.state.best_step = self.state.step
            self._write_metrics(record)
            if distributed.is_main():
                self._write_checkpoint(self.folder / BEST_DIR, None)
            self._save_resume_state()
            return

        record = self.validate()
        value = record[METRIC_KEYS[self.args.metric]]
        decision = self.ranking.consider(self.state.step, value)
        record["best"] = decision.best
        self._write_metrics(record)
        if distributed.is_main():
            logger.info("step %d | val loss %.4f | kd %.4f | ce %.4f%s%s", record["step"], record["loss"],
                        record["kd_loss"], record["ce_loss"], self._align_text(record),
                        " | best" if decision.best else "")

        if decision.best:
            self.state.best_step, self.state.best_metric = self.state.step, value
            self.state.validations_without_improvement = 0
        else:
            self.state.validations_without_improvement += 1
            if self.state.validations_without_improvement >= self.args.patience:
                self.state.stopped_early = True
                if distributed.is_main():
                    logger.info("early stop at step %d: no better %s in %d validations",
                                self.state.step, self.args.metric, self.args.patience)
        self.state.kept = [[step, kept] for step, kept in self.ranking.entries]

        if decision.keep and distributed.is_main():
            destination = self.folder / BEST_DIR if decision.best else step_folder(self.folder, self.state.step)
            self._write_checkpoint(destination, value, before_swap=lambda: apply_moves(self.folder, decision))
        self._save_resume_state()

    def _write_checkpoint(self, destination: Path, value: float | None, before_swap=None) -> None:
        """Save loadable weights (merged for LoRA), the tokenizer and the metric; swap the folder in whole."""
        temporary = destination.with_name(destination.name + ".partial")
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.parent.mkdir(parents=True, exist_ok=True)
        model = merged_copy(self.model) if is_adapter_model(self.model) else self.model
        model.save_pretrained(temporary, safe_serialization=True)
        self.tokenizer.save_pretrained(temporary)
        write_json(temporary / "trainer_state.json", {"step": self.state.step, "metric": self.args.metric,
                                                      "metric_mode": self.args.metric_mode, "value": value})
        if before_swap is not None:
            before_swap()
        _replace_folder(temporary, destination)

    def _save_resume_state(self) -> None:
        # Every process's RNG state; gathering is collective, so all processes take part.
        cpu_states = distributed.gather_tensor(torch.get_rng_state())
        cuda_states = (distributed.gather_tensor(torch.cuda.get_rng_state(self.device))
                       if self.device.type == "cuda" else [])
        if distributed.is_main():
            temporary = self.folder / "last.partial"
            if temporary.exists():
                shutil.rmtree(temporary)
            temporary.mkdir()
            weights = {name: parameter.detach().cpu().contiguous()
                       for name, parameter in self._trainable_by_name().items()}
            save_file(weights, str(temporary / "trainable.safetensors"))
            save_file(_optimizer_tensors(self.optimizer), str(temporary / "optimizer.safetensors"))
            rng = {f"cpu.{rank}": state for rank, state in enumerate(cpu_states)}
            rng.update({f"cuda.{rank}": state for rank, state in enumerate(cuda_states)})
            save_file(rng, str(temporary / "rng.safetensors"))
            epoch, index_in_epoch = divmod(self.state.examples_seen, len(self.train_examples))
            write_json(temporary / "trainer_state.json", {
                **asdict(self.state), "scheduler": {"last_epoch": self.scheduler.last_epoch},
                "data": {"epoch": epoch, "index_in_epoch": index_in_epoch,
                         "order": fingerprint_json(self._order(epoch)), "processes": distributed.world_size()}})
            write_json(temporary / "run.json", {"fingerprint": self.run_fingerprint})
            _replace_folder(temporary, self.folder / "last")
        distributed.barrier()

    def _resume(self) -> None:
        last = self.folder / "last"
        if distributed.is_main():
            if not last.exists() and (self.folder / "last.old").exists():
                # Killed while swapping folders: the previous complete state is still there.
                os.replace(self.folder / "last.old", last)
            if (last / "trainer_state.json").exists() and not self._same_run(last):
                logger.warning("%s was saved with other settings or inputs; training starts from step 0", last)
                shutil.rmtree(last)
            if not (last / "trainer_state.json").exists() and self.metrics_path.exists():
                self.metrics_path.unlink()
        distributed.barrier()
        if not (last / "trainer_state.json").exists():
            return

        saved = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))
        self.state = TrainState(**{key: saved[key] for key in TrainState.__dataclass_fields__})
        self.ranking = BestCheckpoints(self.args.keep_best, self.args.metric_mode,
                                       [(int(step), value) for step, value in self.state.kept])
        self._load_trainable(load_file(str(last / "trainable.safetensors")), last)
        _load_optimizer_tensors(self.optimizer, load_file(str(last / "optimizer.safetensors")))
        self.scheduler.last_epoch = saved["scheduler"]["last_epoch"]
        for group, base in zip(self.optimizer.param_groups, self.scheduler.base_lrs, strict=True):
            group["lr"] = base * self._lr_factor(self.scheduler.last_epoch)
        self._restore_rng(load_file(str(last / "rng.safetensors")), saved["data"]["processes"])

        epoch = saved["data"]["epoch"]
        if fingerprint_json(self._order(epoch)) != saved["data"]["order"]:
            raise RuntimeError(f"{last}: the shuffled order of epoch {epoch} differs from the saved one; "
                               f"delete {self.folder} to train from the start")
        if distributed.is_main():
            self._truncate_metrics(self.state.step)
            logger.info("resumed training at step %d (best step %d)", self.state.step, self.state.best_step)

    def _trainable_by_name(self) -> dict[str, torch.nn.Parameter]:
        """The student's trainable parameters and, prefixed, the alignment projections: the resume state's weights."""
        parameters = {name: parameter for name, parameter in self.model.named_parameters() if parameter.requires_grad}
        if self.alignment is not None:
            parameters.update({ALIGNMENT_PREFIX + name: parameter
                               for name, parameter in self.alignment.named_parameters()})
        return parameters

    def _load_trainable(self, weights: dict[str, torch.Tensor], last: Path) -> None:
        parameters = self._trainable_by_name()
        if set(weights) != set(parameters):
            missing = sorted(set(parameters) - set(weights))[:3]
            unexpected = sorted(set(weights) - set(parameters))[:3]
            raise RuntimeError(f"{last} does not match the student: missing {missing}, unexpected {unexpected}")
        with torch.no_grad():
            for name, parameter in parameters.items():
                parameter.copy_(weights[name])

    def _restore_rng(self, states: dict[str, torch.Tensor], processes: int) -> None:
        rank = distributed.rank()
        if processes != distributed.world_size():
            logger.warning("resuming with %d processes after %d: RNG streams are reseeded, so dropout "
                           "noise differs from an uninterrupted run", distributed.world_size(), processes)
            torch.manual_seed(self.args.seed + 1000 * self.state.step + rank)
            return
        torch.set_rng_state(states[f"cpu.{rank}"])
        if self.device.type == "cuda" and f"cuda.{rank}" in states:
            torch.cuda.set_rng_state(states[f"cuda.{rank}"], self.device)

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


def _autocast_dtype(setting: str, device: torch.device) -> torch.dtype:
    # NOTE: "auto" keeps float32 on a CPU even where bfloat16 instructions exist: CPU
    # training is for small runs and tests, whose numbers bfloat16 would change.
    if setting == "auto" and device.type != "cuda":
        return torch.float32
    return resolve_dtype(setting, device)


def _autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


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
            tensors[f"{index}.{name}"] = tensor.detach().cpu().contiguous()
    return tensors


def _load_optimizer_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    state_dict = optimizer.state_dict()
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        index, name = key.split(".", 1)
        restored.setdefault(int(index), {})[name] = tensor
    state_dict["state"] = restored
    optimizer.load_state_dict(state_dict)
