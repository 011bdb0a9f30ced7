#!/usr/bin/env bash
# Create/refresh a virtualenv with the MLCube CLI (mlcube + mlcube-docker 0.0.9).
#
#   .ci/mlcube_env.sh [VENV_DIR]          # default VENV_DIR: <repo>/.venv-mlcube
#   eval "$(.ci/mlcube_env.sh)"           # ...and export the variables below
#
# stdout: exactly these two lines, meant for eval (nothing else is printed on success):
#   export MLCUBE_SYSTEM_SETTINGS=<repo>/.mlcube/settings.yaml
#   export PATH=<VENV_DIR>/bin:$PATH
# MLCube rewrites its "system settings" file on EVERY invocation, by default
# ~/mlcube.yaml; MLCUBE_SYSTEM_SETTINGS keeps it inside the repository (the
# directory gets a .gitignore). A value already set in the environment is kept.
#
# Pins: mlcube==0.0.9 mlcube-docker==0.0.9 (omegaconf==2.1.0 comes with them).
#   pip==24.0 : pip >= 24.1 rejects omegaconf 2.1.0's metadata (PyYAML>=5.1.*).
#   setuptools==84.2.1 : mlcube imports distutils; with the setuptools 65.x that a
#     Python 3.11 venv starts with, `mlcube run --workspace=...` crashes in
#     distutils.copy_tree (PosixPath). Also needed on Python >= 3.12 (no distutils).
# Interpreter: $PYTHON, else /usr/bin/python3 (Debian's 3.11) when it can make venvs, else
#   python3. On these machines `python3` is pyenv's /root/.pyenv/... (mode 700 on /root):
#   a venv built from it gives "bad interpreter: Permission denied" to any non-root user
#   (e.g. CI running `mlcube` via runuser). An existing venv whose interpreter is not
#   usable by other users is rebuilt.
# Idempotent: does nothing when the venv already has these versions and `mlcube --help` works.
set -euo pipefail

die() { echo "mlcube_env.sh: ERROR: $*" >&2; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,25p' "$0"; exit 0 ;; esac

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${1:-$REPO_ROOT/.venv-mlcube}
if [[ -n "${PYTHON:-}" ]]; then
  PY=$PYTHON
elif [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  PY=/usr/bin/python3
else
  PY=python3
fi
PINS=(mlcube==0.0.9 mlcube-docker==0.0.9)
PIP_PIN=pip==24.0
SETUPTOOLS_PIN=setuptools==84.2.1

if [[ -z "${MLCUBE_SYSTEM_SETTINGS:-}" ]]; then
  MLCUBE_SYSTEM_SETTINGS=$REPO_ROOT/.mlcube/settings.yaml
fi
settings_dir=$(dirname "$MLCUBE_SYSTEM_SETTINGS")
mkdir -p "$settings_dir"
if [[ $settings_dir == "$REPO_ROOT"/* && ! -e $settings_dir/.gitignore ]]; then
  printf '*\n' >"$settings_dir/.gitignore"
fi
export MLCUBE_SYSTEM_SETTINGS

log=$(mktemp /tmp/mlcube_env.XXXXXX.log)
trap 'rm -f "$log"' EXIT

versions_ok() {
  "$VENV/bin/python" -c '
import importlib.metadata as md, sys
v = {d: md.version(d) for d in ("mlcube", "mlcube-docker", "pip", "setuptools")}
pip = tuple(int(x) for x in v["pip"].split(".")[:2])
sys.exit(0 if v["mlcube"] == v["mlcube-docker"] == "0.0.9" and pip < (24, 1)
         and v["setuptools"] == "84.2.1" else 1)
' >/dev/null 2>&1
}

cli_ok() { "$VENV/bin/mlcube" --help >"$log" 2>&1; }

# True when the file and every directory above it are usable by "others".
world_usable() {
  local p mode
  p=$(readlink -f "$1") || return 1
  mode=$(stat -c %a "$p") || return 1
  (( 8#$mode & 1 )) || return 1
  while p=$(dirname "$p"); [[ $p != / ]]; do
    mode=$(stat -c %a "$p") || return 1
    (( 8#$mode & 1 )) || return 1
  done
}

if [[ -f "$VENV/pyvenv.cfg" ]] && ! world_usable "$VENV/bin/python"; then
  rm -rf "$VENV"   # built from a root-only interpreter (see header); rebuild
fi

if ! { [[ -x "$VENV/bin/mlcube" ]] && versions_ok && cli_ok; }; then
  command -v "$PY" >/dev/null 2>&1 || die "$PY not found"
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' \
    || die "$PY is too old (mlcube 0.0.9 needs Python >= 3.8 in practice)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV" >"$log" 2>&1 || { cat "$log" >&2; die "python -m venv $VENV failed"; }
  fi
  [[ $VENV == "$REPO_ROOT"/* && ! -e $VENV/.gitignore ]] && printf '*\n' >"$VENV/.gitignore"
  # Two steps: first pin pip itself, then install mlcube with the pinned pip.
  { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$PIP_PIN" "$SETUPTOOLS_PIN" &&
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"; } >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "pip install ${PINS[*]} into $VENV failed"; }
  versions_ok || die "unexpected versions in $VENV after install"
  world_usable "$VENV/bin/python" \
    || echo "mlcube_env.sh: WARNING: $VENV/bin/python is not usable by non-root users" >&2
  cli_ok || { tail -n 30 "$log" >&2; die "'mlcube --help' does not run"; }
fi

printf 'export MLCUBE_SYSTEM_SETTINGS=%q\n' "$MLCUBE_SYSTEM_SETTINGS"
# shellcheck disable=SC2016  # $PATH must stay literal for the eval-ing shell
printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
