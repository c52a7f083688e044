#!/usr/bin/env bash
# The archives that 'fyne package' makes from the built jax-tray and
# FyneApp.toml: OS=linux (default) gives dist/Jax.tar.xz; OS=darwin gives
# Jax.app (needs a darwin jax-tray, so a Mac with cgo). Usage: fyne-package.sh [OS]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FYNE=${FYNE:-fyne.io/tools/cmd/fyne@v1.7.4}
OS=${1:-linux}
VERSION=${VERSION:-$(packaging/version.sh)}
exe=dist/bin/jax-tray
if [ ! -x "$exe" ] || [ "$OS" != linux ]; then
  mkdir -p dist/bin
  GOOS=$OS $GO build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$exe" ./cmd/jax-tray
fi
# fyne package counts builds up in FyneApp.toml; keep the file as committed.
cp FyneApp.toml dist/FyneApp.toml.orig
trap 'cp dist/FyneApp.toml.orig FyneApp.toml; rm -f dist/FyneApp.toml.orig' EXIT
# Fyne takes x.y.z only: a git describe suffix (-3-gabc) is dropped here.
$GO run "$FYNE" package -os "$OS" --src . --exe "$exe" --app-version "${VERSION%%-*}" --release
mkdir -p dist
for f in Jax.tar.xz Jax.app; do
  if [ -e "$f" ]; then rm -rf "dist/$f"; mv "$f" dist/; ls -ld "dist/$f"; fi
done
