"""Neural hints: grammar-aware prompts, model backends, constrained decoding, sampling, cache.

Nothing here imports a model framework at import time: backends are loaded by
name (`make_backend`) and import mlx, torch or llguidance only when they sample.

    from esso_ngs.neural import SampleSettings, make_backend, hints_for_spec
    backend = make_backend("mlx", "smollm2-135m")
    results = hints_for_spec(spec, backend, SampleSettings(n=10, temperature=0.8, seed=0))
"""
from .backend import (BACKENDS, Backend, BackendStats, BackendUnavailable, Message, Prompt, Sample,
                      SampleSettings, make_backend)
from .cache import SampleCache, sample_key
from .hints import hints_for_spec
from .models import LocalModel, cache_dir, register_alias, resolve_model
from .prompt import Task, build_prompt, build_prompt_for_task
from .sampling import Candidate, HoleSamples, aggregate, extract_terms, sample_hole

__all__ = [
    "BACKENDS", "Backend", "BackendStats", "BackendUnavailable", "Message", "Prompt", "Sample",
    "SampleSettings", "make_backend", "SampleCache", "sample_key", "hints_for_spec",
    "LocalModel", "cache_dir", "register_alias", "resolve_model", "Task", "build_prompt",
    "build_prompt_for_task", "Candidate", "HoleSamples", "aggregate", "extract_terms", "sample_hole",
]
