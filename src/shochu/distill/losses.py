"""Distillation losses between the teacher's and the student's next-token distributions.

For the N supervised tokens of a batch, with p the teacher's and q the student's
distribution at temperature T (logits upcast to at least float32 first, then divided by T):

    loss = (kd_ratio * T^2 * sum_i D(p_i || q_i) + (1 - kd_ratio) * sum_i CE(y_i, q_i at T=1)) / N

The T^2 factor keeps the KD gradient on the scale of the CE gradient when T
changes. N is the number of supervised tokens of this call, or the count the
trainer passes as ``num_supervised``: under gradient accumulation that is the
count over all micro-batches of the optimizer step, so that every token has the
same weight. A batch without supervised tokens gives exactly 0 and zero gradients.

Divergences, named by ``LossSettings.divergence``:

- ``forward_kl``: KL(p || q) = sum_v p_v (log p_v - log q_v).
- ``reverse_kl``: KL(q || p) = sum_v q_v (log q_v - log p_v).
- ``jsd``: generalized Jensen-Shannon divergence with m = beta p + (1 - beta) q,
  JSD(beta) = beta KL(p || m) + (1 - beta) KL(q || m). JSD(beta) / beta tends to
  KL(p || q) as beta -> 0 and JSD(beta) / (1 - beta) tends to KL(q || p) as
  beta -> 1, so beta = 0 is defined as forward KL and beta = 1 as reverse KL.
- ``skew_kl``: skew forward KL, KL(p || alpha p + (1 - alpha) q); alpha = 0 is forward KL.
- ``skew_reverse_kl``: skew reverse KL, KL(q || alpha q + (1 - alpha) p); alpha = 0 is reverse KL.

Supervision: a position is supervised where ``mask`` is true and ``labels`` is
not -100 (either may be omitted). Labels are the next-token targets, already
aligned with the positions: the logits at position t predict token t + 1.

Teacher forms (``Teacher``):

- a ``torch.Tensor`` of raw teacher logits, one row per position or per supervised position;
- ``TopKLabels``: stored log-probabilities at temperature T of the teacher's k most
  likely ids, with the probability mass outside them;
- ``TeacherHidden``: teacher hidden states and output projection, projected chunk by chunk.

Top-k conventions, named by ``LossSettings.topk_convention``:

- ``rest`` (default): both distributions have k + 1 outcomes, the teacher's k ids and
  one bucket for every other token. The student's bucket is one minus its top-k
  share, or the sum of its other probabilities when that share is above 0.99,
  where the subtraction would lose precision. The teacher's k values and rest mass are
  renormalised together, which only undoes float16 rounding. This is the exact
  divergence between the two coarsened distributions.
- ``renormalised``: both distributions are renormalised over the teacher's k ids
  and the tail is ignored.

With k equal to the vocabulary size both conventions give the full-vocabulary divergence.

Memory: the loss never keeps logits for more than ``chunk_size`` tokens. The
custom autograd function ``_ChunkedLoss`` projects each chunk of hidden states
to logits, computes the chunk's loss and, in the same pass, its gradient with
respect to the hidden states and the output weight; it then frees the chunk.
The backward pass only scales the stored gradients by the incoming one. The
gradient with respect to the logits is written out by hand for every teacher form:
``_topk_chunk`` for ``TopKLabels`` (autograd runs only over the k + 1 outcomes) and
``_full_chunk`` for teacher logits and ``TeacherHidden`` (formulas in
``_divergence_terms``). So at most two ``(chunk, vocab)`` tensors exist at once, plus
temporaries for a few rows at a time. The stored gradients cost one
``(tokens, hidden)`` and one ``(vocab, hidden)`` buffer in float32 (or float64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import torch

IGNORE_INDEX = -100
DIVERGENCES = ("forward_kl", "reverse_kl", "jsd", "skew_kl", "skew_reverse_kl")
TOPK_CONVENTIONS = ("rest", "renormalised")

# Floor for the rest-bucket masses, so that their logarithms stay finite when k covers the vocabulary.
_MIN_MASS = 1e-12
# Top-k share of the student above which its rest mass is summed directly instead of as 1 - share.
_MAX_TOPK_SHARE = 0.99
# Largest teacher-minus-student logit difference for which the precise log-normaliser is used.
_MAX_EXPONENT = 60.0
# Logits per block of rows in the full-vocabulary loss. On the CPU each float32 temporary of a block
# takes 4 MiB; other devices get larger blocks, so that each kernel launch has enough work.
_CPU_BLOCK_ELEMENTS = 1 << 20
# NOTE: a guess, not measured on an accelerator; at most about 10 such temporaries exist at once.
_DEVICE_BLOCK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class LossSettings:
    """Settings of the KD and CE terms and of their combination."""

    kd_ratio: float = 0.5
    temperature: float = 1.0
    divergence: str = "forward_kl"
    jsd_beta: float = 0.5
    skew_alpha: float = 0.1
    topk_convention: str = "rest"
    chunk_size: int = 512

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.kd_ratio <= 1.0:
            problems.append(f"kd_ratio={self.kd_ratio} must be in [0, 1]")
        if not self.temperature > 0.0:
            problems.append(f"temperature={self.temperature} must be positive")
        if self.divergence not in DIVERGENCES:
            problems.append(f"divergence={self.divergence!r} must be one of {', '.join(DIVERGENCES)}")
        if not 0.0 <= self.jsd_beta <= 1.0:
            problems.append(f"jsd_beta={self.jsd_beta} must be in [0, 1]")
        if not 0.0 <= self.skew_alpha < 1.0:
            problems.append(f"skew_alpha={self.skew_alpha} must be in [0, 1)")
        if self.topk_convention not in TOPK_CONVENTIONS:
            problems.append(f"topk_convention={self.topk_convention!r} must be one of {', '.join(TOPK_CONVENTIONS)}")
        if self.chunk_size < 1:
            problems.append(f"chunk_size={self.chunk_size} must be at least 1")
        if problems:
            raise ValueError("invalid loss settings: " + "; ".join(problems))


@dataclass(frozen=True)
class TopKLabels:
    """Stored teacher soft labels, one row per supervised token."""

    logprobs: torch.Tensor  # (tokens, k) log-probabilities at temperature T
    ids: torch.Tensor  # (tokens, k) token ids of those entries
    rest: torch.Tensor  # (tokens,) teacher probability mass outside the k ids

    def __len__(self) -> int:
        return self.logprobs.shape[0]

    def select(self, rows: torch.Tensor | slice) -> TopKLabels:
        return TopKLabels(self.logprobs[rows], self.ids[rows], self.rest[rows])


@dataclass(frozen=True)
class TeacherHidden:
    """Teacher hidden states and output projection; logits are computed chunk by chunk."""

    hidden: torch.Tensor  # (tokens, teacher hidden)
    weight: torch.Tensor  # (vocab, teacher hidden)

    def __len__(self) -> int:
        return self.hidden.shape[0]

    def select(self, rows: torch.Tensor | slice) -> TeacherHidden:
        return TeacherHidden(self.hidden[rows], self.weight)


Teacher = Union[torch.Tensor, TopKLabels, TeacherHidden]


@dataclass
class LossOutput:
    """The combined loss and its terms; the sums are detached and meant for logging."""

    loss: torch.Tensor  # scalar, differentiable
    kd_sum: torch.Tensor  # sum of D(p || q) over supervised tokens, before T^2 and kd_ratio
    ce_sum: torch.Tensor | None  # sum of CE; None when kd_ratio is 1 and CE is not computed
    tokens: int  # supervised tokens in this call


# --- divergences -------------------------------------------------------------------------------


def divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor, name: str = "forward_kl",
               jsd_beta: float = 0.5, skew_alpha: float = 0.1) -> torch.Tensor:
    """Compute D(p || q) per row, with p = softmax(teacher_logits) and q = softmax(student_logits).

    Both inputs are float32 or float64 unnormalised log-probabilities of shape
    ``(..., outcomes)`` (log-probabilities are a special case); the result has shape ``(...)``.
    Every divergence is written in terms of r = log p - log q (see ``_log_ratio``), so that
    it keeps its relative precision when p and q are close.
    """
    ratio, teacher_probs, student_probs = _log_ratio(teacher_logits, student_logits)
    value, _ = _divergence_terms(ratio, teacher_probs, student_probs, name, jsd_beta, skew_alpha, need_grad=False)
    return value


def _divergence_terms(ratio: torch.Tensor, teacher_probs: torch.Tensor, student_probs: torch.Tensor, name: str,
                      jsd_beta: float, skew_alpha: float,
                      need_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return D(p || q) per row and, if ``need_grad``, dD/ds, s being the student's logits.

    The gradient is written out by hand from d log q_u / d s_v = [u = v] - q_v:
    with g_u the derivative of D with respect to log q_u, dD/ds_v = g_v - q_v sum_u g_u.
    With m the mixture of each divergence, L = log(m / q) and M = log(m / p):

    - forward KL: q - p;
    - reverse KL: -q (r + D);
    - JSD(beta): -(1 - beta) q (L - sum_u q_u L_u), with m = beta p + (1 - beta) q;
    - skew KL: (1 - alpha) q (sum_u q_u e^(-M_u) - e^(-M)), with m = alpha p + (1 - alpha) q;
    - skew reverse KL: q ((sum_u q_u L_u - L) - alpha (e^(-L) - sum_u q_u e^(-L_u))),
      with m = alpha q + (1 - alpha) p.
    """
    forward = name == "forward_kl" or (name == "jsd" and jsd_beta == 0.0) or (name == "skew_kl" and skew_alpha == 0.0)
    reverse = (name == "reverse_kl" or (name == "jsd" and jsd_beta == 1.0)
               or (name == "skew_reverse_kl" and skew_alpha == 0.0))
    if forward:
        value = (teacher_probs * ratio).sum(-1)
        return value, (student_probs - teacher_probs) if need_grad else None
    if reverse:
        value = -(student_probs * ratio).sum(-1)
        return value, (-student_probs * (ratio + value.unsqueeze(-1))) if need_grad else None

    # With m = w p + (1 - w) q: log(m / p) = _log_mix(w, -r) and log(m / q) = _log_mix(1 - w, r).
    if name == "jsd":
        teacher_term = -(teacher_probs * _log_mix(jsd_beta, -ratio)).sum(-1)  # KL(p || m)
        log_mix_over_q = _log_mix(1.0 - jsd_beta, ratio)
        student_term = -(student_probs * log_mix_over_q).sum(-1)  # KL(q || m)
        value = jsd_beta * teacher_term + (1.0 - jsd_beta) * student_term
        if not need_grad:
            return value, None
        return value, -(1.0 - jsd_beta) * student_probs * (log_mix_over_q + student_term.unsqueeze(-1))
    if name == "skew_kl":
        log_mix_over_p = _log_mix(skew_alpha, -ratio)
        value = -(teacher_probs * log_mix_over_p).sum(-1)
        if not need_grad:
            return value, None
        p_over_m = torch.exp(-log_mix_over_p)
        mean = (student_probs * p_over_m).sum(-1, keepdim=True)
        return value, (1.0 - skew_alpha) * student_probs * (mean - p_over_m)
    if name == "skew_reverse_kl":
        log_mix_over_q = _log_mix(skew_alpha, ratio)
        value = -(student_probs * log_mix_over_q).sum(-1)
        if not need_grad:
            return value, None
        q_over_m = torch.exp(-log_mix_over_q)
        mean = (student_probs * q_over_m).sum(-1, keepdim=True)
        return value, -student_probs * ((log_mix_over_q + value.unsqueeze(-1)) + skew_alpha * (q_over_m - mean))
    raise ValueError(f"unknown divergence {name!r}; expected one of {', '.join(DIVERGENCES)}")


def _log_ratio(teacher_logits: torch.Tensor,
               student_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return r = log p - log q, p and q.

    r = d - log Z with d = teacher_logits - student_logits and Z = sum_v q_v exp(d_v).
    Computing log Z as a difference of two float32 log-sum-exps leaves an error of
    about 1e-6 in every r_v, which is a 2% error for a KL of 5e-5 between a teacher
    and a student that are close. So d is first centred by an estimate c of log Z, and
    log Z - c = log1p(sum_v q_v expm1(d_v - c)) is added, which stays exact to about 1e-9.
    c comes from each side's most likely entry i, as logsumexp(x) = x_i - log softmax(x)_i,
    which saves two passes of exp over the vocabulary.
    """
    student_probs = student_logits.softmax(-1)
    teacher_probs = teacher_logits.softmax(-1)
    with torch.no_grad():
        student_top = student_logits.argmax(-1, keepdim=True)
        teacher_top = teacher_logits.argmax(-1, keepdim=True)
        estimate = ((teacher_logits.gather(-1, teacher_top) - teacher_probs.gather(-1, teacher_top).log())
                    - (student_logits.gather(-1, student_top) - student_probs.gather(-1, student_top).log()))
    centred = teacher_logits - student_logits - estimate

    # The bound keeps the unused branch finite, so that its zero gradient stays zero instead of NaN.
    bounded = centred.clamp(max=_MAX_EXPONENT)
    excess = (student_probs * torch.expm1(bounded)).sum(-1, keepdim=True)
    precise = torch.log1p(excess.clamp(min=-0.9))
    usable = centred.detach().amax(-1, keepdim=True) < _MAX_EXPONENT
    if torch.is_grad_enabled() and (teacher_logits.requires_grad or student_logits.requires_grad):
        # Off the precise branch, autograd needs the gradient of the normaliser itself.
        fallback = teacher_logits.logsumexp(-1, keepdim=True) - student_logits.logsumexp(-1, keepdim=True) - estimate
    else:
        fallback = torch.zeros_like(precise)
    return centred - torch.where(usable, precise, fallback), teacher_probs, student_probs


def _log_mix(weight: float, x: torch.Tensor) -> torch.Tensor:
    """Compute log(weight + (1 - weight) * exp(x)) for 0 < weight < 1, precise near x = 0."""
    positive = x.clamp(min=0.0)
    negative = x.clamp(max=0.0)
    # For x > 0 the identity log(w + (1 - w) e^x) = x + log1p(w expm1(-x)) avoids overflow.
    upper = positive + torch.log1p(weight * torch.expm1(-positive))
    lower = torch.log1p((1.0 - weight) * torch.expm1(negative))
    return torch.where(x > 0, upper, lower)


def topk_distributions(scaled_student_logits: torch.Tensor, labels: TopKLabels,
                       convention: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return teacher and student unnormalised log-probabilities over the outcomes of a top-k convention.

    ``scaled_student_logits`` are upcast ``(tokens, vocab)`` logits already divided by T.
    The result has k columns (``renormalised``) or k + 1, the last being the rest bucket (``rest``).
    """
    ids = labels.ids.long()
    teacher_topk = _upcast(labels.logprobs)
    if convention == "renormalised":
        return teacher_topk, scaled_student_logits.gather(-1, ids)

    student = scaled_student_logits.log_softmax(-1)
    student_topk = student.gather(-1, ids)
    student_rest = _student_rest(student, student_topk, ids)
    teacher_rest = _upcast(labels.rest).clamp(min=_MIN_MASS).log()
    teacher_outcomes = torch.cat([teacher_topk, teacher_rest.unsqueeze(-1)], dim=-1)
    student_outcomes = torch.cat([student_topk, student_rest.unsqueeze(-1)], dim=-1)
    return teacher_outcomes, student_outcomes


def _student_rest(student_logprobs: torch.Tensor, student_topk: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Return the log of the student's probability mass outside the k ids.

    log(1 - s), with s the top-k share, loses precision as s nears 1, so rows with
    s >= _MAX_TOPK_SHARE sum their other entries instead. A floor of _MIN_MASS
    joins that sum, which keeps it finite when the k ids cover the vocabulary.
    """
    share = student_topk.exp().sum(-1)  # (tokens,)
    rest = torch.log1p(-share.clamp(max=_MAX_TOPK_SHARE))

    close_to_one = (share.detach() >= _MAX_TOPK_SHARE).nonzero().squeeze(-1)
    if close_to_one.numel():
        rest = rest.index_put((close_to_one,), _summed_rest(student_logprobs[close_to_one], ids[close_to_one]))
    return rest


def _summed_rest(student_logprobs: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Return log(_MIN_MASS + the student's mass outside ``ids``), summed entry by entry."""
    outside = student_logprobs.scatter(-1, ids, float("-inf"))
    floor = outside.new_full((outside.shape[0], 1), math.log(_MIN_MASS))
    return torch.cat([outside, floor], dim=-1).logsumexp(-1)


def _student_rest_values(scaled: torch.Tensor, log_normaliser: torch.Tensor, student_topk: torch.Tensor,
                         ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the rest log-mass as ``_student_rest`` computes it, and the floor mass included in it."""
    share = student_topk.exp().sum(-1)
    rest = torch.log1p(-share.clamp(max=_MAX_TOPK_SHARE))
    floor_mass = torch.zeros_like(rest)
    close_to_one = (share >= _MAX_TOPK_SHARE).nonzero().squeeze(-1)
    if close_to_one.numel():
        logprobs = scaled[close_to_one] - log_normaliser[close_to_one]
        rest[close_to_one] = _summed_rest(logprobs, ids[close_to_one])
        floor_mass[close_to_one] = _MIN_MASS
    return rest, floor_mass


# --- one chunk -------------------------------------------------------------------------------


def _upcast_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


def _upcast(tensor: torch.Tensor) -> torch.Tensor:
    """Convert float16 and bfloat16 to float32; keep float32 and float64."""
    return tensor.to(_upcast_dtype(tensor.dtype))


def _project(hidden: torch.Tensor, weight: torch.Tensor, vocab_size: int) -> torch.Tensor:
    dtype = torch.promote_types(hidden.dtype, weight.dtype)
    return hidden.to(dtype) @ weight[:vocab_size].to(dtype).t()


# --- chunked forward and backward ------------------------------------------------------------------


@dataclass
class _Plan:
    """The non-differentiable inputs of ``_ChunkedLoss``."""

    teacher: Teacher
    targets: torch.Tensor | None
    settings: LossSettings
    vocab_size: int
    kd_weight: float  # kd_ratio * T^2 / N
    ce_weight: float  # (1 - kd_ratio) / N


class _ChunkedLoss(torch.autograd.Function):
    """Chunked loss whose forward pass also computes the gradients; see the module docstring.

    ``inputs`` are hidden states ``(tokens, hidden)`` projected by ``weight`` ``(vocab, hidden)``,
    or student logits ``(tokens, vocab)`` when ``weight`` is None.
    """

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weight: torch.Tensor | None, plan: _Plan):  # noqa: D102
        need_inputs_grad = ctx.needs_input_grad[0]
        need_weight_grad = weight is not None and ctx.needs_input_grad[1]
        dtype = _upcast_dtype(inputs.dtype if weight is None else torch.promote_types(inputs.dtype, weight.dtype))
        grad_inputs = torch.zeros(inputs.shape, dtype=dtype, device=inputs.device) if need_inputs_grad else None
        grad_weight = torch.zeros(weight.shape, dtype=dtype, device=weight.device) if need_weight_grad else None
        loss = torch.zeros((), dtype=dtype, device=inputs.device)
        kd_sum = torch.zeros((), dtype=dtype, device=inputs.device)
        ce_sum = torch.zeros((), dtype=dtype, device=inputs.device)
        vocab = plan.vocab_size

        for start in range(0, inputs.shape[0], plan.settings.chunk_size):
            rows = slice(start, start + plan.settings.chunk_size)
            chunk = inputs[rows]
            teacher = _teacher_rows(plan.teacher, rows, chunk.device)
            targets = plan.targets[rows] if plan.targets is not None else None

            # Project to logits without a graph.
            with torch.no_grad():
                logits = chunk[:, :vocab] if weight is None else _project(chunk, weight, vocab)
                logits = logits.detach().to(dtype)
            need_grad = need_inputs_grad or need_weight_grad

            if isinstance(teacher, TopKLabels):
                # A projected chunk is a fresh tensor that the gradient may overwrite; given logits are not.
                kd, ce, grad_logits = _topk_chunk(logits, teacher, targets, plan, need_grad, fresh=weight is not None)
            else:
                kd, ce, grad_logits = _full_chunk(logits, teacher, targets, plan, need_grad, fresh=weight is not None)
            chunk_loss = plan.kd_weight * kd + (plan.ce_weight * ce if ce is not None else 0.0)
            if grad_logits is not None:
                _accumulate_grads(grad_logits, chunk, weight, rows, vocab, grad_inputs, grad_weight)
                del grad_logits

            loss += chunk_loss.detach()
            kd_sum += kd.detach()
            if ce is not None:
                ce_sum += ce.detach()
            del logits, kd, ce, chunk_loss

        ctx.save_for_backward(grad_inputs, grad_weight)
        ctx.input_dtypes = (inputs.dtype, weight.dtype if weight is not None else None)
        ctx.mark_non_differentiable(kd_sum, ce_sum)
        return loss, kd_sum, ce_sum

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor, _grad_kd: torch.Tensor, _grad_ce: torch.Tensor):  # noqa: D102
        grad_inputs, grad_weight = ctx.saved_tensors
        inputs_dtype, weight_dtype = ctx.input_dtypes
        if grad_inputs is not None:
            grad_inputs = (grad_inputs * grad_loss).to(inputs_dtype)
        if grad_weight is not None:
            grad_weight = (grad_weight * grad_loss).to(weight_dtype)
        return grad_inputs, grad_weight, None


def _full_chunk(logits: torch.Tensor, teacher: torch.Tensor | TeacherHidden, targets: torch.Tensor | None,
                plan: _Plan, need_grad: bool,
                fresh: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Sum D and CE over a chunk with a full-vocabulary teacher; return them and the gradient of the weighted sum.

    The teacher's ``(chunk, vocab)`` logits are projected (``TeacherHidden``) or sliced once;
    the rest runs over blocks of rows of about ``_CPU_BLOCK_ELEMENTS`` logits on the CPU.
    The gradient with respect to the logits z, kd_weight / T * dD/ds + ce_weight * (softmax(z) - y)
    with s = z / T and dD/ds from ``_divergence_terms``, overwrites each block of the logits
    once it is used when they are ``fresh``, so that at most two ``(chunk, vocab)`` tensors exist.
    """
    settings = plan.settings
    temperature = settings.temperature
    with torch.no_grad():
        if isinstance(teacher, TeacherHidden):
            teacher_logits = _project(teacher.hidden, teacher.weight, plan.vocab_size)
        else:
            teacher_logits = teacher[:, :plan.vocab_size]
        dtype = torch.promote_types(logits.dtype, _upcast_dtype(teacher_logits.dtype))
        grad = None
        if need_grad:
            grad = logits if fresh else torch.empty_like(logits)

        kd = torch.zeros((), dtype=dtype, device=logits.device)
        ce = torch.zeros((), dtype=dtype, device=logits.device) if targets is not None else None
        kd_scale = plan.kd_weight / temperature
        block_elements = _CPU_BLOCK_ELEMENTS if logits.device.type == "cpu" else _DEVICE_BLOCK_ELEMENTS
        rows_per_block = max(1, block_elements // max(plan.vocab_size, 1))
        for start in range(0, logits.shape[0], rows_per_block):
            block = slice(start, start + rows_per_block)
            student = logits[block].to(dtype)  # z
            scaled = student / temperature if temperature != 1.0 else student
            teacher_block = teacher_logits[block].to(dtype)
            if temperature != 1.0:
                teacher_block = teacher_block / temperature

            ratio, teacher_probs, student_probs = _log_ratio(teacher_block, scaled)
            values, block_grad = _divergence_terms(ratio, teacher_probs, student_probs, settings.divergence,
                                                   settings.jsd_beta, settings.skew_alpha, need_grad)
            kd += values.sum()
            del ratio, teacher_probs

            if targets is not None:
                # CE at T = 1, with logsumexp(z) = z_i - log softmax(z)_i at the most likely entry i.
                block_targets = targets[block].unsqueeze(-1)
                softmax = student_probs if temperature == 1.0 else student.softmax(-1)
                top = student.argmax(-1, keepdim=True)
                log_normaliser = student.gather(-1, top) - softmax.gather(-1, top).log()
                ce += (log_normaliser - student.gather(-1, block_targets)).sum()
            if not need_grad:
                continue

            block_grad.mul_(kd_scale)
            if targets is not None and plan.ce_weight:
                block_grad.add_(softmax, alpha=plan.ce_weight)
                block_grad.scatter_add_(-1, block_targets, block_grad.new_full(block_targets.shape, -plan.ce_weight))
            # The block's logits are no longer needed, so a fresh logits buffer takes its gradient.
            grad[block] = block_grad
    return kd, ce, grad


def _topk_chunk(logits: torch.Tensor, labels: TopKLabels, targets: torch.Tensor | None, plan: _Plan,
                need_grad: bool, fresh: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Sum D and CE over a chunk of top-k labels; return them and the gradient of the weighted sum.

    Autograd runs only over the k or k + 1 outcomes. The gradient with respect to the
    ``(chunk, vocab)`` logits is then written out by hand, reusing the buffer of the
    student's softmax, so that at most two ``(chunk, vocab)`` tensors are alive.
    With s = logits / T, q = softmax(s) and g the gradient of D with respect to the
    outcome log-probabilities, dD/ds_v is

    - ``renormalised`` (outcomes s_k): g_v for v among the k ids, else 0 (D is shift invariant);
    - ``rest`` (outcomes s_k - lse(s) and log r, r the rest mass):
      q_v (g_rest (1 - (r - f)) / r - sum_k g_k) + [v in ids] (g_v - q_v g_rest / r),
      where f is the floor mass added to r (0 unless the top-k share reached _MAX_TOPK_SHARE).
    """
    settings = plan.settings
    ids = labels.ids.long()
    teacher_topk = _upcast(labels.logprobs)
    rest_convention = settings.topk_convention == "rest"

    with torch.no_grad():
        scaled = logits / settings.temperature  # (chunk, vocab)
        log_normaliser = scaled.logsumexp(-1, keepdim=True)
        student_topk = scaled.gather(-1, ids)
        if rest_convention:
            student_topk = student_topk - log_normaliser
            student_rest, floor_mass = _student_rest_values(scaled, log_normaliser, student_topk, ids)
        student_probs = scaled.sub_(log_normaliser).exp_()  # q, in the buffer of s
        del scaled

    with torch.enable_grad():
        leaves = [student_topk.requires_grad_(need_grad)]
        if rest_convention:
            leaves.append(student_rest.requires_grad_(need_grad))
            teacher_rest = _upcast(labels.rest).clamp(min=_MIN_MASS).log()
            teacher_outcomes = torch.cat([teacher_topk, teacher_rest.unsqueeze(-1)], dim=-1)
            student_outcomes = torch.cat([student_topk, student_rest.unsqueeze(-1)], dim=-1)
        else:
            teacher_outcomes, student_outcomes = teacher_topk, student_topk
        kd = divergence(teacher_outcomes, student_outcomes, settings.divergence, settings.jsd_beta,
                        settings.skew_alpha).sum()
        outcome_grads = torch.autograd.grad(kd, leaves) if need_grad else None

    ce = None
    if targets is not None:
        ce_normaliser = logits.logsumexp(-1, keepdim=True)
        ce = (ce_normaliser.squeeze(-1) - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)).sum()
    if not need_grad:
        return kd.detach(), ce, None

    # dD/ds, scaled to the logits: d(weighted loss)/dz = kd_weight / T * dD/ds + ce_weight * (softmax(z) - y).
    kd_scale = plan.kd_weight / settings.temperature
    grad = student_probs
    if rest_convention:
        topk_grad, rest_grad = outcome_grads
        rest_mass = student_rest.detach().exp()
        per_row = rest_grad * (1.0 - (rest_mass - floor_mass)) / rest_mass - topk_grad.sum(-1)
        at_ids = topk_grad - student_topk.detach().exp() * (rest_grad / rest_mass).unsqueeze(-1)
        grad.mul_((kd_scale * per_row).unsqueeze(-1))
    else:
        (at_ids,) = outcome_grads
        grad.zero_()
    grad.scatter_add_(-1, ids, kd_scale * at_ids)

    if targets is not None and plan.ce_weight:
        softmax = logits.sub_(ce_normaliser).exp_() if fresh else (logits - ce_normaliser).exp_()
        grad.add_(softmax, alpha=plan.ce_weight)
        del softmax
        grad.scatter_add_(-1, targets.unsqueeze(-1), grad.new_full((grad.shape[0], 1), -plan.ce_weight))
    return kd.detach(), ce, grad


def _accumulate_grads(grad_logits: torch.Tensor, chunk: torch.Tensor, weight: torch.Tensor | None, rows: slice,
                      vocab: int, grad_inputs: torch.Tensor | None, grad_weight: torch.Tensor | None) -> None:
    if weight is None:
        if grad_inputs is not None:
            grad_inputs[rows, :vocab] = grad_logits
        return
    if grad_inputs is not None:
        grad_inputs[rows] = grad_logits @ weight[:vocab].to(grad_logits.dtype)
    if grad_weight is not None:
        grad_weight[:vocab].addmm_(grad_logits.t(), chunk.to(grad_logits.dtype))


def _teacher_rows(teacher: Teacher, rows: slice, device: torch.device) -> Teacher:
    """Slice a chunk of teacher rows and move it to the student's device (labels may stay on the CPU)."""
    if isinstance(teacher, TopKLabels):
        part = teacher.select(rows)
        return TopKLabels(part.logprobs.to(device), part.ids.to(device), part.rest.to(device))
    if isinstance(teacher, TeacherHidden):
        return TeacherHidden(teacher.hidden[rows].to(device), teacher.weight)
    return teacher[rows].to(device)


# --- entry point -----------------------------------------------------------------------------


def distillation_loss(
    inputs: torch.Tensor,
    teacher: Teacher,
    settings: LossSettings,
    *,
    weight: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    num_supervised: int | None = None,
    vocab_size: int | None = None,
) -> LossOutput:
    """Compute the combined KD + CE loss of the supervised positions, chunk by chunk.

    Args:
        inputs: student hidden states ``(..., hidden)`` when ``weight`` is given, otherwise
            student logits ``(..., vocab)``; the leading dimensions index positions.
        teacher: teacher logits, ``TopKLabels`` or ``TeacherHidden``, with one row per position
            or one row per supervised position, in row-major order.
        settings: divergence, temperature, kd_ratio, top-k convention and chunk size.
        weight: the student's output projection ``(vocab, hidden)``; it must have no bias.
        labels: next-token targets with the leading shape of ``inputs``; -100 marks
            unsupervised positions. CE is computed from them only when kd_ratio < 1.
        mask: boolean supervision mask with the leading shape of ``inputs``.
        num_supervised: the divisor N, at least this call's supervised count; pass the
            count over all micro-batches of an optimizer step under gradient accumulation.
        vocab_size: logit columns to use, for reconciling vocabularies padded to
            different sizes; columns from this index on are ignored.

    Returns:
        ``LossOutput`` whose ``loss`` is differentiable with respect to ``inputs`` and ``weight``.
    """
    positions = inputs.shape[:-1]
    supervised = torch.ones(positions, dtype=torch.bool, device=inputs.device)
    if mask is not None:
        supervised = supervised & mask.to(device=inputs.device, dtype=torch.bool).reshape(positions)
    if labels is not None:
        supervised = supervised & (labels.to(inputs.device).reshape(positions) != IGNORE_INDEX)
    supervised = supervised.reshape(-1)
    tokens = int(supervised.sum())
    rows = inputs.reshape(-1, inputs.shape[-1])[supervised]  # (tokens, hidden or vocab)

    vocab = _vocab_size(inputs, weight, vocab_size)
    teacher_rows = _supervised_teacher_rows(teacher, supervised, tokens)
    _check_teacher(teacher_rows, vocab)

    compute_ce = settings.kd_ratio < 1.0 and labels is not None
    if settings.kd_ratio < 1.0 and labels is None:
        raise ValueError(f"kd_ratio={settings.kd_ratio} gives CE a weight, so labels are required")
    targets = labels.to(inputs.device).reshape(-1)[supervised] if compute_ce else None
    if targets is not None and tokens and int(targets.max()) >= vocab:
        raise ValueError(f"label id {int(targets.max())} is outside the {vocab} logit columns")

    divisor = tokens if num_supervised is None else num_supervised
    if divisor < tokens:
        raise ValueError(f"num_supervised={num_supervised} is below this batch's {tokens} supervised tokens")
    divisor = max(divisor, 1)
    plan = _Plan(teacher_rows, targets, settings, vocab,
                 kd_weight=settings.kd_ratio * settings.temperature**2 / divisor,
                 ce_weight=(1.0 - settings.kd_ratio) / divisor)

    loss, kd_sum, ce_sum = _ChunkedLoss.apply(rows, weight, plan)
    return LossOutput(loss=loss, kd_sum=kd_sum, ce_sum=ce_sum if compute_ce else None, tokens=tokens)


def _vocab_size(inputs: torch.Tensor, weight: torch.Tensor | None, vocab_size: int | None) -> int:
    columns = weight.shape[0] if weight is not None else inputs.shape[-1]
    if vocab_size is None:
        return columns
    if not 0 < vocab_size <= columns:
        raise ValueError(f"vocab_size={vocab_size} must be between 1 and the student's {columns} logit columns")
    return vocab_size


def _supervised_teacher_rows(teacher: Teacher, supervised: torch.Tensor, tokens: int) -> Teacher:
    """Keep the teacher rows of supervised positions; rows given per supervised position pass through."""
    if isinstance(teacher, torch.Tensor):
        teacher = teacher.reshape(-1, teacher.shape[-1])
    count = len(teacher)
    if count == tokens:
        return teacher
    if count == supervised.numel():
        index = supervised.to(_teacher_device(teacher))
        return teacher.select(index) if isinstance(teacher, (TopKLabels, TeacherHidden)) else teacher[index]
    raise ValueError(f"the teacher has {count} rows; expected one per supervised position ({tokens}) "
                     f"or one per position ({supervised.numel()})")


def _teacher_device(teacher: Teacher) -> torch.device:
    if isinstance(teacher, TopKLabels):
        return teacher.logprobs.device
    if isinstance(teacher, TeacherHidden):
        return teacher.hidden.device
    return teacher.device


def _check_teacher(teacher: Teacher, vocab: int) -> None:
    if isinstance(teacher, TopKLabels):
        if len(teacher) and int(teacher.ids.max()) >= vocab:
            raise ValueError(f"teacher token id {int(teacher.ids.max())} is outside the student's {vocab} "
                             f"logit columns; the vocabularies do not match")
        return
    columns = teacher.weight.shape[0] if isinstance(teacher, TeacherHidden) else teacher.shape[-1]
    if columns < vocab:
        raise ValueError(f"the teacher has {columns} logit columns, fewer than the student's {vocab}; "
                         f"pass vocab_size={columns} if the extra student columns are padding")
