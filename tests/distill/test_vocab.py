import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from shochu.distill.vocab import VocabularyMismatch, check_same_tokenizer, first_differing_id, shared_vocab_size
from shochu.models import load_tokenizer


def _other_tokenizer(vocab_size: int = 300) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with the tiny model's special tokens, trained on other text."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    text = ["ใบแจ้งหนี้ต้องส่งภายในสามสิบวัน", "Invoices are due within thirty days of receipt.",
            "請求書は受領後三十日以内に支払います。"]
    bpe.train_from_iterator(text * 8, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>", unk_token="<|endoftext|>")


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(tiny_model_dir, padding_side="right")


def test_same_tokenizer_has_no_difference(tokenizer, tiny_student_dir):
    student = load_tokenizer(tiny_student_dir, padding_side="right")
    assert first_differing_id(tokenizer, student) is None


def test_other_tokenizer_differs_after_special_tokens(tokenizer):
    other = _other_tokenizer()
    # Both start with the same three special tokens and the 256 byte tokens, in the same order.
    differing = first_differing_id(tokenizer, other)
    assert differing is not None
    assert differing >= 3
    assert tokenizer.convert_ids_to_tokens(differing) != other.convert_ids_to_tokens(differing)


def test_other_tokenizer_is_rejected_with_names(tokenizer):
    other = _other_tokenizer()
    differing = first_differing_id(tokenizer, other)
    with pytest.raises(VocabularyMismatch) as raised:
        check_same_tokenizer(tokenizer, other, "teacher-folder", "student-folder")
    message = str(raised.value)
    assert "teacher-folder" in message
    assert "student-folder" in message
    assert f"token id {differing}:" in message


def test_added_token_differs_at_first_new_id(tokenizer, tiny_model_dir):
    student = load_tokenizer(tiny_model_dir, padding_side="right")
    student.add_tokens(["<extra_token>"])
    assert first_differing_id(tokenizer, student) == len(tokenizer)


def test_padded_columns_reconcile_to_tokenizer_size():
    # The SmolLM2 case: 49,152 tokens, a student padded to 49,280 columns.
    assert shared_vocab_size(49_152, 49_152, 49_280, "teacher", "student") == 49_152
    assert shared_vocab_size(49_152, 49_280, 49_152, "teacher", "student") == 49_152


def test_columns_below_tokenizer_size_are_rejected():
    with pytest.raises(VocabularyMismatch, match="student has 49000 logit columns, fewer than the 49152"):
        shared_vocab_size(49_152, 49_152, 49_000, "teacher", "student")
