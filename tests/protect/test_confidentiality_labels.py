"""Confidentiality labels from folder, marking, keyword and density rules."""

from __future__ import annotations

import pytest

from shochu.config import ConfidentialityConfig
from shochu.protect.labels import DocumentFacts, Labeller, markings_of


def _facts(source: str = "notes/a.txt", markings: tuple[str, ...] = (),
           keyword_matches: tuple[tuple[str, str], ...] = (), chars: int = 1000,
           entities: int = 0) -> DocumentFacts:
    return DocumentFacts("doc", source, markings, keyword_matches, chars, entities)


@pytest.fixture
def labeller() -> Labeller:
    return Labeller(ConfidentialityConfig(folders={"hr/**": "confidential", "*.eml": "internal",
                                                   "public/*": "public", "legal/board/**": "secret"}))


def test_default_label(labeller: Labeller) -> None:
    labelled = labeller.label(_facts())
    assert (labelled.label, labelled.policy, labelled.rules) == ("public", "train", ("default",))


@pytest.mark.parametrize("source, label", [
    ("hr/2024/payroll.xlsx", "confidential"),
    ("hr/a.docx", "confidential"),
    ("mail/2024/x.eml", "internal"),
    ("public/brochure.pdf", "public"),
    ("public/old/brochure.pdf", "public"),
    ("legal/board/minutes.docx", "secret"),
    ("finance/hr/a.docx", "public"),
])
def test_folder_rules(labeller: Labeller, source: str, label: str) -> None:
    assert labeller.label(_facts(source=source)).label == label


@pytest.mark.parametrize("pattern", ["exports/*.csv", "*.csv", "exports/tickets.csv", "exports/**"])
def test_folder_rule_covers_each_ticket_of_an_export(pattern: str) -> None:
    # Ingest names a ticket "<export file>#<ticket id>"; a rule that names the file covers its tickets.
    labeller = Labeller(ConfidentialityConfig(folders={pattern: "secret"}))
    assert labeller.label(_facts(source="exports/tickets.csv#T-1042")).label == "secret"
    assert labeller.label(_facts(source="exports/other.jsonl#T-1")).label == (
        "secret" if pattern == "exports/**" else "public")


def test_folder_rule_named(labeller: Labeller) -> None:
    assert labeller.label(_facts(source="hr/a.docx")).rules == ("folder hr/**",)


@pytest.mark.parametrize("marking, label", [
    ("社外秘", "confidential"),
    ("極秘", "secret"),
    ("Confidential", "confidential"),
    ("Highly Confidential \\ All Employees", "secret"),
    ("General", "internal"),
    ("ลับ", "confidential"),
    ("ลับที่สุด", "secret"),
    ("Public", "public"),
])
def test_marking_rules(labeller: Labeller, marking: str, label: str) -> None:
    assert labeller.label(_facts(markings=(marking,))).label == label


@pytest.mark.parametrize("text, label", [
    ("この資料は極秘です。", "secret"),
    ("【社外秘】販売計画", "confidential"),
    ("เอกสารนี้เป็นความลับที่สุด", "secret"),
    ("STRICTLY CONFIDENTIAL - board pack", "secret"),
    ("Internal use only", "internal"),
    ("ＣＯＮＦＩＤＥＮＴＩＡＬ", "confidential"),
    ("The nonconfidential appendix.", "public"),
    ("เขาเก็บความลับไว้", "public"),
])
def test_keyword_rules(labeller: Labeller, text: str, label: str) -> None:
    assert labeller.label(_facts(keyword_matches=labeller.keyword_matches(text))).label == label


def test_keyword_matches_name_each_rule(labeller: Labeller) -> None:
    matches = labeller.keyword_matches("【社外秘】 Strictly  Confidential")
    assert matches == (("confidential", "keyword 社外秘"), ("confidential", "keyword confidential"),
                       ("secret", "keyword strictly confidential"))
    assert labeller.keyword_matches("Meeting notes.") == ()


def test_keyword_matches_from_several_texts(labeller: Labeller) -> None:
    # The detection pass collects the matches of each text of a document, and the highest label wins.
    matches = (*labeller.keyword_matches("Internal use only"), *labeller.keyword_matches("極秘"))
    labelled = labeller.label(_facts(keyword_matches=matches))
    assert (labelled.label, labelled.rules) == ("secret", ("keyword 極秘",))


@pytest.mark.parametrize("entities, label", [(9, "public"), (10, "internal"), (24, "internal"),
                                             (25, "confidential")])
def test_density_rule(labeller: Labeller, entities: int, label: str) -> None:
    assert labeller.label(_facts(entities=entities)).label == label


def test_highest_label_wins(labeller: Labeller) -> None:
    labelled = labeller.label(_facts(source="hr/a.docx", markings=("極秘",),
                                     keyword_matches=labeller.keyword_matches("社外秘"), entities=30))
    assert (labelled.label, labelled.policy, labelled.rules) == ("secret", "exclude", ("marking 極秘",))


def test_policy_configurable() -> None:
    labeller = Labeller(ConfidentialityConfig(
        default="internal", policy={"public": "train", "internal": "train", "confidential": "exclude",
                                    "secret": "exclude"}))
    assert labeller.label(_facts()).policy == "train"
    assert labeller.label(_facts(keyword_matches=labeller.keyword_matches("社外秘"))).policy == "exclude"


def test_incomplete_policy_rejected() -> None:
    with pytest.raises(ValueError, match="no entry for label"):
        ConfidentialityConfig(policy={"public": "train"})


@pytest.mark.parametrize("document, markings", [
    ({"doc_id": "a", "sensitivity": "社外秘"}, ("社外秘",)),
    ({"doc_id": "a", "metadata": {"sensitivity": ["Confidential", "ลับ"]}}, ("Confidential", "ลับ")),
    ({"doc_id": "a", "metadata": {"sensitivity": {"label": "General", "source": "msip"}}}, ("General",)),
    ({"doc_id": "a", "metadata": {
        "sensitivity_markings": ["社外秘", "Confidential"],
        "sensitivity_labels": [{"id": "4e1f0c4a-0000-4000-8000-000000000001", "name": "Highly Confidential",
                                "enabled": "true"}]}},
     ("社外秘", "Confidential", "Highly Confidential")),
    ({"doc_id": "a", "metadata": {"title": "x"}}, ()),
])
def test_markings_read_from_ingest_record(document: dict, markings: tuple[str, ...]) -> None:
    assert markings_of(document) == markings
