#!/usr/bin/env bash
# The pipeline an analyst scripts without tomscan, as the yardstick of
# `make bench-e2e` (issue 16): every input unpacked to disk with the tools
# scripts/setup.sh installs (innoextract for Inno Setup, msiextract for MSI,
# 7z for the rest: NSIS, ZIP, 7z, CAB, SFX, IPA, tar, gz, xz), archives found
# inside unpacked once more, then over the whole tree
#   yara -r   with the same rules tomscan ships (rules/*.yar),
#   pefile    (python3, Debian's python3-pefile) over every PE, full parse,
#   strings -a and strings -el over every file.
#
# usage: bench/peer/peer.sh [--no-pefile] WORK_DIR INPUT...
#   WORK_DIR is emptied first and receives the trees and the outputs
#   (yara.txt, pefile.txt, strings/). INPUT: files or folders (walked).
# Samples are never executed: the tools only read them.
set -euo pipefail

pefile=1
if [ "${1:-}" = "--no-pefile" ]; then
  pefile=0
  shift
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--no-pefile] WORK_DIR INPUT..." >&2
  exit 2
fi
work=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
rules=$(cd "$here/../../rules" && pwd)
PY=${PEER_PYTHON:-/usr/bin/python3} # Debian's python3, where python3-pefile is

rm -rf "$work"
mkdir -p "$work/tree" "$work/strings"

# unpack FILE DEST: the tool an analyst would pick for the file. Failures are
# normal (a PE that is not an installer) and leave DEST empty.
unpack() {
  local f=$1 d=$2
  mkdir -p "$d"
  case "${f,,}" in
  *.msi) msiextract -C "$d" "$f" >/dev/null 2>&1 || 7z x -y -bso0 -bsp0 -o"$d" "$f" >/dev/null 2>&1 || true ;;
  *.exe)
    if innoextract -q -s -d "$d" "$f" >/dev/null 2>&1; then
      return 0
    fi
    7z x -y -bso0 -bsp0 -o"$d" "$f" >/dev/null 2>&1 || true
    ;;
  *) 7z x -y -bso0 -bsp0 -o"$d" "$f" >/dev/null 2>&1 || true ;;
  esac
}

n=0
# The lists are read on fd 3: the tools must not eat them from stdin.
while IFS= read -r -d '' -u 3 f; do
  n=$((n + 1))
  d="$work/tree/$n"
  mkdir -p "$d"
  cp -- "$f" "$d/"
  unpack "$f" "$d/x" </dev/null
  # One more level: archives inside (an installer in a ZIP, a CAB in an MSI).
  while IFS= read -r -d '' -u 4 g; do
    unpack "$g" "$g.x" </dev/null
  done 4< <(find "$d/x" -type f \( -iname '*.zip' -o -iname '*.7z' -o -iname '*.cab' -o -iname '*.msi' -o -iname '*.tar' -o -iname '*.gz' -o -iname '*.xz' -o -iname '*.ipa' \) -print0 2>/dev/null)
done 3< <(find -L "$@" -type f -print0 | sort -z)

# YARA with the shipped rules; tomscan's external variables get fixed values.
yara -w -r \
  -d filename=x -d filepath=x -d filetype=x -d parent_filetype=x -d extractor=x -d depth=0 \
  "$rules"/*.yar "$work/tree" >"$work/yara.txt" 2>/dev/null || true

if [ "$pefile" = 1 ]; then
  "$PY" "$here/pefile_all.py" "$work/tree" >"$work/pefile.txt"
fi

# strings -a (ASCII) and -el (UTF-16LE) over every file, many files per
# process as find -exec + batches them, each line naming its file.
find "$work/tree" -type f -exec strings -f -a -n 6 -- {} + >"$work/strings/ascii.txt" 2>/dev/null || true
find "$work/tree" -type f -exec strings -f -a -n 6 -el -- {} + >"$work/strings/utf16le.txt" 2>/dev/null || true

echo "peer: $n inputs, $(find "$work/tree" -type f | wc -l) files, $(wc -l <"$work/yara.txt") YARA matches" >&2
