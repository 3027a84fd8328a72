#!/usr/bin/env python3
"""Checks the shipped Grafana dashboards: each is JSON with a uid, a title and panels whose
targets carry a PromQL expression, and every expression parses (promtool check rules on a
generated file with one recording rule per expression). The metric names are checked
against a live aggregator's /metrics by the Swift test OperationsMetricsTests."""
import json, pathlib, subprocess, sys, tempfile

root = pathlib.Path(__file__).resolve().parents[2] / "packaging" / "grafana"
dashboards = sorted(root.glob("*.json"))
if not dashboards:
    sys.exit(f"no dashboards in {root}")
rules, uids = [], set()
for path in dashboards:
    board = json.loads(path.read_text())
    for key in ("uid", "title", "panels"):
        if not board.get(key):
            sys.exit(f"{path.name}: no {key}")
    if board["uid"] in uids:
        sys.exit(f"{path.name}: uid {board['uid']} used twice")
    uids.add(board["uid"])
    for panel in board["panels"]:
        if not panel.get("targets"):
            sys.exit(f"{path.name}: panel {panel.get('title')!r} has no query")
        for target in panel["targets"]:
            if not target.get("expr"):
                sys.exit(f"{path.name}: panel {panel.get('title')!r} has a target without expr")
            rules.append({"record": f"dashboard:{path.stem.replace('-', '_')}:{len(rules)}", "expr": target["expr"]})
with tempfile.NamedTemporaryFile("w", suffix=".yml") as generated:
    # JSON is YAML: promtool reads this file as a rules file.
    json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, generated)
    generated.flush()
    result = subprocess.run(["promtool", "check", "rules", generated.name], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dashboard PromQL does not parse:\n{result.stdout}{result.stderr}")
print(f"{len(dashboards)} dashboards, {len(rules)} queries: every query parses")
