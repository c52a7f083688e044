#!/usr/bin/env bash
# Time from `jax daemon` start to all of N auto-mounts serving (a file read
# through each), median of ROUNDS; and the daemon's RSS while it streams a
# large file through a mount with the default cache.
#   usage: bench/startup.sh [MOUNTS=5] [ROUNDS=5] [BIG_MIB=4096]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}; rounds=${2:-5}; big=${3:-4096}
go build -o bin/jax ./cmd/jax
work=$(mktemp -d "$PWD/bench/out.XXXXXX")
export JAX_HOME=$work/jax JAX_NETWORK=loopback # never the LAN: no mDNS, relays or port mapping
daemon=
stop() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; daemon=; }
trap 'stop; rm -rf "$work"' EXIT
start() { bin/jax daemon 2>>"$work/daemon.log" & daemon=$!; for _ in $(seq 200); do bin/jax status >/dev/null 2>&1 && return; sleep 0.02; done; echo "daemon did not start" >&2; exit 1; }

bin/jax init --name bench >/dev/null
for i in $(seq "$n"); do
  bin/jax bucket create "b$i" >/dev/null
  echo "hello $i" | bin/jax bucket add "b$i" - /hello.txt >/dev/null
done
start
for i in $(seq "$n"); do bin/jax mount add "b$i" "$work/m$i" --auto-mount >/dev/null; done
stop

times=()
for r in $(seq "$rounds"); do
  s=$(date +%s%N)
  bin/jax daemon 2>>"$work/daemon.log" & daemon=$!
  for i in $(seq "$n"); do
    until grep -q "hello $i" "$work/m$i/hello.txt" 2>/dev/null; do sleep 0.005; done
  done
  e=$(date +%s%N)
  times+=($(( (e - s) / 1000000 )))
  stop
done
med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "daemon start to $n auto-mounts serving: median ${med} ms over $rounds rounds (${times[*]}) (target < 1000 ms)"

start
# One mount with the default cache, as the target is stated.
for id in $(bin/jax mount list --json | python3 -c 'import json,sys; print(" ".join(m["id"] for m in json.load(sys.stdin)[1:]))'); do
  bin/jax mount remove "$id" >/dev/null
done
head -c $((big << 20)) /dev/urandom | bin/jax bucket add b1 - /big.bin >/dev/null
sync; echo 3 > /proc/sys/vm/drop_caches
peak=0
dd if="$work/m1/big.bin" of=/dev/null bs=1M status=none & reader=$!
while kill -0 $reader 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$daemon/status)
  [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 0.05
done
echo "daemon peak RSS while reading a ${big} MiB file: $((peak / 1024)) MiB (target <= cache 100 MiB + 80 MiB)"
