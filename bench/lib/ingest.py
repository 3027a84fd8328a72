#!/usr/bin/python3
"""The ingest phase's figures (bench/run.sh).

    ingest.py run WORK N ROWS COPY_START COPY_END LOADAVG   one run's figures as JSON on stdout
    ingest.py median WORK RUNS                              the phase's part: every run, the median

A run's end-to-end window (WORK/ingest-N.window.json) and CPU samples (ingest-N.cpu.json), the
\\copy of the same rows (copy-N.cpu.json and the times given), their ratio, and the centre's CPU
per million stored readings: aggregator and PostgreSQL apart, so that what the load generator
costs on the same cores does not enter it.
"""
import json
import statistics
import sys


def per_million(cpu, name, stored):
    process = cpu["processes"].get(name)
    if not process or not stored:
        return None
    return round(process["cpu_seconds"] / stored * 1e6, 2)


def run(work, n, rows, start, end, loadavg):
    window = json.load(open(f"{work}/ingest-{n}.window.json"))
    cpu = json.load(open(f"{work}/ingest-{n}.cpu.json"))
    copy_cpu = json.load(open(f"{work}/copy-{n}.cpu.json"))
    copy_rate = rows / (end - start)
    stored = window["stored"]
    return {"run": n, "end_to_end": window, "end_to_end_cpu": cpu,
            "copy": {"rows": rows, "seconds": end - start, "rows_per_second": copy_rate, "cpu": copy_cpu},
            "ratio_end_to_end_over_copy": window["rows_per_second"] / copy_rate,
            "cpu_seconds_per_million_readings": {"aggregator": per_million(cpu, "aggregator", stored),
                                                 "postgres": per_million(cpu, "postgres", stored),
                                                 "postgres_copy": per_million(copy_cpu, "postgres", rows)},
            "load_average_at_end": [float(x) for x in loadavg.split()[:3]]}


def median(work, runs):
    results = [json.load(open(f"{work}/ingest-{n}.json")) for n in range(1, runs + 1)]
    ordered = sorted(results, key=lambda r: r["ratio_end_to_end_over_copy"])
    middle = ordered[(len(ordered) - 1) // 2]

    def median_of(key):
        values = [r["cpu_seconds_per_million_readings"][key] for r in results if r["cpu_seconds_per_million_readings"][key] is not None]
        return statistics.median(values) if values else None
    # The median run's figures stay where a single run's were, so earlier readers of the JSON still work.
    return {"runs": results, "median_run": middle["run"],
            "ratio_median": statistics.median(r["ratio_end_to_end_over_copy"] for r in results),
            "cpu_seconds_per_million_readings_median": {key: median_of(key) for key in ("aggregator", "postgres", "postgres_copy")},
            "end_to_end": middle["end_to_end"], "end_to_end_cpu": middle["end_to_end_cpu"], "copy": middle["copy"],
            "ratio_end_to_end_over_copy": middle["ratio_end_to_end_over_copy"]}


if __name__ == "__main__":
    command, work = sys.argv[1], sys.argv[2]
    if command == "run":
        print(json.dumps(run(work, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7])))
    elif command == "median":
        print(json.dumps(median(work, int(sys.argv[3]))))
    else:
        sys.exit(f"unknown command {command}")
