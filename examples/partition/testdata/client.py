#!/usr/bin/env python3
"""client: fetch a URL, retrying until a deadline.

Usage: client URL DEADLINE_SECONDS

Prints "retrying: REASON" after each failed attempt, then "got: BODY" and
exits 0, or "gave up after Ns: REASON" and exits 1.
"""
import sys
import time
import urllib.request

url, deadline = sys.argv[1], float(sys.argv[2])
start = time.monotonic()
while True:
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode().strip()
        print("got:", body, flush=True)
        sys.exit(0)
    except OSError as e:
        reason = e
    if time.monotonic() - start >= deadline:
        print(f"gave up after {deadline:g}s: {reason}", flush=True)
        sys.exit(1)
    print("retrying:", reason, flush=True)
    time.sleep(0.5)
