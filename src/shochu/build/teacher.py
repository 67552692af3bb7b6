"""The teacher as the build stage uses it: cached candidate generation and likelihood gains."""

from __future__ import annotations

from collections.abc import Sequence

from shochu.build.grounding import likelihood_gains
from shochu.build.synthesis import GenerationCache, generate_candidates
from shochu.config import RunConfig
from shochu.generation import resolve_dtype
from shochu.models import load_model, load_tokenizer, model_fingerprint, prepare_models
from shochu.workspace import Workspace

# Prompt plus response limit for the likelihood gain, in tokens; longer pairs are not scored.
_GAIN_MAX_TOKENS = 2048


class Teacher:
    """Loads the teacher once; generation results go through the workspace's generation cache."""

    def __init__(self, config: RunConfig, workspace: Workspace) -> None:
        teacher_dir, _ = prepare_models(config.teacher.path, config.student.path, config.student.layers,
                                        workspace.models_dir, config.teacher.licence)
        self.build = config.build
        self.seed = config.seed
        self.model = load_model(teacher_dir)
        self.tokenizer = load_tokenizer(teacher_dir)
        self.dtype = resolve_dtype(config.inference_dtype, self.model.device)
        self.cache = GenerationCache(workspace.root / "cache" / "build-generations.jsonl",
                                     model_fingerprint(teacher_dir), config.build, config.inference_dtype)

    def generate(self, contents: Sequence[str], max_new_tokens: int, description: str,
                 n_candidates: int) -> list[list[str]]:
        return generate_candidates(self.model, self.tokenizer, contents, self.cache, max_new_tokens, self.build,
                                   self.seed, description, self.dtype, n_candidates)

    def gains(self, grounded: Sequence[str], ungrounded: Sequence[str],
              responses: Sequence[str]) -> list[float | None]:
        """Mean log-probability gain per response token from seeing the chunk, in nats."""
        return likelihood_gains(self.model, self.tokenizer, [[{"role": "user", "content": c}] for c in grounded],
                                [[{"role": "user", "content": c}] for c in ungrounded], responses,
                                _GAIN_MAX_TOKENS, self.build.batch_size)
