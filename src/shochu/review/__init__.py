"""Human spot-check of built examples: a stratified sample, a local review page, decisions and a gate.

- ``sample.py`` draws the sample from ``build/*.jsonl`` and keeps it in ``review/sample.jsonl``;
- ``decisions.py`` appends decisions to ``review/decisions.jsonl`` and computes acceptance rates;
- ``gate.py`` decides whether the reviewed dataset passes ``review.min_acceptance``;
- ``exchange.py`` exports the sample to JSONL, CSV or Label Studio tasks and imports decisions;
- ``server.py`` and ``page.py`` serve the review page on a loopback address.
"""

from shochu.review.decisions import read_decisions
from shochu.review.gate import GateResult, check_gate

__all__ = ["GateResult", "check_gate", "read_decisions"]
