#!/usr/bin/env bash
# The closed division in Docker: the participant templates and hostile images (.ci/closed/) run through
# `dataperf closed` on a round with a secret data seed, each contained and reported, the round going on.
#
#   bash .ci/closed_e2e.sh        (after .ci/images.sh built the cube images; run by .ci/docker_e2e.sh, as root)
#
# Checked: every image gets its expected status (hostile probes report CONTAINED, never BREACH); the honest
# images' scores equal a local run of the same class; the round's workspace is byte for byte unchanged; no file
# of a round holds the secret data seed; SIGTERM and SIGHUP clean up, and what a SIGKILLed runner left ends by
# itself (the sandbox's clock) and is removed by the next round; nothing of a round is left behind.
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
LABEL=org.dataperf.closed.round          # on every container and volume of a round (common/closed/leftovers.py)
# A distinctive round name: the mountinfo probe's log must not show it (nor the workspace's path).
ROUND=round-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

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
  "sparse-file vd hostile.debugging:SparseFile"
  "symlink-then-big vd hostile.debugging:SymlinkThenBig"
  "seccomp vd hostile.debugging:Seccomp"
  "scratch-volume vd hostile.debugging:ScratchVolume VOLUME"
  "mountinfo vd hostile.debugging:Mountinfo"
  "over-budget da hostile.acquisition:OverBudget"
)
for spec in "${HOSTILE[@]}"; do
  read -r name base algorithm extra <<<"$spec"
  if [[ $extra == VOLUME ]]; then   # the same, plus `VOLUME /scratch` (volume.Dockerfile)
    build -t "$TAG/$name-base" --build-arg "BASE=$TAG/$base-template" --build-arg "ALGORITHM=$algorithm" .ci/closed \
      && build -t "$TAG/$name" --build-arg "BASE=$TAG/$name-base" -f .ci/closed/volume.Dockerfile .ci/closed \
      || fail "building $name"
    continue
  fi
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

step "vision_debugging round: 1 honest + $(( ${#HOSTILE[@]} - 1 )) hostile images"
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
$DATAPERF closed vision_debugging "${images[@]}" --workspace "$VD" --round "$ROUND" >"$WORK/vd.log" 2>"$WORK/vd.err" \
  || { cat "$WORK/vd.log" "$WORK/vd.err"; fail "dataperf closed vision_debugging"; }
echo "   $(( $(date +%s) - started )) s for $(( ${#images[@]} / 2 )) images"
[[ $(digest "$VD") == "$before" ]] || fail "the vision_debugging round's workspace changed"

step "data_acquisition round: the honest template and an over-budget image"
DA="$WORK/da"
round_workspace data_acquisition "$DA" "markets: [0, 1], scale: 0.005"
before=$(digest "$DA")
$DATAPERF closed data_acquisition --image "$TAG/da-template" --image "$TAG/over-budget" --workspace "$DA" --round "$ROUND" \
  >"$WORK/da.log" 2>"$WORK/da.err" || { cat "$WORK/da.log" "$WORK/da.err"; fail "dataperf closed data_acquisition"; }
[[ $(digest "$DA") == "$before" ]] || fail "the data_acquisition round's workspace changed"

step "every outcome as expected, honest scores equal local runs, no file of a round holds the seed"
$PY .ci/closed/expect.py "$VD" "$DA" "$ROUND" || { cat "$WORK/vd.log" "$WORK/da.log"; fail "outcomes"; }

VIEWS=$($PY -c 'import sys; from common.closed.leftovers import views_root; print(views_root(sys.argv[1]))' "$VD")
nothing_left() {   # no container or volume of a round, no view
  local containers volumes views
  containers=$(docker ps -aq --filter "label=$LABEL" | wc -l)
  volumes=$(docker volume ls -q --filter "label=$LABEL" | wc -l)
  views=$(find "$VIEWS" -mindepth 1 -maxdepth 1 | wc -l)
  [[ $containers -eq 0 && $volumes -eq 0 && $views -eq 0 ]] \
    || fail "$1: left behind: $containers containers, $volumes volumes, $views views ($(docker ps -a --filter "label=$LABEL" --format '{{.Names}} {{.Status}}' | tr '\n' ';'))"
}
nothing_left "after the rounds"

step "signals: SIGTERM and SIGHUP clean up; what a SIGKILLed runner left ends by itself and goes with the next round"
# The vision_debugging workspace with a 10 s wall clock; the endless loop runs until stopped.
SIG="$WORK/signals"
cp -a "$VD" "$SIG" && rm -rf "$SIG/closed"
sed -i 's/timeout_seconds: 45/timeout_seconds: 10/' "$SIG/parameters.yaml"
SIG_TIMEOUT=10; CLOCK_MARGIN=30     # common/closed/docker_runner.py
running_participant() { docker ps -q --filter "label=$LABEL" --filter "status=running" --filter "name=-run" | wc -l; }
start_round() {   # round name, images...: starts `dataperf closed` in the background once the loop runs
  local name=$1; shift
  local args=() image
  for image in "$@"; do args+=(--image "$TAG/$image"); done
  # (a background command of a script starts with SIGINT ignored: --default-signal gives it back)
  env --default-signal=INT $DATAPERF closed vision_debugging "${args[@]}" --workspace "$SIG" --round "$name" \
    >"$WORK/$name.log" 2>&1 &
  RUNNER=$!
  for _ in $(seq 120); do [[ $(running_participant) -eq 1 ]] && return 0; sleep 0.5; done
  cat "$WORK/$name.log"; fail "$name: the endless loop did not start"
}
for signal in TERM HUP; do
  name="sig$signal"
  start_round "$name" missing-image:none endless-loop
  sent=$(date +%s%N)
  kill -s "$signal" "$RUNNER"
  set +e; wait "$RUNNER"; code=$?; set -e
  ms=$(( ($(date +%s%N) - sent) / 1000000 ))
  want=$(( 128 + $(kill -l "$signal") ))
  [[ $code -eq $want ]] || { cat "$WORK/$name.log"; fail "SIG$signal: exit status $code, not $want"; }
  nothing_left "SIG$signal"
  # the image that finished stays, with the interruption; the interrupted one leaves no folder
  $PY - "$SIG/closed/$name" "SIG$signal" <<'PY' || { cat "$WORK/$name.log"; fail "SIG$signal: the round's results"; }
import json, pathlib, sys
folder, signal = pathlib.Path(sys.argv[1]), sys.argv[2]
results = json.loads((folder / "results.json").read_text())
assert [e["status"] for e in results["images"]] == ["image_error"], results["images"]
assert results["interrupted"]["signal"] == signal and "finished_utc" not in results, results
assert [p.name for p in (folder / "images").iterdir()] == ["01-dataperf-ci-closed-missing-image-none"]
PY
  echo "   SIG$signal: exit status $code after $ms ms; nothing left; results.json keeps the finished image"
done
# A runner that finished nothing leaves no round folder (no results.json without results).
start_round sigINT endless-loop
kill -s INT "$RUNNER"
set +e; wait "$RUNNER"; code=$?; set -e
[[ $code -eq 130 && ! -e "$SIG/closed/sigINT" ]] || { cat "$WORK/sigINT.log"; fail "SIGINT: status $code, or a round folder left"; }
nothing_left "SIGINT"
echo "   SIGINT with no image finished: exit status 130, no round folder"

start_round sigKILL endless-loop
started=$(date +%s)
kill -s KILL "$RUNNER"
wait "$RUNNER" 2>/dev/null || true
[[ $(docker ps -q --filter "label=$LABEL" | wc -l) -eq 3 ]] || fail "SIGKILL: expected the participant, its clock and keeper still running"
# The clock ends the participant's container by itself, the runner being gone.
until [[ $(running_participant) -eq 0 ]]; do
  (( $(date +%s) - started <= SIG_TIMEOUT + CLOCK_MARGIN + 30 )) || fail "SIGKILL: the participant still runs after $(( $(date +%s) - started )) s"
  sleep 1
done
echo "   SIGKILL: the participant's container ended by itself after $(( $(date +%s) - started )) s (wall clock ${SIG_TIMEOUT} s + ${CLOCK_MARGIN} s)"
$DATAPERF closed vision_debugging --image "$TAG/missing-image:none" --workspace "$SIG" --round sweep >"$WORK/sweep.log" 2>&1 \
  || { cat "$WORK/sweep.log"; fail "the round after SIGKILL"; }
grep -q "removed 3 containers, 1 volume, 1 view left by an earlier round" "$WORK/sweep.log" \
  || { cat "$WORK/sweep.log"; fail "the next round did not remove what the SIGKILLed runner left"; }
nothing_left "the round after SIGKILL"
echo "   the next round: $(sed -n 's/^closed: \(removed .*\) left by .*/\1/p' "$WORK/sweep.log")"

for spec in "${HOSTILE[@]}"; do   # children first; the build cache of the layers stays, as for the cube images
  read -r name _ _ extra <<<"$spec"
  docker image rm "$TAG/$name" >/dev/null
  if [[ $extra == VOLUME ]]; then docker image rm "$TAG/$name-base" >/dev/null; fi
done
docker image rm "$TAG/vd-template" "$TAG/da-template" >/dev/null
step "closed division passed"
