#!/usr/bin/env bash
# The Debian package test: builds relup_VERSION_ARCH.deb from a build tree
# with cpack, installs it on this machine (apt, so its Depends are checked),
# and then, from /usr only:
#   - relup --version from /usr/bin, the relup user, the systemd unit;
#   - the consumer test (tests/consumer/run.sh --prefix /usr): an
#     out-of-tree project builds, signs and rolls out its modules;
# and purges the package again (and the relup user, if this test made it).
#
#   tests/package/deb_test.sh [BUILD_DIR]      (default: build)
#
# Needs root (or sudo without a password). It will not touch a relup that
# is installed already: it says so and stops without testing (exit 0), so a
# real installation is never replaced by a test.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="${1:-build}"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    echo "deb_test: SKIPPED: installing a package needs root or passwordless sudo" >&2
    exit 0
  fi
fi
if dpkg-query -W -f='${Status}' relup 2>/dev/null | grep -q "install ok installed"; then
  echo "deb_test: SKIPPED: a relup package is installed already; not replacing it" >&2
  exit 0
fi
if [ -e /usr/bin/relup ]; then
  echo "deb_test: SKIPPED: /usr/bin/relup exists and belongs to no relup package" >&2
  exit 0
fi

echo "== deb_test: cpack"
rm -rf "$build_dir/dist"
(cd "$build_dir" && cpack >/dev/null)
deb="$(ls "$build_dir"/dist/relup_*_*.deb)"
deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
echo "$deb"
dpkg-deb -I "$deb" | sed -n 's/^ \(Depends\|Recommends\|Version\|Architecture\):/  \1:/p'

had_user=0
getent passwd relup >/dev/null && had_user=1
cleanup() {
  "${sudo_cmd[@]}" dpkg --purge relup >/dev/null 2>&1 || true
  if ((had_user == 0)) && getent passwd relup >/dev/null; then
    "${sudo_cmd[@]}" userdel relup >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "== deb_test: apt-get install $deb"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "$deb" >/dev/null
version="$(/usr/bin/relup --version)"
echo "$version"
want="relup $(dpkg-deb -f "$deb" Version)"
[ "$version" = "$want" ] || { echo "deb_test: FAILED: /usr/bin/relup --version says '$version', not '$want'" >&2; exit 1; }
getent passwd relup >/dev/null || { echo "deb_test: FAILED: the package made no relup user" >&2; exit 1; }
unit=/usr/lib/systemd/system/relup@.service
grep -q '^ExecStart=/usr/bin/relup node start --foreground --root /var/lib/relup/%i' "$unit" ||
  { echo "deb_test: FAILED: $unit does not start /usr/bin/relup: $(grep ExecStart "$unit")" >&2; exit 1; }
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "/usr/lib/systemd/system/relup@test.service" 2>&1 | grep -v "^$" || true
fi
[ -x /usr/libexec/relup/relup-trial ] || { echo "deb_test: FAILED: no /usr/libexec/relup/relup-trial" >&2; exit 1; }

echo "== deb_test: the consumer test against /usr"
tests/consumer/run.sh --prefix /usr

echo "== deb_test: dpkg --purge relup"
"${sudo_cmd[@]}" dpkg --purge relup >/dev/null
[ ! -e /usr/bin/relup ] || { echo "deb_test: FAILED: /usr/bin/relup is still there after purge" >&2; exit 1; }
echo "== deb_test: ok"
