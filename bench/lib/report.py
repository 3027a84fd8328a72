#!/usr/bin/python3
"""Merges the phase results of `make bench` into one JSON document with the machine's
description, writes bench/results/<UTC timestamp>.json and latest.json, and prints the table."""
import argparse
import datetime
import json
import os
import platform
import subprocess


def run(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(pg_bin):
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem_kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    mosquitto = next((l for l in run("mosquitto", "-h").splitlines() if "version" in l), "")
    commit = run("git", "rev-parse", "HEAD")
    dirty = bool(run("git", "status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu_model": model, "cores": os.cpu_count(), "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "os": run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "postgresql": run(f"{pg_bin}/postgres", "-V"), "mosquitto": mosquitto.strip(),
        "swift": run("swift", "--version").splitlines()[0] if run("swift", "--version") else "",
        "git_commit": commit + ("-dirty" if dirty else ""), "load_average_at_end": list(os.getloadavg()),
    }


def busiest(cpu, names=None):
    """'aggregator 98%, postgres 61% (machine 197% of 200%)' from a procsample result."""
    if not cpu:
        return ""
    procs = sorted(((v["cpu_pct_mean"], k) for k, v in cpu["processes"].items() if names is None or k in names), reverse=True)
    text = ", ".join(f"{k} {p:.0f}%" for p, k in procs)
    return f"{text} (machine {cpu['machine_cpu_pct']:.0f}% of {cpu['cores'] * 100}%)"


def fmt(value, unit="", digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def table(r):
    rows = []
    ing = r.get("ingest")
    if ing:
        for run in ing.get("runs", [ing]):
            label = f" (run {run['run']})" if "run" in run else ""
            e2e = run["end_to_end"]
            rows.append((f"1 ingest end to end{label}", f"{fmt(e2e['rows_per_second'])} readings/s stored (backlogs of at least {fmt(e2e.get('backlog_per_device_min'))}; "
                                                     f"fewest left in a buffer at the end {fmt(e2e.get('min_left_per_device_at_t2'))}"
                                                     f"{'' if e2e.get('saturated', True) else ', NOT SATURATED: a buffer ran empty'}; dropped {e2e.get('dropped')})",
                         busiest(run["end_to_end_cpu"])))
            rows.append((f"1 psql \\copy, same rows{label}", f"{fmt(run['copy']['rows_per_second'])} rows/s ({run['copy']['rows']:,} rows)", busiest(run["copy"]["cpu"])))
            per = run.get("cpu_seconds_per_million_readings")
            rows.append((f"1 ratio end to end / copy{label}", f"{run['ratio_end_to_end_over_copy']:.2f}",
                         f"CPU s per million stored: aggregator {fmt(per['aggregator'], digits=2)}, postgres {fmt(per['postgres'], digits=2)} (\\copy: postgres {fmt(per['postgres_copy'], digits=2)})" if per else ""))
        if "ratio_median" in ing:
            per = ing["cpu_seconds_per_million_readings_median"]
            rows.append((f"1 ratio end to end / copy, median of {len(ing['runs'])}", f"{ing['ratio_median']:.2f}",
                         f"median CPU s per million stored: aggregator {fmt(per['aggregator'], digits=2)}, postgres {fmt(per['postgres'], digits=2)}"))
    base = r.get("baseline")
    if base:
        naive = base["naive"]
        rows.append(("2 naive INSERT+COMMIT per reading", f"{fmt(naive['rows_per_second'])} readings/s", busiest(base["cpu"])))
        if ing and naive["rows_per_second"]:
            rows.append(("2 ratio Outpost / naive", f"{ing['end_to_end']['rows_per_second'] / naive['rows_per_second']:.1f}x", ""))
    dec = r.get("decode")
    if dec:
        rows.append(("1 telemetry decode, instructions per reading", f"{fmt(dec['ir_per_reading_direct'])} direct vs {fmt(dec['ir_per_reading_jsondecoder'])} JSONDecoder ({dec['ratio']:.1f}x fewer)",
                     "callgrind, 500-reading batches, one binary"))
    fp = r.get("footprint")
    if fp:
        live, drain = fp["live"]["processes"]["agent"], fp["drain"]["processes"]["agent"]
        if "binary_stripped_bytes" in fp:
            rows.append(("3 agent binary, stripped", f"{fp['binary_stripped_bytes'] / 1e6:.1f} MB; --version RSS peak {fp['version']['rss_mib_peak']} MiB", ""))
        rows.append(("3 agent, 10 sources at 1 Hz", f"RSS peak {live['rss_mib_peak']} MiB, steady {live['rss_mib_last']} MiB; CPU mean {live['cpu_pct_mean']}%, peak {live['cpu_pct_peak']}%", ""))
        sm = fp.get("live_smaps_rollup_mib")
        if sm:
            rows.append(("3 agent smaps_rollup at the end", f"RSS {sm['Rss']} MiB, PSS {sm['Pss']} MiB, private dirty {sm['Private_Dirty']} MiB, anonymous {sm['Anonymous']} MiB", ""))
        rows.append(("3 agent draining backlog", f"{fp['backlog']:,} readings in {fp['drain_seconds']:.1f} s ({fmt(fp['drain_rows_per_second'])}/s); RSS peak {drain['rss_mib_peak']} MiB; CPU mean {drain['cpu_pct_mean']}%, peak {drain['cpu_pct_peak']}%",
                     f"adaptive drain (AIMD on ack latency, from 5,000/s up to drain_rate 100,000/s); machine {fp['drain']['machine_cpu_pct']:.0f}%"))
    fd = r.get("fleetdrain")
    if fd:
        lat, backlog = fd["live_capture_to_store_ms"], fd["backlog"]
        rows.append((f"3 fleet drain, {fd['devices_draining']} backlogs beside {fd['devices_live']} live devices",
                     f"{fd['stored']:,} of {backlog['left']:,} backlog readings stored in {fmt(fd['drain_seconds'], ' s', 1)}"
                     f"{'' if fd['pending_after_drain'] == 0 else ' (drain timeout)'}, duplicates {fd['stored'] - fd['stored_distinct_device_seq']}, all stored once: {fd['stored_exactly_once']}; "
                     f"live capture-to-store p50 {fmt(lat['p50'], ' ms')}, p99 {fmt(lat['p99'], ' ms')} (before the drain {fmt(lat['p99_before_drain'], ' ms')})",
                     busiest(fd["cpu"])))
    buf = r.get("buffer")
    if buf:
        for mode in ("full", "normal"):
            b = buf[mode]
            rows.append((f"4 buffer synchronous={mode}", f"append {fmt(b['append_rows_per_second'])} rows/s, drain {fmt(b['drain_rows_per_second'])} rows/s", "outpost-bench (one core, fsync)"))
    api = r.get("api")
    if api:
        for name in ("device_list", "readings_1h"):
            a = api.get(name)
            if a:
                rows.append((f"5 API {name} (c={api['connections']})", f"p50 {a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms, {fmt(a['requests_per_second'])} req/s, errors {a['socket_errors'] + a['non_2xx']}",
                             busiest(a["cpu"])))
        pg = api.get("pgbench_device_list")
        if pg:
            rows.append((f"5 pgbench -f device list SQL (c={api['connections']})", f"{fmt(pg['transactions_per_second'])} queries/s, mean {pg['latency_ms_mean']:.1f} ms", busiest(pg["cpu"])))
        if "ratio_device_list_over_pgbench" in api:
            rows.append(("5 ratio API device list / pgbench", f"{api['ratio_device_list_over_pgbench']:.2f}", ""))
    rtp = r.get("rtp")
    if rtp:
        rows.append(("6 RTP 1080p30 stream", f"{rtp['cpu_seconds_per_stream_second']:.3f} CPU s per stream s ({rtp['cpu_pct_of_one_core']:.1f}% of a core), {rtp['bitrate_mbit']:.1f} Mbit/s, RSS {rtp['agent_rss_mib_peak']} MiB",
                     busiest(rtp["cpu"])))
    console = r.get("console")
    if console:
        first = console["first_page"]
        rows.append((f"9 console fleet page, {console.get('devices_listed', 0):,} devices", f"first page (100 rows) median {first['full_load_ms_median']:.0f} ms from navigation start (full load), "
                     f"{first['navigation_ms_median']:.0f} ms in-app; {len(first['full_load_ms'])} loads each", "headless Chromium"))
        events = console["live_events"]
        for key, label in (("idle", "none made (idle baseline)"), ("page_closed", "UPDATEs, no subscriber"), ("feed_only", "UPDATEs, one SSE client"),
                           ("page_open", "UPDATEs, fleet page open"), ("mqtt_page_open", "MQTT state messages, fleet page open")):
            w = events.get(key)
            if not w:
                continue
            aggregator = w["cpu"]["processes"]["aggregator"]["cpu_pct_mean"]
            made = w["driver"].get("published", w["driver"].get("changed"))
            value = f"aggregator {aggregator:.1f}% of a core; made {made:,}"
            if w.get("via") == "mqtt":
                value += f", stored {w['stored_status_changes']:,} (settled {w['settle_seconds']:.0f} s later)"
            if "feed_status_events" in w:
                value += f", client read {w['feed_status_events']:,}"
            if "page_status_updates" in w:
                value += f", page applied {w['page_status_updates']:,}"
            rate = 0 if key == "idle" else events["rate"]
            rows.append((f"9 {rate:,.0f} status changes/s for {events['seconds']:.0f} s, {label}", value, busiest(w["cpu"])))
    live = r.get("live")
    if live and "latencyMs" in live:
        rows.append(("7 live view, agent → Chromium via Janus",
                     f"latency median {live['latencyMs']['median']:.1f} ms, p95 {live['latencyMs']['p95']:.1f} ms; "
                     f"{live['packetsPerSecondOneViewer']:.0f} pkt/s with 1 viewer, {live['packetsPerSecondTwoViewers']:.0f} with 2", "—"))
    patroni = r.get("patroni")
    if patroni and patroni.get("lines"):
        rows.append(("8 Patroni (sync replica, TLS; debug client)", "; ".join(patroni["lines"]), "—"))
    width = max(len(r[0]) for r in rows) if rows else 0
    lines = [f"{'figure'.ljust(width)} | value | busiest processes (mean CPU, 100% = one core)"]
    lines += [f"{a.ljust(width)} | {b} | {c}" for a, b, c in rows]
    return "\n".join(lines), rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--build-seconds", type=int, default=0)
    parser.add_argument("--total-seconds", type=int, default=0)
    parser.add_argument("--failed", default="")
    parser.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    args = parser.parse_args()
    results = {}
    for name in sorted(os.listdir(args.parts)):
        if name.endswith(".json"):
            results[name[:-5]] = json.load(open(os.path.join(args.parts, name)))
    now = datetime.datetime.now(datetime.timezone.utc)
    document = {"when": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(args.pg_bin),
                "settings": {k: v for k, v in os.environ.items() if k.startswith("BENCH_") and k not in ("BENCH_ROOT", "BENCH_WORK", "BENCH_PARTS", "BENCH_CACHE")},
                "build_seconds": args.build_seconds, "total_seconds": args.total_seconds,
                "failed_phases": args.failed.split(), "results": results}
    text, rows = table(results)
    document["table"] = [{"figure": a, "value": b, "busiest": c} for a, b, c in rows]
    os.makedirs(args.out_dir, exist_ok=True)
    stamped = os.path.join(args.out_dir, now.strftime("%Y%m%dT%H%M%SZ") + ".json")
    for path in (stamped, os.path.join(args.out_dir, "latest.json")):
        with open(path + ".tmp", "w") as f:
            json.dump(document, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(path + ".tmp", path)
    m = document["machine"]
    print(f"\nOutpost bench, {document['when']}, {m['cpu_model']} ×{m['cores']}, {m['ram_gib']} GiB, {m['git_commit'][:12]}")
    print(text)
    print(f"\nwritten: {stamped} and latest.json (build {args.build_seconds}s, total {args.total_seconds}s)")


if __name__ == "__main__":
    main()
