#!/usr/bin/env bash
# Keeps the device agent frugal: it must link FoundationEssentials only, never full Foundation,
# FoundationInternationalization or ICU (about 60 MB of the stripped binary when they crept in).
#
# Checks, without root and in about a second:
#   1. no file under Agent/Sources or Common/ imports Foundation except as the macOS
#      fallback of `#if canImport(FoundationEssentials)`, and none imports
#      FoundationInternationalization, FoundationNetworking or FoundationXML;
#   2. the binary's NEEDED entries name no Foundation or ICU library (a debug build links
#      the Swift libraries dynamically, so a dependency that pulls Foundation in shows here);
#   3. the binary holds no ICU data (its table of contents names `icudt…` entries, which
#      survive stripping, so this also covers static release builds);
#   4. with --max-mb N: the binary, stripped, is smaller than N MB (10^6 bytes);
#   5. no agent or common source imports swift-crypto, swift-certificates or swift-asn1, and the
#      binary carries no BoringSSL (its `CCryptoBoringSSL_` symbols, in an unstripped build): the
#      agent's key, CSR and certificate code uses the system's libcrypto (CLibcrypto).
#   6. the binary does not link libcurl or libsrtp2 (no NEEDED entry): the agent opens them on its
#      first HTTPS request and its first stream (Common/CCurl/shim.h, Common/CSRTP/shim.h), so
#      processes that make none never map them and their libraries.
#
# Usage: check-agent-footprint.sh [--max-mb N] [BINARY]
#   BINARY defaults to outpost-agent in `swift build --show-bin-path` (the debug build).
# Exits non-zero, naming what failed, when any check fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

max_mb=""
binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max-mb) max_mb="$2"; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) binary="$1"; shift ;;
    esac
done
if [ -z "$binary" ]; then
    binary="$(swift build --show-bin-path 2>/dev/null)/outpost-agent"
fi

failures=0
fail() { echo "agent footprint: FAIL $*"; failures=$((failures + 1)); }

# 1. Sources: `import Foundation` only directly after the `#else` of a canImport(FoundationEssentials) guard.
offenders="$(find Agent/Sources Common -name '*.swift' -print0 | xargs -0 awk '
    FNR == 1 { guard = 0; previous = "" }
    /^[[:space:]]*#if[[:space:]]+canImport\(FoundationEssentials\)/ { guard = 1 }
    /^[[:space:]]*#endif/ { guard = 0 }
    /^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*import[[:space:]]+(Foundation(International[a-z]*|Networking|XML)?)([[:space:]]|$|\.)/ {
        if (!($0 ~ /import[[:space:]]+Foundation[[:space:]]*$/ && guard && previous ~ /^[[:space:]]*#else/)) {
            print FILENAME ":" FNR ": " $0
        }
    }
    { if ($0 !~ /^[[:space:]]*$/) previous = $0 }
')"
[ -z "$offenders" ] || fail "full Foundation imported outside a canImport(FoundationEssentials) guard:
$offenders"

# 5. Sources: the agent's identity cryptography goes through the system's libcrypto.
crypto_imports="$(grep -rnE '^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*import[[:space:]]+(Crypto|_CryptoExtras|X509|SwiftASN1)([[:space:]]|$)' \
    Agent/Sources Common || true)"
[ -z "$crypto_imports" ] || fail "swift-crypto, swift-certificates or swift-asn1 imported by agent code (use CLibcrypto):
$crypto_imports"

# 2, 3, 5 and 6. The binary.
if [ ! -f "$binary" ]; then
    fail "$binary does not exist: build it first (swift build --product outpost-agent)"
else
    needed="$(objdump -p "$binary" | awk '/NEEDED/ {print $2}')"
    bad="$(echo "$needed" | grep -E '^lib(Foundation|FoundationInternationalization|FoundationNetworking|FoundationXML|_FoundationICU|icu[a-z0-9]*)\.so' || true)"
    [ -z "$bad" ] || fail "$binary links $(echo "$bad" | paste -sd' ')"
    linked="$(echo "$needed" | grep -E '^lib(curl|srtp2)\.so' || true)"
    [ -z "$linked" ] || fail "$binary links $(echo "$linked" | paste -sd' '): the agent opens them on first use (Common/CCurl/shim.h, Common/CSRTP/shim.h)"
    if grep -a -q -E 'icudt[0-9]+[lb]' "$binary"; then
        fail "$binary contains ICU data (icudt…): full Foundation is linked statically"
    fi
    if grep -a -q 'CCryptoBoringSSL_' "$binary"; then
        fail "$binary contains BoringSSL (CCryptoBoringSSL_ symbols): swift-crypto is linked into the agent"
    fi
    if [ -n "$max_mb" ]; then
        stripped="$(mktemp)"
        strip --strip-unneeded -o "$stripped" "$binary"
        bytes="$(stat -c %s "$stripped")"
        rm -f "$stripped"
        [ "$bytes" -lt $((max_mb * 1000000)) ] || fail "$binary is $bytes bytes stripped, over the budget of $max_mb MB"
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "agent footprint: see docs/agent.md, \"Footprint\", for what to use instead"
    exit 1
fi
echo "agent footprint: ok ($binary: FoundationEssentials only, no ICU, no BoringSSL${max_mb:+, stripped ${bytes} bytes < ${max_mb} MB})"
