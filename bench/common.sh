# Shared helpers for the benchmark scripts (sourced, not run).

# A busybox root filesystem tar from Debian's busybox-static, the base image
# every benchmark builds on: make_busybox_tar OUT.tar [BUSYBOX] (BUSYBOX: another
# architecture's binary, see scripts/busybox-rootfs.sh)
make_busybox_tar() { "$(dirname "${BASH_SOURCE[0]}")/../scripts/busybox-rootfs.sh" "$@"; }

# Milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# start_registry NAME: an empty registry under $work on a port the kernel
# picks (it logs which); sets registry_host to its host:port and adds its
# pid to the caller's pids array. (Not run in $(...): the registry's pid
# must reach the cleanup.)
start_registry() {
  local dir=$work/registry-$1 host=
  mkdir -p "$dir"
  printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:0\n' \
    "$dir" > "$dir/config.yml"
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    host=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$dir/log" | cut -d' ' -f3 || true)
    [ -n "$host" ] && curl -sf "http://$host/v2/" >/dev/null && break
    sleep 0.1
  done
  [ -n "$host" ] || { echo "docker-registry did not start: $(cat "$dir/log")" >&2; exit 1; }
  registry_host=$host
}

# times_ms N CMD...: runs CMD N times, prints each duration in ms
times_ms() {
  local n=$1; shift
  local i s
  for i in $(seq 1 "$n"); do s=$(now_ms); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; echo $(( $(now_ms) - s )); done
}

# Private storage and config for buildah/podman (see ../shared/PEERS.md).
setup_containers_env() {
  local dir=$1
  mkdir -p "$dir/run" "$dir/graph"
  cat > "$dir/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$dir/run"
graphroot = "$dir/graph"
CONF
  cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_STORAGE_CONF=$dir/storage.conf CONTAINERS_CONF=$dir/containers.conf
}

# Removes the buildah storage at $buildah_dir (the caller's variable, made
# with setup_containers_env): its containers and images, then whatever it
# left mounted.
wipe_buildah() {
  [[ -n $buildah_dir && -d $buildah_dir ]] || return 0
  buildah rm -a >/dev/null 2>&1 || true
  buildah rmi -a -f >/dev/null 2>&1 || true
  findmnt -rn -o TARGET | awk -v d="$buildah_dir/" 'index($0, d) == 1' | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf "$buildah_dir"
  buildah_dir=
  unset CONTAINERS_STORAGE_CONF CONTAINERS_CONF
}

# A fresh, empty buildah storage under $work (the old one removed first);
# sets buildah_dir. (Not in a $(...) subshell: the settings must stay.)
buildah_store_count=0
fresh_buildah_store() {
  wipe_buildah
  buildah_store_count=$((buildah_store_count + 1))
  buildah_dir=$work/containers-$buildah_store_count
  setup_containers_env "$buildah_dir"
}
