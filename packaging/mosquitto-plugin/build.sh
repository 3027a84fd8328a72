#!/usr/bin/env bash
# Builds the mosquitto plugin outpost_subscribe_guard.so into $1 (default .build/mosquitto-plugin).
# Needs the broker plugin headers (Debian: mosquitto-dev) and a C compiler (the Swift
# toolchain's clang, or cc).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../.build/mosquitto-plugin}"
mkdir -p "$out"
compiler="$(command -v clang || command -v cc)"
"$compiler" -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -o "$out/outpost_subscribe_guard.so" "$here/outpost_subscribe_guard.c"
echo "$out/outpost_subscribe_guard.so"
