#!/usr/bin/env bash
# Builds the Debian package from this checkout and checks it with lintian:
#   scripts/build-deb.sh            -> build/deb/advpnd_VERSION_ARCH.deb (+ lintian.txt)
# The source tree (tracked and untracked-but-not-ignored files, so that local
# edits are packaged as they are) is copied to build/deb/src with
# packaging/debian as its debian/ folder, and dpkg-buildpackage builds it
# there: nothing is written outside build/deb. The build uses what
# `cmake --install` installs (cmake/Install.cmake), without tests.
# Exits non-zero when the build fails or lintian reports an error.
# Needs the build dependencies of packaging/debian/control, debhelper and
# lintian (scripts/install-deps.sh installs them all).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/build/deb"
version=$(dpkg-parsechangelog -l "$repo/packaging/debian/changelog" -S Version)
src="$out/src/advpnd-$version"

rm -rf "$out"
mkdir -p "$src"
echo "build-deb: copying the source to $src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | grep -zv '^packaging/debian/' |
  xargs -0 cp --parents -t "$src")
cp -r "$repo/packaging/debian" "$src/debian"

echo "build-deb: dpkg-buildpackage (log: $out/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
        dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1); then
  tail -40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (full log: $out/build.log)" >&2
  exit 1
fi
changes=$(ls "$out"/src/advpnd_"$version"_*.changes)
mv "$out"/src/advpnd_"$version"_* "$out"/src/advpnd-dbgsym_"$version"_* "$out"/ 2>/dev/null || true
changes="$out/$(basename "$changes")"

echo "build-deb: lintian"
lintian --info --display-info --pedantic "$changes" | tee "$out/lintian.txt" || true
errors=$(grep -c '^E: ' "$out/lintian.txt" || true)
warnings=$(grep -c '^W: ' "$out/lintian.txt" || true)
echo "build-deb: lintian: $errors error(s), $warnings warning(s) (all tags: $out/lintian.txt)"
ls -1 "$out"/*.deb
[ "$errors" -eq 0 ]
