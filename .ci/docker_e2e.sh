#!/usr/bin/env bash
# Docker end-to-end: every cube's four tasks through `mlcube run --platform=docker` on a small
# configuration, as an unprivileged user, with the network off; then a failing task must fail mlcube.
#
# Needs root once (engine, base image, CI user).  No registry access: the base image is built from
# Debian packages and the Python packages come from a host-side wheelhouse.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# DATAPERF_E2E_CUBES="a b" runs a subset (e.g. while working on one cube).
read -r -a CUBES <<<"${DATAPERF_E2E_CUBES:-vision_debugging speech_selection vision_selection data_acquisition}"
CI_USER=${CI_USER:-dataperf-ci}

step() { echo "== $* ($(date +%H:%M:%S))"; }
fail() { echo "docker_e2e: FAILED: $*" >&2; exit 1; }

step "engine, base image, wheelhouse and images: make images-offline"
# The README's offline set-up, the same script: engine, Debian base image, wheelhouse, then the cube images.
bash .ci/images.sh --offline "${CUBES[@]}"
step "mlcube"
# Outside the checkout: the unprivileged user must be able to run it wherever the clone lives.
eval "$(bash .ci/mlcube_env.sh /tmp/dataperf-ci-mlcube)"

# An unprivileged caller, so that "outputs belong to the calling user" is really checked.
getent group docker >/dev/null || groupadd docker
id -u "$CI_USER" >/dev/null 2>&1 || useradd --create-home --groups docker "$CI_USER"
uid=$(id -u "$CI_USER")
WORK=$(mktemp -d /tmp/dataperf-e2e.XXXXXX)
chmod 755 "$WORK"
# The cubes and their build context, copied where the user can read them (the clone may be private).
mkdir -p "$WORK/src"
git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -xf - -C "$WORK/src"
cp -r docker/wheels "$WORK/src/docker/"
chown -R "$CI_USER" "$WORK"
as_user() {
  cd "$WORK" && runuser -u "$CI_USER" -- env PATH="$PATH" HOME="$WORK" MLCUBE_SYSTEM_SETTINGS="$WORK/mlcube-settings.yaml" \
    DATAPERF_BASE_IMAGE=dataperf-base:bookworm DATAPERF_PIP_OFFLINE=1 "$@"
  local code=$?
  cd "$ROOT"
  return $code
}
# Containers of the cube images only: the engine may be shared with other work running containers of its own.
cube_containers() {
  local cube
  for cube in "${CUBES[@]}"; do
    docker ps -aq --filter "ancestor=$(sed -n 's/^  image: *//p' "$cube/mlcube.yaml" | head -n 1)"
  done | sort -u | wc -l
}
containers_before=$(cube_containers)

for cube in "${CUBES[@]}"; do
  ws="$WORK/$cube"
  as_user mkdir -p "$ws"
  as_user cp "$WORK/src/.ci/small/$cube.yaml" "$ws/parameters.yaml"
  step "$cube: mlcube run --task=download,create_baselines,evaluate,plot"
  # build_strategy=always: mlcube's own build (the DATAPERF_* variables) must work too; cached, so quick.
  as_user mlcube run --mlcube="$WORK/src/$cube" --workspace="$ws" --platform=docker --network=none \
    -Pdocker.build_strategy=always --task=download,create_baselines,evaluate,plot || fail "$cube: mlcube run exited $?"
  .venv/bin/python .ci/check_outputs.py "$cube" "$ws" "$uid" || fail "$cube: outputs"

  step "$cube: a failing task makes mlcube fail"
  as_user bash "$WORK/src/.ci/small/$cube.break.sh" "$ws"
  set +e
  # --log-level=critical: mlcube 0.0.9 prints a traceback of its own when a container fails.
  as_user mlcube --log-level=critical run --mlcube="$WORK/src/$cube" --workspace="$ws" --platform=docker \
    --network=none --task=evaluate >"$WORK/fail.log" 2>&1
  code=$?
  set -e
  [[ $code -ne 0 ]] || { cat "$WORK/fail.log"; fail "$cube: mlcube exited 0 on a bad submission"; }
  grep -q "error:" "$WORK/fail.log" || { cat "$WORK/fail.log"; fail "$cube: no clear error message"; }
  ! grep -q "Traceback" "$WORK/fail.log" || { cat "$WORK/fail.log"; fail "$cube: traceback on bad input"; }
  echo "   mlcube exited $code with: $(grep 'error:' "$WORK/fail.log" | head -1)"
  # The refused method is recorded for the report, and the other methods are still scored.
  .venv/bin/python - "$ws/results/summary.json" <<'PY' || fail "$cube: the refusal is not in summary.json"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["refused"] and {r["method"] for r in summary["refused"]} == {"broken"}, summary["refused"]
assert summary["ranking"] and "broken" not in summary["methods"], summary["ranking"]
print(f"   refused: {len(summary['refused'])} problem(s) of method 'broken'; still scored: {len(summary['ranking'])}")
PY
done

[[ $(cube_containers) -eq $containers_before ]] || fail "containers were left behind (no --rm?)"
if [[ " ${CUBES[*]} " == *" vision_debugging "* && " ${CUBES[*]} " == *" data_acquisition "* ]]; then
  step "closed division: participant and hostile images through dataperf closed"
  bash .ci/closed_e2e.sh || fail "closed division"
fi
step "the suite report of the Docker runs"
.venv/bin/dataperf report --workspace-root "$WORK" --output "$WORK/report.html" >"$WORK/report.log" \
  || { cat "$WORK/report.log"; fail "dataperf report"; }
[[ $(grep -c 'image <code>dataperf/' "$WORK/report.html") -eq ${#CUBES[@]} ]] \
  || fail "the report does not name the image of every cube's run"
rm -rf "$WORK"
step "docker end-to-end passed"
