#!/usr/bin/env bash
# Ensure a working Docker engine on this (Debian bookworm, root, no systemd) machine.
#
#   .ci/docker_engine.sh            # no-op when `docker info` already works
#   .ci/docker_engine.sh --selftest # additionally run throwaway containers
#                                   # (plain, --network=none, -u 1000:1000)
#
# What it does when `docker info` fails:
#   1. installs Debian's docker.io (dockerd 20.10 + containerd + runc + iptables)
#      unless `dockerd` is already on PATH;
#   2. starts `dockerd` detached (setsid) with its log in $DOCKERD_LOG
#      (default /tmp/dockerd.log), unless one is already running;
#   3. waits up to $DOCKERD_WAIT seconds (default 60) for `docker info`.
#
# Daemon flags: none are needed on this machine (overlay2 on ext4, iptables
# bridge and cgroupfs/cgroup v1 all work with the defaults).  Extra flags can be
# passed via DOCKERD_ARGS, e.g. DOCKERD_ARGS="--storage-driver=vfs --iptables=false".
#
# Note: /usr/local/bin/docker (static 28.x client) shadows Debian's
# /usr/bin/docker (20.10). It works against the 20.10 daemon (API negotiated
# down to 1.41); with no buildx plugin installed, `docker build` uses the
# legacy builder, which is what mlcube's `docker build` call needs.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
DOCKERD_WAIT=${DOCKERD_WAIT:-60}
DOCKERD_ARGS=${DOCKERD_ARGS:-}
SELFTEST=0
for arg in "$@"; do
  case "$arg" in
    --selftest) SELFTEST=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "docker_engine.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

die() { echo "docker_engine.sh: ERROR: $*" >&2; exit 1; }

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

show_log_tail() {
  if [[ -f "$DOCKERD_LOG" ]]; then
    echo "---- last lines of $DOCKERD_LOG ----" >&2
    # errors/warnings (and non-logrus lines such as flag errors) are what matter
    grep -vE 'level=(info|debug)' "$DOCKERD_LOG" | tail -n 20 >&2 || true
  fi
}

selftest() {
  local tmp img=docker-engine-selftest:local rc
  tmp=$(mktemp -d /tmp/docker-selftest.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  # A tiny rootfs made of host binaries (Docker Hub is not reachable, so no pull).
  mkdir -p "$tmp/root/bin" "$tmp/root/out" "$tmp/root/tmp"
  local b
  for b in sh id touch; do cp "$(command -v $b)" "$tmp/root/bin/"; done
  for b in "$tmp"/root/bin/*; do
    ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
  done | sort -u | while read -r lib; do
    mkdir -p "$tmp/root$(dirname "$lib")"; cp -L "$lib" "$tmp/root$lib"
  done
  tar -C "$tmp/root" -c . | docker import - "$img" >/dev/null
  mkdir -p "$tmp/mnt" && chmod 777 "$tmp/mnt"
  docker run --rm "$img" /bin/sh -c 'exit 0' || die "selftest: plain 'docker run --rm' failed"
  docker run --rm --network=none "$img" /bin/sh -c 'exit 0' \
    || die "selftest: 'docker run --network=none' failed"
  docker run --rm -u 1000:1000 -v "$tmp/mnt:/out" "$img" /bin/sh -c 'touch /out/f' \
    || die "selftest: 'docker run -u 1000:1000' with a bind mount failed"
  [[ "$(stat -c %u:%g "$tmp/mnt/f")" == "1000:1000" ]] || die "selftest: file not owned by 1000:1000"
  set +e; docker run --rm "$img" /bin/sh -c 'exit 3'; rc=$?; set -e
  [[ $rc -eq 3 ]] || die "selftest: container exit code not propagated (got $rc, want 3)"
  docker image rm "$img" >/dev/null
}

if docker_ok; then
  [[ $SELFTEST -eq 1 ]] && selftest
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "docker is not usable and starting it needs root (current uid $(id -u))"

# 1. install -----------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt_log=$(mktemp /tmp/docker-apt.XXXXXX.log)
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends \
           docker.io containerd runc iptables tini; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install docker.io failed (full log: $apt_log)"
  fi
  rm -f "$apt_log"
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd not on PATH"
fi
command -v docker >/dev/null 2>&1 || die "no docker client on PATH"

# 2. start -------------------------------------------------------------------
dockerd_running() {
  local pid
  [[ -s /var/run/docker.pid ]] || return 1
  pid=$(cat /var/run/docker.pid)
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null
}

started_pid=
if ! dockerd_running; then
  # setsid + closed stdio: the daemon must survive the calling shell/job and
  # must not hold the caller's stdout open.
  # shellcheck disable=SC2086
  setsid nohup dockerd $DOCKERD_ARGS >"$DOCKERD_LOG" 2>&1 </dev/null &
  started_pid=$!
fi
any_dockerd() {
  dockerd_running || { [[ -n "$started_pid" ]] && kill -0 "$started_pid" 2>/dev/null; }
}

# 3. wait --------------------------------------------------------------------
deadline=$((SECONDS + DOCKERD_WAIT))
until docker_ok; do
  if (( SECONDS >= deadline )); then
    show_log_tail
    die "dockerd did not become ready within ${DOCKERD_WAIT}s (log: $DOCKERD_LOG)"
  fi
  if ! any_dockerd; then
    show_log_tail
    die "dockerd exited during start-up (log: $DOCKERD_LOG)"
  fi
  sleep 1
done

[[ $SELFTEST -eq 1 ]] && selftest
exit 0
