"""Writes a Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json) from the tokenizer a
GGUF file embeds, so AIPerf counts tokens with the served model's own vocabulary and no hub download.

AIPerf loads its tokenizer with `transformers.AutoTokenizer.from_pretrained(NAME)`; a local folder
is accepted as NAME (AIPerf's docs, "Using Local Tokenizers Without HuggingFace"). transformers can
read a GGUF's tokenizer itself, but only with torch installed; this rebuilds the same byte-level
BPE from the GGUF's `tokenizer.ggml.*` fields with the `tokenizers` library alone. Only the
`gpt2` model with the `smollm` pre-tokenizer (SmolLM2's) is handled: llama.cpp's split for it is
single digits, then GPT-2's regex (llama.cpp src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_SMOLLM),
the same as SmolLM2's own tokenizer.json (Digits(individual_digits) + ByteLevel).

Runs in AIPerf's virtualenv (`gguf`, `tokenizers`), not the kit's:
    .venv-aiperf/bin/python tests/loadtest/gguf_tokenizer.py MODEL.gguf OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONTROL = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL: special tokens (<|im_start|>, <|endoftext|> ...)


def write_tokenizer(gguf_path: Path, out_dir: Path) -> Path:
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    fields = gguf.GGUFReader(str(gguf_path)).fields

    def value(name: str):
        return fields[name].contents()

    if (value("tokenizer.ggml.model"), value("tokenizer.ggml.pre")) != ("gpt2", "smollm"):
        raise SystemExit(f"{gguf_path}: only the gpt2/smollm tokenizer (SmolLM2) is handled")
    tokens = value("tokenizer.ggml.tokens")
    merges = [tuple(merge.split(" ", 1)) for merge in value("tokenizer.ggml.merges")]
    tokenizer = Tokenizer(models.BPE(vocab={token: i for i, token in enumerate(tokens)}, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    types = value("tokenizer.ggml.token_type")
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True) for t, kind in zip(tokens, types, strict=True) if kind == CONTROL]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": tokens[value("tokenizer.ggml.bos_token_id")],
        "eos_token": tokens[value("tokenizer.ggml.eos_token_id")],
        "unk_token": tokens[value("tokenizer.ggml.unknown_token_id")],
        "pad_token": tokens[value("tokenizer.ggml.padding_token_id")],
        "add_bos_token": False,
        "model_max_length": 8192,
        "chat_template": value("tokenizer.chat_template"),
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(write_tokenizer(Path(sys.argv[1]), Path(sys.argv[2])))
