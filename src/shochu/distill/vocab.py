"""Reconciliation of teacher and student vocabularies.

Models often pad their embedding and output matrices beyond the tokenizer's
size, to a multiple of 64 or 128 rows for faster matrix products. A teacher and
a student that share one tokenizer can then have different numbers of logit
columns, for example 49,152 and 49,280. Tokenisation never produces the
padding ids, so the loss compares only the columns of real tokens, after
checking that every shared id means the same token in both tokenizers.
Tokenizers that differ are rejected: top-k soft labels are token ids, and
they mean nothing to a student that reads ids differently.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase


class VocabularyMismatch(ValueError):
    """The teacher's and the student's tokenizers assign different tokens to an id."""


def first_differing_id(teacher: PreTrainedTokenizerBase, student: PreTrainedTokenizerBase) -> int | None:
    """Return the first id whose token or decoded string differs, or None when the vocabularies agree.

    Tokens are compared both as stored strings and as decoded text: byte-level
    tokens of different bytes can decode to the same replacement character, and
    equal stored strings can decode differently under another decoder.
    """
    shared = min(len(teacher), len(student))
    ids = list(range(shared))
    teacher_tokens = teacher.convert_ids_to_tokens(ids)
    student_tokens = student.convert_ids_to_tokens(ids)
    teacher_text = teacher.batch_decode([[i] for i in ids])
    student_text = student.batch_decode([[i] for i in ids])
    for token_id in ids:
        if (teacher_tokens[token_id] != student_tokens[token_id]
                or teacher_text[token_id] != student_text[token_id]):
            return token_id
    if len(teacher) != len(student):
        return shared
    return None


def check_same_tokenizer(teacher: PreTrainedTokenizerBase, student: PreTrainedTokenizerBase, teacher_name: str,
                         student_name: str) -> None:
    """Raise ``VocabularyMismatch``, naming both tokenizers and the first differing id, unless they agree."""
    differing = first_differing_id(teacher, student)
    if differing is None:
        return
    raise VocabularyMismatch(
        f"the teacher tokenizer ({teacher_name}, {len(teacher)} tokens) and the student tokenizer "
        f"({student_name}, {len(student)} tokens) differ at token id {differing}: "
        f"{_describe(teacher, differing)} against {_describe(student, differing)}. Distilling from top-k "
        f"soft labels needs one tokenizer: create the student from the teacher (student.path empty) or "
        f"choose a student of the teacher's model family"
    )


def shared_vocab_size(tokens: int, teacher_columns: int, student_columns: int, teacher_name: str,
                      student_name: str) -> int:
    """Return the number of logit columns that the loss compares: ``tokens``, the shared tokenizer's size.

    Columns past it are padding rows. Raises ``VocabularyMismatch`` when a model
    has fewer logit columns than the tokenizer has tokens.
    """
    for name, columns in ((teacher_name, teacher_columns), (student_name, student_columns)):
        if columns < tokens:
            raise VocabularyMismatch(f"{name} has {columns} logit columns, fewer than the {tokens} tokens of "
                                     f"its tokenizer; the model and tokenizer do not belong together")
    return tokens


def _describe(tokenizer: PreTrainedTokenizerBase, token_id: int) -> str:
    if token_id >= len(tokenizer):
        return "no token"
    return repr(tokenizer.convert_ids_to_tokens(token_id))
