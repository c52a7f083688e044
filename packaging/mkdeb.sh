#!/usr/bin/env bash
# Builds dist/jax_VERSION_ARCH.deb: the two binaries, the menu entry, the
# icons, the systemd user unit, man pages and shell completions (made from
# the command definitions by 'jax gen-docs'). nfpm packs it.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
VERSION=${VERSION:-$(packaging/version.sh)}
DEB_ARCH=$($GO env GOARCH)
# Dates in the man pages and changelog: the last commit's, so a rebuild of
# the same commit gives the same files.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export VERSION DEB_ARCH SOURCE_DATE_EPOCH

rm -rf dist/bin dist/docs
mkdir -p dist/bin dist/docs
ldflags="-s -w -X main.version=$VERSION -linkmode=external -extldflags=-Wl,-z,relro,-z,now"
$GO build -trimpath -buildmode=pie -ldflags "$ldflags" -o dist/bin/jax ./cmd/jax
$GO build -trimpath -buildmode=pie -ldflags "$ldflags" -o dist/bin/jax-tray ./cmd/jax-tray

dist/bin/jax gen-docs dist/docs
cp packaging/jax-tray.1 dist/docs/man1/
gzip -9n dist/docs/man1/*.1
{
  echo "jax ($VERSION) unstable; urgency=medium"
  echo
  echo "  * Jax $VERSION."
  echo
  echo " -- Jax Desktop <jax@jaxdesktop.io>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > dist/docs/changelog.gz

rm -f dist/jax_*.deb
$GO run "$NFPM" package --config packaging/nfpm.yaml --packager deb --target dist/
ls -l dist/jax_*.deb
