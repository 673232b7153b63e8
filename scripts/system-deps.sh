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
# Without a way to install, CI fails (its tests need these); elsewhere the tests that
# need a missing tool skip with the reason.
cannot() {
  echo "campatch: please install:$need ($1)" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 0
}
command -v apt-get >/dev/null 2>&1 || cannot "no apt-get here"
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
else cannot "needs root"
fi
echo "campatch: installing$need" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
