#!/usr/bin/env python3
"""How long `sspr demo` takes from process start to answering /healthz.

Usage: scripts/bench-demo-startup.py [path/to/sspr] [runs]
Measures a first start (empty data directory: migrations, key file, seeding with three
argon2id hashes) and a restart on existing data, `runs` times each, and prints the medians.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/sspr"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready_after(data_dir):
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "demo", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - start
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"sspr demo exited with {proc.returncode}")
            if time.perf_counter() - start > 30:
                raise SystemExit("sspr demo did not answer within 30 s")
            time.sleep(0.001)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


first, again = [], []
for _ in range(runs):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "demo")
        first.append(ready_after(data))
        again.append(ready_after(data))
print(f"sspr demo ready (new data):      median {statistics.median(first) * 1000:.0f} ms, "
      f"max {max(first) * 1000:.0f} ms over {runs} runs")
print(f"sspr demo ready (existing data): median {statistics.median(again) * 1000:.0f} ms, "
      f"max {max(again) * 1000:.0f} ms over {runs} runs")
