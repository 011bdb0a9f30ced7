#!/usr/bin/env bash
# The closed division in Docker: the participant templates and hostile images (.ci/closed/) run through
# `dataperf closed` on a round with a secret data seed, each contained and reported, the round going on.
#
#   bash .ci/closed_e2e.sh        (after .ci/images.sh built the cube images; run by .ci/docker_e2e.sh, as root)
#
# Checked: every image gets its expected status (hostile probes report CONTAINED, never BREACH); the honest
# images' scores equal a local run of the same class; the round's workspace is byte for byte unchanged.
# Nothing here sends a packet outside loopback: the containers have no network, and the network probe only
# looks at their interfaces and routes, and resolves a name once it found neither.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PY:-.venv/bin/python}
DATAPERF=${DATAPERF:-.venv/bin/dataperf}

step() { echo "== closed: $* ($(date +%H:%M:%S))"; }
fail() { echo "closed_e2e: FAILED: $*" >&2; exit 1; }
image_of() { sed -n 's/^  image: *//p' "$1/mlcube.yaml" | head -n 1; }

WORK=$(mktemp -d /tmp/dataperf-closed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TAG=dataperf-ci-closed

step "participant templates, FROM the cube images"
build() { docker build -q "$@" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; return 1; }; }
build -t "$TAG/vd-template" --build-arg "CUBE_IMAGE=$(image_of vision_debugging)" vision_debugging/closed_template \
  || fail "building the vision_debugging template"
build -t "$TAG/da-template" --build-arg "CUBE_IMAGE=$(image_of data_acquisition)" data_acquisition/closed_template \
  || fail "building the data_acquisition template"

step "hostile images, FROM the templates"
# name  base  algorithm  [build arg]
HOSTILE=(
  "find-hidden vd hostile.debugging:FindHidden"
  "write-outside vd hostile.debugging:WriteOutside"
  "escalate vd hostile.debugging:Escalate"
  "docker-socket vd hostile.debugging:DockerSocket"
  "network vd hostile.debugging:Network"
  "fork-bomb vd hostile.debugging:ForkBomb"
  "memory-bomb vd hostile.debugging:MemoryBomb"
  "endless-loop vd hostile.debugging:EndlessLoop"
  "flood-big vd hostile.debugging:FloodBig"
  "flood-many vd hostile.debugging:FloodMany"
  "symlinks vd hostile.debugging:Symlinks"
  "patched-evaluator vd hostile.debugging:PatchedEvaluator PATCH_EVALUATOR=1"
  "traceback vd hostile.debugging:Traceback"
  "duplicates vd hostile.debugging:Duplicates"
  "over-budget da hostile.acquisition:OverBudget"
)
for spec in "${HOSTILE[@]}"; do
  read -r name base algorithm extra <<<"$spec"
  build -t "$TAG/$name" --build-arg "BASE=$TAG/$base-template" --build-arg "ALGORITHM=$algorithm" \
    ${extra:+--build-arg "$extra"} .ci/closed || fail "building $name"
done

# Small, fast rounds: every run is bounded by seconds.
LIMITS='{timeout_seconds: 45, memory_mb: 1536, cpus: 1.0, pids: 64, output_mb: 16, output_files: 200, tmp_mb: 64}'
round_workspace() {   # cube, folder, data parameters
  mkdir -p "$2"
  cat >"$2/parameters.yaml" <<EOF
seed: 0
data: {seed: $($DATAPERF closed-seed 2>/dev/null), $3}
baselines: {workers: 1}
evaluate: {workers: 1}
closed: $LIMITS
EOF
  $DATAPERF run "$1" --workspace "$2" --task=download >"$WORK/$1-download.log" 2>&1 \
    || { cat "$WORK/$1-download.log"; fail "$1: download of the round's data"; }
}
digest() {   # every path, type, mode and link target, and every file's content, of a workspace but its closed/
  (cd "$1" && { find . -path ./closed -prune -o -printf '%p %y %m %l\n' | sort
                find . -path ./closed -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum; } | sha256sum)
}

step "vision_debugging round: 1 honest + 14 hostile images"
VD="$WORK/vd"
round_workspace vision_debugging "$VD" "tasks: [01g317-flipped], scale: 0.2"
before=$(digest "$VD")
images=(--image "$TAG/vd-template")
for spec in "${HOSTILE[@]}"; do
  read -r name base _ <<<"$spec"
  [[ $base == vd ]] && images+=(--image "$TAG/$name")
done
images+=(--image "$TAG/vd-template" --image "$TAG/missing-image:none")
started=$(date +%s)
$DATAPERF closed vision_debugging "${images[@]}" --workspace "$VD" --round ci >"$WORK/vd.log" 2>"$WORK/vd.err" \
  || { cat "$WORK/vd.log" "$WORK/vd.err"; fail "dataperf closed vision_debugging"; }
echo "   $(( $(date +%s) - started )) s for ${#images[@]} images"
[[ $(digest "$VD") == "$before" ]] || fail "the vision_debugging round's workspace changed"

step "data_acquisition round: the honest template and an over-budget image"
DA="$WORK/da"
round_workspace data_acquisition "$DA" "markets: [0, 1], scale: 0.005"
before=$(digest "$DA")
$DATAPERF closed data_acquisition --image "$TAG/da-template" --image "$TAG/over-budget" --workspace "$DA" --round ci \
  >"$WORK/da.log" 2>"$WORK/da.err" || { cat "$WORK/da.log" "$WORK/da.err"; fail "dataperf closed data_acquisition"; }
[[ $(digest "$DA") == "$before" ]] || fail "the data_acquisition round's workspace changed"

step "every outcome as expected, honest scores equal local runs"
$PY .ci/closed/expect.py "$VD" "$DA" || { cat "$WORK/vd.log" "$WORK/da.log"; fail "outcomes"; }
left=$(docker ps -aq --filter "name=dataperf-closed-" | wc -l)
[[ $left -eq 0 ]] || fail "$left closed-division containers were left behind"
for spec in "${HOSTILE[@]}"; do   # children first; the build cache of the layers stays, as for the cube images
  read -r name _ <<<"$spec"
  docker image rm "$TAG/$name" >/dev/null
done
docker image rm "$TAG/vd-template" "$TAG/da-template" >/dev/null
step "closed division passed"
