#!/usr/bin/env bash
# Builds outpost-agent_VERSION_ARCH.deb and outpost-aggregator_VERSION_ARCH.deb into dist/.
#
# Release builds, Swift standard library linked statically, stripped. Depends: is read off
# the binaries' NEEDED entries (objdump), resolved to the Debian packages that ship them.
#
# Usage: build-deb.sh [--only NAME]
#   --only outpost-agent builds one package. Packages are revision 1; packaging/deb/repack-deb.sh
#   makes another revision of the same build (the upgrade tests).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Common/Support/OutpostVersion.swift)"
[ -n "$version" ] || { echo "cannot read the version from Common/Support/OutpostVersion.swift" >&2; exit 1; }
debversion="$version-1"
arch="$(dpkg --print-architecture)"
scratch="$root/.build-release"
dist="$root/dist"
mkdir -p "$dist"

for product in outpost-agent outpost-aggregator; do
    [ -z "$only" ] || [ "$only" = "$product" ] || continue
    swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product"
done
bindir="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"

# The Debian packages that ship the shared libraries a binary links, and the ones it opens at run
# time (dlopen: the libraries after the binary), with >= their installed version.
depends_of() {
    local binary="$1" lib path pkg ver deps=()
    shift
    for lib in $(objdump -p "$binary" | awk '/NEEDED/ {print $2}') "$@"; do
        path="$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|aarch64|64bit/ {print $NF; exit}')"
        [ -n "$path" ] || path="$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')"
        [ -n "$path" ] || { echo "cannot resolve $lib for $binary" >&2; exit 1; }
        pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)"
        [ -n "$pkg" ] || pkg="$(dpkg -S "$path" | head -1 | cut -d: -f1)"
        ver="$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//')"
        deps+=("$pkg (>= $ver)")
    done
    printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

# A man page from the program's own --help, so it never drifts from the binary.
man_page() {
    local name="$1" binary="$2" out="$3"
    {
        echo ".TH $(echo "$name" | tr a-z A-Z) 1 \"$(date -u +%Y-%m-%d)\" \"Outpost $version\" \"Outpost\""
        echo ".SH NAME"
        echo "$name \\- $(echo "$4" | head -1)"
        echo ".SH DESCRIPTION"
        echo ".nf"
        "$binary" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
        echo ".fi"
        echo ".SH SEE ALSO"
        echo "/usr/share/doc/$name/README.md"
    } | gzip -9n > "$out"
}

debian_changelog() {
    local name="$1"
    {
        echo "$name ($debversion) stable; urgency=medium"
        echo
        # Each "- " bullet of this version's section, joined and re-wrapped to Debian's 80 columns.
        awk -v v="$version" '$0 ~ "^## \\[" v "\\]" {on=1; next} on && /^## / {exit} on' CHANGELOG.md \
            | awk '/^- / {if (b) print b; b=substr($0, 3); next} /^  / && b {sub(/^ +/, ""); b=b " " $0; next} {if (b) print b; b=""} END {if (b) print b}' \
            | while IFS= read -r bullet; do echo "$bullet" | fold -s -w 72 | sed '1s/^/  * /; 2,$s/^/    /; s/ *$//'; done
        echo
        echo " -- Outpost maintainers <maintainers@outpost.invalid>  $(date -u -R)"
    } | gzip -9n > "$2"
}

copyright() {
    cat <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: outpost
Source: https://github.com/outpost/outpost

Files: *
Copyright: 2026 The Outpost authors
License: Apache-2.0

License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0, and in the LICENSE file of the source.
COPY
}

package() {
    local name="$1" binary="$2" description="$3" recommends="$4"
    local stage; stage="$(mktemp -d)"
    install -D -m 0755 "$binary" "$stage/usr/bin/$name"
    strip --strip-unneeded "$stage/usr/bin/$name"
    install -D -m 0644 "packaging/systemd/$name.service" "$stage/lib/systemd/system/$name.service"
    install -D -m 0644 "packaging/deb/${name#outpost-}/default" "$stage/etc/default/$name"
    install -d -m 0755 "$stage/usr/share/doc/$name" "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides"
    copyright > "$stage/usr/share/doc/$name/copyright"
    debian_changelog "$name" "$stage/usr/share/doc/$name/changelog.Debian.gz"
    install -m 0644 README.md "$stage/usr/share/doc/$name/README.md"
    man_page "$name" "$stage/usr/bin/$name" "$stage/usr/share/man/man1/$name.1.gz" "$description"
    install -m 0644 "packaging/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/$name"
    sed -i "s/^PACKAGE/$name/" "$stage/usr/share/lintian/overrides/$name"
    if [ "$name" = outpost-agent ]; then
        install -m 0644 packaging/agent.sample.json "$stage/usr/share/doc/$name/agent.sample.json"
    else
        # Reloads the system mosquitto when the CRL changes (docs/operations.md, "The broker").
        install -m 0644 packaging/systemd/outpost-aggregator-broker-reload.path packaging/systemd/outpost-aggregator-broker-reload.service \
            "$stage/lib/systemd/system/"
        install -d -m 0755 "$stage/usr/share/$name/migrations"
        install -m 0644 Aggregator/Migrations/*.sql "$stage/usr/share/$name/migrations/"
        [ -f packaging/aggregator.sample.json ] && install -m 0644 packaging/aggregator.sample.json "$stage/usr/share/doc/$name/"
        if [ -d packaging/broker ]; then
            install -d -m 0755 "$stage/usr/share/$name/broker"
            cp -r packaging/broker/. "$stage/usr/share/$name/broker/"
            find "$stage/usr/share/$name/broker" -type f -exec chmod 0644 {} +
        fi
        # The mosquitto plugin that refuses devices' foreign subscriptions ($share/… included);
        # broker-config loads it from here (docs/identity.md, "What the broker enforces").
        packaging/mosquitto-plugin/build.sh "$stage/usr/lib/$name/mosquitto" >/dev/null
        strip --strip-unneeded "$stage/usr/lib/$name/mosquitto/outpost_subscribe_guard.so"
        chmod 0644 "$stage/usr/lib/$name/mosquitto/outpost_subscribe_guard.so"
        # Alert rules and Grafana dashboards (docs/operations.md), and the packaged commit for outpost_build_info.
        install -D -m 0644 packaging/prometheus/outpost.rules.yml "$stage/usr/share/$name/prometheus/outpost.rules.yml"
        install -d -m 0755 "$stage/usr/share/$name/grafana"
        install -m 0644 packaging/grafana/*.json "$stage/usr/share/$name/grafana/"
        git rev-parse --short=12 HEAD > "$stage/usr/share/$name/commit" 2>/dev/null || echo unknown > "$stage/usr/share/$name/commit"
        chmod 0644 "$stage/usr/share/$name/commit"
        # The operator console's static files; its chart library comes from libjs-dygraphs.
        install -d -m 0755 "$stage/usr/share/$name/console"
        cp -r Aggregator/Console/. "$stage/usr/share/$name/console/"
        find "$stage/usr/share/$name/console" -type d -exec chmod 0755 {} +
        find "$stage/usr/share/$name/console" -type f -exec chmod 0644 {} +
    fi
    install -d -m 0755 "$stage/DEBIAN"
    local common; common="$(cat packaging/deb/common-postinst.sh)"
    for script in postinst prerm postrm; do
        awk -v common="$common" '$0 == "#COMMON#" {print common; next} {print}' \
            "packaging/deb/${name#outpost-}/$script" > "$stage/DEBIAN/$script"
        chmod 0755 "$stage/DEBIAN/$script"
    done
    echo "/etc/default/$name" > "$stage/DEBIAN/conffiles"
    local size; size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $debversion
Architecture: $arch
Maintainer: Outpost maintainers <maintainers@outpost.invalid>
Installed-Size: $size
Depends: adduser, $(depends_of "$stage/usr/bin/$name" $([ "$name" = outpost-agent ] && echo libcurl.so.4 libsrtp2.so.1 || true))$([ "$name" = outpost-aggregator ] && echo ", libjs-dygraphs" || true)
Recommends: $recommends
Section: net
Priority: optional
Homepage: https://github.com/outpost/outpost
Description: $description
CONTROL
    (cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
    chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"
    [ -n "$recommends" ] || sed -i '/^Recommends: $/d' "$stage/DEBIAN/control"
    local deb="$dist/${name}_${debversion}_${arch}.deb"
    local binary_size; binary_size="$(stat -c %s "$stage/usr/bin/$name")"
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
    rm -rf "$stage"
    printf '%-20s %-10s .deb %6d KiB   installed binary %6d KiB\n' "$name" "$debversion" \
        "$(( $(stat -c %s "$deb") / 1024 ))" "$(( binary_size / 1024 ))"
}

[ -z "$only" ] || [ "$only" = outpost-agent ] || skip_agent=1
[ -z "$only" ] || [ "$only" = outpost-aggregator ] || skip_aggregator=1
[ -n "${skip_agent:-}" ] || package outpost-agent "$bindir/outpost-agent" "device agent for Outpost camera and meter fleets
 Collects meter readings into a SQLite buffer and publishes them over MQTT v5
 with TLS and the device's own certificate. Readings are deleted only once the
 centre has stored them. Streams the camera's H.264 over RTP, obeys commands." ""
[ -n "${skip_aggregator:-}" ] || package outpost-aggregator "$bindir/outpost-aggregator" "central ingest, API and CA for Outpost fleets
 Ingests device readings into PostgreSQL exactly once, tracks device state,
 serves the admin API and acts as the fleet's certificate authority." "postgresql (>= 15), mosquitto (>= 2.0), ffmpeg, janus (>= 1.1), libjs-janus-gateway, libjs-webrtc-adapter"
