"""Turning a Prompt into the exact token ids a local model sees.

With a chat template (Qwen2, SmolLM2, ...) the messages go through
`apply_chat_template(..., add_generation_prompt=True)`; base models without one
get the plain labelled rendering. The BOS rule is mlx_lm's: add special tokens
unless the rendered text already starts with the BOS token.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from .backend import Prompt


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(prompt: Prompt, tokenizer: Any, generation_prompt: bool = True) -> str:
    """The prompt as text, in the model's chat template when it has one.

    `generation_prompt=False` renders the messages alone (no assistant turn opened):
    the static head of a prompt, whose KV cache is kept on disk.
    """
    if has_chat_template(tokenizer):
        return str(tokenizer.apply_chat_template(prompt.chat(), add_generation_prompt=generation_prompt,
                                                 tokenize=False))
    return prompt.plain_text() if generation_prompt else prompt.plain_text().removesuffix("\n\nAnswer: ")


def _encode(text: str, tokenizer: Any) -> list[int]:
    bos = getattr(tokenizer, "bos_token", None)
    add_special = bos is None or not text.startswith(bos)
    return [int(i) for i in tokenizer.encode(text, add_special_tokens=add_special)]


def encode_prompt(prompt: Prompt, tokenizer: Any) -> list[int]:
    """Token ids of the rendered prompt (`tokenizer` is a Hugging Face tokenizer)."""
    return _encode(render_prompt(prompt, tokenizer), tokenizer)


def static_prefix_len(prompt: Prompt, tokenizer: Any, ids: Sequence[int]) -> int:
    """How many of the prompt's `ids` are its static head: every message before the
    last (the system message and the few-shot examples), which is the same for
    every hole. At most len(ids) - 1: decoding starts by feeding the last token.
    """
    if len(prompt.messages) < 2:
        return 0
    head = replace(prompt, messages=prompt.messages[:-1])
    head_ids = _encode(render_prompt(head, tokenizer, generation_prompt=False), tokenizer)
    common = 0
    for a, b in zip(head_ids, ids):
        if a != b:
            break
        common += 1
    return min(common, len(ids) - 1)
