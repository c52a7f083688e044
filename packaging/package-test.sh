#!/usr/bin/env bash
# Proves the .deb as a user would meet it: install it (with its dependencies),
# run the installed commands, start the user unit's commands and talk to the
# daemon, then remove the package. Needs root (dpkg). Usage: package-test.sh [DEB]
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls -t dist/jax_*.deb 2>/dev/null | head -n 1)}
[ -f "$deb" ] || { echo "no .deb: run 'make package' first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "package-test installs a package: run it as root" >&2; exit 1; }
version=$(dpkg-deb -f "$deb" Version)
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "size"
size=$(stat -c %s "$deb")
echo "$deb: $size bytes ($((size / 1024 / 1024)) MiB)"
[ "$size" -lt $((40 * 1024 * 1024)) ] || fail ".deb is over 40 MiB"

step "jax links no GUI libraries"
dpkg-deb -x "$deb" dist/unpacked.$$
trap 'rm -rf dist/unpacked.$$' EXIT
ldd dist/unpacked.$$/usr/bin/jax
if ldd dist/unpacked.$$/usr/bin/jax | grep -Ei 'libGL|libX11|libxcb'; then fail "jax links GUI libraries"; fi

step "desktop entry"
if ! command -v desktop-file-validate >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends desktop-file-utils
fi
for f in dist/unpacked.$$/usr/share/applications/*.desktop; do
  desktop-file-validate "$f" || fail "$f is not a valid desktop entry"
  echo "$f: valid"
done

step "install"
home=$(mktemp -d)
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  rm -rf "$home" dist/unpacked.$$
  if dpkg-query -W -f='${Status}' jax 2>/dev/null | grep -q installed; then
    DEBIAN_FRONTEND=noninteractive dpkg -r jax >/dev/null || true
  fi
}
trap cleanup EXIT
if ! DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"; then
  echo "installing the dependencies dpkg asked for"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq --no-install-recommends
fi
dpkg-query -W -f='${Status} ${Version}\n' jax | grep -q "install ok installed $version" || fail "jax $version is not installed"
dpkg -L jax >/dev/null

step "installed commands"
out=$(/usr/bin/jax --version); echo "$out"
[ "$out" = "jax version $version" ] || fail "jax --version printed '$out', want 'jax version $version'"
out=$(/usr/bin/jax-tray --version); echo "$out"
[ "$out" = "jax-tray $version" ] || fail "jax-tray --version printed '$out', want 'jax-tray $version'"
man -w jax-doctor >/dev/null 2>&1 || [ -f /usr/share/man/man1/jax-doctor.1.gz ] || fail "no man page for jax doctor"
[ -f /usr/share/bash-completion/completions/jax ] || fail "no bash completion"

export JAX_HOME="$home" JAX_NETWORK=loopback
code=0
/usr/bin/jax doctor --json > "$home/doctor.json" || code=$?
cat "$home/doctor.json"
[ "$code" -le 1 ] || fail "jax doctor exited $code"
grep -q '"name": "stale mounts"' "$home/doctor.json" || fail "jax doctor --json lacks its checks"

step "the user unit's commands"
unit=/usr/lib/systemd/user/jax.service
[ -f "$unit" ] || fail "$unit is not installed"
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$home/run" && chmod 700 "$home/run"
  XDG_RUNTIME_DIR="$home/run" systemd-analyze verify --user "$unit" || fail "systemd-analyze verify --user $unit"
  echo "$unit: verified"
fi
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$start" ] || fail "$unit has no ExecStart"
if [ -n "$pre" ]; then
  echo "+ $pre"
  if [[ $pre == -* ]]; then ${pre#-} || true; else $pre; fi
fi
echo "+ $start &"
$start > "$home/daemon.log" 2>&1 &
daemon=$!
up=""
for _ in $(seq 1 200); do
  if /usr/bin/jax status >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || { cat "$home/daemon.log"; fail "the daemon did not answer 'jax status'"; }
/usr/bin/jax status
/usr/bin/jax doctor --json > "$home/doctor.json" || true
grep -q '"detail": "running (pid' "$home/doctor.json" || { cat "$home/doctor.json"; fail "jax doctor does not see the running daemon"; }
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon exited with $? on SIGTERM"
daemon=""

step "remove"
DEBIAN_FRONTEND=noninteractive dpkg -r jax
if dpkg-query -W -f='${Status}' jax 2>/dev/null | grep -q 'ok installed'; then fail "jax is still installed"; fi
for f in /usr/bin/jax /usr/bin/jax-tray "$unit"; do
  [ ! -e "$f" ] || fail "$f is left after removal"
done
echo "package-test: OK ($deb, $version)"
