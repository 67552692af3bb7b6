"""Model card (``README.md`` with YAML front matter) for an exported student.

The card is Markdown, so Jinja2 runs without HTML autoescaping here. Table
cells pass through the ``cell`` filter, which escapes ``|`` and newlines.
Every value comes from the lineage record, none from documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined

TAGS = ["shochu", "knowledge-distillation", "distillation", "on-premises"]

_TEMPLATE = """\
---
{{ front_matter }}---

# Shochu student model

## What it is

A small causal language model distilled with Shochu from the teacher below, on an organisation's
own documents, entirely on its own machines. It has {{ lineage.model.parameters | number }} parameters
{%- if tasks %} and was evaluated on these tasks: {{ tasks | join(", ") }}{% endif %}.

## Teacher

| field | value |
|---|---|
| source | {{ teacher.get("source") | file_name | cell }} |
| licence | {{ licence | cell }} |
| source SHA-256 | {{ teacher.get("source_sha256") | cell }} |

## Licences

{% if licence_check -%}
Found by `shochu check` in the models' own files and classified with its licence table of
{{ licence_check.table_checked }}. Intended use: {{ "commercial" if licence_check.commercial_use else "non-commercial" }}.
This is a record of what was found and accepted, not legal advice.

| model | licence | category | status | found in |
|---|---|---|---|---|
{% for model in licence_check.models -%}
{% if model.inherits -%}
| {{ model.role }} | same as the {{ model.inherits }} | | | {{ model.location | cell }} |
{% endif -%}
{% for finding in model.findings -%}
| {{ model.role }} | {{ finding.id | cell }} ({{ finding.name | cell }}) | {{ finding.category }} | {{ finding.status }} \
| {{ (finding.sources | join(", ") or "-") | cell }} |
{% endfor -%}
{% endfor %}
{% if licence_check.accepted -%}
The operator accepted these licences before the run (`--accept-licence` or `check.accept_licences`).
Their conditions apply to this model:
{% for acceptance in licence_check.accepted %}
- {{ acceptance.licence }} ({{ acceptance.name }}), for the {{ acceptance.model }}
{%- for condition in acceptance.conditions %}
  - {{ condition }}
{%- endfor %}
{%- endfor %}

{% endif -%}
{% if licence_check.data_from_api -%}
The training data contains outputs of commercial API models ({{ licence_check.data_from_api | join(", ") }}).
Their providers' terms may forbid using outputs to develop competing models.

{% endif -%}
{% else -%}
No `shochu check` report was found in the workspace, so no licence check is recorded.

{% endif -%}
## Student initialisation

| field | value |
|---|---|
{% for key, value in student_init.items() -%}
| {{ key | cell }} | {{ value | cell }} |
{% endfor %}
## Training

Settings of the train stage:

| setting | value |
|---|---|
{% for key, value in training_config.items() -%}
| {{ key | cell }} | {{ value | cell }} |
{% endfor %}
Outcome of the run:

| count | value |
|---|---|
{% for key, value in training_counts.items() -%}
| {{ key | cell }} | {{ value | cell }} |
{% endfor %}
## Data fingerprints

SHA-256 fingerprints of each stage's output, as recorded in its manifest. The same values with each
stage's own inputs are in `lineage.json`.

| stage | fingerprint |
|---|---|
{% for stage, entry in data.items() -%}
| {{ stage }} | `{{ entry.fingerprint }}` |
{% endfor %}
## Evaluation

{% if eval -%}
Test split, greedy decoding.

- `kl_to_teacher`: mean token-level KL(teacher ‖ model) in nats, teacher-forced on the teacher's
  reference answers (lower is better).
- `rouge_l`: ROUGE-L F1 of the generated answer against the teacher's reference answer.
- `accuracy`: exact match of the generated category with the true label.

| model | parameters | tokens/s | kl_to_teacher | rouge_l | accuracy |
|---|---|---|---|---|---|
{% for name, values in eval.summary.items() -%}
{% set facts = eval.models[name] -%}
| {{ name }} | {{ facts.parameters | number }} | {{ facts.tokens_per_second | number(1) }} \
| {{ values.kl_to_teacher | number }} | {{ values.rouge_l | number }} | {{ values.accuracy | number }} |
{% endfor %}
{%- else -%}
The eval stage had not run when this model was exported.
{% endif %}
## Intended use and limits

- Intended for the organisation's internal tasks listed above, with a person checking the answers.
  It is small and can be wrong, out of date, or confidently off-topic.
- Personal data was masked automatically before training
{%- if masked_entity_types %} (entity types: {{ masked_entity_types | join(", ") }}){% endif %}.
  Automatic masking can miss entities, so treat the model as internal.
- Not red-teamed yet: no memorisation or leak probes have been run against this model.
- The teacher's licence ({{ licence }}) and its known limitations carry over to this model.

## How to load it

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = "path/to/export/model"
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder)

messages = [{"role": "user", "content": "Your question"}]
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                       return_dict=True)
output = model.generate(**inputs, max_new_tokens=128, do_sample=False)
print(tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
```
"""


def cell(value: Any) -> str:
    """Format a value for a Markdown table cell."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def number(value: Any, digits: int = 4) -> str:
    """Format a metric with ``digits`` decimals, a count with thousands separators."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}" if isinstance(value, float) else cell(value)


def hub_licence(licence: str | None) -> str:
    """Return the Hugging Face ``license`` id for an SPDX id: lower case, or ``other`` when unknown."""
    return licence.lower() if licence else "other"


def file_name(path: str | None) -> str | None:
    """Return the last part of a local path, so that the card does not reveal the machine's folders."""
    return Path(path).name if path else path


def front_matter(lineage: dict[str, Any]) -> str:
    # NOTE: no `base_model` key: the hub expects a hub id there, and a teacher imported from a
    # local file or folder has none that Shochu could state with certainty.
    metadata = {
        "license": hub_licence(lineage["licence"]),
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": TAGS,
    }
    return yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)


def render_card(lineage: dict[str, Any]) -> str:
    """Render the model card from a lineage record (see ``export.stage.collect_lineage``)."""
    environment = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    environment.filters["cell"] = cell
    environment.filters["number"] = number
    environment.filters["file_name"] = file_name
    template = environment.from_string(_TEMPLATE)
    training = lineage["training"]
    eval_results = lineage["eval"]
    return template.render(
        lineage=lineage,
        front_matter=front_matter(lineage),
        licence=lineage["licence"] or "unknown",
        licence_check=lineage.get("licence_check"),
        teacher=lineage["teacher"],
        student_init=lineage["student_init"],
        training_config=training.get("config") or {},
        training_counts=training.get("counts") or {},
        data=lineage["data"],
        eval=eval_results,
        tasks=sorted(eval_results["tasks"]) if eval_results else [],
        masked_entity_types=lineage["privacy"]["masked_entity_types"],
    )
