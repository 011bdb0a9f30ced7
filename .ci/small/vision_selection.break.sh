#!/usr/bin/env bash
# Make the workspace's submissions invalid: a repeated ImageID in one concept's training set.
set -euo pipefail
ws=$1
mkdir -p "$ws/submissions/broken"
for c in Cupcake Hawk Sushi; do cp "$ws/submissions/random/$c.csv" "$ws/submissions/broken/$c.csv"; done
sed -n 2p "$ws/submissions/random/Hawk.csv" >> "$ws/submissions/broken/Hawk.csv"
