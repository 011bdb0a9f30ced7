#!/usr/bin/env bash
# Build the cube images that `mlcube run --platform=docker` runs, tagged as each cube's mlcube.yaml names them
# (mlcube then finds them and does not build by itself).
#
#   .ci/images.sh [--offline] [CUBE...]      (make images / make images-offline; default: every cube)
#
# Default, for a machine that reaches Docker Hub and PyPI: FROM python:3.11-slim, Python packages from PyPI (torch
#   from its CPU index).  This is what `mlcube run` itself would build.
# --offline, for a machine without registry access (how CI builds, in .ci/docker_e2e.sh):
#   1. the Docker engine (.ci/docker_engine.sh: starts Debian's docker.io when `docker info` fails; needs root),
#   2. the Debian-based stand-in base image dataperf-base:bookworm (.ci/base_image.sh: debootstrap, needs root once;
#      a no-op when the tag exists),
#   3. the wheelhouse docker/wheels (.ci/wheelhouse.sh pyproject.toml: the host's pip fetches the wheels once, from
#      PyPI or whatever index the host's pip is configured with; a no-op when it is complete),
#   4. the images FROM dataperf-base:bookworm, installing only from the wheelhouse, with no network in the build.
#   Then set DATAPERF_BASE_IMAGE=dataperf-base:bookworm DATAPERF_PIP_OFFLINE=1 so that an mlcube rebuild
#   (-Pdocker.build_strategy=always) builds the same way.
#
# Environment: DATAPERF_BASE_IMAGE overrides the base image (either mode); BASE_IMAGE_TAG as in base_image.sh.
# The build context is the repository root (as in mlcube.yaml); every build is cached by Docker, so running this
# again after a code change rebuilds only the layers with the cube's code.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ALL=(vision_debugging speech_selection vision_selection data_acquisition)

die() { echo "images.sh: ERROR: $*" >&2; exit 1; }

OFFLINE=0
CUBES=()
for arg in "$@"; do
  case "$arg" in
    --offline) OFFLINE=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) die "unknown option: $arg" ;;
    *) [[ " ${ALL[*]} " == *" $arg "* ]] || die "unknown cube '$arg' (cubes: ${ALL[*]})"; CUBES+=("$arg") ;;
  esac
done
[[ ${#CUBES[@]} -gt 0 ]] || CUBES=("${ALL[@]}")

step() { echo "== images: $* ($(date +%H:%M:%S))"; }

if [[ $OFFLINE -eq 1 ]]; then
  step "docker engine"
  bash .ci/docker_engine.sh
  BASE=${DATAPERF_BASE_IMAGE:-${BASE_IMAGE_TAG:-dataperf-base:bookworm}}
  step "base image $BASE"
  BASE_IMAGE_TAG=$BASE bash .ci/base_image.sh
  step "wheelhouse docker/wheels"
  bash .ci/wheelhouse.sh pyproject.toml docker/wheels
else
  docker info >/dev/null 2>&1 || die "no working Docker engine ('docker info' fails); start it, or see .ci/docker_engine.sh"
  BASE=${DATAPERF_BASE_IMAGE:-python:3.11-slim}
fi

log=$(mktemp /tmp/dataperf-images.XXXXXX.log)
trap 'rm -f "$log"' EXIT
for cube in "${CUBES[@]}"; do
  image=$(sed -n 's/^  image: *//p' "$cube/mlcube.yaml" | head -n 1)
  [[ -n $image ]] || die "$cube/mlcube.yaml names no docker image"
  step "$cube -> $image (FROM $BASE$([[ $OFFLINE -eq 1 ]] && echo ', wheels only'))"
  if ! docker build --build-arg "BASE_IMAGE=$BASE" --build-arg "PIP_OFFLINE=$OFFLINE" \
       -t "$image" -f "$cube/Dockerfile" . >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "docker build of $cube failed"
  fi
done
step "done: ${CUBES[*]}"
