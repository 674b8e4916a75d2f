#!/usr/bin/env bash
# Soak test (not in CI): tpbench run against `tpbench mock` with ~1% of every fault the mock can inject, sampling
# the client's RSS, then checking that every request is accounted for (requests.jsonl = result.json's count =
# requests sent) and that memory stayed flat (last quarter's mean RSS within 10% + 8 MiB of the second quarter's).
#
#   scripts/soak.sh              # 30 minutes
#   scripts/soak.sh 300          # 5 minutes
#   SOAK_RATE=100 SOAK_CONCURRENCY=200 scripts/soak.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}
rate=${SOAK_RATE:-100}
ceiling=${SOAK_CONCURRENCY:-128}
scratch=${SOAK_SCRATCH:-.build-soak}
bin=${SOAK_BIN:-$scratch/release/tpbench}
out=${SOAK_OUT:-$(mktemp -d /tmp/tpbench-soak.XXXXXX)}
mkdir -p "$out"

# SOAK_BIN=.build/release/tpbench reuses the binary `./scripts/test` built instead of building one.
[ -n "${SOAK_BIN:-}" ] || swift build -c release --scratch-path "$scratch" --product tpbench 2>&1 \
    | grep -E "error|warning: |Compiling tpbench|Build" || true

port_file="$out/mock.log"
# 1% of every fault: 500s, dropped and stalled streams, slow starts, and 429s when the queue backs up.
"$bin" mock --port 0 --ttft-ms 40 --itl-ms 10 --seed 11 --error-rate 0.01 --drop-rate 0.01 --stall 0.01 \
    --slow-start 2000 --slow-start-rate 0.01 --reject-when-waiting-over 100 >"$port_file" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -qoE "127\.0\.0\.1:[0-9]+" "$port_file" && break; sleep 0.1; done
url="http://$(grep -oE "127\.0\.0\.1:[0-9]+" "$port_file" | head -1)"
echo "mock at $url; running $seconds s at $rate req/s (max $ceiling in flight); results in $out"

"$bin" run --url "$url" --rate "$rate" --concurrency "$ceiling" --duration "$seconds" \
    --requests $(( rate * seconds * 2 )) --prompt-tokens 64 \
    --max-tokens 64 --idle-timeout 2 --first-token-timeout 10 --quiet --no-server-metrics --out "$out/run" \
    >"$out/run.stdout" 2>"$out/run.stderr" &
client=$!
echo "elapsed_s,rss_kib,requests_logged" >"$out/rss.csv"
start=$(date +%s)
while kill -0 $client 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$client/status 2>/dev/null || echo 0)
    logged=0
    [ -f "$out/run/requests.jsonl" ] && logged=$(wc -l <"$out/run/requests.jsonl")
    echo "$(( $(date +%s) - start )),$rss,$logged" >>"$out/rss.csv"
    sleep 5
done
wait $client && status=0 || status=$?

python3 - "$out" "$status" <<'PY'
import csv, json, sys, collections
out, status = sys.argv[1], int(sys.argv[2])
rows = [r for r in csv.DictReader(open(f"{out}/rss.csv")) if int(r["rss_kib"]) > 0]
peak_at_end = max(int(r["rss_kib"]) for r in rows)
# Samples after the last request was logged catch the report being written (requests.csv sorted from the log):
# not steady state.
while len(rows) > 8 and rows[-1]["requests_logged"] == rows[-2]["requests_logged"]:
    rows.pop()
lines = [json.loads(l) for l in open(f"{out}/run/requests.jsonl")]
result = json.load(open(f"{out}/run/result.json"))
classes = collections.Counter(l.get("failure") or "ok" for l in lines)
ids = {l["id"] for l in lines}
n = len(rows)
q2 = [int(r["rss_kib"]) for r in rows[n // 4: n // 2]] or [0]
q4 = [int(r["rss_kib"]) for r in rows[3 * n // 4:]] or [0]
m2, m4 = sum(q2) / len(q2), sum(q4) / len(q4)
summary = result["targets"][0]["summary"] if "targets" in result and isinstance(result["targets"][0], dict) and "summary" in result["targets"][0] else None
print(f"exit status {status}; {len(lines)} requests logged ({len(ids)} distinct ids, max id {max(ids)})")
print("classes: " + ", ".join(f"{k} {v} ({100 * v / len(lines):.2f}%)" for k, v in classes.most_common()))
print(f"peak RSS {peak_at_end / 1024:.1f} MiB (includes building the report); RSS samples {n}: min {min(int(r['rss_kib']) for r in rows) / 1024:.1f} MiB, "
      f"max {max(int(r['rss_kib']) for r in rows) / 1024:.1f} MiB, 2nd quarter mean {m2 / 1024:.1f} MiB, "
      f"last quarter mean {m4 / 1024:.1f} MiB")
# Growth per logged request between the 2nd quarter and the end. Records live only in requests.jsonl; the summary
# keeps each metric's values exactly up to 100,000 (8 bytes each), then only its HdrHistogram, so RSS grows a little
# until then and stays flat after.
reqs = [int(r["requests_logged"]) for r in rows]
dr = reqs[-1] - reqs[n // 4] if n > 4 else 0
print(f"RSS growth per logged request (2nd quarter → end): "
      f"{(int(rows[-1]['rss_kib']) - int(rows[n // 4]['rss_kib'])) / dr if dr else 0:.3f} KiB")
dr4 = reqs[-1] - reqs[3 * n // 4] if n > 4 else 0
print(f"RSS growth per logged request (last quarter): "
      f"{(int(rows[-1]['rss_kib']) - int(rows[3 * n // 4]['rss_kib'])) / dr4 if dr4 else 0:.3f} KiB")
ok = status == 0 and len(ids) == len(lines) and ids == set(range(len(lines)))
flat = m4 <= m2 * 1.10 + 8 * 1024
print("accounted: " + ("yes" if ok else "NO") + "; memory flat: " + ("yes" if flat else "NO"))
sys.exit(0 if ok and flat else 1)
PY
