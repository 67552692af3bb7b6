"""The self-contained HTML page of the report stage.

The page loads nothing: the CSS is inline and the figures are PNG ``data:``
URIs. Jinja2 autoescaping is on, so every text from the workspace (sample
inputs and outputs included) reaches the page escaped.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, StrictUndefined

_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shochu run report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1, h2, h3 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 22rem; white-space: pre-wrap; word-break: break-word; }
img { max-width: 100%; }
.note { color: #666; }
.good { color: #176f2c; }
.bad { color: #b00020; }
</style>
</head>
<body>
<h1>Shochu run report</h1>
<p class="note">Workspace {{ data.workspace }}, written {{ data.written_at }}.</p>

<h2>Preflight check</h2>
{% if data.preflight %}
{% set check = data.preflight %}
<p>Checked {{ check.checked_at }}:
{% if check.passed %}<span class="good">passed</span>{% else %}<span class="bad">{{ check.problems | length }} problem(s)</span>{% endif %}.
Licence table checked {{ check.licence_table_checked }}; commercial use: {{ "yes" if check.commercial_use else "no" }}.</p>
<table id="preflight-licences">
<tr><th>model</th><th>licence</th><th>name</th><th>category</th><th>status</th><th>accepted by</th><th>found in</th></tr>
{% for row in check.licences %}
<tr><td>{{ row.model }}</td><td>{{ row.licence or "" }}</td><td>{{ row.name }}</td><td>{{ row.category or "" }}</td>
<td>{{ row.status or "" }}</td><td>{{ row.accepted_by or "" }}</td><td>{{ row.sources | join(", ") }}</td></tr>
{% endfor %}
</table>
{% if check.memory %}
<table id="preflight-memory">
<tr><th>item</th><th>needed</th><th>RAM free at check</th><th>RAM total</th><th>verdict</th></tr>
{% for row in check.memory %}
<tr><td>{{ row.item }}</td><td class="number">{{ row.needed_bytes | size }}</td>
<td class="number">{{ row.available_bytes | size }}</td><td class="number">{{ row.total_bytes | size }}</td>
<td>{{ row.verdict }}{% if row.gpu_verdict %} (GPU: {{ row.gpu_verdict }}){% endif %}</td></tr>
{% endfor %}
{% if check.disk %}
<tr><td>disk ({{ check.disk.path }})</td><td class="number">{{ check.disk.needed_bytes | size }}</td>
<td class="number">{{ check.disk.free_bytes | size }}</td><td></td><td>{{ check.disk.verdict }}</td></tr>
{% endif %}
</table>
{% endif %}
{% if check.cost %}
{% set cost = check.cost %}
<table id="preflight-cost">
<tr><th colspan="2">cost break-even ({{ cost.currency }})</th></tr>
<tr><td>months to break even</td><td class="number">{{ cost.break_even_months | number(1) }}</td></tr>
<tr><td>on-premises cost per 1M tokens</td><td class="number">{{ cost.onprem_per_million | number(2) }}</td></tr>
<tr><td>API cost per 1M tokens</td><td class="number">{{ cost.api_per_million | number(2) }}</td></tr>
<tr><td>share of serving hours needed</td><td class="number">{{ cost.utilisation | percent }}</td></tr>
<tr><td>API cost per month</td><td class="number">{{ cost.api_per_month | number(2) }}</td></tr>
<tr><td>on-premises cost per month, amortised over {{ cost.amortisation_months }} months</td>
<td class="number">{{ cost.onprem_per_month | number(2) }}</td></tr>
</table>
<p>{{ cost.summary }}</p>
{% else %}
<p class="note">No cost settings (check.cost) in the config, so no break-even.</p>
{% endif %}
{% for problem in check.problems %}<p class="bad">problem: {{ problem }}</p>
{% endfor %}
{% for warning in check.warnings %}<p class="note">warning: {{ warning }}</p>
{% endfor %}
{% else %}
<p class="note">No check/report.json in this workspace; run `shochu check` to add the preflight check.</p>
{% endif %}

<h2>Dataset</h2>
{% if data.dataset %}
{% set card = data.dataset %}
<p>{{ card.examples | number }} examples after the quality filters and the review.</p>
<table>
<tr><th>split</th><th>examples</th><th>source documents</th><th>per task</th><th>per language</th></tr>
{% for split, entry in card.splits.items() %}
<tr><td>{{ split }}</td><td class="number">{{ entry.examples | number }}</td>
<td class="number">{{ entry.documents | number }}</td>
<td>{% for task, count in entry.tasks.items() %}{{ task }} {{ count }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td>{% for language, count in entry.languages.items() %}{{ language }} {{ count }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}
</table>
{% if card.filters %}
<table>
<tr><th>task</th><th>generated</th><th>kept</th><th>dropped</th><th>drop share</th><th>drops by filter and reason</th>
<th>personal data in generated text: masked / kept as a copy of the chunk</th></tr>
{% for task, entry in card.filters.items() %}
<tr><td>{{ task }}</td><td class="number">{{ entry.examples_in | number }}</td>
<td class="number">{{ entry.kept | number }}</td><td class="number">{{ entry.dropped | number }}</td>
<td class="number">{{ entry.drop_share | number(2) }}</td>
<td>{% for name, reasons in entry.drops.items() %}{% for reason, count in reasons.items() %}{{ name }}/{{ reason }} {{ count }}{% if not loop.last %}, {% endif %}{% endfor %}{% if not loop.last %}; {% endif %}{% endfor %}</td>
<td>{% for kind, count in entry.get("pii_masked", {}).items() %}{{ kind }} {{ count }}{% if not loop.last %}, {% endif %}{% else %}none{% endfor %} / {% for kind, count in entry.get("pii_copied_from_chunk", {}).items() %}{{ kind }} {{ count }}{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if card.review and card.review.get("acceptance_rate") is not none %}
<p>Review: {{ card.review.get("accept", 0) }} accepted, {{ card.review.get("edit", 0) }} edited,
{{ card.review.get("reject", 0) }} rejected (acceptance {{ card.review.acceptance_rate | number(2) }}).</p>
{% else %}
<p class="note">No review decisions; `shochu review` shows a sample of the examples for a person to check.</p>
{% endif %}
{% else %}
<p class="note">The build stage has not written build/data_card.json in this workspace.</p>
{% endif %}

<h2>Training</h2>
{% if images.training %}
<img alt="training curves" src="data:image/png;base64,{{ images.training }}">
<p>Best step {{ data.training.best_step | number }}, best validation loss
{{ data.training.best_val_loss | number }}, {{ data.training.steps_run | number }} steps run
{%- if data.training.stopped_early %}, stopped early{% endif %}.</p>
{% else %}
<p class="note">train/metrics.jsonl has no records.</p>
{% endif %}

<h2>Evaluation</h2>
{% if data.eval %}
{% set bootstrap = data.eval.get("bootstrap") %}
<img alt="evaluation summary" src="data:image/png;base64,{{ images.eval }}">
<h3>Models on this machine</h3>
<table id="eval-models">
<tr><th>model</th><th>parameters</th><th>load s</th><th>batched tokens/s</th><th>time to first token (ms, median)</th>
<th>decode tokens/s</th><th>peak memory</th></tr>
{% for name in models %}
{% set facts = data.eval.models[name] %}
{% set latency = facts.get("latency") or {} %}
{% set memory = facts.get("peak_memory") or {} %}
<tr><td>{{ name }}</td><td class="number">{{ facts.parameters | number }}</td>
<td class="number">{{ facts.get("load_seconds") | number(2) }}</td>
<td class="number">{{ facts.get("tokens_per_second") | number(1) }}</td>
<td class="number">{{ latency.get("time_to_first_token_ms_median") | number(1) }}</td>
<td class="number">{{ latency.get("decode_tokens_per_second") | number(1) }}</td>
<td class="number">{{ memory.get("bytes") | size }}</td></tr>
{% endfor %}
</table>
<p class="note">Batched tokens/s covers whole answers, prompt processing included. Time to first token and
decode tokens/s come from prompts timed one at a time.
{% for method in memory_methods %} Peak memory: {{ method }}.{% endfor %}</p>

<h3>Summary</h3>
<table id="eval-summary">
<tr><th>model</th>{% for metric in summary_metrics %}<th>{{ metric }}</th>{% endfor %}</tr>
{% for name, values in data.eval.summary.items() %}
<tr><td>{{ name }}</td>
{% for metric in summary_metrics %}<td class="number">{{ values.get(metric) | number }}</td>{% endfor %}</tr>
{% endfor %}
</table>

<h3>Side by side per task</h3>
{% if images.tasks %}<img alt="primary metric per task" src="data:image/png;base64,{{ images.tasks }}">{% endif %}
{% if bootstrap %}
<p class="note">Each cell is the value on all test examples and its {{ (bootstrap.confidence * 100) | round | int }}%
percentile-bootstrap interval over {{ bootstrap.resamples | number }} resamples of the examples (seed {{ bootstrap.seed }}).</p>
{% endif %}
<table id="eval-tasks">
<tr><th>task</th><th>kind</th><th>examples</th><th>metric</th>{% for name in models %}<th>{{ name }}</th>{% endfor %}</tr>
{% for task, entry in data.eval.tasks.items() %}
{% for metric in entry.metric_names %}
<tr><td>{{ task }}</td><td>{{ entry.get("kind", task) }}</td><td class="number">{{ entry.examples }}</td><td>{{ metric }}</td>
{% for name in models %}
<td class="number">{{ entry.metrics[name].get(metric) | interval(entry.get("intervals", {}).get(name, {}).get(metric)) }}</td>
{% endfor %}
</tr>
{% endfor %}
{% endfor %}
</table>

{% if data.eval.get("capacity_gap") %}
<h3>Capacity gap</h3>
<p class="note">Teacher minus distilled student on each task's primary metric, largest gap first, with a paired
bootstrap interval. "Gap closed" is the share of the initial student's shortfall that distillation recovered.</p>
{% set with_baseline = data.eval.capacity_gap | selectattr("baseline", "defined") | list %}
<table id="eval-gap">
<tr><th>task</th><th>metric</th><th>teacher</th><th>student</th><th>gap</th><th>gap closed</th>
{% if with_baseline %}<th>hard-label baseline</th><th>student minus baseline</th>{% endif %}</tr>
{% for row in data.eval.capacity_gap %}
<tr><td>{{ row.task }}</td><td>{{ row.metric }}</td><td class="number">{{ row.teacher | number }}</td>
<td class="number">{{ row.student | number }}</td><td class="number">{{ row.gap | interval(row.interval) }}</td>
<td class="number">{{ row.gap_closed | percent }}</td>
{% if with_baseline %}<td class="number">{{ row.get("baseline") | number }}</td>
<td class="number">{{ row.get("gain_over_baseline") | interval(row.get("gain_interval")) }}</td>{% endif %}</tr>
{% endfor %}
</table>
{% endif %}

{% for task, entry in data.eval.tasks.items() if entry.get("confusion") %}
<h3>Confusion matrices: {{ task }}</h3>
<p class="note">Rows are the true labels, columns the normalised answers; "(other)" counts answers that are no label.</p>
{% for name, matrix in entry.confusion.items() %}
<table class="confusion">
<tr><th>{{ name }}</th>{% for column in matrix.columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for row in matrix.counts %}
<tr><th>{{ matrix.classes[loop.index0] }}</th>{% for count in row %}<td class="number">{{ count }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endfor %}
{% endfor %}
{% else %}
<p class="note">The eval stage has not run in this workspace.</p>
{% endif %}

{% if data.tuning is defined and data.tuning %}
{% set tuning = data.tuning %}
<h2>Hyperparameter search</h2>
<p class="note">Each trial trained the initial student for {{ tuning.steps_per_trial }} steps and is scored by
{{ tuning.metric }} ({{ tuning.direction }}). Soft labels were stored at T = {{ tuning.stored_temperature }};
trials at other temperatures used labels {{ tuning.labels }}. A pruned trial's score is its best value
before it was stopped.</p>
<table>
<tr><th>trial</th><th>state</th><th>T</th><th>kd_ratio</th><th>learning rate</th><th>{{ tuning.metric }}</th>
<th>steps</th><th>wall time (s)</th></tr>
{% for trial in tuning.trials %}
<tr{% if tuning.best and trial.number == tuning.best.number %} class="good"{% endif %}>
<td>{{ trial.number }}{% if tuning.best and trial.number == tuning.best.number %} (best){% endif %}</td>
<td>{{ trial.state }}</td><td class="number">{{ trial.params.get("temperature") | number(3) }}</td>
<td class="number">{{ trial.params.get("kd_ratio") | number(3) }}</td>
<td class="number">{{ "%.3g" | format(trial.params.learning_rate) if trial.params.get("learning_rate") else "n/a" }}</td>
<td class="number">{{ trial.score | number }}</td><td class="number">{{ trial.steps | number }}</td>
<td class="number">{{ trial.wall_time_s | number(1) }}</td></tr>
{% endfor %}
</table>
{% if tuning.config_lines %}
<p>Config lines for the best trial:</p>
<pre>{{ tuning.config_lines }}</pre>
{% endif %}
{% endif %}

{% if data.progressive is defined and data.progressive %}
{% set chain = data.progressive %}
<h2>Progressive distillation</h2>
<p class="note">Chain {{ chain.chain | join(" → ") }} layers from a {{ chain.teacher_layers }}-layer teacher,
{{ chain.max_steps }} steps per model. Every student starts from evenly spaced teacher layers.</p>
<table>
<tr><th>model</th><th>layers</th><th>learns from</th><th>steps</th><th>wall time (s)</th><th>KL to teacher</th>
<th>ROUGE-L</th><th>macro-F1</th></tr>
{% for model in chain.models %}
<tr><td>{{ model.name }}</td><td class="number">{{ model.layers }}</td><td>{{ model.learns_from }}</td>
<td class="number">{{ model.steps_run | number }}</td><td class="number">{{ model.wall_time_s | number(1) }}</td>
<td class="number">{{ model.kl_to_teacher | number }}</td><td class="number">{{ model.rouge_l | number }}</td>
<td class="number">{{ model.macro_f1 | number }}</td></tr>
{% endfor %}
</table>
<table>
<tr><th>task</th><th>metric</th><th>progressive</th><th>direct</th><th>difference [interval]</th><th>assistant helped</th></tr>
{% for row in chain.comparison %}
<tr><td>{{ row.task }}</td><td>{{ row.metric }}{% if not row.higher_is_better %} (lower is better){% endif %}</td>
<td class="number">{{ row.progressive | number }}</td><td class="number">{{ row.direct | number }}</td>
<td class="number">{{ row.difference | interval(row.interval) }}</td>
<td class="{{ 'good' if row.helped else ('bad' if row.helped is false else 'note') }}">{{ 'yes' if row.helped
 else ('worse' if row.helped is false else 'unclear') }}</td></tr>
{% endfor %}
</table>
<p>{{ chain.verdict }}</p>
{% endif %}

<h2>Stage timings</h2>
<table>
<tr><th>stage</th><th>wall time (s)</th><th>finished at</th></tr>
{% for row in data.timings %}
<tr><td>{{ row.stage }}</td><td class="number">{{ row.wall_time_s | number(1) }}</td>
<td>{{ row.finished_at }}</td></tr>
{% endfor %}
</table>

<h2>Ingest and protect counts</h2>
{% for stage, counts in data.counts.items() %}
<table>
<tr><th colspan="2">{{ stage }}</th></tr>
{% for key, value in counts.items() %}
<tr><td>{{ key }}</td><td class="number">{{ value | number }}</td></tr>
{% endfor %}
</table>
{% else %}
<p class="note">Neither ingest nor protect has a manifest in this workspace.</p>
{% endfor %}

<h2>Sample test examples</h2>
{% if data.samples %}
<p class="note">Inputs were PII-masked by the protect stage before the build stage wrote them.</p>
<table>
<tr><th>id</th><th>task</th><th>input</th><th>reference</th>
{% for name in sample_models %}<th>{{ name }}</th>{% endfor %}
</tr>
{% for sample in data.samples %}
<tr><td>{{ sample.id }}</td><td>{{ sample.task }}</td><td class="text">{{ sample.input }}</td>
<td class="text">{{ sample.reference }}</td>
{% for name in sample_models %}<td class="text">{{ sample.predictions.get(name, "") }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% else %}
<p class="note">No predictions to show.</p>
{% endif %}
</body>
</html>
"""


SUMMARY_METRICS = ("kl_to_teacher", "rouge_l", "accuracy", "macro_f1", "first_mention_accuracy", "field_f1")


def number(value: Any, digits: int = 4) -> str:
    """Format a metric with ``digits`` decimals, a count with thousands separators; ``n/a`` for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def size(value: int | float | None) -> str:
    """Format bytes in GiB, or in MiB below 1 GiB so that small sizes do not show as zero."""
    if value is None:
        return "n/a"
    if value >= 1 << 30:
        return f"{value / (1 << 30):.2f} GiB"
    return f"{value / (1 << 20):.1f} MiB"


def interval(value: Any, bounds: list[float] | None, digits: int = 4) -> str:
    """Format a metric as ``value [low, high]``, or the value alone without an interval."""
    if bounds is None or value is None:
        return number(value, digits)
    return f"{number(value, digits)} [{number(bounds[0], digits)}, {number(bounds[1], digits)}]"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _metric_names(entry: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for metrics in entry["metrics"].values():
        names.extend(name for name in metrics if name not in names)
    return names


def render_report(data: dict[str, Any], images: dict[str, str | None], sample_models: list[str]) -> str:
    """Render the report page from the report data and base64 PNG images keyed ``training``, ``eval`` and ``tasks``."""
    environment = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)
    environment.filters["number"] = number
    environment.filters["size"] = size
    environment.filters["percent"] = percent
    environment.filters["interval"] = interval
    template = environment.from_string(_TEMPLATE)
    view = dict(data)
    # Report data written before the build stage had a data card has no "dataset" entry.
    view.setdefault("dataset", None)
    models: list[str] = []
    summary_metrics: list[str] = []
    memory_methods: list[str] = []
    if data["eval"]:
        tasks = {task: {**entry, "metric_names": _metric_names(entry)}
                 for task, entry in data["eval"]["tasks"].items()}
        view["eval"] = {**data["eval"], "tasks": tasks}
        models = list(data["eval"]["summary"])
        summary_metrics = [metric for metric in SUMMARY_METRICS
                           if any(values.get(metric) is not None for values in data["eval"]["summary"].values())]
        for facts in data["eval"]["models"].values():
            method = (facts.get("peak_memory") or {}).get("method")
            if method and method not in memory_methods:
                memory_methods.append(method)
    return template.render(data=view, images=images, models=models, sample_models=sample_models,
                           summary_metrics=summary_metrics, memory_methods=memory_methods)
