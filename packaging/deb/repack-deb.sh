#!/usr/bin/env bash
# Makes revision N of a package from an already built .deb, for upgrade tests: the same files,
# with Version and the Debian changelog's first line set to VERSION-N. Nothing is rebuilt.
#
# Usage: repack-deb.sh PACKAGE.deb N   (writes the new .deb beside the old one and prints its path)
set -euo pipefail
source_deb="$1"
revision="$2"
name="$(dpkg-deb -f "$source_deb" Package)"
old_version="$(dpkg-deb -f "$source_deb" Version)"
new_version="${old_version%-*}-$revision"
arch="$(dpkg-deb -f "$source_deb" Architecture)"
target="$(dirname "$source_deb")/${name}_${new_version}_${arch}.deb"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

dpkg-deb -R "$source_deb" "$stage"
sed -i "s/^Version: .*/Version: $new_version/" "$stage/DEBIAN/control"
changelog="usr/share/doc/$name/changelog.Debian.gz"
if [ -f "$stage/$changelog" ]; then
    gunzip -c "$stage/$changelog" | sed "1s/($old_version)/($new_version)/" | gzip -9n > "$stage/$changelog.new"
    mv "$stage/$changelog.new" "$stage/$changelog"
    chmod 0644 "$stage/$changelog"
    (cd "$stage" && sed -i "s|^[0-9a-f]*  $changelog\$|$(md5sum "$changelog" | cut -d' ' -f1)  $changelog|" DEBIAN/md5sums)
fi
dpkg-deb --root-owner-group -Zxz --build "$stage" "$target" >/dev/null
echo "$target"
