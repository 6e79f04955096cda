#!/usr/bin/env bash
# Submits the shard array and the merge that waits for it:
#   TOMSCAN_INPUTS=/shared/installers TOMSCAN_SHARDS_DIR=/shared/shards \
#   TOMSCAN_ARCHIVE=/shared/archive deploy/slurm/submit.sh [--array=0-15]
# Run it from the checkout (the array tasks find deploy/tomscan-shard.sh
# there unless it is on PATH); extra arguments go to the array's sbatch.
set -euo pipefail
here=$(dirname "$0")
jid=$(sbatch --parsable --export=ALL "$@" "$here/tomscan-array.sbatch")
sbatch --parsable --export=ALL --dependency="afterok:${jid%%;*}" "$here/tomscan-merge.sbatch"
