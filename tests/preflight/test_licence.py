"""Licence gate on model folders written by the tests: card front matter, licence files, GGUF metadata.

The licence headers below are the titles and first lines that the public licence texts start
with; the rest of each text is left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gguf_files import write_tiny_gguf
from shochu.models import packaged_teacher
from shochu.preflight import licence
from shochu.preflight.licence import (
    ACCEPTED,
    ALLOWED,
    BLOCKED,
    NEEDS_ACCEPTANCE,
    Evidence,
    findings_for,
    load_table,
    read_evidence,
)

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
MIT = """MIT License

Copyright (c) 2024 Example Org

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
"""
LLAMA_3_1 = """ LLAMA 3.1 COMMUNITY LICENSE AGREEMENT

 Llama 3.1 Version Release Date: July 23, 2024
"""
LLAMA_3 = """META LLAMA 3 COMMUNITY LICENSE AGREEMENT

Meta Llama 3 Version Release Date: April 18, 2024
"""
GEMMA = """Gemma Terms of Use

Last modified: March 24, 2025
"""
QWEN = """Qwen LICENSE AGREEMENT

Qwen LICENSE AGREEMENT Release Date: September 19, 2024
"""
QWEN_RESEARCH = """Qwen RESEARCH LICENSE AGREEMENT

Qwen RESEARCH LICENSE AGREEMENT Release Date: September 19, 2024
"""
TONGYI = """Tongyi Qianwen LICENSE AGREEMENT

Tongyi Qianwen Release Date: August 3, 2023
"""
DEEPSEEK = """DEEPSEEK LICENSE AGREEMENT

Version 1.0, 23 October 2023

Copyright (c) 2023 DeepSeek
"""
CC_BY_NC = """Attribution-NonCommercial 4.0 International

=======================================================================

Creative Commons Corporation ("Creative Commons") is not a law firm and
"""
CUSTOM = """ACME MODEL LICENCE v2

The model may be used inside ACME Corporation only.
"""


def card(front_matter: str, body: str = "# A model\n") -> str:
    return f"---\n{front_matter}---\n\n{body}"


# Files of a model folder -> the licence id and category the gate must find.
CASES = {
    "apache_text": ({"LICENSE": APACHE}, "Apache-2.0", "permissive"),
    "mit_text": ({"LICENSE": MIT}, "MIT", "permissive"),
    "llama31_text": ({"LICENSE": LLAMA_3_1}, "llama3.1", "conditional"),
    "llama3_text": ({"LICENSE": LLAMA_3}, "llama3", "conditional"),
    "llama32_card": ({"README.md": card("license: llama3.2\n")}, "llama3.2", "conditional"),
    "gemma_card": ({"README.md": card("license: gemma\nlibrary_name: transformers\n")}, "gemma", "conditional"),
    "gemma_text": ({"LICENSE": GEMMA}, "gemma", "conditional"),
    "qwen_card_link": ({"README.md": card("license: other\nlicense_link: LICENSE\n"), "LICENSE": QWEN},
                       "qwen", "conditional"),
    "qwen_name": ({"README.md": card("license: other\nlicense_name: qwen\n")}, "qwen", "conditional"),
    "qwen_apache_card": ({"README.md": card("license: apache-2.0\n")}, "Apache-2.0", "permissive"),
    "qwen_research_text": ({"LICENSE": QWEN_RESEARCH}, "qwen-research", "noncommercial"),
    "tongyi_text": ({"LICENSE": TONGYI}, "tongyi-qianwen", "conditional"),
    "deepseek_card": ({"README.md": card("license: other\nlicense_name: deepseek\n")}, "deepseek", "conditional"),
    "deepseek_model_file": ({"LICENSE-MODEL": DEEPSEEK}, "deepseek", "conditional"),
    "cc_by_nc_card": ({"README.md": card("license: cc-by-nc-4.0\n")}, "CC-BY-NC-4.0", "noncommercial"),
    "cc_by_nc_text": ({"LICENSE": CC_BY_NC}, "CC-BY-NC-4.0", "noncommercial"),
    "custom_text": ({"LICENSE": CUSTOM}, "acme-model-licence-v2", "unknown"),
    "custom_name": ({"README.md": card("license: other\nlicense_name: acme-research-1.0\n")},
                    "acme-research-1.0", "unknown"),
    "card_without_licence": ({"README.md": card("library_name: transformers\n")}, "unknown", "unknown"),
    "card_without_front_matter": ({"README.md": "# Model\n\nNo metadata here.\n"}, "unknown", "unknown"),
    "config_json": ({"config.json": '{"model_type": "llama", "license": "mit"}'}, "MIT", "permissive"),
}


def model_folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def only_finding(folder: Path, gguf_file: str | None = None, accepted: set[str] = frozenset(),
                 commercial_use: bool = True) -> licence.Finding:
    findings = findings_for(read_evidence(folder, gguf_file), load_table(), set(accepted), commercial_use)
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_licence_classified(tmp_path: Path, case: str) -> None:
    files, expected_id, expected_category = CASES[case]
    finding = only_finding(model_folder(tmp_path / case, files))
    assert finding.id == expected_id
    assert finding.category == expected_category


@pytest.mark.parametrize("case", sorted(CASES))
def test_licence_status(tmp_path: Path, case: str) -> None:
    files, _, category = CASES[case]
    expected = {"permissive": ALLOWED, "conditional": NEEDS_ACCEPTANCE, "unknown": NEEDS_ACCEPTANCE,
                "noncommercial": BLOCKED}[category]
    assert only_finding(model_folder(tmp_path / case, files)).status == expected


def test_table_has_check_date() -> None:
    assert load_table().checked == "2026-12-04"


def test_llama31_conditions_name_rules(tmp_path: Path) -> None:
    conditions = " ".join(only_finding(model_folder(tmp_path, {"LICENSE": LLAMA_3_1})).conditions)
    assert 'starts with "Llama"' in conditions
    assert "Built with Llama" in conditions
    assert "700 million monthly active users" in conditions


def test_llama3_forbids_improving_other_models(tmp_path: Path) -> None:
    conditions = " ".join(only_finding(model_folder(tmp_path, {"LICENSE": LLAMA_3})).conditions)
    assert "forbids using the model or its outputs to improve any other large language model" in conditions


def test_gemma_student_is_model_derivative(tmp_path: Path) -> None:
    conditions = " ".join(only_finding(model_folder(tmp_path, {"LICENSE": GEMMA})).conditions)
    assert "Model Derivative" in conditions


def test_qwen_conditions_user_threshold(tmp_path: Path) -> None:
    conditions = " ".join(only_finding(model_folder(tmp_path, {"LICENSE": QWEN})).conditions)
    assert "100 million monthly active users" in conditions
    assert "Built with Qwen" in conditions


def test_conditional_accepted_by_id(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": LLAMA_3_1})
    assert only_finding(folder, accepted={"llama3.1"}).status == ACCEPTED


def test_unknown_accepted_by_slug(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": CUSTOM})
    assert only_finding(folder, accepted={"acme-model-licence-v2"}).status == ACCEPTED


def test_missing_licence_accepted_as_unknown(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"README.md": "# Model\n"})
    assert only_finding(folder, accepted={"unknown"}).status == ACCEPTED


def test_noncommercial_blocked_despite_acceptance(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": CC_BY_NC})
    assert only_finding(folder, accepted={"cc-by-nc-4.0"}).status == BLOCKED


def test_noncommercial_use_needs_acceptance(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": CC_BY_NC})
    assert only_finding(folder, commercial_use=False).status == NEEDS_ACCEPTANCE


def test_noncommercial_use_accepted(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": CC_BY_NC})
    assert only_finding(folder, accepted={"cc-by-nc-4.0"}, commercial_use=False).status == ACCEPTED


def test_gguf_licence_metadata(tmp_path: Path) -> None:
    write_tiny_gguf(tmp_path / "tiny.gguf", licence="llama3.1")
    finding = only_finding(tmp_path, "tiny.gguf")
    assert finding.id == "llama3.1"
    assert finding.sources == ["tiny.gguf metadata `general.license`"]


def test_gguf_licence_name_metadata(tmp_path: Path) -> None:
    write_tiny_gguf(tmp_path / "tiny.gguf", licence="other", licence_name="gemma")
    assert only_finding(tmp_path, "tiny.gguf").id == "gemma"


def test_gguf_without_licence(tmp_path: Path) -> None:
    write_tiny_gguf(tmp_path / "tiny.gguf")
    assert only_finding(tmp_path, "tiny.gguf").id == "unknown"


def test_packaged_teacher_is_apache() -> None:
    source = packaged_teacher()
    finding = only_finding(source.folder, source.gguf_file)
    assert finding.id == "Apache-2.0"
    assert finding.status == ALLOWED


def test_declared_licence_fills_gap(tmp_path: Path) -> None:
    evidence = read_evidence(model_folder(tmp_path, {}), None, declared="MIT", declared_by="config teacher.licence")
    assert evidence == [Evidence("config teacher.licence", "MIT")]


def test_declared_licence_ignored_when_files_name_one(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"LICENSE": LLAMA_3_1})
    evidence = read_evidence(folder, None, declared="MIT")
    assert [item.source for item in evidence] == ["LICENSE"]


def test_conflicting_sources_both_reported(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"README.md": card("license: apache-2.0\n"), "LICENSE": LLAMA_3_1})
    findings = findings_for(read_evidence(folder, None), load_table(), set(), True)
    assert {finding.id: finding.status for finding in findings} == {"Apache-2.0": ALLOWED,
                                                                     "llama3.1": NEEDS_ACCEPTANCE}


def test_same_licence_sources_merged(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"README.md": card("license: llama3.1\n"), "LICENSE": LLAMA_3_1})
    finding = only_finding(folder)
    assert finding.sources == ["README.md front matter `license`", "LICENSE"]


def test_url_link_kept_as_name(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"README.md": card("license: other\nlicense_link: https://example.org/terms\n")})
    assert only_finding(folder).id == "https-example.org-terms"


def test_link_outside_folder_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(APACHE, encoding="utf-8")
    folder = model_folder(tmp_path / "model", {"README.md": card("license: other\nlicense_link: ../secret.txt\n")})
    assert only_finding(folder).category == "unknown"


def test_invalid_front_matter_ignored(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, {"README.md": "---\nlicense: [unclosed\n---\n", "LICENSE": MIT})
    assert only_finding(folder).id == "MIT"


def test_problem_names_licence_rule_and_flag(tmp_path: Path) -> None:
    finding = only_finding(model_folder(tmp_path, {"LICENSE": GEMMA}))
    message = licence.describe_problem("teacher", "/models/gemma", finding)
    assert "teacher /models/gemma: licence gemma (Gemma Terms of Use, from LICENSE) needs acceptance." in message
    assert "--accept-licence gemma" in message


def test_blocked_problem_names_setting(tmp_path: Path) -> None:
    finding = only_finding(model_folder(tmp_path, {"LICENSE": CC_BY_NC}))
    message = licence.describe_problem("teacher", "/models/nc", finding)
    assert "check.commercial_use: false" in message


def test_api_data_warning_names_provider() -> None:
    warnings = licence.api_data_warnings(["gpt-4o"])
    assert len(warnings) == 1
    assert "'gpt-4o'" in warnings[0]
    assert "compete" in warnings[0]
