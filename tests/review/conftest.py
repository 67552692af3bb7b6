"""A small finished build in a workspace: examples in three languages, masked chunks and tickets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from shochu.workspace import Workspace


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's chromium through chromedriver; install them with "
        "scripts/system-deps.sh (the test fails, not skips, without them)")


_JA_SENTENCES = ("[PERSON_1]さんは東京本社の経理部に所属しています。", "請求書は毎月二十五日までに提出してください。",
                 "問い合わせは[EMAIL_ADDRESS_1]へ送ってください。")
_EN_SENTENCES = ("[PERSON_1] approves travel expenses above 500 dollars.", "Invoices are due on the 25th.",
                 "Contact [EMAIL_ADDRESS_1] for payroll questions.")
_TH_SENTENCES = ("[PERSON_1] เป็นผู้จัดการฝ่ายบัญชีของบริษัท", "กรุณาส่งใบแจ้งหนี้ภายในวันที่ยี่สิบห้าของทุกเดือน")

# document id -> (language recorded by ingest, or None, sentences, number of chunks)
_DOCUMENTS = {
    **{f"doc-en-{n}": ("en", _EN_SENTENCES, 3) for n in range(1, 5)},
    **{f"doc-ja-{n}": ("ja", _JA_SENTENCES, 3) for n in range(1, 4)},
    # No document record: the review detects Thai from the chunk text.
    "doc-th-1": (None, _TH_SENTENCES, 2),
}
_TICKETS = [(f"T{n}", "billing" if n % 2 else "access", f"Ticket {n}: [PERSON_1] cannot open the invoice portal.")
            for n in range(1, 7)] + [("T7", "billing", "[PERSON_1]様の請求書が届きません。"),
                                     ("T8", "access", "ログインできません。パスワードを再設定してください。")]


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def build_review_workspace(root: Path) -> Path:
    """Write protect/ and build/ outputs as the stages do, and close the build stage with a manifest."""
    chunks, documents, examples = [], [], []
    for doc_id, (language, sentences, count) in _DOCUMENTS.items():
        if language is not None:
            documents.append({"doc_id": doc_id, "source": f"{doc_id}.md", "language": language, "metadata": {}})
        for index in range(count):
            chunk_id = f"{doc_id}-{index:04d}"
            text = f"{sentences[index % len(sentences)]}\n{sentences[(index + 1) % len(sentences)]} ({chunk_id})"
            chunks.append({"chunk_id": chunk_id, "doc_id": doc_id, "source": f"{doc_id}.md", "index": index,
                           "heading": f"Section {index + 1}", "text": text, "entities": {"PERSON": 1}})
            for task in ("qa", "summary"):
                example = {"id": f"{task}-{chunk_id}", "task": task, "doc_id": doc_id,
                           "messages": [{"role": "user", "content": f"{task} prompt for {chunk_id}:\n{text}"}],
                           "response": f"The {task} response for {chunk_id}."}
                # Half of the examples name their chunk and language, as newer builds do;
                # the others carry the chunk only in their id.
                if index % 2 == 0:
                    example["chunk_id"] = chunk_id
                    if language is not None:
                        example["language"] = language
                examples.append(example)

    tickets = [{"id": ticket_id, "doc_id": f"ticket-{ticket_id}", "text": text, "label": label, "entities": {}}
               for ticket_id, label, text in _TICKETS]
    for ticket in tickets:
        examples.append({"id": f"classify-{ticket['id']}", "task": "classify", "doc_id": ticket["doc_id"],
                         "messages": [{"role": "user", "content": f"Classify: {ticket['text']}"}],
                         "response": ticket["label"], "choices": ["access", "billing"]})

    _write_jsonl(root / "protect" / "chunks.jsonl", chunks)
    _write_jsonl(root / "protect" / "documents.jsonl", documents)
    _write_jsonl(root / "protect" / "tickets.jsonl", tickets)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    for example in examples:
        # Whole documents per split, as the build stage assigns them.
        split = "test" if example["doc_id"].endswith("-3") else "validation" if example["doc_id"].endswith("-2") \
            else "train"
        splits[split].append(example)
    for split, records in splits.items():
        _write_jsonl(root / "build" / f"{split}.jsonl", records)
    Workspace(root).finish("build", {"fixture": True}, {}, {"examples": len(examples)}, time.time())
    return root


# Examples per stratum in the fixture above.
FIXTURE_STRATA = {"qa/en": 12, "summary/en": 12, "qa/ja": 9, "summary/ja": 9, "qa/th": 2, "summary/th": 2,
                  "classify/en": 6, "classify/ja": 2}


@pytest.fixture
def review_workspace(tmp_path: Path) -> Path:
    return build_review_workspace(tmp_path / "workspace")


@pytest.fixture
def fixture_strata() -> dict[str, int]:
    return dict(FIXTURE_STRATA)
