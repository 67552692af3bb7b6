"""Preflight checks that `shochu check` and `shochu run` make before any work.

- ``licence``: read each model's licence from its files and gate the run on it (``licences.yaml``);
- ``shapes``, ``plan``, ``machine``: memory and disk estimates per phase against this machine;
- ``cost``: break-even of on-premises serving against a commercial API;
- ``stage``: runs them all and writes ``WORKSPACE/check/report.json``; ``render`` prints it.
"""
