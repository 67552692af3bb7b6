"""Scoring functions of the eval stage: answer normalisation, accuracy, ROUGE-L, KL."""

from __future__ import annotations

import pytest
import torch

from shochu.evaluate.metrics import (
    MultilingualTokenizer,
    classify_metrics,
    kl_divergence,
    mean_rouge_l,
    normalise_answer,
    rouge_l,
)


@pytest.mark.parametrize(("answer", "expected"), [
    ("  Network.\nBecause the VPN fails", "network"),
    ("\n\n**Billing**", "billing"),
    ("「ハードウェア」。", "ハードウェア"),
    ("account-access!", "account-access"),
    ("", ""),
])
def test_normalise_answer(answer: str, expected: str) -> None:
    assert normalise_answer(answer) == expected


def test_classify_accuracy_hand_made() -> None:
    labels = ["network", "billing", "hardware", "account"]
    predictions = ["Network.", "billing\nbecause", "the printer", "software"]
    choices = [["network", "billing"], ["network", "billing"], ["hardware"], ["account", "software"]]

    metrics = classify_metrics(labels, predictions, choices)

    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["valid_choice_share"] == pytest.approx(0.75)


def test_classify_without_choices() -> None:
    metrics = classify_metrics(["a"], ["a"], [None])
    assert metrics["valid_choice_share"] is None


def test_tokenizer_splits_japanese_characters() -> None:
    assert MultilingualTokenizer().tokenize("共有フォルダ、OK") == ["共", "有", "フ", "ォ", "ル", "ダ", "ok"]


def test_tokenizer_splits_thai_and_latin() -> None:
    expected = ["vpn", "ใ", "ช", "้", "ไ", "ด", "้", "ap", "200"]
    assert MultilingualTokenizer().tokenize("VPN ใช้ได้ AP-200") == expected


def test_rouge_identical_japanese() -> None:
    text = "共有フォルダに保存しないでください。"
    assert rouge_l(text, text) == pytest.approx(1.0)


def test_rouge_disjoint_japanese() -> None:
    assert rouge_l("共有フォルダ", "暗号化鍵") == 0.0


def test_rouge_partial_thai() -> None:
    assert 0.0 < rouge_l("ใช้ VPN นอกสำนักงาน", "ใช้ VPN") < 1.0


def test_mean_rouge_rejects_mismatch() -> None:
    with pytest.raises(ValueError, match="1 references but 2 predictions"):
        mean_rouge_l(["a"], ["a", "b"])


def test_kl_of_identical_logits_is_zero() -> None:
    logits = torch.randn(5, 11)
    assert torch.allclose(kl_divergence(logits, logits), torch.zeros(5), atol=1e-6)


def test_kl_matches_definition() -> None:
    teacher, model = torch.randn(3, 7), torch.randn(3, 7)
    p, q = teacher.softmax(-1), model.softmax(-1)
    expected = (p * (p.log() - q.log())).sum(-1)
    assert torch.allclose(kl_divergence(teacher, model), expected, atol=1e-5)


def test_kl_ignores_padding_rows() -> None:
    teacher = torch.randn(2, 6)
    padded = torch.cat([teacher, torch.full((2, 3), -1e4)], dim=-1)
    assert torch.allclose(kl_divergence(teacher, padded), torch.zeros(2), atol=1e-6)


def test_kl_upcasts_half_precision() -> None:
    logits = torch.randn(4, 9).to(torch.bfloat16)
    assert kl_divergence(logits, logits).dtype == torch.float32
