"""Exact and near-duplicate clusters on matching keys; stored text keeps its original form."""

from __future__ import annotations

from pathlib import Path

from ingest_files import read_output

from shochu.config import RunConfig
from shochu.ingest import stage
from shochu.ingest.dedup import DuplicateClusters, NearDuplicateIndex, matching_key
from shochu.workspace import Workspace

# ō as one code point (U+014D), and as o followed by a combining macron (U+0304).
KYOTO_COMPOSED = "Quarterly report:  Sales grew 4 %\n\nin Ky\u014dto."
KYOTO_DECOMPOSED = "quarterly report: sales grew 4 %\tin Kyo\u0304to."

POLICY = ("Visitors must sign in at the reception desk, wear the visitor badge at all times and be "
          "accompanied by an employee in every production area. Photography is not allowed on the "
          "factory floor, and laptops brought by visitors stay in the meeting rooms unless the site "
          "manager has approved them in writing before the visit.")
JAPANESE = ("来客は受付で記帳し、入館証を常に着用してください。製造エリアでは必ず社員が同行します。"
            "工場内での写真撮影は禁止です。来客のノートパソコンは、事前に工場長の書面承認がない限り、"
            "会議室から持ち出さないでください。")


def test_kyoto_matching_keys_equal() -> None:
    assert matching_key(KYOTO_COMPOSED) == matching_key(KYOTO_DECOMPOSED)
    assert matching_key(KYOTO_COMPOSED) == "quarterly report: sales grew 4 % in ky\u014dto."


def test_kyoto_one_exact_cluster() -> None:
    clusters = DuplicateClusters(threshold=0.8)
    assert clusters.assign("first", KYOTO_COMPOSED, "en") == "first"
    assert clusters.assign("second", KYOTO_DECOMPOSED, "en") == "first"
    assert clusters.counts() == {"duplicate_clusters": 1, "chunks_in_duplicate_clusters": 2}


def test_kyoto_one_near_duplicate_cluster() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    assert index.assign("first", matching_key(KYOTO_COMPOSED), "en") == "first"
    assert index.assign("second", matching_key(KYOTO_DECOMPOSED), "en") == "first"


def test_near_duplicate_english_joins() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.assign("original", matching_key(POLICY), "en")
    edited = POLICY.replace("in writing", "by e-mail")
    assert index.assign("edited", matching_key(edited), "en") == "original"


def test_unrelated_text_own_cluster() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.assign("original", matching_key(POLICY), "en")
    other = "The canteen opens at seven and serves breakfast until nine on every working day of the week."
    assert index.assign("other", matching_key(other), "en") == "other"


def test_threshold_setting_used() -> None:
    edited = POLICY.replace("in writing", "by e-mail")
    strict = NearDuplicateIndex(threshold=0.98)
    strict.assign("original", matching_key(POLICY), "en")
    assert strict.assign("edited", matching_key(edited), "en") == "edited"


def test_large_cluster_stays_one() -> None:
    # More copies than the index keeps per cluster still join the first one.
    index = NearDuplicateIndex(threshold=0.8)
    words = f"{POLICY} {POLICY.replace('visitor', 'guest').replace('Visitor', 'Guest')}".split(" ")
    clusters = set()
    for number in range(20):
        edited = words.copy()
        edited[number * 2] = f"edit{number}"
        clusters.add(index.assign(f"copy{number}", matching_key(" ".join(edited)), "en"))
    assert clusters == {"copy0"}
    assert index.indexed_count() == 8


def test_near_duplicate_japanese_characters() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.assign("original", matching_key(JAPANESE), "ja")
    edited = JAPANESE.replace("工場長", "所長")
    assert index.assign("edited", matching_key(edited), "ja") == "original"
    unrelated = "経費精算は30日以内に提出してください。領収書の原本は経理部へ郵送し、写しを申請書に添付します。"
    assert index.assign("unrelated", matching_key(unrelated), "ja") == "unrelated"


def run_stage(folder: Path, workspace_root: Path) -> dict[str, list]:
    workspace = Workspace(workspace_root)
    config = RunConfig.model_validate({"workspace": str(workspace_root), "ingest": {
        "input": str(folder), "chunk_tokens": 512, "min_chunk_tokens": 8}})
    manifest = stage.run(config, workspace)
    out = workspace.stage_dir("ingest")
    return {"manifest": manifest,
            **{name: read_output(out, name) for name in ("documents", "chunks", "duplicates")}}


def test_stage_kyoto_duplicate_document_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(KYOTO_COMPOSED, encoding="utf-8")
    (folder / "b.txt").write_text(KYOTO_DECOMPOSED, encoding="utf-8")
    result = run_stage(folder, tmp_path / "ws")
    assert [record["source"] for record in result["duplicates"]] == ["b.txt"]
    [chunk] = result["chunks"]
    assert chunk["text"] == "Quarterly report:  Sales grew 4 %\n\nin Ky\u014dto."


def test_stage_shared_section_one_cluster(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "plant-a.md").write_text(
        f"# Plant A\n\nPlant A makes pressure transmitters for the water industry.\n\n# Visitors\n\n{POLICY}\n",
        encoding="utf-8")
    variant = POLICY.upper().replace(". ", ".  ")
    (folder / "plant-b.md").write_text(
        f"# Plant B\n\nPlant B assembles flow meters and calibrates them on site.\n\n# Visitors\n\n{variant}\n",
        encoding="utf-8")
    result = run_stage(folder, tmp_path / "ws")
    clusters = {(chunk["source"], chunk["heading"]): chunk["cluster"] for chunk in result["chunks"]}
    assert clusters[("plant-a.md", "Visitors")] == clusters[("plant-b.md", "Visitors")]
    assert clusters[("plant-a.md", "Plant A")] != clusters[("plant-b.md", "Plant B")]
    texts = {(chunk["source"], chunk["heading"]): chunk["text"] for chunk in result["chunks"]}
    assert texts[("plant-b.md", "Visitors")] == f"# Visitors\n\n{variant}"
    assert result["manifest"]["counts"]["duplicate_clusters"] == 1
