#!/usr/bin/env bash
# Download every wheel needed to install a requirements file OFFLINE on
# CPython 3.11 / x86_64 / manylinux (glibc <= 2.36, i.e. Debian bookworm),
# plus setuptools and wheel (needed to build a pyproject.toml project with
# `pip install --no-index --find-links DIR .`).
#
#   .ci/wheelhouse.sh REQUIREMENTS_FILE [OUTDIR] [EXTRA_REQUIREMENT...]
#     REQUIREMENTS_FILE: a requirements file, or a pyproject.toml (its [project] dependencies:
#       `.ci/wheelhouse.sh pyproject.toml` is what the cube images need).
#     OUTDIR defaults to docker/wheels (relative to the repository root).
#     EXTRA_REQUIREMENT: more specs to include, e.g. 'hatchling>=1.20'.
#
# Then, in a Dockerfile:
#   COPY docker/wheels /wheels
#   RUN python3 -m pip install --no-index --find-links /wheels -r requirements.txt
#
# Environment:
#   WHEEL_PYTHON_VERSION (3.11)  WHEEL_ABI (cp311)  WHEEL_GLIBC_MAX (36)
#
# Skips the download when OUTDIR already resolves the full requirement set
# offline (one `pip download --no-index` against OUTDIR, a few seconds).
# Wheels only (--only-binary=:all:): a requirement without a matching wheel is an
# error. torch: on these machines pip's find-links (/opt/wheels) supplies
# torch-X+cpu, which sorts above PyPI's CUDA build of the same version; elsewhere
# you would get the multi-GB CUDA wheel plus nvidia-* (a warning is printed).
# OUTDIR gets a .gitignore ("*") so the wheels never end up in git.
set -euo pipefail

die() { echo "wheelhouse.sh: ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,26p' "$0"; }

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ=$1; shift
OUT=${1:-$REPO_ROOT/docker/wheels}; [[ $# -gt 0 ]] && shift
EXTRA=("$@")
[[ -f "$REQ" ]] || die "requirements file not found: $REQ"

PYVER=${WHEEL_PYTHON_VERSION:-3.11}
ABI=${WHEEL_ABI:-cp${PYVER/./}}
GLIBC_MAX=${WHEEL_GLIBC_MAX:-36}
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die "$PY not found"
"$PY" -m pip --version >/dev/null 2>&1 || die "pip is not available for $PY"

# pip < 24.? does not expand PEP 600 tags: --platform manylinux_2_36_x86_64 alone
# matches ONLY *_2_36 wheels. List every glibc level explicitly.
PLATFORM_ARGS=()
for ((v = GLIBC_MAX; v >= 5; v--)); do PLATFORM_ARGS+=(--platform "manylinux_2_${v}_x86_64"); done
PLATFORM_ARGS+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
TARGET_ARGS=(--only-binary=:all: "${PLATFORM_ARGS[@]}" --python-version "$PYVER"
             --implementation cp --abi "$ABI")

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[[ -f "$OUT/.gitignore" ]] || printf '*\n' >"$OUT/.gitignore"

log=$(mktemp /tmp/wheelhouse.XXXXXX.log)
REQ_TMP=$(mktemp /tmp/wheelhouse-requirements.XXXXXX.txt)
trap 'rm -f "$log" "$REQ_TMP"' EXIT

# A pyproject.toml stands for its [project] dependencies (the same list the Dockerfiles install).
if [[ $REQ == *.toml ]]; then
  "$PY" -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
    "$REQ" >"$REQ_TMP" || die "cannot read [project] dependencies from $REQ (needs Python >= 3.11)"
  REQ=$REQ_TMP
fi
SPECS=(-r "$REQ" setuptools wheel "${EXTRA[@]}")

# Completeness check: resolve offline against OUTDIR only. PIP_CONFIG_FILE=/dev/null
# and unsetting PIP_* keep the machine's find-links/extra indexes out of the check.
offline_pip() {
  local unset=() v
  for v in $(compgen -e | grep '^PIP_' || true); do unset+=(-u "$v"); done
  env "${unset[@]}" PIP_CONFIG_FILE=/dev/null "$PY" -m pip "$@"
}
if offline_pip download -q --disable-pip-version-check --no-index --find-links "$OUT" -d "$OUT" \
     "${TARGET_ARGS[@]}" "${SPECS[@]}" >"$log" 2>&1; then
  exit 0
fi

if ! "$PY" -m pip download -q --disable-pip-version-check -d "$OUT" "${TARGET_ARGS[@]}" \
       "${SPECS[@]}" >"$log" 2>&1; then
  grep -vE "^WARNING: Location '.*' is ignored" "$log" | tail -n 30 >&2
  die "pip download failed for $REQ (python $PYVER, $ABI, manylinux glibc<=2.$GLIBC_MAX)"
fi

# Verify the result really is self-contained.
if ! offline_pip download -q --disable-pip-version-check --no-index --find-links "$OUT" -d "$OUT" \
       "${TARGET_ARGS[@]}" "${SPECS[@]}" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "wheelhouse $OUT does not resolve offline after download"
fi

shopt -s nullglob
torch_wheels=("$OUT"/torch-*.whl)
for w in "${torch_wheels[@]}"; do
  [[ $w == *+cpu-* ]] || echo "wheelhouse.sh: WARNING: $(basename "$w") is not a +cpu build (large CUDA wheel)" >&2
done
exit 0
