#!/usr/bin/env bash
# Ends servers a crashed test run left behind, by the PIDs the harness recorded. Never by name.
set -u
dir="${1:?pid directory}"
[ -d "$dir" ] || exit 0
for file in "$dir"/*; do
    [ -e "$file" ] || continue
    pid="$(basename "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        echo "reaping leftover $(cat "$file") (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
done
rmdir "$dir" 2>/dev/null || true
