#!/usr/bin/env python3
"""Self time per operator from a dae_profile chrome trace (complete events, microseconds)."""
import json
import sys
from collections import defaultdict


def main(path, top=30):
    events = [e for e in json.load(open(path)) if e.get("ph") == "X"]
    events.sort(key=lambda e: (e.get("tid"), e["ts"], -e["dur"]))
    self_time = defaultdict(float)
    calls = defaultdict(int)
    stack = []  # (end, name) per thread
    for e in events:
        while stack and (stack[-1][2] != e.get("tid") or stack[-1][0] <= e["ts"]):
            stack.pop()
        if stack:
            self_time[stack[-1][1]] -= e["dur"]
        self_time[e["name"]] += e["dur"]
        calls[e["name"]] += 1
        stack.append((e["ts"] + e["dur"], e["name"], e.get("tid")))
    total = sum(self_time.values())
    print(f"{'operator':48s} {'self ms':>10s} {'%':>6s} {'calls':>7s}")
    for name, t in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{name[:48]:48s} {t / 1e3:10.2f} {100 * t / total:6.1f} {calls[name]:7d}")
    print(f"{'total':48s} {total / 1e3:10.2f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30)
