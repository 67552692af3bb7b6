"""Licence gate: read a model's licence from its files, classify it, and decide whether a run may use it.

What is read, all from the local disk:

- ``README.md`` front matter (a Hugging Face model card): ``license``, ``license_name``,
  ``license_link``; a relative ``license_link`` names a file whose text is classified;
- licence files (``LICENSE``, ``LICENSE.txt``, ``LICENSE.md``, ``LICENCE``, ``LICENSE-MODEL``):
  their text is matched against ``licences.yaml``;
- a GGUF file's ``general.license``, ``general.license.name`` and ``general.license.link``;
- ``config.json``'s ``license`` key;
- the run config's ``teacher.licence``, only when none of the above names a licence.

Each licence found is classified with the table in ``licences.yaml``: permissive licences pass;
conditional, unknown and missing licences pass only once the user accepts them by name;
non-commercial licences are blocked while ``check.commercial_use`` is true.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shochu.preflight.shapes import gguf_reader

logger = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).with_name("licences.yaml")
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "LICENSE-MODEL")
CARD_FILE = "README.md"
# Licence texts longer than this are classified from their beginning only.
_MAX_TEXT_CHARS = 200_000

PERMISSIVE = "permissive"
CONDITIONAL = "conditional"
NONCOMMERCIAL = "noncommercial"
UNKNOWN = "unknown"
CATEGORIES = (PERMISSIVE, CONDITIONAL, NONCOMMERCIAL)

# The acceptance name for a model whose files name no licence at all.
MISSING_ID = "unknown"

ALLOWED = "allowed"
ACCEPTED = "accepted"
NEEDS_ACCEPTANCE = "needs acceptance"
BLOCKED = "blocked"


# --- the table of known licences ------------------------------------------


@dataclass(frozen=True)
class KnownLicence:
    """One entry of ``licences.yaml``."""

    id: str
    name: str
    category: str
    aliases: tuple[str, ...]
    texts: tuple[re.Pattern[str], ...]
    conditions: tuple[str, ...]
    families: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class LicenceTable:
    checked: str
    licences: tuple[KnownLicence, ...]

    def by_name(self, value: str) -> KnownLicence | None:
        """Return the licence whose id or alias equals ``value``, ignoring case and surrounding space."""
        normalised = normalise_name(value)
        for licence in self.licences:
            if normalised == licence.id.lower() or normalised in licence.aliases:
                return licence
        return None

    def by_text(self, text: str) -> KnownLicence | None:
        """Return the first licence, in table order, whose text pattern occurs in ``text``."""
        for licence in self.licences:
            if any(pattern.search(text) for pattern in licence.texts):
                return licence
        return None


def normalise_name(value: str) -> str:
    return " ".join(value.strip().lower().split())


def _compile_text(pattern: str) -> re.Pattern[str]:
    # A space in the table matches any run of whitespace, line breaks included.
    return re.compile(pattern.replace(" ", r"\s+"), re.IGNORECASE | re.DOTALL)


@functools.cache
def load_table(path: Path = TABLE_PATH) -> LicenceTable:
    """Load ``licences.yaml``; raise ``ValueError`` naming the file and entry when one is malformed."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    licences = []
    for number, entry in enumerate(raw["licences"], start=1):
        if entry.get("category") not in CATEGORIES:
            raise ValueError(f"{path}: licence {number} ({entry.get('id')!r}) has category "
                             f"{entry.get('category')!r}; expected one of {', '.join(CATEGORIES)}")
        licences.append(KnownLicence(
            id=entry["id"],
            name=entry["name"],
            category=entry["category"],
            aliases=tuple(normalise_name(alias) for alias in entry.get("aliases", [])),
            texts=tuple(_compile_text(text) for text in entry.get("texts", [])),
            conditions=tuple(" ".join(condition.split()) for condition in entry.get("conditions", [])),
            families=tuple(entry.get("families", [])),
            source=entry.get("source", ""),
        ))
    return LicenceTable(checked=str(raw["checked"]), licences=tuple(licences))


# --- evidence on disk -------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One statement of a licence found on disk: where it was found and its content.

    ``is_text`` is True for the content of a licence file, False for a licence name or id.
    """

    source: str
    value: str
    is_text: bool = False


def slug(value: str) -> str:
    """Turn a licence name or a licence file's first line into a name that can be passed to ``--accept-licence``."""
    text = re.sub(r"[^a-z0-9.]+", "-", value.lower()).strip("-.")
    return text[:60] or MISSING_ID


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]


def read_front_matter(card: Path) -> dict[str, Any]:
    """Return the YAML front matter of a model card, or an empty dict when it has none or it is invalid."""
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError as error:
        logger.warning("%s: front matter is not valid YAML (%s); its licence fields are ignored",
                       card, error.__class__.__name__)
        return {}
    return data if isinstance(data, dict) else {}


def card_evidence(folder: Path) -> list[Evidence]:
    """Read ``license``, ``license_name`` and ``license_link`` from the model card's front matter."""
    card = folder / CARD_FILE
    if not card.is_file():
        return []
    matter = read_front_matter(card)
    found: list[Evidence] = []
    licences = matter.get("license")
    for value in licences if isinstance(licences, list) else [licences]:
        if value and str(value).lower() != "other":
            found.append(Evidence(f"{CARD_FILE} front matter `license`", str(value)))
    if matter.get("license_name"):
        found.append(Evidence(f"{CARD_FILE} front matter `license_name`", str(matter["license_name"])))
    link = matter.get("license_link")
    if link and not found:
        found.extend(_link_evidence(folder, str(link), f"{CARD_FILE} front matter `license_link`"))
    if not found and licences:
        # `license: other` with neither a name nor a readable link.
        found.append(Evidence(f"{CARD_FILE} front matter `license`", str(licences)))
    return found


def _link_evidence(folder: Path, link: str, source: str) -> list[Evidence]:
    """Follow a relative licence link to a local file; a URL cannot be read offline and is kept as a name."""
    if "://" not in link:
        target = (folder / link).resolve()
        if target.is_file() and target.is_relative_to(folder.resolve()):
            text = target.read_text(encoding="utf-8", errors="replace")[:_MAX_TEXT_CHARS]
            return [Evidence(f"{source} -> {link}", text, is_text=True)]
    return [Evidence(source, link)]


def file_evidence(folder: Path) -> list[Evidence]:
    """Read the text of each licence file in ``folder``."""
    found = []
    for name in LICENCE_FILES:
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")[:_MAX_TEXT_CHARS]
            found.append(Evidence(name, text, is_text=True))
    return found


def gguf_evidence(path: Path) -> list[Evidence]:
    """Read ``general.license``, ``general.license.name`` and ``general.license.link`` from a GGUF header."""
    from gguf import Keys

    reader = gguf_reader(path)
    found = []
    for key in (Keys.General.LICENSE, Keys.General.LICENSE_NAME, Keys.General.LICENSE_LINK):
        field_ = reader.fields.get(key)
        if field_ is None:
            continue
        value = field_.contents()
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item and str(item).lower() != "other":
                found.append(Evidence(f"{path.name} metadata `{key}`", str(item)))
    return found


def config_evidence(folder: Path) -> list[Evidence]:
    path = folder / "config.json"
    if not path.is_file():
        return []
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return []
    value = config.get("license") if isinstance(config, dict) else None
    return [Evidence("config.json `license`", str(value))] if value else []


def read_evidence(folder: Path, gguf_file: str | None, declared: str | None = None,
                  declared_by: str = "config") -> list[Evidence]:
    """Collect every licence statement for a model; ``declared`` is used only when the files name none."""
    found = card_evidence(folder) + file_evidence(folder)
    if gguf_file:
        found += gguf_evidence(folder / gguf_file)
    found += config_evidence(folder)
    if not found and declared:
        found.append(Evidence(declared_by, declared))
    return found


# --- classification and the gate ------------------------------------------


@dataclass
class Finding:
    """A licence that applies to one model, with what the gate decided about it."""

    id: str
    name: str
    category: str
    status: str
    sources: list[str]
    conditions: list[str] = field(default_factory=list)
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def classify(evidence: Evidence, table: LicenceTable) -> tuple[str, str, str, KnownLicence | None]:
    """Return (id, name, category, table entry) for one piece of evidence.

    A licence text is matched by its content and then by its first line; a name by the
    table's ids and aliases and then as text, so that "Llama 3.1 Community License" is found too.
    """
    label = first_line(evidence.value) if evidence.is_text else evidence.value.strip()
    if evidence.is_text:
        known = table.by_text(evidence.value) or table.by_name(label)
    else:
        known = table.by_name(label) or table.by_text(label)
    if known is not None:
        return known.id, known.name, known.category, known
    return slug(label), label, UNKNOWN, None


def findings_for(evidence: list[Evidence], table: LicenceTable, accepted: set[str],
                 commercial_use: bool) -> list[Finding]:
    """Classify a model's evidence and decide each licence's status; one finding per distinct licence."""
    if not evidence:
        return [_decide(MISSING_ID, "no licence found", UNKNOWN, None, [], table, accepted, commercial_use)]
    by_id: dict[str, Finding] = {}
    for item in evidence:
        licence_id, name, category, known = classify(item, table)
        if licence_id in by_id:
            by_id[licence_id].sources.append(item.source)
            continue
        by_id[licence_id] = _decide(licence_id, name, category, known, [item.source], table, accepted,
                                    commercial_use)
    return list(by_id.values())


def _decide(licence_id: str, name: str, category: str, known: KnownLicence | None, sources: list[str],
            table: LicenceTable, accepted: set[str], commercial_use: bool) -> Finding:
    conditions = list(known.conditions) if known else []
    is_accepted = licence_id.lower() in accepted
    if category == PERMISSIVE:
        return Finding(licence_id, name, category, ALLOWED, sources, conditions, "A permissive licence")
    if category == NONCOMMERCIAL and commercial_use:
        rule = ("It is a non-commercial licence, and check.commercial_use is true. If the student is for research "
                "or evaluation only, set check.commercial_use: false in the config (`shochu check` also takes "
                f"--non-commercial) and accept it with --accept-licence {licence_id}. Otherwise choose a model "
                "whose licence allows commercial use")
        return Finding(licence_id, name, category, BLOCKED, sources, conditions, rule)
    if category == UNKNOWN:
        rule = _unknown_rule(licence_id, table)
    else:
        rule = (f"It is a {category} licence whose conditions carry over to the student. Read them, then "
                f"accept them with --accept-licence {licence_id}")
    status = ACCEPTED if is_accepted else NEEDS_ACCEPTANCE
    return Finding(licence_id, name, category, status, sources, conditions, rule)


def _unknown_rule(licence_id: str, table: LicenceTable) -> str:
    if licence_id == MISSING_ID:
        return ("No licence was found in the model card, licence files, GGUF metadata or config.json. Find "
                "the model's licence and, for a teacher, set teacher.licence to its SPDX id. Or accept the "
                f"model as it is with --accept-licence {MISSING_ID}")
    return (f"The licence is not in Shochu's table (checked {table.checked}). Read it, then accept it "
            f"with --accept-licence {licence_id}")


def describe_problem(role: str, location: str, finding: Finding) -> str:
    """Format one paragraph of the gate's error: model, licence, evidence, rule and fix, then the conditions."""
    state = "is blocked" if finding.status == BLOCKED else "needs acceptance"
    origin = f", from {', '.join(finding.sources)}" if finding.sources else ""
    lines = [f"{role} {location}: licence {finding.id} ({finding.name}{origin}) {state}. {finding.rule}."]
    lines += [f"    - {condition}" for condition in finding.conditions]
    return "\n".join(lines)


def api_data_warnings(providers: list[str]) -> list[str]:
    """Return one warning for each commercial API model whose outputs the user marked as training data."""
    return [
        f"the training data contains outputs of the commercial API model {provider!r}. API providers' terms "
        f"often forbid using outputs to develop models that compete with the provider; check {provider}'s "
        f"terms before training on them and before distributing the student"
        for provider in providers
    ]
