#!/usr/bin/env bash
# Runs the openai-SDK interop tests against a freshly started `tpbench mock`.
# Usage: Tests/interop/run.sh [path/to/tpbench]   (default .build/debug/tpbench; build it first)
# Needs: pip install openai jsonschema prometheus_client pytest
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-.build/debug/tpbench}"
LOG="$(mktemp)"
# Fast fixed timing keeps the run short; the latency model itself is covered by the Swift tests.
"$BIN" mock --port 0 --ttft-ms 20 --itl-ms 2 --seed 1 >"$LOG" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
URL=""
for _ in $(seq 1 100); do
    URL="$(sed -n 's/^listening: //p' "$LOG" | head -n 1)"
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "tpbench mock exited early" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { cat "$LOG"; echo "tpbench mock printed no port within 10 s" >&2; exit 1; }
MOCK_BASE_URL="$URL" python3 -m pytest -q Tests/interop
