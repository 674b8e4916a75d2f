#!/usr/bin/env python3
"""tpbench side by side with vLLM's own `vllm bench serve`, on the same real vLLM and the same load.

Starts vLLM (the tiny test model of make_model.py) pinned to core 0 and runs both clients pinned to core 1 (on 2
cores an unpinned client slows the server it measures; see docs/REAL-SERVERS.md), interleaved
(vllm, tpbench) x ROUNDS. Load: random prompts of one server-side length, 64 output tokens with ignore_eos,
concurrency 4, 200 requests, chat API. Prompt tokens "as the server counted them" are the delta of vLLM's
`vllm:prompt_tokens_total` over each run; tpbench's prompt length is set to what the server counted for
vllm bench's prompts (its --random-input-len counts the raw prompt, the server also counts the chat template).

Usage: scripts/vllm/agreement.py [--rounds 3] [--requests 200] [--input-len 128] [--json OUT]
Needs scripts/vllm/setup and a release build (.build/release/tpbench). Prints a Markdown table of medians over
the rounds with [min-max], and the ratio tpbench / vllm bench.
"""
import argparse
import glob
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("TPBENCH_VLLM_VENV", "/opt/tpbench-vllm")
MODEL = os.environ.get("TPBENCH_VLLM_MODEL", f"{VENV}/models/tiny-llama-bpe")
TPBENCH = os.path.join(ROOT, ".build/release/tpbench")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prompt_tokens_total(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("vllm:prompt_tokens_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run_vllm_bench(url, args, out_dir):
    before = prompt_tokens_total(url)
    cmd = ["taskset", "-c", "1", f"{VENV}/bin/python", os.path.join(ROOT, "scripts/vllm/vllm_cli.py"), "bench", "serve",
           "--backend", "openai-chat", "--endpoint", "/v1/chat/completions", "--base-url", url,
           "--model", "tiny-llama", "--tokenizer", MODEL, "--dataset-name", "random",
           "--random-input-len", str(args.input_len), "--random-output-len", "64", "--random-range-ratio", "0",
           "--ignore-eos", "--max-concurrency", "4", "--num-prompts", str(args.requests),
           "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99",
           "--save-result", "--result-dir", out_dir, "--result-filename", "vllm.json", "--seed", "42"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = prompt_tokens_total(url)
    with open(os.path.join(out_dir, "vllm.json")) as f:
        r = json.load(f)
    return {
        "ttft_p50": r["median_ttft_ms"], "ttft_p99": r["p99_ttft_ms"],
        "tpot_p50": r["median_tpot_ms"], "tpot_p99": r["p99_tpot_ms"],
        "itl_p50": r["median_itl_ms"], "itl_p99": r["p99_itl_ms"],
        "e2e_p50": r["median_e2el_ms"], "e2e_p99": r["p99_e2el_ms"],
        "rps": r["request_throughput"], "server_prompt_tokens": (after - before) / args.requests,
    }


def run_tpbench(url, args, prompt_tokens, out_dir):
    before = prompt_tokens_total(url)
    cmd = ["taskset", "-c", "1", TPBENCH, "run", "--url", url, "--model", "tiny-llama", "--concurrency", "4",
           "--requests", str(args.requests), "--prompt-tokens", str(prompt_tokens), "--max-tokens", "64",
           "--extra-body", "{\"ignore_eos\": true}", "--quiet", "--no-server-metrics", "--out", out_dir]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = prompt_tokens_total(url)
    with open(os.path.join(out_dir, "result.json")) as f:
        s = json.load(f)["summaries"][0]
    return {
        "ttft_p50": s["ttftMs"]["p50"], "ttft_p99": s["ttftMs"]["p99"],
        "tpot_p50": s["tpotMs"]["p50"], "tpot_p99": s["tpotMs"]["p99"],
        "itl_p50": s["itlEventMs"]["p50"], "itl_p99": s["itlEventMs"]["p99"],
        "e2e_p50": s["e2eMs"]["p50"], "e2e_p99": s["e2eMs"]["p99"],
        "rps": s["requestsPerSecond"], "server_prompt_tokens": (after - before) / args.requests,
        "failed": s["failed"],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--json")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    work = tempfile.mkdtemp(prefix="tpbench-agreement-")
    log = open(os.path.join(work, "vllm.log"), "w")
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="2", VLLM_CPU_OMP_THREADS_BIND="nobind", OMP_NUM_THREADS="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1")
    # The server and its engine core on core 0, the clients on core 1.
    server = subprocess.Popen(["taskset", "-c", "0", f"{VENV}/bin/python", "-m", "vllm.entrypoints.openai.api_server",
                               "--model", MODEL, "--served-model-name", "tiny-llama", "--host", "127.0.0.1",
                               "--port", str(port), "--dtype", "float32", "--max-model-len", "4096"],
                              stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/v1/models", timeout=2)
                break
            except Exception:
                if server.poll() is not None:
                    sys.exit(f"vLLM exited; see {log.name}")
                time.sleep(1)
        # Warm up both clients' paths once (first requests compile kernels on the server).
        warm = argparse.Namespace(**{**vars(args), "requests": 16})
        first = run_vllm_bench(url, warm, tempfile.mkdtemp(dir=work))
        prompt_tokens = round(first["server_prompt_tokens"])
        run_tpbench(url, warm, prompt_tokens, tempfile.mkdtemp(dir=work))
        rows = {"vllm bench serve": [], "tpbench": []}
        for i in range(args.rounds):
            rows["vllm bench serve"].append(run_vllm_bench(url, args, tempfile.mkdtemp(dir=work)))
            rows["tpbench"].append(run_tpbench(url, args, prompt_tokens, tempfile.mkdtemp(dir=work)))
            print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
    version = subprocess.run([f"{VENV}/bin/python", "-c", "import vllm; print(vllm.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    keys = [("ttft_p50", "TTFT p50 (ms)"), ("ttft_p99", "TTFT p99 (ms)"), ("tpot_p50", "TPOT p50 (ms)"),
            ("tpot_p99", "TPOT p99 (ms)"), ("itl_p50", "ITL p50 (ms)"), ("itl_p99", "ITL p99 (ms)"),
            ("e2e_p50", "E2E p50 (ms)"), ("e2e_p99", "E2E p99 (ms)"), ("rps", "requests/s"),
            ("server_prompt_tokens", "prompt tokens per request (server's count)")]
    print(f"vLLM {version}, tiny BPE LLaMA, chat, {args.requests} requests x {args.rounds} rounds interleaved, "
          f"concurrency 4, 64 output tokens (ignore_eos), server on core 0, clients on core 1")
    print()
    print("| metric | vllm bench serve | tpbench | tpbench / vllm bench |")
    print("|---|---|---|---|")
    out = {"rounds": rows, "medians": {}}
    for key, label in keys:
        v = [r[key] for r in rows["vllm bench serve"]]
        t = [r[key] for r in rows["tpbench"]]
        mv, mt = statistics.median(v), statistics.median(t)
        out["medians"][key] = {"vllm": mv, "tpbench": mt, "ratio": mt / mv if mv else None}
        fmt = (lambda x: f"{x:.2f}") if key != "server_prompt_tokens" else (lambda x: f"{x:.1f}")
        print(f"| {label} | {fmt(mv)} [{fmt(min(v))}-{fmt(max(v))}] | {fmt(mt)} [{fmt(min(t))}-{fmt(max(t))}] | "
              f"{mt / mv:.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
