#!/usr/bin/env python3
"""Writes a tiny random-weight LLaMA in Hugging Face format, offline, for tpbench's real-vLLM tests.

The tokenizer is a real byte-level BPE (GPT-2/Llama-3 style pre-tokenizer) trained here on English text taken from
the docstrings of Python's standard library, with a vocabulary small enough (2048) that many words are split into
several tokens: prompt calibration meets a tokenizer where one word is not one token. The chat template is
ChatML-like with a BOS token, so the template adds tokens around every message.

Usage: make_model.py OUT_DIR   (deterministic: the same Python, tokenizers and transformers give the same files)
"""
import json
import os
import pkgutil
import importlib
import sys
import warnings

VOCAB_SIZE = 2048
SPECIAL = ["<|begin_of_text|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking %}<think>\n{% endif %}{% endif %}"
)
# Reasoning markers (DeepSeek-R1 style), added after training so they take the last two ids and leave every other
# token as it was. A server run with --reasoning-parser deepseek_r1 treats what follows <think> as reasoning; the
# template opens it when a request sets chat_template_kwargs {"enable_thinking": true}, and vLLM's
# thinking_token_budget closes it with </think> after that many tokens.
THINK = ["<think>", "</think>"]


def corpus():
    """English prose from the standard library's docstrings, in a fixed order."""
    warnings.filterwarnings("ignore")
    names = sorted(m.name for m in pkgutil.iter_modules() if not m.name.startswith("_"))
    allowed = {"abc", "argparse", "ast", "asyncio", "base64", "bisect", "calendar", "cmd", "codecs", "collections",
               "colorsys", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
               "difflib", "email", "enum", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "getopt",
               "gettext", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http", "imaplib", "inspect", "io",
               "ipaddress", "json", "keyword", "linecache", "locale", "logging", "mailbox", "mimetypes", "netrc",
               "numbers", "operator", "optparse", "os", "pathlib", "pickle", "pprint", "queue", "quopri", "random",
               "re", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "signal", "smtplib", "socket",
               "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
               "timeit", "tokenize", "trace", "traceback", "types", "typing", "unittest", "urllib", "uuid",
               "warnings", "wave", "weakref", "zipfile"}
    for name in names:
        if name not in allowed:
            continue
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        if module.__doc__:
            yield module.__doc__
        for attr in sorted(dir(module)):
            doc = getattr(getattr(module, attr, None), "__doc__", None)
            if isinstance(doc, str) and len(doc) > 40:
                yield doc


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, processors
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
        special_tokens=[("<|begin_of_text|>", 0)])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    trained = tok.get_vocab_size()
    tok.add_special_tokens(THINK)

    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    import torch
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|im_end|>",
                                   pad_token="<|pad|>", model_max_length=16384)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)

    torch.manual_seed(1234)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, head_dim=64, max_position_embeddings=16384,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         pad_token_id=fast.pad_token_id, tie_word_embeddings=True, torch_dtype="float32")
    # The weights are drawn for the trained vocabulary (as before the reasoning markers), then the two marker rows
    # are appended.
    config.vocab_size = trained
    model = LlamaForCausalLM(config)
    model.resize_token_embeddings(len(fast), mean_resizing=False)
    model.save_pretrained(out, safe_serialization=True)
    with open(os.path.join(out, "tpbench-model.json"), "w") as f:
        json.dump({"vocab_size": len(fast), "layers": 2, "hidden": 256, "heads": 4, "head_dim": 64}, f)
    print(f"wrote {out}: vocabulary {len(fast)}, 2 layers, hidden 256")


if __name__ == "__main__":
    main()
