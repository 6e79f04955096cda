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
  zip unzip osslsigncode openssl  # corpus/: ZIP wrappers, Authenticode signing with self-made certs
  python3-pefile                  # pe/: cross-check against pefile (run with /usr/bin/python3)
  geoip-database                  # internal/tom: offline IP -> country
  chromium                        # reports/: headless browser test of the HTML pages
  ca-certificates git make gcc
)

missing=()
for p in "${pkgs[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
fi

go mod download
