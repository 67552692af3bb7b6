"""Shochu: on-premises distillation of a private, task-specific student LLM."""

__version__ = "0.1.0"
