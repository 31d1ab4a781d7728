#!/usr/bin/env bash
# The README's two commands on a fresh machine: every set-up step, then the demo or the tests.
#
#   scripts/quickstart.sh demo    ends with the demo trained (a private server started for it)
#   scripts/quickstart.sh test    ends with the test suite passed (what .ci/run runs)
#
# On Debian/Ubuntu, as root or with sudo, it installs the system prerequisites first; elsewhere
# install-prerequisites.sh stops at once naming what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:-}"
case "$purpose" in
  demo) prerequisites=demo ;;
  test) prerequisites=tests ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

echo "quickstart: system prerequisites for the $purpose (scripts/install-prerequisites.sh $prerequisites)"
scripts/install-prerequisites.sh "$prerequisites"
# Debian puts mariadbd in /usr/sbin, which a non-root PATH may lack (mldb also looks there itself).
export PATH="$PATH:/usr/sbin:/usr/local/sbin"

echo "quickstart: node $(node --version), npm $(npm --version): installing mldb's packages (npm ci)"
npm ci --no-audit --no-fund

if [ "$purpose" = demo ]; then
  echo "quickstart: the demo (npm run demo)"
  npm run demo
else
  echo "quickstart: the tests (npm test)"
  npm test
fi
