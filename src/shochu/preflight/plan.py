"""Memory and disk plan: what each pipeline phase needs, estimated from model shapes and run settings.

Every number here is an estimate for Shochu 0.1 running on PyTorch 2.13 (CPU build) and
transformers 5.25, built from these assumptions:

- The import, label and train stages hold weights in float32 (4 bytes per parameter) and run
  on the CPU, so they are compared with RAM. Resident memory also includes the Python runtime
  with torch and transformers loaded, ``RUNTIME_BYTES``.
- Sequences are padded to the longest in a batch, so the plan uses ``label.max_seq_len``, the
  worst case. A response has at most ``build.max_new_tokens`` tokens plus the end-of-turn token.
- Label (teacher inference): the teacher's decoder returns final hidden states for every
  position, and only the supervised positions go through the output layer. Scaling those logits
  by the temperature and taking a log-softmax gives two ``(supervised tokens, vocab)`` float32
  tensors. The forward pass also builds a KV cache (keys and
  values of every layer). In measured runs the process was still larger by about that much when
  the log-softmax ran, as live tensors or as freed memory that the allocator kept, so it counts.
- Train (student): weights, gradients and the two AdamW moments take 16 bytes per parameter.
  Activations saved for backward are counted per token and decoder layer: 6 hidden-size vectors, 5
  query-size vectors and 4 intermediate-size vectors. That is what autograd keeps for a
  Llama-style layer: RMSNorm, rotary attention through scaled_dot_product_attention with keys and
  values repeated to every head, and a SwiGLU MLP. The loss projects only supervised positions
  onto the vocabulary, in chunks of 1024 tokens, but backward runs once after all chunks, so the
  two float32 log-softmax outputs of every chunk stay alive: 2 x supervised tokens x vocab x 4
  bytes. Saving a checkpoint serialises the AdamW moments through an in-memory copy, so the stage
  needs the larger of the training step and 20 bytes per parameter.
- With ``train.teacher: online`` the label stage does not run, and the train phase also holds
  the teacher's float32 weights and one no-grad forward pass (``online_teacher_parts``).
- Build and eval generation compute logits for the last position only and need less than
  label at the same batch size. This is an assumption, not a measurement.

The import, label and train estimates for the packaged teacher and the default 8-layer student
are checked against the peak resident memory of real processes in
``tests/preflight/test_memory_measured.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shochu.preflight.shapes import ModelShape

MIB = 1 << 20
GIB = 1 << 30
FLOAT32 = 4
FLOAT16 = 2
# NOTE: resident memory of a Shochu stage process after importing torch 2.13 (CPU build) and
# transformers 5.25, before it loads a model: 370 to 400 MiB, measured on Linux x86-64. A CUDA
# build loads more libraries; re-measure before relying on the plan there.
RUNTIME_BYTES = 400 * MIB
# Tokens per logits chunk of the loss, as an upper bound of train.loss_chunk_size (512 by default).
# NOTE: the loss in shochu.distill.losses now frees each chunk's logits in its forward pass, so the
# retained log-softmax term of loss_bytes overestimates by up to 2 x supervised tokens x vocab x 4 bytes.
LOSS_CHUNK_TOKENS = 1024
# Bytes per soft-label entry: a float16 log-probability and an int32 token id.
SOFT_LABEL_ENTRY_BYTES = 2 + 4
# A phase fits when the estimate plus this share is available.
MARGIN = 0.10

FITS = "fits"
TIGHT = "tight"
DOES_NOT_FIT = "does not fit"


@dataclass(frozen=True)
class PlanSettings:
    """The run settings that decide memory and disk use."""

    label_batch: int
    train_batch: int
    grad_accum: int
    # label.max_seq_len, which limits both the label and the train stage.
    max_seq_len: int
    response_tokens: int
    top_k: int
    lora_rank: int = 16
    student_layers: int | None = None
    # train.teacher 'online': the teacher runs beside the student in the train stage.
    online_teacher: bool = False


@dataclass
class Phase:
    """One step of the pipeline and its estimated peak, as a sum of named parts in bytes."""

    name: str
    description: str
    parts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "bytes": self.total,
                "parts": dict(self.parts), "notes": list(self.notes)}


# --- memory per phase -------------------------------------------------------


def import_phase(teacher: ModelShape) -> Phase:
    """Estimate the teacher import: load the source, then rebuild a plain float32 model and copy the weights."""
    parts = {"runtime": RUNTIME_BYTES, "source file (memory-mapped)": teacher.weight_bytes}
    if teacher.weight_bytes != teacher.parameters * FLOAT32:
        # A quantized or 16-bit source is converted to a float32 copy first.
        parts["loaded weights (float32)"] = teacher.parameters * FLOAT32
    parts["rebuilt model (float32)"] = teacher.parameters * FLOAT32
    return Phase("import", "teacher import into the workspace (first stage that needs a model)", parts)


def label_phase(teacher: ModelShape, batch: int, seq_len: int, response_tokens: int) -> Phase:
    """Estimate the label stage: a teacher forward pass over one batch and its top-k selection."""
    tokens = batch * seq_len
    supervised = batch * min(response_tokens, seq_len)
    kv_cache = 2 * teacher.layers * tokens * teacher.kv_dim * FLOAT32
    log_probs = 2 * supervised * teacher.vocab * FLOAT32
    parts = {
        "runtime": RUNTIME_BYTES,
        "teacher weights (float32)": teacher.parameters * FLOAT32,
        "final hidden states (batch x seq x hidden)": tokens * teacher.hidden * FLOAT32,
        "supervised log-probabilities": log_probs,
        "KV cache": kv_cache,
    }
    return Phase("label", f"teacher soft labels, {batch} x {seq_len} tokens per forward pass", parts)


def activation_bytes(shape: ModelShape, batch: int, seq_len: int, response_tokens: int) -> int:
    """Bytes that autograd keeps for backward in one training micro-batch (see the module docstring)."""
    tokens = batch * seq_len
    supervised = batch * min(response_tokens, seq_len)
    per_token_layer = 6 * shape.hidden + 5 * shape.query_dim + 4 * shape.intermediate
    layers = shape.layers * tokens * per_token_layer * FLOAT32
    # Embedding output, final norm input and output, and the gathered supervised hidden states.
    around = (3 * tokens + supervised) * shape.hidden * FLOAT32
    return layers + around


def loss_bytes(shape: ModelShape, batch: int, seq_len: int, response_tokens: int) -> int:
    """Bytes of the chunked loss: retained log-softmax outputs plus one chunk's working logits."""
    supervised = batch * min(response_tokens, seq_len)
    chunk = min(supervised, LOSS_CHUNK_TOKENS)
    return (2 * supervised + 2 * chunk) * shape.vocab * FLOAT32


def train_phase(student: ModelShape, batch: int, seq_len: int, response_tokens: int) -> Phase:
    """Estimate full fine-tuning with AdamW: the larger of one optimizer step and a checkpoint save."""
    weights = student.parameters * FLOAT32
    step = {
        "runtime": RUNTIME_BYTES,
        "student weights (float32)": weights,
        "gradients": weights,
        "AdamW moments": 2 * weights,
        "activations": activation_bytes(student, batch, seq_len, response_tokens),
        "loss logits": loss_bytes(student, batch, seq_len, response_tokens),
    }
    checkpoint = {"runtime": RUNTIME_BYTES, "student weights (float32)": weights, "AdamW moments": 2 * weights,
                  "checkpoint copy of the AdamW moments": 2 * weights}
    parts = step if sum(step.values()) >= sum(checkpoint.values()) else checkpoint
    return Phase("train", f"student training, {batch} x {seq_len} tokens per micro-batch", parts)


def online_teacher_parts(teacher: ModelShape, batch: int, seq_len: int) -> dict[str, int]:
    """Return what an online teacher adds to a training step: its weights and one no-grad forward pass.

    Without gradients, a layer's working tensors are freed before the next layer
    runs, so one layer's worth (attention inputs and the MLP's intermediate
    vectors) is counted, with the final hidden states that the loss projects.
    This part of the plan is an estimate that no measured run has checked.
    """
    tokens = batch * seq_len
    one_layer = tokens * (4 * teacher.hidden + 3 * teacher.intermediate) * FLOAT32
    return {"online teacher weights (float32)": teacher.parameters * FLOAT32,
            "online teacher forward pass (one layer, no grad)": one_layer,
            "online teacher final hidden states": tokens * teacher.hidden * FLOAT32}


def lora_parameters(shape: ModelShape, rank: int) -> int:
    """Parameters of rank-``rank`` adapters on every attention and MLP projection of every layer."""
    hidden, query, kv, inner = shape.hidden, shape.query_dim, shape.kv_dim, shape.intermediate
    per_layer = rank * ((hidden + query) * 2 + (hidden + kv) * 2 + (hidden + inner) * 3)
    return shape.layers * per_layer


def lora_phase(student: ModelShape, batch: int, seq_len: int, response_tokens: int, rank: int) -> Phase:
    """Estimate LoRA training: frozen float32 weights, adapters with their gradients and AdamW moments.

    Activations are those of full training; the adapters' own rank-sized tensors are left out.
    """
    adapters = lora_parameters(student, rank) * FLOAT32
    parts = {
        "runtime": RUNTIME_BYTES,
        "frozen student weights (float32)": student.parameters * FLOAT32,
        "adapters, gradients and AdamW moments": 4 * adapters,
        "activations": activation_bytes(student, batch, seq_len, response_tokens),
        "loss logits": loss_bytes(student, batch, seq_len, response_tokens),
    }
    phase = Phase("train (LoRA)", f"LoRA rank {rank} on every projection, {batch} x {seq_len} tokens", parts)
    phase.notes.append("Shochu trains with LoRA when train.lora is set; full fine-tuning is the default.")
    return phase


def quantized_bytes(parameters: int, quantization: str) -> int:
    """Bytes of ``parameters`` weights in a GGML quantization type, from its block layout in the gguf package."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType[quantization]]
    return -(-parameters // block) * block_bytes


def serving_phase(student: ModelShape, quantization: str, context: int, sequences: int) -> Phase:
    """Estimate serving the exported student with llama.cpp: quantized weights and a float16 KV cache."""
    kv_cache = 2 * student.layers * student.kv_dim * context * sequences * FLOAT16
    parts = {f"weights ({quantization})": quantized_bytes(student.parameters, quantization),
             f"KV cache (float16, {sequences} x {context} tokens)": kv_cache}
    phase = Phase(f"serve {quantization}", "production inference of the student", parts)
    phase.notes.append("Excludes the inference engine's own compute buffers.")
    return phase


# --- disk --------------------------------------------------------------------


def soft_label_bytes(examples: int, response_tokens: int, top_k: int) -> int:
    """Bytes of the label shards: per token k log-probabilities and ids plus the rest mass, per example an offset."""
    tokens = examples * response_tokens
    return tokens * (top_k * SOFT_LABEL_ENTRY_BYTES + FLOAT32) + examples * 8


def disk_parts(teacher: ModelShape, student: ModelShape, examples: int | None, response_tokens: int,
               top_k: int) -> dict[str, int]:
    """Estimate the workspace's largest files; soft labels are left out when the example count is unknown."""
    student_weights = student.parameters * FLOAT32
    parts = {
        "models/teacher (float32)": teacher.parameters * FLOAT32,
        "models/student-init (float32)": student_weights,
        "train/best": student_weights,
        # train/last contains weights and AdamW moments. The previous copy stays until the new one is in place.
        "train/last, twice during a save": 2 * 3 * student_weights,
        "export/model": student_weights,
    }
    if examples is not None:
        parts[f"label shards ({examples} examples, top_k {top_k})"] = soft_label_bytes(
            examples, response_tokens, top_k)
    return parts


# --- verdicts and suggestions -----------------------------------------------


def verdict(need: int, available: int, total: int) -> str:
    """Return ``fits`` with a 10% margin in what is free now, ``tight`` within total memory, else ``does not fit``.

    A caller that compares with disk space passes the free space as both ``available`` and ``total``.
    """
    if need * (1 + MARGIN) <= available:
        return FITS
    if need <= total:
        return TIGHT
    return DOES_NOT_FIT


def _halvings(value: int, floor: int = 1) -> list[int]:
    values = []
    while value // 2 >= floor:
        value //= 2
        values.append(value)
    return values


def label_suggestion(teacher: ModelShape, settings: PlanSettings, available: int) -> str | None:
    """Return the largest label batch (then sequence length) whose estimate fits in ``available`` bytes."""
    for batch in _halvings(settings.label_batch):
        if _fits(label_phase(teacher, batch, settings.max_seq_len, settings.response_tokens), available):
            return f"label.batch_size: {batch}"
    for seq_len in _halvings(settings.max_seq_len, floor=64):
        if _fits(label_phase(teacher, 1, seq_len, settings.response_tokens), available):
            return f"label.batch_size: 1 and label.max_seq_len: {seq_len} (longer examples are dropped)"
    return None


def train_suggestions(student: ModelShape, settings: PlanSettings, available: int,
                      pruned_from: ModelShape | None) -> list[str]:
    """Return settings that make training fit: smaller micro-batches, shorter sequences, fewer layers."""
    found = []
    per_step = settings.train_batch * settings.grad_accum
    for batch in _halvings(settings.train_batch):
        if _fits(train_phase(student, batch, settings.max_seq_len, settings.response_tokens), available):
            accum = -(-per_step // batch)
            found.append(f"train.batch_size: {batch} with train.grad_accum: {accum} "
                         f"(keeps about {per_step} examples per optimizer step)")
            break
    else:
        for seq_len in _halvings(settings.max_seq_len, floor=64):
            if _fits(train_phase(student, 1, seq_len, settings.response_tokens), available):
                found.append(f"train.batch_size: 1 and label.max_seq_len: {seq_len} (longer examples are dropped)")
                break
    lora = lora_phase(student, settings.train_batch, settings.max_seq_len, settings.response_tokens,
                      settings.lora_rank)
    if _fits(lora, available):
        found.append(f"LoRA rank {settings.lora_rank} would need {lora.total / GIB:.1f} GiB "
                     f"(not yet offered by Shochu's train stage)")
    if pruned_from is not None and settings.student_layers:
        for layers in range(settings.student_layers - 1, 0, -1):
            smaller = pruned_from.pruned(layers)
            if _fits(train_phase(smaller, settings.train_batch, settings.max_seq_len,
                                 settings.response_tokens), available):
                found.append(f"student.layers: {layers}")
                break
    return found


def _fits(phase: Phase, available: int) -> bool:
    return phase.total * (1 + MARGIN) <= available
