#!/bin/sh
# Install the OS tools the tests (and, with "nmap", the benchmark) need, only when
# they are missing. Debian/Ubuntu via apt-get; as root or through sudo when allowed.
# Chromium is Debian's package; the tests drive it with Playwright (never `playwright install`).
set -eu
need=""
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v chromium >/dev/null 2>&1 || need="$need chromium"  # HTML report browser test (Playwright)
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || need="$need $extra"
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "campatch: please install:$need (no apt-get here)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "campatch: please install:$need (needs root)" >&2
  exit 1
fi
echo "campatch: installing$need" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
