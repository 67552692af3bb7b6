"""The protect stage: mask personal data in ingested chunks and labelled tickets.

Reads ``ingest/chunks.parquet`` and ``ingest/documents.parquet`` batch by
batch, once per pass (and the tickets CSV when ``build.tickets`` is set), and
writes into ``protect/``:

- ``chunks.jsonl``: the ingest records with ``text`` and ``heading`` masked, an
  ``entities`` field of counts per type and the document's ``confidentiality``
  label;
- ``documents.jsonl``: the ingest document records with every string in
  ``metadata`` (title, author, e-mail headers) masked; written only when
  ingest wrote ``documents.parquet``;
- ``tickets.jsonl``: one record per usable CSV row: ``id``, ``doc_id``
  (``ticket-<id>``), masked ``text``, ``label``, ``entities``, ``confidentiality``;
- ``privacy_report.json``: counts per type, per source and per document,
  operators used, confidentiality labels, left-out documents and
  re-identification flags (see ``report.py``);
- ``mapping.enc``: with ``protect.reversible_mapping``, the encrypted mapping
  from replacements back to original values (see ``vault.py``);
- ``manifest.json``, last.

Documents whose label policy is ``exclude``, or that contain an entity type
whose operator is ``drop_document``, are left out of ``chunks.jsonl``,
``documents.jsonl`` and ``tickets.jsonl``.

Chunk texts are detected in windows that add the text around them in their
document (``windows.py``), so a value that a chunk boundary cuts (a name, a
label and its value, a token) is found. The first two passes see the same
windows. A piece of a value cut by a boundary gets a typed placeholder in each
chunk that contains a piece, whatever the entity's operator, and the privacy
report counts the entity once in each of those chunks.

Masking takes three passes over the chunks and tickets:

1. collect names that strong cues find anywhere in the corpus
   (``known_names.py``);
2. detect every entity once, append the spans of each text to a scratch file,
   and label each document from counts and rule matches gathered on the way
   (``policy.py``, ``detections.py``). Texts are not kept, so memory grows with
   the number of documents, not with the corpus text;
3. write the documents that are kept, each entity replaced by its operator,
   reading the spans back from the scratch file in the same order.

The scratch file is ``protect-scratch/detections.jsonl`` beside the stage's
folder, so it survives the removal of the previous output, which happens only
after every input was read. It contains offsets, entity types, scores and
recognizer names, never text or detected values. The stage deletes it when it
ends, and a run killed before that leaves it for the next run to overwrite.
Document metadata values are few and short, and are detected again when written.

Logs carry ids, counts and entity types only, never text or detected values.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import track

from shochu.config import ProtectConfig, RunConfig, TicketsConfig
from shochu.ingest.store import CHUNKS_FILE, DOCUMENTS_FILE, StoredTable
from shochu.protect.analyzer import DETECTION_VERSION, SUPPORTED_ENTITIES
from shochu.protect.detections import DetectionReader, DetectionWriter
from shochu.protect.known_names import collect_known_names
from shochu.protect.masker import Masker, MaskResult
from shochu.protect.ner import check_models
from shochu.protect.operators import KEYED_OPERATORS, PSEUDONYM_KEY_VARIABLE, Operators, key_id
from shochu.protect.placeholders import PlaceholderNumbering
from shochu.protect.reidentify import check_combinations
from shochu.protect.policy import Protector, scan_corpus
from shochu.protect.report import PrivacyReport
from shochu.protect.tickets import Ticket, read_tickets, tickets_path
from shochu.protect.vault import MAPPING_FILE, MappingVault, mapping_key
from shochu.protect.windows import chunk_windows
from shochu.workspace import Workspace, fingerprint_file, library_versions, write_json, write_jsonl

NAME = "protect"
# Scratch folder beside the stage's folder, and its file that carries spans from the second pass to the third.
SCRATCH_DIR = "protect-scratch"
DETECTIONS_FILE = "detections.jsonl"

logger = logging.getLogger(__name__)


def settings(config: RunConfig) -> dict[str, Any]:
    """Return the settings that decide this stage's output: ``protect``, ``build.tickets``, key and code versions.

    The pseudonym key enters as a fingerprint (``key_id``), so that a new key
    makes the stage run again; the key itself is never written. The detection
    version and the installed shochu version make a workspace masked by older
    recognizers run the stage again after an upgrade, since a newer version
    may find values that the older one let through.
    """
    tickets = config.build.tickets
    section = {**config.section(NAME), "tickets": tickets.model_dump(mode="json") if tickets else None,
               "detection": {"version": DETECTION_VERSION, "shochu": library_versions().get("shochu")}}
    if any(operator in KEYED_OPERATORS for operator in config.protect.operators.values()):
        key = os.environ.get(PSEUDONYM_KEY_VARIABLE, "")
        section["pseudonym_key_id"] = key_id(key.encode("utf-8")) if key else None
    return section


def inputs(config: RunConfig, workspace: Workspace) -> dict[str, str]:
    """Return fingerprints of the ingest output and, when configured, the tickets CSV."""
    fingerprints = {"ingest": workspace.output_fingerprint("ingest")}
    if config.build.tickets is not None:
        fingerprints["tickets"] = fingerprint_file(tickets_path(config.build.tickets))
    return fingerprints


def run(config: RunConfig, workspace: Workspace) -> dict[str, Any]:
    """Mask chunks and tickets, write the privacy report, and return the manifest."""
    started = time.time()

    # Read every input before the old output is removed, so that a bad CSV
    # header or a missing file leaves the previous run intact.
    ingest_dir = workspace.require("ingest", NAME)
    chunks = StoredTable(ingest_dir / CHUNKS_FILE)
    documents_path = ingest_dir / DOCUMENTS_FILE
    documents = StoredTable(documents_path) if documents_path.exists() else None
    skipped: Counter[str] = Counter()
    tickets = list(read_tickets(config.build.tickets, skipped)) if config.build.tickets else None
    stage_inputs = inputs(config, workspace)

    # Keys and settings that the later passes need are checked before any text is read.
    operators = Operators.from_config(config.protect, SUPPORTED_ENTITIES)
    vault_key = mapping_key() if config.protect.reversible_mapping else None
    check_models(config.protect.ner.models)
    undetected = check_combinations(config.protect, SUPPORTED_ENTITIES)
    if undetected:
        logger.warning("re-identification combinations name %s, which protect.entities leaves out; "
                       "combinations that need them are never flagged", ", ".join(undetected))

    # First pass: names that a strong cue finds anywhere are masked everywhere.
    known_names: set[str] = set()
    if "PERSON" in config.protect.entities:
        known_names = collect_known_names(_texts(chunks, tickets or []),
                                          (document.get("metadata") or {} for document in documents or []))
    masker = Masker(config.protect, known_names)

    # Second pass: detect once, label documents, decide which are left out. A bad input raises here,
    # before the old output is removed. Third pass: replace the output.
    scratch = workspace.root / SCRATCH_DIR / DETECTIONS_FILE
    vault = MappingVault() if vault_key is not None else None
    try:
        with DetectionWriter(scratch) as detections:
            scan = scan_corpus(masker, operators, config.protect, chunks, documents, tickets or [],
                               detections, _tickets_source(config))
        output = workspace.reset(NAME)
        with DetectionReader(scratch) as detections:
            protector = Protector(masker, operators, scan, detections, vault)
            report, written = _write_outputs(output, protector, masker, chunks, documents, tickets)
    finally:
        _remove_scratch(scratch)
    if vault is not None and vault_key is not None:
        vault.write(output / MAPPING_FILE, vault_key)

    counts = {**_counts(report, written, skipped, config.build.tickets), "known_names": len(known_names),
              **_policy_counts(report)}
    _log_summary(counts)
    _log_placeholder_policy(config.protect, counts["labels"])
    outputs = {name: fingerprint_file(output / name) for name in (*written, "privacy_report.json")}
    return workspace.finish(NAME, settings(config), stage_inputs, counts, started, outputs)


def _write_outputs(output: Path, protector: Protector, masker: Masker, chunks: StoredTable,
                   documents: StoredTable | None,
                   tickets: list[Ticket] | None) -> tuple[PrivacyReport, dict[str, int]]:
    """Write the masked records and the privacy report; return the report and the record count per file."""
    report = PrivacyReport(entity_types=list(masker.entities), score_threshold=masker.score_threshold)
    written = {"chunks.jsonl": write_jsonl(output / "chunks.jsonl",
                                           _masked_chunks(protector, chunks, report))}
    if documents is not None:
        written["documents.jsonl"] = write_jsonl(output / "documents.jsonl",
                                                 _masked_documents(protector, documents, report))
    if tickets is not None:
        written["tickets.jsonl"] = write_jsonl(output / "tickets.jsonl",
                                               _masked_tickets(protector, tickets, report))
    report.add_policy(protector.scan, protector.operators_used())
    write_json(output / "privacy_report.json", report.to_dict())
    return report, written


def _remove_scratch(path: Path) -> None:
    """Delete the scratch file, and its folder when nothing else is in it."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass


def _masked_chunks(protector: Protector, chunks: Collection[dict[str, Any]],
                   report: PrivacyReport) -> Iterator[dict[str, Any]]:
    for index, chunk in enumerate(_progress(chunks, "Masking chunks")):
        doc_id = chunk["doc_id"]
        if protector.scan.excluded(doc_id):
            continue

        # Heading and text share placeholder numbers: [PERSON_1] is one person in both.
        numbering = PlaceholderNumbering()
        record_id = str(chunk.get("chunk_id", index))
        heading = (protector.protect(chunk["heading"], doc_id, record_id, numbering,
                                     ("chunk", index, "heading"))
                   if chunk.get("heading") else None)
        text = protector.protect(chunk.get("text") or "", doc_id, record_id, numbering,
                                 ("chunk", index, "text"))
        counts = Counter(text.counts) + Counter(heading.counts if heading else {})
        withheld = _withheld(chunk.get("chunk_id"), "chunk", text, heading)
        report.add("chunks", doc_id, dict(counts), withheld)
        yield {**chunk, "heading": heading.text if heading else chunk.get("heading"), "text": text.text,
               "entities": dict(sorted(counts.items())),
               "confidentiality": protector.scan.labels[doc_id].label}


def _masked_documents(protector: Protector, documents: Collection[dict[str, Any]],
                      report: PrivacyReport) -> Iterator[dict[str, Any]]:
    for document in _progress(documents, "Masking document metadata"):
        doc_id = document["doc_id"]
        if protector.scan.excluded(doc_id):
            continue

        # All fields of one document share placeholder numbers.
        numbering = PlaceholderNumbering()
        results: list[MaskResult] = []
        metadata = {key: _masked_value(protector, doc_id, value, numbering, results)
                    for key, value in (document.get("metadata") or {}).items()}
        counts = sum((Counter(result.counts) for result in results), Counter())
        withheld = _withheld(doc_id, "metadata of document", *results)
        report.add("documents", doc_id, dict(counts), withheld)
        label = protector.scan.labels[doc_id].label if doc_id in protector.scan.labels else None
        yield {**document, "metadata": metadata, "confidentiality": label}


def _masked_value(protector: Protector, doc_id: str, value: Any, numbering: PlaceholderNumbering,
                  results: list[MaskResult]) -> Any:
    """Mask a string, or each string in a list, and append each mask result to ``results``."""
    if isinstance(value, list):
        return [_masked_value(protector, doc_id, item, numbering, results) for item in value]
    if not isinstance(value, str):
        return value
    results.append(protector.protect(value, doc_id, doc_id, numbering))
    return results[-1].text


def _tickets_source(config: RunConfig) -> str | None:
    """Return the name that confidentiality folder rules see for the build.tickets CSV.

    A CSV inside ``ingest.input`` gets its path there (``exports/tickets.csv``), so
    that the same rules cover it as the documents beside it. A CSV outside gets its
    file name only, which rules without a folder part (``*.csv``) match.
    """
    if config.build.tickets is None:
        return None
    path = Path(config.build.tickets.path).resolve()
    if config.ingest.input:
        root = Path(config.ingest.input).resolve()
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


def _masked_tickets(protector: Protector, tickets: list[Ticket],
                    report: PrivacyReport) -> Iterator[dict[str, Any]]:
    for index, ticket in enumerate(_progress(tickets, "Masking tickets")):
        doc_id = f"ticket-{ticket.id}"
        if protector.scan.excluded(doc_id):
            continue
        result = protector.protect(ticket.text, doc_id, doc_id, PlaceholderNumbering(),
                                   ("ticket", index, "text"))
        report.add("tickets", doc_id, result.counts, _withheld(ticket.id, "ticket", result))
        yield {"id": ticket.id, "doc_id": doc_id, "text": result.text, "label": ticket.label,
               "entities": dict(sorted(result.counts.items())),
               "confidentiality": protector.scan.labels[doc_id].label}


def _texts(chunks: Iterable[dict[str, Any]], tickets: list[Ticket]) -> Iterator[str]:
    """Yield each chunk's heading and detection window, as the detection pass scans them, then each ticket."""
    for window in chunk_windows(chunks):
        if window.chunk.get("heading"):
            yield window.chunk["heading"]
        if window.text:
            yield window.text
    yield from (ticket.text for ticket in tickets)


def _withheld(record_id: Any, kind: str, *results: MaskResult | None) -> bool:
    failed = sorted({name for result in results if result for name in result.failed})
    if failed:
        logger.warning("%s %s withheld because recognizer(s) %s failed", kind, record_id, ", ".join(failed))
    return bool(failed)


def _progress(records: Collection[Any], description: str) -> Iterable[Any]:
    # Progress goes to stderr, so that stdout stays free for command output.
    return track(records, description=description, total=len(records), console=Console(stderr=True),
                 transient=True)


def _counts(report: PrivacyReport, written: dict[str, int], skipped: Counter[str],
            tickets: TicketsConfig | None) -> dict[str, Any]:
    sources = report.sources
    counts: dict[str, Any] = {
        "chunks": written["chunks.jsonl"],
        "chunks_with_entities": sources.get("chunks", Counter())["with_entities"],
        "entities": dict(sorted(report.totals.items())),
        "withheld_texts": sum(tally["withheld"] for tally in sources.values()),
    }
    if tickets is not None:
        counts["tickets"] = written["tickets.jsonl"]
        counts["tickets_with_entities"] = sources.get("tickets", Counter())["with_entities"]
        counts["skipped_tickets"] = dict(sorted(skipped.items()))
    return counts


def _policy_counts(report: PrivacyReport) -> dict[str, Any]:
    summary = report.to_dict()
    return {
        "labels": summary["labels"]["counts"],
        "excluded_documents": summary["excluded"]["count"],
        "operators": summary["operators"],
        "reidentification_flagged_documents": summary["reidentification"]["flagged_documents"],
    }


def _log_placeholder_policy(protect: ProtectConfig, labels: dict[str, int]) -> None:
    """Log how many documents got placeholders instead of pseudonyms or hashes because of a 'mask' policy."""
    operators = sorted({operator for operator in protect.operators.values() if operator in ("pseudonym", "hash")})
    masked = {label: count for label, count in labels.items()
              if count and protect.confidentiality.policy.get(label) == "mask"}
    if operators and masked:
        logger.info("%s document(s) labelled %s got placeholders instead of %s, because "
                    "protect.confidentiality.policy says 'mask' for those labels", sum(masked.values()),
                    ", ".join(sorted(masked)), " or ".join(operators))


def _log_summary(counts: dict[str, Any]) -> None:
    logger.info("masked %d chunks (%d with entities) and %s tickets; entities per type: %s", counts["chunks"],
                counts["chunks_with_entities"], counts.get("tickets", "no"), counts["entities"])
    if counts.get("skipped_tickets"):
        logger.info("skipped ticket rows per reason: %s", counts["skipped_tickets"])
    logger.info("documents per confidentiality label: %s; %d left out (listed in privacy_report.json); "
                "%d with records that combine quasi-identifiers", counts["labels"],
                counts["excluded_documents"], counts["reidentification_flagged_documents"])
    if counts["withheld_texts"]:
        logger.warning("%d texts withheld as [REDACTED] because a recognizer failed on them",
                       counts["withheld_texts"])

