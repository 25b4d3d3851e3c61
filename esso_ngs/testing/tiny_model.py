"""A tiny random-weight chat model, built offline in about a second.

Tests and demos need a model that goes through the real loading path
(`mlx_lm.load`, a Hugging Face tokenizer with a chat template) without any
download. This builds one: a Qwen2-architecture network (hidden size 64, two
layers, random weights from a fixed seed) and a byte-level BPE tokenizer trained
on generated S-expression text, so the vocabulary holds tokens such as `(`,
`safe_div` and `amount` the way a real model's would. Its samples are noise, but
the grammar mask makes every constrained sample a term all the same.

Only `tokenizers`, `mlx` and `numpy` are needed (no torch, no transformers).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

# ChatML, the template of Qwen2 and SmolLM2: the tiny model is templated the same way.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_OPS = ("+", "-", "*", "div", "mod", "safe_div", "safe_mod", "min", "max", "ite",
        "=", "!=", "<", "<=", ">", ">=", "and", "or", "not", "=>")
_NAMES = ("amount", "amount_in", "amount_out", "bps", "fee", "fee_bps", "reserve0",
          "reserve1", "balance", "total", "shares", "supply", "price", "x", "y", "dir")
_WORDS = ("the", "term", "hole", "grammar", "result", "state", "variable", "action",
          "effect", "update", "guard", "constraint", "write", "one", "of", "is", "a",
          "in", "and", "with", "for", "fee", "Int", "Bool", "true", "false", "Answer")


def _corpus(seed: int, lines: int = 400) -> list[str]:
    """Generated S-expressions and prompt-like lines (deterministic)."""
    rng = random.Random(seed)

    def term(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(_NAMES) if rng.random() < 0.6 else str(rng.choice((0, 1, 2, 100, 10000, 30)))
        op = rng.choice(_OPS)
        n = 3 if op == "ite" else (1 if op == "not" else 2)
        return "(" + " ".join([op, *(term(depth - 1) for _ in range(n))]) + ")"

    out = [term(3) for _ in range(lines)]
    out += [" ".join(rng.choice(_WORDS) for _ in range(8)) for _ in range(lines // 4)]
    # The prompt's own wording, so prompts take hundreds of tokens, not thousands.
    from ..neural.prompt import EXAMPLES, SYSTEM, render_task
    out += [SYSTEM] + [render_task(ex, mode) for ex in EXAMPLES for mode in ("term", "list")]
    return out


def build_tokenizer_json(seed: int = 0, vocab_size: int = 1024) -> str:
    """Train a byte-level BPE tokenizer and return its `tokenizer.json` text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(seed), trainer=trainer)
    return tok.to_str()


def build_tiny_model(out_dir: str | Path, seed: int = 0, hidden_size: int = 64,
                     num_layers: int = 2, pad_vocab_to: int = 64) -> Path:
    """Write a tiny Qwen2 model directory loadable by `mlx_lm.load` and transformers.

    The model's vocabulary is padded past the tokenizer's (to a multiple of
    `pad_vocab_to`), as real models do, so the mask's padding path is exercised.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import qwen2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_json = build_tokenizer_json(seed)
    n_tok = len(json.loads(tokenizer_json)["model"]["vocab"])
    vocab = -(-n_tok // pad_vocab_to) * pad_vocab_to
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": hidden_size,
        "intermediate_size": hidden_size * 2,
        "num_hidden_layers": num_layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "vocab_size": vocab,
        "max_position_embeddings": 4096,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "bos_token_id": None,
        "eos_token_id": SPECIAL_TOKENS.index("<|im_end|>"),
    }
    mx.random.seed(seed)
    model = qwen2.Model(qwen2.ModelArgs(**{k: v for k, v in config.items()
                                           if k in qwen2.ModelArgs.__dataclass_fields__}))
    # Random init is small; scale the embeddings up so logits are far from uniform
    # and different seeds/temperatures give visibly different samples.
    weights = dict(tree_flatten(model.parameters()))
    weights["model.embed_tokens.weight"] = weights["model.embed_tokens.weight"] * 1.0
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "tokenizer.json").write_text(tokenizer_json)
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "model_max_length": 4096,
        "chat_template": CHATML_TEMPLATE,
        "added_tokens_decoder": {
            str(i): {"content": t, "special": True, "lstrip": False, "rstrip": False,
                     "normalized": False, "single_word": False}
            for i, t in enumerate(SPECIAL_TOKENS)
        },
    }, indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(
        {"eos_token_id": config["eos_token_id"]}) + "\n")
    return out
