#!/usr/bin/python3
"""The naive ingest the seeds used, as a reference for `make bench` (not part of Outpost).

It consumes the same telemetry stream as the aggregator -- the same devices, the same
TelemetryBatch payloads, the same broker over TLS with a service certificate -- and stores it
the way the seeds did: every reading is its own INSERT, followed by its own COMMIT (the
seeds sent one reading per message; the simulator batches readings, so each reading of a
batch gets the treatment one seed message got). After a message's readings are committed it
publishes the same ack the aggregator would, so the devices delete them and keep sending,
and the stream is the same one the aggregator sees.

Deliberately naive: one connection, autocommit off, one round trip and one fsync'd commit
per reading, all inside paho's network thread (so a slow database also slows the broker
session, as it did in the seeds). Debian packages only: python3-paho-mqtt, python3-psycopg2.

    naive_ingest.py --host 127.0.0.1 --port P --ca CA --cert CERT --key KEY --dsn DSN [--seconds S]

Runs until SIGTERM/SIGINT (or S seconds), then prints one JSON line with its counts.
"""
import argparse
import json
import signal
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
import psycopg2

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--ca", required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--client-id", default="")
parser.add_argument("--dsn", required=True)
parser.add_argument("--seconds", type=float, default=None)
args = parser.parse_args()

db = psycopg2.connect(args.dsn)
cursor = db.cursor()
counts = {"messages": 0, "inserted": 0, "duplicates": 0, "acks": 0, "errors": 0}
stop = threading.Event()


def ranges(seqs):
    """Contiguous inclusive [first, last] ranges of the seqs, as the ack carries them."""
    out = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        elif not out or seq > out[-1][1]:
            out.append([seq, seq])
    return out


def on_message(client, _userdata, message):
    if stop.is_set():
        return  # stopping: leave the rest unacked (the devices keep it and re-send)
    try:
        batch = json.loads(message.payload)
        device, buffer_hex = batch["device"], batch["buffer"]
        buffer_id = int(buffer_hex, 16)
        if buffer_id >= 1 << 63:  # PostgreSQL keeps the same 64 bits as a signed bigint
            buffer_id -= 1 << 64
    except (ValueError, KeyError, TypeError):
        counts["errors"] += 1
        return
    stored = []
    for reading in batch.get("readings", []):
        if stop.is_set():
            return
        try:
            # The naive pattern: one statement and one commit per reading.
            cursor.execute(
                "INSERT INTO readings (device, buffer, seq, ts, metric, value) "
                "VALUES (%s, %s, %s, to_timestamp(%s / 1000.0), %s, %s)",
                (device, buffer_id, reading["seq"], reading["ts"], reading["metric"], reading["value"]))
            db.commit()
            counts["inserted"] += 1
        except psycopg2.IntegrityError:
            db.rollback()  # already stored (a re-send): nothing to insert, still acked
            counts["duplicates"] += 1
        stored.append(reading["seq"])
    counts["messages"] += 1
    for start in range(0, len(stored), 1000):
        chunk = ranges(stored)[start:start + 1000]
        if not chunk:
            break
        ack = {"v": 1, "device": device, "buffer": buffer_hex, "ranges": chunk}
        client.publish(f"outpost/v1/{device}/ack", json.dumps(ack, separators=(",", ":")), qos=1)
        counts["acks"] += 1


def on_connect(client, _userdata, _flags, reason, _properties=None):
    if reason != 0:
        print(f"connect refused: {reason}", file=sys.stderr)
        stop.set()
        return
    client.subscribe("$share/outpost/outpost/v1/+/telemetry", qos=1)


client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv5)
context = ssl.create_default_context(cafile=args.ca)
context.load_cert_chain(args.cert, args.key)
context.check_hostname = False
client.tls_set_context(context)
client.on_connect = on_connect
client.on_message = on_message
properties = Properties(PacketTypes.CONNECT)
properties.SessionExpiryInterval = 0
client.connect(args.host, args.port, keepalive=30, clean_start=True, properties=properties)
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
client.loop_start()
stop.wait(args.seconds)
client.disconnect()
client.loop_stop()
db.close()
print(json.dumps(counts))
