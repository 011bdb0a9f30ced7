#!/usr/bin/env bash
# Make the workspace's submissions invalid: a negative count and a count that is not a whole number.
set -euo pipefail
ws=$1
mkdir -p "$ws/submissions/broken"
for k in 0 1 2 3 4; do printf '1,2,3,-4,5,6,7,8,9,10,11,12,13,14,15,10,10,10,10,1.5\n' > "$ws/submissions/broken/$k.txt"; done
