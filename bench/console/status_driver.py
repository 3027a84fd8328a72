#!/usr/bin/python3
"""Device status changes at a fixed rate through the real path, for `make bench`'s console phase.

Each enrolled device directory under DIR (its `agent.json` names the broker and the device's
certificate) gets one MQTT v5 connection over TLS, as the agent makes it. The devices then take
turns publishing their state message (QoS 1, retained, as the agent publishes it) to
`outpost/v1/{device}/state`, each one alternating online and offline, so that every message is
a status change: RATE messages a second in all, for SECONDS. The aggregator stores each change
and PostgreSQL announces it to the console's live-event feed (migration 0032).

    status_driver.py --devices-dir DIR --rate 1000 --seconds 20

Prints one JSON line: devices, published, publish_seconds, behind (ticks the loop ran late).
Debian packages only: python3-paho-mqtt.
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

parser = argparse.ArgumentParser()
parser.add_argument("--devices-dir", required=True)
parser.add_argument("--rate", type=float, default=1000)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--connect-timeout", type=float, default=30)
args = parser.parse_args()

TICK = 0.01


def connect(directory):
    config = json.load(open(os.path.join(directory, "agent.json")))
    device, broker = config["device_id"], config["mqtt"]
    connected = threading.Event()
    client = mqtt.Client(client_id=device, protocol=mqtt.MQTTv5)
    context = ssl.create_default_context(cafile=broker["ca_file"])
    context.load_cert_chain(broker["cert_file"], broker["key_file"])
    context.check_hostname = False
    client.tls_set_context(context)
    client.on_connect = lambda *_a, **_k: connected.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(broker["host"], int(broker["port"]), keepalive=30, clean_start=True, properties=properties)
    client.loop_start()
    return device, client, connected


devices = [connect(os.path.join(args.devices_dir, name)) for name in sorted(os.listdir(args.devices_dir))
           if os.path.exists(os.path.join(args.devices_dir, name, "agent.json"))]
deadline = time.monotonic() + args.connect_timeout
for device, _, connected in devices:
    if not connected.wait(max(0.0, deadline - time.monotonic())):
        sys.exit(f"{device} did not connect within {args.connect_timeout}s")

online = {device: False for device, _, _ in devices}
published, behind, turn = 0, 0, 0
started = time.monotonic()
next_tick = started
while (now := time.monotonic()) < started + args.seconds:
    due = int((now - started) * args.rate) - published
    for _ in range(due):
        device, client, _ = devices[turn % len(devices)]
        turn += 1
        online[device] = not online[device]
        state = {"v": 1, "device": device, "status": "online" if online[device] else "offline", "ts": int(time.time() * 1000)}
        client.publish(f"outpost/v1/{device}/state", json.dumps(state, separators=(",", ":")), qos=1, retain=True)
        published += 1
    next_tick += TICK
    pause = next_tick - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    else:
        behind += 1
publish_seconds = time.monotonic() - started
time.sleep(1)  # the last QoS 1 handshakes
for _, client, _ in devices:
    client.disconnect()
    client.loop_stop()
print(json.dumps({"devices": len(devices), "published": published, "publish_seconds": round(publish_seconds, 3),
                  "rate": args.rate, "ticks_behind": behind}))
