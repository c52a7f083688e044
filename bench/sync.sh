#!/usr/bin/env bash
# Sync targets in one run, on loopback only (127.0.0.1):
#  1. save in device A's mount to visible in device B's mount, over EDITS edits
#     (median, p90; target median < 1 s);
#  2. time until one BIG_MIB file, and separately FILES files of 4 KiB,
#     written on A are on B, jax against Syncthing (two instances, discovery,
#     relays, NAT traversal, reporting and upgrades off, rescan asked through
#     its REST API right after writing); ratio jax/syncthing < 1: jax faster;
#  3. idle CPU of two paired daemons with 3 shared, mounted buckets over
#     IDLE_SECS (target < 1% of one core).
# Needs root (FUSE mounts; installs the Debian package syncthing if missing).
#   usage: bench/sync.sh [BIG_MIB=1024] [FILES=5000] [EDITS=20]
#   env:   JAX_BIN=path runs that binary instead of building bin/jax;
#          IDLE_SECS=60 (shorter for quick runs); KEEP=1 keeps the logs in
#          bench/out.*/ (they are kept anyway when the run fails)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
big=${1:-1024}; files=${2:-5000}; edits=${3:-20}; idle=${IDLE_SECS:-60}
[ "$(id -u)" -eq 0 ] || { echo "needs root (FUSE mounts, installing syncthing)" >&2; exit 1; }
if ! command -v syncthing >/dev/null; then
  echo "installing syncthing..."
  apt-get install -y syncthing >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y syncthing >/dev/null; }
fi
for c in curl ss python3 sha256sum fusermount3; do
  command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }
done
jax=${JAX_BIN:-bin/jax}
label=$jax
[ -n "${JAX_BIN:-}" ] || { go build -o bin/jax ./cmd/jax; label="$(git describe --always --dirty 2>/dev/null)"; }
work=$(mktemp -d "$PWD/bench/out.XXXXXX")
export JAX_NETWORK=loopback STNOUPGRADE=1 STNORESTART=1 STNODEFAULTFOLDER=1
pids=()
cleanup() {
  local rc=$? p m
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Mounts the daemons left behind (killed, or still busy).
  awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/mounts | while read -r m; do fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  if [ $rc -ne 0 ] || [ -n "${KEEP:-}" ]; then
    echo "logs kept in $work/*.log" >&2
    find "$work" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec rm -rf {} +
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------
exec {napfd}<> <(:)                      # a pipe nobody writes: read -t sleeps without a fork
nap() { read -r -t "${1:-0.005}" -u "$napfd" || true; }
now() { local t=${EPOCHREALTIME/./}; echo "$t"; }      # microseconds
secs() { awk -v d="$1" 'BEGIN {printf "%.3f", d / 1e6}'; }
die() { echo "FAIL: $*" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9); if (i<NR*0.9) i++; print a[i]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Htuln "sport = :$p")" ] && { echo $p; return; }
  done
}
# every socket of these pids is on loopback (or an unbound peer of a listener)
only_loopback() {
  local name=$1; shift
  local bad p all=() more
  # syncthing runs a monitor process and the real one as its child
  for p in "$@"; do all+=("$p"); more=$(pgrep -P "$p" || true); [ -z "$more" ] || all+=($more); done
  set -- "${all[@]}"
  for p in "$@"; do
    bad=$(ss -Htunap 2>/dev/null | grep "pid=$p," | awk '
      function lo(a) { return a ~ /^127\./ || a ~ /^\[::1\]/ || a ~ /^\[::ffff:127\./ }
      function any(a) { return a == "*:*" || a == "0.0.0.0:*" || a == "[::]:*" || a == "*" }
      !(lo($5) && (lo($6) || any($6))) {print}') || true
    [ -z "$bad" ] || { echo "$bad" >&2; die "$name (pid $p) has a socket off loopback"; }
  done
  echo "  $name: every socket on 127.0.0.1 ($(ss -Htunap 2>/dev/null | grep -cE "pid=($(IFS='|'; echo "$*"))," || true) sockets)"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU ticks of a process and its children (syncthing's real process is a child)
tree_ticks() { local p t=0; for p in $1 $(pgrep -P "$1" || true); do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
# cpu_secs TICKS
cpu_secs() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# wait_until SECS WHAT CMD...: poll CMD every 5 ms
wait_until() {
  local limit=$(( $(now) + $1 * 1000000 )) what=$2; shift 2
  until "$@"; do
    [ "$(now)" -lt $limit ] || die "timed out waiting: $what"
    nap
  done
}
# all FILES files of 4 KiB under $1 (a cheap look at the last name first)
all_small() {
  [ -e "$1/f$(printf %05d $((files - 1)))" ] && [ -e "$1/f00000" ] || return 1
  # a full count is dearer: after a short one, wait longer so polling costs little
  [ "$(find "$1" -maxdepth 1 -type f -name 'f*' -size 4096c 2>/dev/null | wc -l)" -eq "$files" ] || { nap 0.05; return 1; }
}
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# --- data --------------------------------------------------------------------
load_start=$(load)
echo "generating ${big} MiB and ${files} x 4 KiB of random data..."
head -c $((big << 20)) /dev/urandom > "$work/big.bin"
mkdir "$work/small"
head -c $((files * 4096)) /dev/urandom | split -b 4096 -a 5 -d - "$work/small/f"
small_sum=$(cat "$work/small"/f* | sha256sum)
# Before and after each transfer the page cache is settled the same way.
settle() { sync; echo 3 > /proc/sys/vm/drop_caches; cat "$work/big.bin" "$work/small"/f* >/dev/null; }

# --- jax ---------------------------------------------------------------------
jx() { local h=$1; shift; JAX_HOME="$work/$h" "$jax" "$@"; }
declare -A dpid
start_daemon() {
  JAX_HOME="$work/$1" "$jax" daemon 2>>"$work/jax-$1.log" & dpid[$1]=$!; pids+=($!)
  wait_until 20 "jax daemon $1 answers" eval "jx $1 status >/dev/null 2>&1"
}
online() { # $1 lists device $2 online
  jx "$1" device list --json | python3 -c 'import json,sys
sys.exit(0 if any(d["name"] == sys.argv[1] and d.get("online") for d in json.load(sys.stdin)) else 1)' "$2"
}
echo "setting up two jax daemons (JAX_NETWORK=loopback)..."
jx a init --name deva >/dev/null
jx b init --name devb >/dev/null
start_daemon a; start_daemon b
code=$(jx a device invite | grep '^jaxinvite1-') || die "no invite code"
jx b device pair --yes "$code" >/dev/null
wait_until 30 "the devices see each other online" eval 'online a devb && online b deva'
for n in 1 2 3; do
  jx a bucket create "b$n" >/dev/null
  echo "bucket $n" | jx a bucket add "b$n" - /readme.txt >/dev/null
  jx a bucket share "b$n" devb >/dev/null
done
for n in 1 2 3; do
  wait_until 30 "bucket b$n on devb" eval "jx b bucket ls b$n / >/dev/null 2>&1"
  jx a mount add "b$n" "$work/ma$n" --auto-mount >/dev/null
  jx b mount add "b$n" "$work/mb$n" --auto-mount >/dev/null
done
shows() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
for n in 1 2 3; do   # mount add starts the mount
  wait_until 30 "b$n in both mounts" eval "shows '$work/ma$n/readme.txt' 'bucket $n' && shows '$work/mb$n/readme.txt' 'bucket $n'"
done
only_loopback "jax daemons" "${dpid[a]}" "${dpid[b]}"

# 3. idle
echo "idle: ${idle} s with 3 shared buckets mounted on both..."
sleep 5
ia=$(cpu_ticks "${dpid[a]}"); ib=$(cpu_ticks "${dpid[b]}"); i0=$(now)
sleep "$idle"
ja=$(cpu_ticks "${dpid[a]}"); jb=$(cpu_ticks "${dpid[b]}"); i1=$(now)
hz=$(getconf CLK_TCK)
idle_pct() { awk -v t="$1" -v hz="$hz" -v us=$((i1 - i0)) 'BEGIN {printf "%.3f", 100 * (t / hz) / (us / 1e6)}'; }
idle_a=$(idle_pct $((ja - ia))); idle_b=$(idle_pct $((jb - ib)))

# 1. edit latency: overwrite one file in A's mount, read it back in B's mount
echo "edits: ${edits} saves in A's mount, polling B's mount every 5 ms..."
lat=()
for i in $(seq "$edits"); do
  want="edit $i $RANDOM$RANDOM$RANDOM"
  t0=${EPOCHREALTIME/./}   # no forks in this loop
  printf '%s' "$want" > "$work/ma1/edit.txt"
  limit=$((t0 + 30000000))
  while :; do
    got=
    { read -r -d '' got < "$work/mb1/edit.txt"; } 2>/dev/null || true
    [ "$got" = "$want" ] && break
    [ "${EPOCHREALTIME/./}" -lt $limit ] || die "edit $i not visible in B's mount after 30 s (B shows '$got')"
    nap
  done
  lat+=($(( ${EPOCHREALTIME/./} - t0 )))
  nap 0.3
done
lat_med=$(printf '%s\n' "${lat[@]}" | median); lat_p90=$(printf '%s\n' "${lat[@]}" | p90)
lat_all=$(for l in "${lat[@]}"; do printf '%d ' $((l / 1000)); done)

# 2. transfers through jax
echo "jax: ${big} MiB file..."
settle
ca=$(cpu_ticks "${dpid[a]}"); cb=$(cpu_ticks "${dpid[b]}")
t0=$(now)
cp "$work/big.bin" "$work/ma1/big.bin"
jw=$(now)
wait_until 1800 "the big file on B (jax)" size_is "$work/mb1/big.bin" $((big << 20))
jax_big=$(( $(now) - t0 ))
# CPU up to here: the read back below decrypts the file in B's daemon
jax_big_cpu="$(cpu_secs $(( $(cpu_ticks "${dpid[a]}") - ca ))) + $(cpu_secs $(( $(cpu_ticks "${dpid[b]}") - cb )))"
cmp -s "$work/big.bin" "$work/mb1/big.bin" || die "jax: the big file in B's mount has other bytes"
jax_big_v=$(( $(now) - t0 )); jax_big_w=$((jw - t0))
echo "jax: ${files} small files..."
settle
ca=$(cpu_ticks "${dpid[a]}"); cb=$(cpu_ticks "${dpid[b]}")
t0=$(now)
cp -r "$work/small" "$work/ma1/small"
jw=$(now)
wait_until 1800 "the small files on B (jax)" all_small "$work/mb1/small"
jax_small=$(( $(now) - t0 )); jax_small_w=$((jw - t0))
jax_small_cpu="$(cpu_secs $(( $(cpu_ticks "${dpid[a]}") - ca ))) + $(cpu_secs $(( $(cpu_ticks "${dpid[b]}") - cb )))"
[ "$(cat "$work/mb1/small"/f* | sha256sum)" = "$small_sum" ] || die "jax: small files in B's mount have other bytes"
for d in a b; do kill "${dpid[$d]}"; wait "${dpid[$d]}" 2>/dev/null || true; done

# --- syncthing -----------------------------------------------------------------
echo "setting up two syncthing instances on 127.0.0.1..."
declare -A sid sport sgui skey spid
for s in sa sb; do
  syncthing generate --home="$work/$s" --no-default-folder --skip-port-probing >"$work/$s-generate.log" 2>&1
  sid[$s]=$(sed -n 's/.*<device id="\([^"]*\)".*/\1/p' "$work/$s/config.xml" | head -1)
  sport[$s]=$(free_port); sgui[$s]=$(free_port)
  skey[$s]=$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)
  mkdir -p "$work/$s-data/.stfolder"
done
cfgver=$(sed -n 's/.*<configuration version="\([0-9]*\)".*/\1/p' "$work/sa/config.xml")
write_config() { # self peer
  local s=$1 p=$2
  cat > "$work/$s/config.xml" <<EOF
<configuration version="$cfgver">
    <folder id="bench" label="bench" path="$work/$s-data" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="10" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${sid[$s]}" introducedBy=""></device>
        <device id="${sid[$p]}" introducedBy=""></device>
        <markerName>.stfolder</markerName>
    </folder>
    <device id="${sid[$s]}" name="$s" compression="metadata" introducer="false">
        <address>tcp://127.0.0.1:${sport[$s]}</address>
    </device>
    <device id="${sid[$p]}" name="$p" compression="metadata" introducer="false">
        <address>tcp://127.0.0.1:${sport[$p]}</address>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:${sgui[$s]}</address>
        <apikey>${skey[$s]}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:${sport[$s]}</listenAddress>
        <globalAnnounceServer></globalAnnounceServer>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <stunKeepaliveStartS>0</stunKeepaliveStartS>
        <stunKeepaliveMinS>0</stunKeepaliveMinS>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <announceLANAddresses>false</announceLANAddresses>
        <startBrowser>false</startBrowser>
        <restartOnWakeup>false</restartOnWakeup>
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
EOF
  local want
  for want in '<globalAnnounceEnabled>false<' '<localAnnounceEnabled>false<' '<relaysEnabled>false<' \
    '<natEnabled>false<' '<urAccepted>-1<' '<autoUpgradeIntervalH>0<' '<crashReportingEnabled>false<' \
    "<listenAddress>tcp://127.0.0.1:${sport[$s]}<"; do
    grep -qF -- "$want" "$work/$s/config.xml" || die "syncthing config of $s lacks $want"
  done
}
write_config sa sb; write_config sb sa
st() { local s=$1 path=$2; shift 2; curl -sf -H "X-API-Key: ${skey[$s]}" "$@" "http://127.0.0.1:${sgui[$s]}$path"; }
for s in sa sb; do
  syncthing serve --home="$work/$s" --no-browser --no-restart --no-upgrade --no-default-folder \
    --logflags=3 >"$work/$s.log" 2>&1 & spid[$s]=$!; pids+=($!)
done
for s in sa sb; do wait_until 30 "syncthing $s REST API" eval "st $s /rest/system/ping >/dev/null"; done
# What the running instances use, from their REST API.
for s in sa sb; do
  st "$s" /rest/config/options | python3 -c 'import json,sys
o = json.load(sys.stdin); port = sys.argv[1]
want = {"globalAnnounceEnabled": False, "localAnnounceEnabled": False, "relaysEnabled": False,
        "natEnabled": False, "urAccepted": -1, "autoUpgradeIntervalH": 0, "crashReportingEnabled": False,
        "listenAddresses": ["tcp://127.0.0.1:" + port]}
bad = {k: o.get(k) for k, v in want.items() if o.get(k) != v}
sys.exit("options off loopback-only: %r" % bad if bad else 0)' "${sport[$s]}" || die "syncthing $s options"
done
connected() { st "$1" /rest/system/connections | python3 -c 'import json,sys
sys.exit(0 if json.load(sys.stdin)["connections"].get(sys.argv[1], {}).get("connected") else 1)' "$2"; }
folder_idle() { [ "$(st "$1" '/rest/db/status?folder=bench' | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = idle ]; }
wait_until 60 "the syncthing instances connect" eval "connected sa ${sid[sb]} && connected sb ${sid[sa]}"
wait_until 60 "both syncthing folders idle" eval 'folder_idle sa && folder_idle sb'
only_loopback syncthing "${spid[sa]}" "${spid[sb]}"
# (device IDs are left out first: random base32 can spell STUN or RELAY)
! sed -E 's/[A-Z0-9]{7}(-[A-Z0-9]{7}){7}/<id>/g' "$work"/sa.log "$work"/sb.log |
  grep -iE 'discover|relay|announce|upnp|nat-pmp|stun|usage report|upgrade' | grep -v stnoupgrade ||
  die "syncthing logs mention discovery, relays, NAT traversal, reporting or upgrades"

echo "syncthing: ${big} MiB file..."
settle
ca=$(tree_ticks "${spid[sa]}"); cb=$(tree_ticks "${spid[sb]}")
t0=$(now)
cp "$work/big.bin" "$work/sa-data/big.bin"
st sa '/rest/db/scan?folder=bench' -X POST >/dev/null
sw=$(now)
wait_until 1800 "the big file on B (syncthing)" size_is "$work/sb-data/big.bin" $((big << 20))
st_big=$(( $(now) - t0 ))
st_big_cpu="$(cpu_secs $(( $(tree_ticks "${spid[sa]}") - ca ))) + $(cpu_secs $(( $(tree_ticks "${spid[sb]}") - cb )))"
cmp -s "$work/big.bin" "$work/sb-data/big.bin" || die "syncthing: the big file on B has other bytes"
st_big_v=$(( $(now) - t0 )); st_big_w=$((sw - t0))
echo "syncthing: ${files} small files..."
settle
ca=$(tree_ticks "${spid[sa]}"); cb=$(tree_ticks "${spid[sb]}")
t0=$(now)
cp -r "$work/small" "$work/sa-data/small"
st sa '/rest/db/scan?folder=bench' -X POST >/dev/null
sw=$(now)
wait_until 1800 "the small files on B (syncthing)" all_small "$work/sb-data/small"
st_small=$(( $(now) - t0 )); st_small_w=$((sw - t0))
st_small_cpu="$(cpu_secs $(( $(tree_ticks "${spid[sa]}") - ca ))) + $(cpu_secs $(( $(tree_ticks "${spid[sb]}") - cb )))"
[ "$(cat "$work/sb-data/small"/f* | sha256sum)" = "$small_sum" ] || die "syncthing: small files on B have other bytes"
only_loopback syncthing "${spid[sa]}" "${spid[sb]}"

# --- report --------------------------------------------------------------------
echo
echo "== sync on loopback: jax $label vs $(syncthing --version | awk '{print $1, $2}') =="
printf "save in A's mount to visible in B's: median %s s, p90 %s s over %d edits (target median < 1 s)\n" \
  "$(secs "$lat_med")" "$(secs "$lat_p90")" "$edits"
echo "  each (ms): $lat_all"
printf "%-30s %10s %10s %18s\n" "written on A to on B" jax syncthing "jax/syncthing"
printf "%-30s %9ss %9ss %17s  (target <= 1)\n" "${big} MiB file, size right" "$(secs $jax_big)" "$(secs $st_big)" "$(ratio $jax_big $st_big)"
printf "%-30s %9ss %9ss %17s\n" "  and read back on B (cmp)" "$(secs $jax_big_v)" "$(secs $st_big_v)" "$(ratio $jax_big_v $st_big_v)"
printf "%-30s %9ss %9ss\n" "  of which writing on A" "$(secs $jax_big_w)" "$(secs $st_big_w)"
printf "%-30s %10s %12s\n" "  CPU s, A + B (to size right)" "$jax_big_cpu" "$st_big_cpu"
printf "%-30s %9ss %9ss %17s  (target <= 1)\n" "${files} x 4 KiB files" "$(secs $jax_small)" "$(secs $st_small)" "$(ratio $jax_small $st_small)"
printf "%-30s %9ss %9ss\n" "  of which writing on A" "$(secs $jax_small_w)" "$(secs $st_small_w)"
printf "%-30s %10s %12s\n" "  CPU s, A + B" "$jax_small_cpu" "$st_small_cpu"
echo "(syncthing: writing includes the POST /rest/db/scan, which returns when the scan is done;"
echo " jax: written through A's FUSE mount, read on B through its mount)"
printf "idle CPU over %s s, 3 shared buckets mounted: device A %s%%, device B %s%% of one core (target < 1%%)\n" \
  "$(secs $((i1 - i0)))" "$idle_a" "$idle_b"
echo "load average at start: $load_start; at end: $(load) ($(nproc) cores)"
