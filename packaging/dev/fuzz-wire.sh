#!/usr/bin/env bash
# libFuzzer over the wire decoders (Tools/Fuzz/WireFuzzTarget.swift), bounded in time.
# Builds the target with swiftc -sanitize=fuzzer,address from the sources of
# Common/Wire (Payload, Messages, Topics, Identity/DeviceID.swift) and the two OutpostSupport files
# they use (nothing beyond Foundation), seeds it with
# the valid and bad payload vectors of Tests/WireTests/Vectors, and runs it for
# FUZZ_SECONDS (default 60). A crash, sanitizer report, hang (> 10 s per input), failed
# round trip or a telemetry payload the direct decoder and JSONDecoder disagree on stops the run with the input saved under .build/fuzz/findings/: add it to
# Tests/WireTests/Vectors/bad-payloads.json (with the code it must yield) and fix it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/fuzz
seconds="${FUZZ_SECONDS:-60}"
mkdir -p "$out/corpus" "$out/findings"
rm -rf "$out/seeds" && mkdir -p "$out/seeds"

# The two OutpostSupport files the wire code uses (CodedError, JSONValue) as a module of their own.
mkdir -p "$out/modules"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name OutpostSupport -emit-module \
    -emit-module-path "$out/modules/OutpostSupport.swiftmodule" -emit-library -static -o "$out/libOutpostSupport.a" \
    Common/Support/Errors/CodedError.swift Common/Support/JSON/JSONValue.swift
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name OutpostWire -I "$out/modules" \
    Common/Wire/Payload/*.swift Common/Wire/Messages/*.swift Common/Wire/Identity/DeviceID.swift Common/Wire/Topics/*.swift \
    Tools/Fuzz/WireFuzzTarget.swift "$out/libOutpostSupport.a" -o "$out/wire-fuzz"

# Seeds: the first byte selects the decoder (see the target), bit 7 set means no topic device.
python3 - "$out/seeds" <<'PY'
import json, os, sys
out = sys.argv[1]
vectors = "Tests/WireTests/Vectors"
kinds = {"telemetry": 0, "state": 1, "events": 2, "cmd/result": 3, "cmd": 4, "ack": 5}
files = {"telemetry.json": 0, "state-online.json": 1, "state-offline.json": 1, "event.json": 2,
         "command-result-ok.json": 3, "command-result-error.json": 3, "command.json": 4, "ack.json": 5}
count = 0
def seed(selector, payload):
    global count
    with open(os.path.join(out, "seed-%04d" % count), "wb") as f:
        f.write(bytes([selector]) + payload)
    count += 1
for name, kind in files.items():
    payload = open(os.path.join(vectors, "valid", name), "rb").read()
    seed(kind, payload)
    seed(0x80 | kind, payload)
for case in json.load(open(os.path.join(vectors, "bad-payloads.json"))):
    kind = kinds.get(case["topic"], 6)
    payload = case["payload"].encode() if case.get("payload") is not None else bytes.fromhex(case.get("payloadHex") or "")
    seed(kind if case.get("topicDevice") == "meter-0042" else 0x80 | kind, payload)
seed(6, b"outpost/v1/meter-0042/telemetry")
print("fuzz-wire: %d seeds" % count)
PY

"$out/wire-fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$out/findings/" "$out/corpus" "$out/seeds"
