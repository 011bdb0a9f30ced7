#!/usr/bin/env bash
# Build the stand-in base image (default tag dataperf-base:bookworm) when it is
# absent. Docker Hub is not reachable from CI machines, so instead of pulling
# python:3.11-slim we debootstrap a minimal Debian bookworm and `docker import` it.
#
#   .ci/base_image.sh            # no-op when the tag already exists
#   .ci/base_image.sh --force    # rebuild (replaces the tag)
#
# Environment:
#   BASE_IMAGE_TAG   tag to build                  (default dataperf-base:bookworm)
#   DEBIAN_MIRROR    mirror for debootstrap         (default: the bookworm mirror in
#                    /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR                          (same idea, for bookworm-security)
#   CI_VERBOSE=1     print a one-line summary (time, size) after a build
#
# Image contents: debootstrap --variant=minbase bookworm + python3 (3.11.2),
# python3-pip, python3-venv, ca-certificates, with bookworm-updates/-security
# applied; apt lists/caches, docs, man pages and locales removed.
# No libgomp1: the torch / scikit-learn wheels bundle their own libgomp.
# Debian's python is "externally managed" (PEP 668): Dockerfiles must set
# PIP_BREAK_SYSTEM_PACKAGES=1 (or use a venv) before `pip install`.
# `docker import` keeps no ENV from the rootfs; PATH, LANG and CMD are set with
# --change below; anything else belongs in the Dockerfile.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAG=${BASE_IMAGE_TAG:-dataperf-base:bookworm}
SUITE=bookworm
PACKAGES=python3,python3-pip,python3-venv,ca-certificates
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "base_image.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

die() { echo "base_image.sh: ERROR: $*" >&2; exit 1; }

"$HERE/docker_engine.sh"

if [[ $FORCE -eq 0 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
  exit 0
fi
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"

# First URI in the apt configuration serving suite $1 (one-line and deb822 formats).
apt_uri_for_suite() {
  local suite=$1 f
  shopt -s nullglob
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v suite="$suite" '
      $1 == "deb" { i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      { types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^Types:/)   { sub(/^Types:[ \t]*/, "", line);   types = line }
          if (line ~ /^URIs:/)    { sub(/^URIs:[ \t]*/, "", line);    uris = line }
          if (line ~ /^Suites:/)  { sub(/^Suites:[ \t]*/, "", line);  suites = line }
          if (line ~ /^Enabled:/) { sub(/^Enabled:[ \t]*/, "", line); enabled = line }
        }
        if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
          split(uris, u, /[ \t]+/); print u[1]; exit } }' "$f"
  done
  shopt -u nullglob
}

MIRROR=${DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE" | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SEC_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(apt_uri_for_suite "$SUITE-security" | head -n 1)}
SEC_MIRROR=${SEC_MIRROR:-http://deb.debian.org/debian-security}
MIRROR=${MIRROR%/}; SEC_MIRROR=${SEC_MIRROR%/}

export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null 2>&1; then
  log=$(mktemp /tmp/debootstrap-apt.XXXXXX.log)
  { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; } >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get install debootstrap failed (log: $log)"; }
  rm -f "$log"
fi

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/dataperf-base.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
root=$work/rootfs
log=$work/build.log

fail() {
  tail -n 40 "$log" >&2 || true
  [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 20 "$root/debootstrap/debootstrap.log" >&2
  die "$*"
}

debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >"$log" 2>&1 \
  || fail "debootstrap $SUITE from $MIRROR failed"

cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SEC_MIRROR $SUITE-security main
EOF
# Keep docs/man/locales out of anything installed later (like the official slim images).
cat >"$root/etc/dpkg/dpkg.cfg.d/01-docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$root/etc/apt/apt.conf.d/01-docker-clean" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF

in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}
# Point-release and security updates on top of the bookworm release.
in_root sh -c 'apt-get update -q && apt-get -y -q -o Dpkg::Options::=--force-confold upgrade' \
  >>"$log" 2>&1 || fail "apt-get upgrade inside the rootfs failed"
in_root python3 -c 'import ensurepip, venv, ssl, sqlite3' >>"$log" 2>&1 \
  || fail "python3 in the rootfs is incomplete"
in_root python3 -m pip --version >>"$log" 2>&1 || fail "pip missing in the rootfs"
in_root apt-get clean >>"$log" 2>&1

# Slim down (~300 MB -> ~150 MB unpacked).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
       "$root"/var/log/* "$root"/debootstrap "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.cache
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
find "$root/usr" -name '__pycache__' -type d -prune -exec rm -rf {} + 2>/dev/null || true
# Files that describe the build host; docker provides its own at run time.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
: >"$root/etc/resolv.conf"
echo localhost >"$root/etc/hostname"

tar --numeric-owner --xattrs -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$TAG" >>"$log" 2>&1 || fail "docker import failed"

docker run --rm --network=none "$TAG" python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)' \
  >>"$log" 2>&1 || fail "smoke test of $TAG failed"

if [[ ${CI_VERBOSE:-0} == 1 ]]; then
  size=$(docker image inspect --format '{{.Size}}' "$TAG")
  echo "base_image.sh: built $TAG in $((SECONDS - start))s, $((size / 1000000)) MB (mirror $MIRROR)"
fi
