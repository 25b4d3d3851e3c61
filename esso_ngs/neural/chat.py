"""Turning a Prompt into the exact token ids a local model sees.

With a chat template (Qwen2, SmolLM2, ...) the messages go through
`apply_chat_template(..., add_generation_prompt=True)`; base models without one
get the plain labelled rendering. The BOS rule is mlx_lm's: add special tokens
unless the rendered text already starts with the BOS token.
"""
from __future__ import annotations

from typing import Any

from .backend import Prompt


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(prompt: Prompt, tokenizer: Any) -> str:
    """The prompt as text, in the model's chat template when it has one."""
    if has_chat_template(tokenizer):
        return str(tokenizer.apply_chat_template(prompt.chat(), add_generation_prompt=True, tokenize=False))
    return prompt.plain_text()


def encode_prompt(prompt: Prompt, tokenizer: Any) -> list[int]:
    """Token ids of the rendered prompt (`tokenizer` is a Hugging Face tokenizer)."""
    text = render_prompt(prompt, tokenizer)
    bos = getattr(tokenizer, "bos_token", None)
    add_special = bos is None or not text.startswith(bos)
    ids = tokenizer.encode(text, add_special_tokens=add_special)
    return [int(i) for i in ids]
