#!/usr/bin/env bash
# Installs what mldb needs outside npm (README: Prerequisites), on Debian or Ubuntu, as root or
# with sudo. Elsewhere it prints what to install. `.ci/run` runs this same script.
#
#   scripts/install-prerequisites.sh          everything `npm test` needs (the default)
#   scripts/install-prerequisites.sh demo     only what `npm run demo` needs (a server binary, oneDNN)
set -euo pipefail

purpose="${1:-tests}"
case "$purpose" in
  demo) packages=(mariadb-server-core mariadb-client libdnnl-dev) ;;
  tests) packages=(mariadb-server-core mariadb-client mariadb-plugin-spider chromium fontconfig fonts-dejavu-core libdnnl-dev clang-format) ;;
  *) echo "usage: $0 [demo|tests]" >&2; exit 2 ;;
esac

if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install these yourself, then run \`npx mldb doctor --for $purpose\`:"
  echo "  macOS (Homebrew): brew install mariadb$([ "$purpose" = tests ] && echo ' && brew install --cask chromium')"
  echo "  (Homebrew's mariadb includes the Spider plugin; macOS has the fonts reports use)"
  echo "  other systems: a MariaDB server 10.6 or newer$([ "$purpose" = tests ] && echo ' with its Spider plugin, Chromium, fontconfig and a font')"
  exit 1
fi

# Only what dpkg does not already have: a machine that has everything is not touched.
wanted=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || wanted+=("$p")
done
if [ "${#wanted[@]}" -eq 0 ]; then
  echo "install-prerequisites: everything for $purpose is installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-prerequisites: ${wanted[*]} missing: run this as root (no sudo here)" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-prerequisites: installing ${wanted[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq

# mariadb-plugin-spider depends on the full mariadb-server, whose install starts a system server.
# mldb's demo and tests start their own, so keep the packaged one from starting: a policy-rc.d
# that answers 101 ("action forbidden") while apt runs, removed afterwards.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null || status=$?
[ -z "$made_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
exit "$status"
