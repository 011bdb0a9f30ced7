#!/usr/bin/env bash
# Make the workspace's submissions invalid: malformed JSON.
set -euo pipefail
ws=$1
mkdir -p "$ws/submissions/broken"
for f in en_25 en_60 pt_25 pt_60; do printf '{"targets": {}, "nontargets": [}' > "$ws/submissions/broken/${f}_train.json"; done
