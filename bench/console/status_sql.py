#!/usr/bin/python3
"""Device status changes at a fixed rate written straight to `devices`, for `make bench`'s console phase.

The live-event feed is fed by PostgreSQL: the `devices` trigger of migration 0032 announces
every status change on `outpost_events`, whichever writer made it. This driver makes RATE such
changes a second for SECONDS without the broker and the aggregator's presence writes: every
50 ms one UPDATE flips the status of each device named with PREFIX (so RATE/20 devices are
needed). It measures the feed at the full rate when the presence path cannot carry it.

    status_sql.py --dsn DSN --prefix a-sse- --rate 1000 --seconds 20

Prints one JSON line: devices, changed (rows updated), publish_seconds, ticks_behind.
Debian packages only: python3-psycopg2.
"""
import argparse
import json
import sys
import time

import psycopg2

parser = argparse.ArgumentParser()
parser.add_argument("--dsn", required=True)
parser.add_argument("--prefix", required=True)
parser.add_argument("--rate", type=float, default=1000)
parser.add_argument("--seconds", type=float, default=20)
args = parser.parse_args()

TICK = 0.05
db = psycopg2.connect(args.dsn)
db.autocommit = True
cursor = db.cursor()
cursor.execute("SELECT id FROM devices WHERE id LIKE %s ORDER BY id", (args.prefix + "%",))
devices = [row[0] for row in cursor.fetchall()]
per_tick = int(round(args.rate * TICK))
if len(devices) < per_tick:
    sys.exit(f"{len(devices)} devices named {args.prefix}*: {per_tick} are needed for {args.rate}/s")
devices = devices[:per_tick]
changed, behind = 0, 0
started = time.monotonic()
next_tick = started
while time.monotonic() < started + args.seconds:
    cursor.execute("UPDATE devices SET status = CASE WHEN status = 'online' THEN 'offline' ELSE 'online' END, "
                   "status_changed_at = now(), status_cause = 'state' WHERE id = ANY(%s)", (devices,))
    changed += cursor.rowcount
    next_tick += TICK
    pause = next_tick - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    else:
        behind += 1
print(json.dumps({"devices": len(devices), "changed": changed, "publish_seconds": round(time.monotonic() - started, 3),
                  "rate": args.rate, "ticks_behind": behind}))
