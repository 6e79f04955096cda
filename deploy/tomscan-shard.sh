#!/usr/bin/env bash
# One shard of a sharded scan, the same on every cluster engine:
#   tomscan-shard.sh INDEX COUNT
# scans the builds of TOMSCAN_INPUTS whose sha256 falls in shard INDEX of
# COUNT (tomscan scan --shard INDEX/COUNT) into TOMSCAN_SHARDS_DIR/shard-INDEX.
# deploy/kubernetes passes the Indexed Job's completion index, deploy/slurm
# the array task's offset. Every shard must be scanned with the same inputs
# path, flags, rules and tomscan: then `tomscan merge` gives the archive one
# scan would have written, byte for byte.
#
# Environment: TOMSCAN_INPUTS (required), TOMSCAN_SHARDS_DIR (required),
# TOMSCAN_KEYWORD_LISTS, TOMSCAN_JOBS, TOMSCAN_SCRATCH (optional),
# TOMSCAN (the program; default tomscan on PATH).
set -euo pipefail
index=${1:?usage: tomscan-shard.sh INDEX COUNT}
count=${2:?usage: tomscan-shard.sh INDEX COUNT}
: "${TOMSCAN_INPUTS:?set TOMSCAN_INPUTS to the folder of installers to scan}"
: "${TOMSCAN_SHARDS_DIR:?set TOMSCAN_SHARDS_DIR to the folder the shard archives go to}"
args=(scan "$TOMSCAN_INPUTS" --out "$TOMSCAN_SHARDS_DIR/shard-$index" --shard "$index/$count" --quiet)
if [ -n "${TOMSCAN_JOBS:-}" ]; then args+=(--jobs "$TOMSCAN_JOBS"); fi
if [ -n "${TOMSCAN_KEYWORD_LISTS:-}" ]; then args+=(--keyword-lists "$TOMSCAN_KEYWORD_LISTS"); fi
if [ -n "${TOMSCAN_SCRATCH:-}" ]; then args+=(--scratch "$TOMSCAN_SCRATCH"); fi
mkdir -p "$TOMSCAN_SHARDS_DIR"
rc=0
"${TOMSCAN:-tomscan}" "${args[@]}" || rc=$?
if [ "$rc" = 1 ]; then
  # Exit 1: the shard is archived and some build failed (its report says
  # why). That is a result, not a reason to retry the task or skip the merge.
  echo "tomscan-shard: shard $index/$count: some builds failed; their reports say why" >&2
  rc=0
fi
exit "$rc"
