#!/usr/bin/env bash
# The fleet test: relup.fleet's rollout playbook over real ssh, against
# three hosts on this machine, each a network namespace made here with its
# own sshd (key-only login, set up here), its own relup node and root, and
# the kv service listening on its own 10.X.N.2:6380 (X: a /16 no interface
# of this machine uses, so two runs at once do not meet). A client per host
# (redis-cli, on one connection) talks to every host for the whole test.
#
#   tests/fleet/fleet_test.sh [BUILD_DIR]        (default: build)
#
#   1. kvf 1 -> 2 across the fleet: canary, then batches of 1, each behind
#      the health gate (relup status, redis-cli ping and a key read on the
#      host, a ping from the controller); then made permanent everywhere,
#      and older tarballs cleaned from incoming/. The clients see no error
#      and no drop. 1c: a controller check that fails for host 2 stops the
#      rollout at host 2, naming it and why.
#   2. kvf 2 -> 3, where fleet_probe 3's code_change fails on host 3 (its
#      node runs with RELUP_FLEET_REFUSE_UPGRADE): the preflight dry run
#      catches it, and nothing changes anywhere.
#   3. the same without the dry run (relup_preflight_dry_run=false), in a
#      canary and one batch of two: host 3's apply fails and rolls back, so
#      its batch (hosts 2 and 3) is downgraded and the rollout stops; with
#      relup_on_failure=downgrade_all the canary goes back too. Every host
#      ends on 2, permanent 2, and the report names each host's release.
#   4. an unreachable host at the start (host 2's sshd stopped), 5. nodes on
#   different releases, 6. a tarball that fails verification on one host (it
#   trusts another key), 7. a node not running: each refused in the
#   preflight, before anything changes, saying why.
#   8. a host that becomes unreachable mid-rollout: the rollout stops and
#      reports it as unknown; relup_facts tells its state once it is back.
# Everything made here is removed at the end: namespaces, links, sshd and
# node processes (by their pids), files.
#
# Needs root (network namespaces), ansible-core, openssh-server and
# redis-tools (scripts/setup.sh installs them); without root it says
# SKIPPED and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
build="$(cd "${1:-build}" && pwd)"
relup="$build/bin/relup"

if [ "$(id -u)" -ne 0 ]; then
  echo "fleet_test: SKIPPED: network namespaces need root" >&2
  exit 0
fi
for tool in ip ansible-playbook ansible-galaxy /usr/sbin/sshd ssh-keygen redis-cli "$relup"; do
  command -v "$tool" >/dev/null || { echo "fleet_test: FAILED: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

hosts=(1 2 3)
tag="$$"
# A 10.X.0.0/16 that no address on this machine is in (another run's hosts
# included): the hosts are $net.N.2, reached from here over $net.N.1.
net=""
for x in $(shuf -i 100-250); do
  if ! ip -o addr | grep -q " inet 10\.$x\."; then net="10.$x"; break; fi
done
[ -n "$net" ] || { echo "fleet_test: FAILED: no free 10.X.0.0/16 for the hosts" >&2; exit 1; }
work="$(mktemp -d /tmp/relup-fleet.XXXXXX)"
chmod 755 "$work"
ns() { echo "relupf$1-$tag"; }
step() { echo "== fleet_test: $*"; }
fail() { echo "fleet_test: FAILED: $*" >&2; exit 1; }

cleanup() {
  set +e
  for pid_file in "$work"/client-*.pid; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
  done
  # ansible's ssh master connections on this side.
  pkill -f -- "$work/cp-" 2>/dev/null
  for h in "${hosts[@]}"; do
    if [ -S "$work/h$h/root/node.sock" ]; then
      "$relup" node stop --root "$work/h$h/root" --timeout 10000 >/dev/null 2>&1
    fi
    [ -f "$work/h$h/sshd.pid" ] && kill "$(cat "$work/h$h/sshd.pid")" 2>/dev/null
    # Whatever still runs in the namespace: sshd's sessions (ansible's
    # master connections), a node that did not stop.
    for pid in $(ip netns pids "$(ns "$h")" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip link del "rf$h-$tag" 2>/dev/null
    ip netns del "$(ns "$h")" 2>/dev/null
  done
  if [ -n "${KEEP_FLEET_WORK:-}" ]; then echo "fleet_test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "tarballs (signed)"
"$relup" keygen -o "$work/keys" >/dev/null
for v in 1 2 3; do
  from=()
  ((v == 1)) || from=(--from "$work/kvf-$((v - 1)).tar.gz")
  "$relup" build "tests/fleet/specs/kvf-$v.yaml" -o "$work/kvf-$v.tar.gz" --quiet \
    --lib-dir "$build/modules" --lib-dir "$build/test-modules" --sign "$work/keys/relup.key" \
    ${from[@]+"${from[@]}"}
done

step "hosts: network namespaces, sshd, relup nodes"
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
install -m 0600 "$work/id_ed25519.pub" "$work/authorized_keys"
mkdir -p /run/sshd
inventory="$work/inventory.ini"
echo "[relup_nodes]" > "$inventory"
for h in "${hosts[@]}"; do
  n="$(ns "$h")" dir="$work/h$h"
  mkdir -p "$dir/root/trusted_keys"
  chmod 700 "$dir/root"
  cp "$work/keys/relup.pub" "$dir/root/trusted_keys/"
  ip netns add "$n"
  ip link add "rf$h-$tag" type veth peer name "rfn$h-$tag"
  ip link set "rfn$h-$tag" netns "$n"
  ip addr add "$net.$h.1/24" dev "rf$h-$tag"
  ip link set "rf$h-$tag" up
  ip netns exec "$n" ip addr add "$net.$h.2/24" dev "rfn$h-$tag"
  ip netns exec "$n" ip link set "rfn$h-$tag" up
  ip netns exec "$n" ip link set lo up
  ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  cat > "$dir/sshd_config" <<EOF
ListenAddress $net.$h.2
Port 22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
EOF
  ip netns exec "$n" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  # Host 3's node refuses fleet_probe's upgrade from 2 (scenarios 2 and 3).
  refuse=()
  ((h != 3)) || refuse=(RELUP_FLEET_REFUSE_UPGRADE=1)
  ip netns exec "$n" env ${refuse[@]+"${refuse[@]}"} "$relup" node start --root "$dir/root" \
    --first-release "$work/kvf-1.tar.gz" >/dev/null
  echo "h$h ansible_host=$net.$h.2 relup_root=$dir/root" >> "$inventory"
done
cat >> "$inventory" <<EOF

[relup_nodes:vars]
ansible_user=root
ansible_ssh_private_key_file=$work/id_ed25519
ansible_python_interpreter=/usr/bin/python3
relup_bin=$relup
EOF
cat > "$work/ansible.cfg" <<EOF
[defaults]
collections_path = $work/collections
host_key_checking = False
interpreter_python = /usr/bin/python3
forks = 5
timeout = 10
nocows = 1
[ssh_connection]
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3
control_path = $work/cp-%%h-%%p-%%r
EOF
export ANSIBLE_CONFIG="$work/ansible.cfg"
ansible-galaxy collection install tools/ansible/relup_fleet -p "$work/collections" >/dev/null

release_of() {  # HOST -> "VSN PERMANENT"
  "$relup" status --root "$work/h$1/root" --json |
    sed -n 's/.*"permanent":"\([^"]*\)".*"release":{[^}]*"vsn":"\([^"]*\)"}.*/\2 \1/p'
}
expect_fleet() {  # "VSN PERMANENT" for every host
  for h in "${hosts[@]}"; do
    got="$(release_of "$h")"
    [ "$got" = "$1" ] || fail "h$h runs '$got' (vsn permanent), expected '$1'"
  done
}

step "clients: one per host, for the whole test"
# redis-cli itself, on one connection it keeps, reading a key every 20 ms:
# any answer but the host's value (an error, a closed connection) shows in
# its output.
for h in "${hosts[@]}"; do
  redis-cli -h "$net.$h.2" -p 6380 set fleet:probe "host$h" >/dev/null
  redis-cli -h "$net.$h.2" -p 6380 -r -1 -i 0.02 get fleet:probe > "$work/client-$h.out" 2>&1 &
  echo $! > "$work/client-$h.pid"
done
health='redis-cli -h 127.0.0.1 -p 6380 ping | grep -qx PONG && test "$(redis-cli -h 127.0.0.1 -p 6380 get fleet:probe)" = "host{{ inventory_hostname[1:] }}"'

playbook() {  # LOG ARGS...
  local log="$1"
  shift
  # From $work, as an operator runs it from the directory of their tarballs.
  (cd "$work" && ansible-playbook -i "$inventory" relup.fleet.rollout \
    -e "relup_health_check='$health'" "$@" > "$log" 2>&1)
}

step "0. --check: the preflight and its dry run on every host, nothing changed"
playbook "$work/run0.log" --check -e relup_tarball=kvf-2.tar.gz ||
  { cat "$work/run0.log"; fail "the check run of kvf 2 failed"; }
grep -q "In check mode the preflight was all" "$work/run0.log" || { cat "$work/run0.log"; fail "run 0 went on"; }
expect_fleet "1 1"

step "1. kvf 1 -> 2: canary, batches of 1, health gates, then permanent"
# A tarball left from an earlier rollout, and a file that is no tarball.
echo stale > "$work/h1/root/incoming/kvf-0.tar.gz"
echo keep > "$work/h1/root/incoming/notes.txt"
# The controller's own check, as clients see the service: RELUP_HOST is the host's address.
local_health='redis-cli -h "$RELUP_HOST" -p 6380 ping | grep -qx PONG'
playbook "$work/run1.log" -e relup_tarball=kvf-2.tar.gz -e relup_trust=keys/relup.pub \
  -e relup_serial=1 -e "relup_health_check_local='$local_health'" ||
  { cat "$work/run1.log"; fail "the rollout of kvf 2 failed"; }
grep -q "TASK \[Health gate: relup_health_check_local, on the controller\]" "$work/run1.log" ||
  { cat "$work/run1.log"; fail "run 1 did not run the controller's health check"; }
expect_fleet "2 2"
grep -q "every host runs 2 (permanent)" "$work/run1.log" || { cat "$work/run1.log"; fail "no summary"; }
[ ! -e "$work/h1/root/incoming/kvf-0.tar.gz" ] || fail "the old tarball is still in incoming/"
[ -e "$work/h1/root/incoming/kvf-2.tar.gz" ] && [ -e "$work/h1/root/incoming/notes.txt" ] ||
  fail "the cleanup of incoming/ removed too much: $(ls "$work/h1/root/incoming")"

step "1b. relup_release on its own: idempotent, check mode with --diff changes nothing"
tarball_on_h1="$work/h1/root/incoming/kvf-2.tar.gz"
ansible -i "$inventory" h1 -m relup.fleet.relup_release \
  -a "state=applied tarball=$tarball_on_h1 root=$work/h1/root relup=$relup" > "$work/adhoc1.log" 2>&1 ||
  { cat "$work/adhoc1.log"; fail "relup_release on a node already on 2"; }
grep -q '"changed": false' "$work/adhoc1.log" || { cat "$work/adhoc1.log"; fail "not idempotent"; }
cp "$work/kvf-3.tar.gz" "$work/h1/root/incoming/"
ansible -i "$inventory" h1 -m relup.fleet.relup_release --check --diff \
  -a "state=applied tarball=$work/h1/root/incoming/kvf-3.tar.gz root=$work/h1/root relup=$relup" \
  > "$work/adhoc2.log" 2>&1 || { cat "$work/adhoc2.log"; fail "relup_release --check"; }
for want in '"changed": true' '+release kvf 3' '+  fleet_probe 3 (1 process)' '"dry_run": true'; do
  grep -qF -- "$want" "$work/adhoc2.log" || { cat "$work/adhoc2.log"; fail "check mode: no '$want'"; }
done
expect_fleet "2 2"

step "1c. the controller's health check fails for h2: the rollout stops there, naming it"
# Every node is on 2 already (each apply is a no-op), so only the gate decides.
if playbook "$work/run1c.log" -e relup_tarball=kvf-2.tar.gz -e relup_health_retries=1 \
    -e "relup_health_check_local='test \"\$RELUP_HOST\" != $net.2.2'"; then
  cat "$work/run1c.log"
  fail "run 1c went through, but the controller's check fails for h2"
fi
grep -q "h2.*non-zero return code" "$work/run1c.log" ||
  { cat "$work/run1c.log"; fail "run 1c does not name h2 and its reason"; }
expect_fleet "2 2"

step "2. kvf 2 -> 3 with a code_change that fails on h3: the preflight dry run refuses"
if playbook "$work/run2.log" -e relup_tarball="$work/kvf-3.tar.gz"; then
  cat "$work/run2.log"
  fail "the rollout of kvf 3 succeeded, but h3 refuses it"
fi
grep -q "refusing the upgrade from 2" "$work/run2.log" || { cat "$work/run2.log"; fail "run 2 does not say why"; }
expect_fleet "2 2"

step "3. the same without the dry run: h3's batch is downgraded, the rollout stops"
if playbook "$work/run3.log" -e relup_tarball="$work/kvf-3.tar.gz" -e relup_preflight_dry_run=false \
    -e '{"relup_serial": [2]}' -e relup_on_failure=downgrade_all; then
  cat "$work/run3.log"
  fail "the rollout of kvf 3 succeeded, but h3 refuses it"
fi
for want in "relup rollout of 3 stopped" "h1: kvf 2 (permanent)" "h2: kvf 2 (permanent)" \
            "h3: kvf 2 (permanent)"; do
  grep -q "$want" "$work/run3.log" || { cat "$work/run3.log"; fail "run 3's report lacks '$want'"; }
done
expect_fleet "2 2"

step "3b. the same with relup_max_fail_percentage=50: h3 alone goes back, the rest goes on, nothing permanent"
if playbook "$work/run3b.log" -e relup_tarball="$work/kvf-3.tar.gz" -e relup_preflight_dry_run=false \
    -e '{"relup_serial": [2]}' -e relup_max_fail_percentage=50; then
  cat "$work/run3b.log"
  fail "the rollout of kvf 3 reported success, but h3 refused it"
fi
grep -q "not every host runs 3; nothing made permanent" "$work/run3b.log" ||
  { cat "$work/run3b.log"; fail "run 3b does not say why nothing is permanent"; }
[ "$(release_of 1)" = "3 2" ] && [ "$(release_of 2)" = "3 2" ] && [ "$(release_of 3)" = "2 2" ] ||
  fail "after run 3b: h1 $(release_of 1), h2 $(release_of 2), h3 $(release_of 3)"
for h in 1 2; do "$relup" downgrade --root "$work/h$h/root" 2 >/dev/null; done
expect_fleet "2 2"

step "4. an unreachable host at the start: refused before anything changes"
# Its sshd and every session it serves (ansible's ssh keeps a master
# connection open between runs): the node and the kv service keep running.
for pid in $(ip netns pids "$(ns 2)"); do
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != sshd ] || kill "$pid"
done
if playbook "$work/run4.log" -e relup_tarball="$work/kvf-3.tar.gz" -e relup_preflight_dry_run=false; then
  cat "$work/run4.log"
  fail "the rollout went ahead with h2 unreachable"
fi
grep -q "UNREACHABLE" "$work/run4.log" || { cat "$work/run4.log"; fail "run 4 does not name the unreachable host"; }
expect_fleet "2 2"

ip netns exec "$(ns 2)" /usr/sbin/sshd -f "$work/h2/sshd_config" -E "$work/h2/sshd.log"  # back

step "5. mixed releases: refused before anything changes"
"$relup" downgrade --root "$work/h1/root" 1 >/dev/null
if playbook "$work/run5.log" -e relup_tarball="$work/kvf-2.tar.gz"; then
  cat "$work/run5.log"
  fail "the rollout went ahead on a fleet running 1 and 2"
fi
grep -q "the nodes run different releases" "$work/run5.log" || { cat "$work/run5.log"; fail "run 5 does not say why"; }
[ "$(release_of 1)" = "1 2" ] || fail "h1 changed in run 5: $(release_of 1)"
"$relup" apply --root "$work/h1/root" "$work/kvf-2.tar.gz" >/dev/null
expect_fleet "2 2"

step "6. a tarball that fails verification on one host: refused before anything changes"
"$relup" keygen -o "$work/other-keys" >/dev/null
sed "s|^h2 .*|& relup_trust=$work/other-keys/relup.pub|" "$inventory" > "$work/inventory-6.ini"
if inventory="$work/inventory-6.ini" playbook "$work/run6.log" -e relup_tarball="$work/kvf-3.tar.gz"; then
  cat "$work/run6.log"
  fail "the rollout went ahead though h2 does not trust the tarball's key"
fi
grep -q "not trusted" "$work/run6.log" || { cat "$work/run6.log"; fail "run 6 does not say why"; }
expect_fleet "2 2"

step "8. a host that becomes unreachable mid-rollout: stop, report, no guessing"
# h1 and h2 only (h3 refuses kvf 3). While the canary's health check runs,
# h2's sshd and its sessions go away.
kill_sshd() {
  for pid in $(ip netns pids "$(ns "$1")"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != sshd ] || kill "$pid"
  done
}
: > "$work/run8.log"
(
  for _ in $(seq 1200); do
    grep -q "TASK \[Health gate: relup_health_check\]" "$work/run8.log" && break
    sleep 0.1
  done
  kill_sshd 2
) &
watcher=$!
slow_health="$health && { [ {{ inventory_hostname }} != h1 ] || sleep 4; }"
if ansible-playbook -i "$inventory" relup.fleet.rollout -e relup_hosts=h1:h2 \
    -e relup_tarball="$work/kvf-3.tar.gz" -e "relup_health_check='$slow_health'" \
    -e '{"relup_serial": [1]}' > "$work/run8.log" 2>&1; then
  cat "$work/run8.log"
  fail "the rollout went on with h2 unreachable"
fi
wait "$watcher"
for want in "relup rollout of 3 stopped" 'batch {\"h2\": \"unreachable\"}' \
            "h2: unreachable: state unknown" "h1: kvf 3"; do
  grep -qF "$want" "$work/run8.log" || { cat "$work/run8.log"; fail "run 8's report lacks '$want'"; }
done
[ "$(release_of 1)" = "3 2" ] || fail "h1 after run 8: $(release_of 1)"
[ "$(release_of 2)" = "2 2" ] || fail "h2 after run 8: $(release_of 2)"
ip netns exec "$(ns 2)" /usr/sbin/sshd -f "$work/h2/sshd_config" -E "$work/h2/sshd.log"
ansible -i "$inventory" h2 -m relup.fleet.relup_facts -a "root=$work/h2/root relup=$relup" \
  > "$work/facts8.log" 2>&1 || { cat "$work/facts8.log"; fail "relup_facts on h2 once back"; }
grep -q '"permanent": "2"' "$work/facts8.log" || { cat "$work/facts8.log"; fail "relup_facts: $(cat "$work/facts8.log")"; }
"$relup" downgrade --root "$work/h1/root" 2 >/dev/null
expect_fleet "2 2"

step "the clients saw no error"
for h in "${hosts[@]}"; do
  kill "$(cat "$work/client-$h.pid")"
done
wait 2>/dev/null || true
for h in "${hosts[@]}"; do
  answers="$(grep -c . "$work/client-$h.out" || true)"
  others="$(grep -vcx "host$h" "$work/client-$h.out" || true)"
  echo "h$h: $answers answers, $others of them not host$h"
  ((answers > 100)) || fail "the client of h$h got only $answers answers"
  ((others == 0)) || fail "the client of h$h saw: $(grep -vx "host$h" "$work/client-$h.out" | sort | uniq -c | head)"
done
step "7. a node not running on a host: refused before anything changes"
"$relup" node stop --root "$work/h3/root" >/dev/null
if playbook "$work/run7.log" -e relup_tarball="$work/kvf-3.tar.gz"; then
  cat "$work/run7.log"
  fail "the rollout went ahead with no node on h3"
fi
grep -q "no relup node is running at $work/h3/root on h3" "$work/run7.log" ||
  { cat "$work/run7.log"; fail "run 7 does not say why"; }
for h in 1 2; do
  [ "$(release_of "$h")" = "2 2" ] || fail "h$h changed in run 7: $(release_of "$h")"
done
step "ok"
