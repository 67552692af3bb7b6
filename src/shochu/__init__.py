"""Shochu: on-premises distillation of a private, task-specific student LLM."""

import os

# Nothing in Shochu may reach a model hub. huggingface_hub and transformers read these switches
# when they are first imported, and importing any shochu module runs this file first. A program
# that imported them before Shochu must set the variables itself. A value set by the user wins.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
