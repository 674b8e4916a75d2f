"""Emission-lateness benchmark: N concurrent streams against a running `tpbench mock` (fixed-latency mode).

Usage: tpbench mock --port 0 --ttft-ms 20 --itl-ms 20 &   then
       python3 Tests/interop/bench_emission.py http://127.0.0.1:PORT SERVER_PID [streams] [tokens]
Prints client-side event counts, the server's CPU use over the run, and its own lateness histogram from /metrics.
"""
import asyncio
import os
import sys
import time
import urllib.request

URL, PID = sys.argv[1], int(sys.argv[2])
STREAMS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
TOKENS = int(sys.argv[4]) if len(sys.argv) > 4 else 250
HOST, PORT = URL.split("//")[1].split(":")
BODY = ('{"model":"qwen3-30b-a3b","messages":[{"role":"user","content":"hi"}],"max_tokens":%d,"stream":true,'
        '"ignore_eos":true}' % TOKENS).encode()
REQUEST = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
           b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(BODY)) + BODY


async def stream(counts):
    reader, writer = await asyncio.open_connection(HOST, int(PORT))
    writer.write(REQUEST)
    n = 0
    while True:
        data = await reader.read(65536)
        if not data:
            break
        n += data.count(b"\n\ndata: ")
    counts.append(n)
    writer.close()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main():
    counts = []
    cpu0, t0 = cpu_seconds(PID), time.monotonic()
    tasks = []
    for i in range(STREAMS):  # pace connection set-up (thousands of connects at once stall some for seconds)
        tasks.append(asyncio.create_task(stream(counts)))
        if i % 50 == 49:
            await asyncio.sleep(0.02)
    await asyncio.gather(*tasks)
    cpu1, t1 = cpu_seconds(PID), time.monotonic()
    print(f"{len(counts)} streams, {sum(counts)} events in {t1 - t0:.1f} s; "
          f"server CPU {cpu1 - cpu0:.2f} s = {(cpu1 - cpu0) / (t1 - t0) * 100:.0f}% of one core")
    metrics = urllib.request.urlopen(URL + "/metrics").read().decode()
    for line in metrics.splitlines():
        if line.startswith("tpbench_mock_emission_lateness_seconds"):
            print(line)


asyncio.run(main())
