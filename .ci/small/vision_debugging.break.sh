#!/usr/bin/env bash
# Make the workspace's submissions invalid: a duplicated index.
set -euo pipefail
ws=$1
printf '0\n0\n' > "$ws/submissions/01g317-flipped_broken.txt"
printf "0\n" > "$ws/submissions/04hgtk_broken.txt"
