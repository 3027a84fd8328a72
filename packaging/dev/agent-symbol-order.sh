#!/usr/bin/env bash
# Writes Agent/symbol-order.txt: the functions the release agent runs, in the order it first
# runs them, for lld's --symbol-ordering-file (Package.swift, the outpost-agent target).
#
# Why: a read fault on the binary maps the neighbouring page-cache pages too (fault-around and
# large folios), so the agent's resident code follows how widely the code it runs is spread over
# its 11 MB of .text, not how much of it runs (docs/performance.md, "Issue 20, session 10").
# Placing the functions that run first and together packs them into a few hundred KB.
#
# How: `--version`, then `run` with 10 meter sources at 1 Hz for SECONDS (default 30) against a
# throwaway stack on loopback (packaging/dev/stack.sh) and stopped by SIGTERM, each under
# valgrind's callgrind; the names are the functions callgrind saw inside the binary.
# A stale list costs only locality: lld ignores names the binary no longer has.
#
# Usage: agent-symbol-order.sh AGENT AGGREGATOR [SECONDS]
#   AGENT, AGGREGATOR: release binaries, unstripped (e.g. .build-release/…/release/outpost-agent).
# Needs valgrind, PostgreSQL and mosquitto (packaging/dev/install-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
agent="$(realpath "$1")"
export STACK_AGG STACK_ROOT="$root"
STACK_AGG="$(realpath "$2")"
seconds="${3:-30}"
out="$root/Agent/symbol-order.txt"
work="$root/.state/symbol-order"

# shellcheck source=packaging/dev/stack.sh
. "$root/packaging/dev/stack.sh"
stack_init "$work" 56532 59983 59543
trap 'stack_stop "$work" >/dev/null 2>&1 || true' EXIT

# callgrind cannot read the Swift DWARF of the release build; the symbol table is all it needs.
profiled="$work/outpost-agent"
strip --strip-debug -o "$profiled" "$agent"
callgrind=(valgrind --tool=callgrind --demangle=no --dump-instr=no)

"${callgrind[@]}" --callgrind-out-file="$work/version.cg" "$profiled" --version >/dev/null 2>"$work/logs/version.log"

stack_start_postgres
stack_configure symbol-order 2>>"$work/logs/setup.log"
stack_start_mosquitto
stack_start_aggregator
dir="$work/agent"
stack_enroll_meters "$agent" symbol-order "$dir" 2>>"$work/logs/setup.log"
"${callgrind[@]}" --callgrind-out-file="$work/run.cg" "$profiled" run --config "$dir/agent.json" \
    >"$work/logs/agent.log" 2>&1 &
stack_record agent $!
sleep "$seconds"
STACK_STOP_TRIES=600 stack_stop_one agent >/dev/null

python3 - "$profiled" "$work/version.cg" "$work/run.cg" >"$out" <<'PYEND'
import re, sys
# Every function that ran has a cost block "fn=(id) name" (later "fn=(id)") under the "ob=" of its object.
binary, files = sys.argv[1], sys.argv[2:]
seen, names = set(), []
for path in files:
    objects, functions, ob = {}, {}, None
    for line in open(path, errors="replace"):
        match = re.match(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not match:
            continue
        kind, key, name = match.groups()
        table = objects if kind in ("ob", "cob") else functions
        if name:
            table[key] = name
        if kind == "ob":
            ob = objects.get(key)
        elif kind == "fn":
            name = re.sub(r"'\d+$", "", functions.get(key) or "")  # callgrind marks recursion levels: f'2
            if ob == binary and name and not name.startswith("0x") and name not in seen:
                seen.add(name)
                names.append(name)
print("\n".join(names))
PYEND
echo "$out: $(wc -l <"$out") functions"
