#!/usr/bin/python3
"""Samples CPU and memory of named process trees from /proc until SIGTERM/SIGINT or --duration.

    procsample.py --out FILE [--interval 0.5] [--duration S] NAME=PID [NAME=PID ...]

Each NAME covers PID and all its descendants (PostgreSQL's work happens in its backends).
Writes one JSON object to FILE at the end:
  {"seconds": wall, "machine_cpu_pct": busy % of all cores (100 = one core busy),
   "cores": n, "processes": {NAME: {"cpu_seconds", "cpu_pct_mean", "cpu_pct_peak",
   "rss_mib_peak", "rss_mib_mean", "rss_mib_last"}}}
CPU% is per core: 100 means one core fully busy, 200 both cores of a 2-core machine.
"""
import json
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def read_stat(pid):
    """(ppid, utime+stime ticks, rss pages) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])


def snapshot():
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat:
                table[int(entry)] = stat
    return table


def tree(root, table):
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def machine_busy():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def main():
    args = sys.argv[1:]
    out, interval, duration, targets = None, 0.5, None, {}
    while args:
        a = args.pop(0)
        if a == "--out":
            out = args.pop(0)
        elif a == "--interval":
            interval = float(args.pop(0))
        elif a == "--duration":
            duration = float(args.pop(0))
        else:
            name, pid = a.split("=", 1)
            targets[name] = int(pid)
    if not out or not targets:
        sys.exit("usage: procsample.py --out FILE [--interval S] [--duration S] NAME=PID ...")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    # Per name: cumulative CPU of the tree as seen; processes that exit take their ticks with them,
    # so ticks are accumulated per PID (last value seen).
    seen = {name: {} for name in targets}
    stats = {name: {"peak_cpu": 0.0, "rss": [], "cpu_samples": []} for name in targets}
    start = time.monotonic()
    busy0, total0 = machine_busy()
    table = snapshot()
    for name, root in targets.items():
        for pid in tree(root, table):
            seen[name][pid] = table[pid][1]
            first_ticks.setdefault(name, {})[pid] = table[pid][1]
    prev_ticks = {name: sum(seen[name].values()) for name in targets}
    prev_time = start
    while not stop:
        time.sleep(interval)
        now = time.monotonic()
        table = snapshot()
        for name, root in targets.items():
            rss = 0
            for pid in tree(root, table):
                _, ticks, pages = table[pid]
                seen[name][pid] = ticks
                rss += pages * PAGE
            total_ticks = sum(seen[name].values())
            pct = 100.0 * (total_ticks - prev_ticks[name]) / TICK / (now - prev_time)
            prev_ticks[name] = total_ticks
            s = stats[name]
            s["cpu_samples"].append(pct)
            s["peak_cpu"] = max(s["peak_cpu"], pct)
            if rss:
                s["rss"].append(rss / 2**20)
        prev_time = now
        if duration is not None and now - start >= duration:
            break
        if all(not os.path.exists(f"/proc/{pid}") for pid in targets.values()):
            break
    wall = time.monotonic() - start
    busy1, total1 = machine_busy()
    cores = os.cpu_count()
    result = {
        "seconds": round(wall, 2),
        "cores": cores,
        "machine_cpu_pct": round(100.0 * cores * (busy1 - busy0) / max(1, total1 - total0), 1),
        "processes": {},
    }
    for name in targets:
        s = stats[name]
        cpu_seconds = (sum(seen[name].values()) - sum(first_ticks.get(name, {}).values())) / TICK
        result["processes"][name] = {
            "cpu_seconds": round(cpu_seconds, 2),
            "cpu_pct_mean": round(100.0 * cpu_seconds / wall, 1) if wall > 0 else 0,
            "cpu_pct_peak": round(s["peak_cpu"], 1),
            "rss_mib_peak": round(max(s["rss"]), 1) if s["rss"] else 0,
            "rss_mib_mean": round(sum(s["rss"]) / len(s["rss"]), 1) if s["rss"] else 0,
            "rss_mib_last": round(s["rss"][-1], 1) if s["rss"] else 0,
        }
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, out)


first_ticks = {}

if __name__ == "__main__":
    main()
