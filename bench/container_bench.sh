#!/usr/bin/env bash
# Container benchmark, two parts, every tool in the same run:
#
#  1. Start to exit of `true` in a fresh container from a local busybox image:
#       bld run --rm IMAGE true
#       podman run --rm --network none IMAGE true      (podman 4.3, runc)
#       runc run (a bundle on the unpacked root filesystem)
#     bld and podman both make a container from an image (overlay, its own
#     directory, a record) and remove it; runc only runs a prepared bundle.
#  2. Throughput of one TCP stream of SIZE MiB sent from the host (python3)
#     to `nc -l` in a container, through a published port (bld's userspace
#     proxy, which opens the connection inside the container's namespace)
#     and, for the baseline, with --net host.
#
# Usage: bench/container_bench.sh [build-dir] [runs] [size-MiB]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
build=${1:-build}
runs=${2:-20}
size_mib=${3:-1024}

if [ "$(id -u)" != 0 ]; then echo "container_bench: containers need root" >&2; exit 1; fi
for tool in podman runc; do
  if ! command -v $tool >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $tool >/dev/null
  fi
done
if ! log=$(cmake --build "$build" --target bld 2>&1); then echo "$log" >&2; exit 1; fi
bld="$PWD/$build/bld"

work=$(mktemp -d)
cleanup() {
  "$bld" --root "$work/bld" rm -f $("$bld" --root "$work/bld" ps -a -q) >/dev/null 2>&1 || true
  podman rm -a -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
B() { "$bld" --root "$work/bld" "$@"; }

make_busybox_tar "$work/rootfs.tar"
B import "$work/rootfs.tar" busybox >/dev/null
setup_containers_env "$work/containers"
podman import -q "$work/rootfs.tar" localhost/busybox >/dev/null
mkdir -p "$work/bundle/rootfs"
tar -C "$work/bundle/rootfs" -xf "$work/rootfs.tar"
(cd "$work/bundle" && runc spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"$/"true"/' "$work/bundle/config.json"

# One run of each first: unpacked snapshots and layers are then in place.
B run --rm busybox true
podman run --rm --network none localhost/busybox true
runc run --bundle "$work/bundle" "bld-bench-$$-warm" </dev/null

bld_ms=$(median $(times_ms "$runs" "$bld" --root "$work/bld" run --rm busybox true))
podman_ms=$(median $(times_ms "$runs" podman run --rm --network none localhost/busybox true))
runc_times=()
for i in $(seq 1 "$runs"); do
  s=$(now_ms)
  runc run --bundle "$work/bundle" "bld-bench-$$-$i" </dev/null
  runc_times+=($(( $(now_ms) - s )))
done
runc_ms=$(median "${runc_times[@]}")

# stream NAME PORT: once container NAME listens, sends size_mib MiB to
# 127.0.0.1:PORT and prints MiB/s.
stream() {
  local name=$1 port=$2 s e
  until B exec "$name" sh -c 'netstat -ltn | grep -q :5001'; do sleep 0.05; done
  # Sent, half-closed, then timed until the server closes: until every byte
  # was read inside, not just written into socket buffers.
  python3 - "$port" "$size_mib" <<'PY'
import socket, sys, time
port, mib = int(sys.argv[1]), int(sys.argv[2])
chunk = bytes(1 << 20)
s = socket.create_connection(("127.0.0.1", port))
start = time.monotonic()
for _ in range(mib):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(int(mib / (time.monotonic() - start)))
PY
}
server='nc -l -p 5001 >/dev/null'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B run -d --name published -p "$port:5001" busybox sh -c "$server" >/dev/null
published=$(stream published "$port")
B rm -f published >/dev/null
B run -d --name hostnet --net host busybox sh -c "$server" >/dev/null
hostnet=$(stream hostnet 5001)
B rm -f hostnet >/dev/null

echo "true in a new container, median of $runs runs on $(nproc) cores, $(uname -r), load $(cut -d' ' -f1 /proc/loadavg):"
echo "  bld run --rm:                          $bld_ms ms"
echo "  podman run --rm --network none:        $podman_ms ms"
echo "  runc run:                              $runc_ms ms"
echo "one TCP stream of $size_mib MiB into a container:"
echo "  published port (-p, userspace proxy):  $published MiB/s"
echo "  --net host:                            $hostnet MiB/s"
