#!/bin/sh
# The version, from one place: the latest v* git tag (v1.2.3 -> 1.2.3, with
# -N-gHASH past it), else the Version in FyneApp.toml.
cd "$(dirname "$0")/.." || exit 1
if v=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
  echo "${v#v}"
  exit 0
fi
sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' FyneApp.toml | head -n 1
