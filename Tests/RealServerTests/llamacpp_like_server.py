#!/usr/bin/env python3
"""A stand-in for llama.cpp's `llama-server`, speaking its dialect with a real BPE tokenizer, for tpbench's tests.

It mimics what tpbench has to cope with on a real llama-server (seen on llama.cpp built from the llama-cpp-python
0.3.36 sdist; see docs/REAL-SERVERS.md):
- `POST /tokenize` takes `{"content": "...", "add_special": bool}` and answers `{"tokens": [...]}`; to a body with
  `messages` (vLLM's dialect) it answers `{"tokens": []}` with HTTP 200;
- `POST /apply-template` renders `{"messages": [...]}` with the model's chat template: `{"prompt": "..."}`;
- `POST /detokenize` takes `{"tokens": [...]}` and answers `{"content": "..."}`;
- a streamed chat completion's first chunk has `delta: {"role": "assistant", "content": null}`; with
  `stream_options.include_usage` the last chunk before `[DONE]` has `choices: []` and the usage;
- `Keep-Alive: timeout=5`: a connection idle for 5 s is closed by the server (the retry of a request sent on such a
  connection is tested against scripted servers in Tests/ReliabilityTests).
Prompt tokens are counted as the real server does: the chat template rendered, then tokenized with special tokens.

Usage: llamacpp_like_server.py MODEL_DIR [--port 0] [--itl-ms 2] [--ttft-ms 10]
Prints "listening: http://127.0.0.1:PORT" once it accepts connections. Binds 127.0.0.1 only.
"""
import argparse
import json
import random
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from tokenizers import Tokenizer
import jinja2

MODEL_ID = "tiny-llama.gguf"


class State:
    tokenizer = None
    template = None
    bos = ""
    itl_s = 0.002
    ttft_s = 0.010
    lock = threading.Lock()
    requests = 0


def render(messages, add_generation_prompt=True):
    return State.template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                 bos_token=State.bos)


def tokenize(text, add_special):
    # The rendered template already starts with the BOS text; like llama.cpp, parse special tokens in the text
    # and add BOS only when asked and not already there.
    ids = State.tokenizer.encode(text, add_special_tokens=False).ids
    bos_id = State.tokenizer.token_to_id(State.bos)
    if add_special and (not ids or ids[0] != bos_id):
        ids = [bos_id] + ids
    return ids


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: with Nagle on, each small chunk waits for the client's delayed ACK and tokens arrive bunched
    # (seen: ITL p50 0.001 ms for a 2 ms schedule), which would test the server's socket, not tpbench.
    disable_nagle_algorithm = True
    timeout = 5  # Keep-Alive: timeout=5 -- an idle connection is closed after 5 s

    def log_message(self, *args):
        pass

    def _json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Keep-Alive", "timeout=5, max=100")
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        if self.path in ("/v1/models", "/models"):
            return self._json(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model",
                                                                "owned_by": "llamacpp"}]})
        if self.path == "/health":
            return self._json(200, {"status": "ok"})
        return self._json(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})

    def do_POST(self):
        try:
            body = self._body()
        except Exception:
            return self._json(400, {"error": {"code": 400, "message": "invalid JSON", "type": "invalid_request_error"}})
        if self.path == "/tokenize":
            content = body.get("content")
            if not isinstance(content, str):
                return self._json(200, {"tokens": []})
            return self._json(200, {"tokens": tokenize(content, bool(body.get("add_special", False)))})
        if self.path == "/apply-template":
            return self._json(200, {"prompt": render(body.get("messages", []))})
        if self.path == "/detokenize":
            return self._json(200, {"content": State.tokenizer.decode(body.get("tokens", []))})
        if self.path in ("/v1/chat/completions", "/chat/completions"):
            return self._complete(body, tokenize(render(body.get("messages", [])), True), chat=True)
        if self.path in ("/v1/completions", "/completions"):
            return self._complete(body, tokenize(str(body.get("prompt", "")), True), chat=False)
        return self._json(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})

    def _complete(self, body, prompt_ids, chat):
        with State.lock:
            State.requests += 1
            seed = State.requests
        n = int(body.get("max_tokens") or body.get("n_predict") or 16)
        rng = random.Random(seed)
        vocab = State.tokenizer.get_vocab_size()
        pieces = [State.tokenizer.decode([rng.randrange(8, vocab)]) for _ in range(n)]
        usage = {"prompt_tokens": len(prompt_ids), "completion_tokens": n, "total_tokens": len(prompt_ids) + n}
        created = int(time.time())
        kind = "chat.completion" if chat else "text_completion"
        if not body.get("stream"):
            time.sleep(State.ttft_s + State.itl_s * max(0, n - 1))
            text = "".join(pieces)
            choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                      if chat else {"index": 0, "text": text, "finish_reason": "length"})
            return self._json(200, {"id": f"cmpl-{seed}", "object": kind, "created": created, "model": MODEL_ID,
                                    "choices": [choice], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Keep-Alive", "timeout=5, max=100")
        self.end_headers()
        obj = kind + (".chunk" if chat else "")

        def send(payload):
            data = f"data: {json.dumps(payload)}\n\n".encode() if payload is not None else b"data: [DONE]\n\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def chunk(choices, **extra):
            return {"id": f"cmpl-{seed}", "object": obj, "created": created, "model": MODEL_ID, "choices": choices,
                    **extra}

        time.sleep(State.ttft_s)
        if chat:
            send(chunk([{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]))
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(State.itl_s)
            delta = {"content": piece} if chat else None
            send(chunk([{"index": 0, "delta": delta, "finish_reason": None} if chat
                        else {"index": 0, "text": piece, "finish_reason": None}]))
        send(chunk([{"index": 0, "delta": {}, "finish_reason": "length"} if chat
                    else {"index": 0, "text": "", "finish_reason": "length"}]))
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            send(chunk([], usage=usage))
        send(None)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--itl-ms", type=float, default=2)
    parser.add_argument("--ttft-ms", type=float, default=10)
    args = parser.parse_args()
    State.tokenizer = Tokenizer.from_file(f"{args.model_dir}/tokenizer.json")
    with open(f"{args.model_dir}/tokenizer_config.json") as f:
        config = json.load(f)
    State.bos = config.get("bos_token") or "<|begin_of_text|>"
    with open(f"{args.model_dir}/chat_template.jinja") as f:
        State.template = jinja2.Environment().from_string(f.read())
    State.itl_s = args.itl_ms / 1000
    State.ttft_s = args.ttft_ms / 1000
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"listening: http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
