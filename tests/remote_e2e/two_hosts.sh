#!/usr/bin/env bash
# Runs the RemoteTwoHosts tests between two network namespaces of this machine joined by a veth
# pair: host A (this test process and daemon A) at 10.213.7.1 on veth-a, host B (daemon B) at
# 10.213.7.2 on veth-b. Each namespace has its own loopback, so nothing can take a shortcut.
# Usage: two_hosts.sh <remote_e2e_tests binary> <profile: host_tcp | ucx>
# Exits 77 (skipped) where network namespaces cannot be made (not root, no iproute2).
set -euo pipefail

tests_binary=$1
profile=$2

if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
  echo "skipped: two-host tests need root and iproute2 (ip netns) to make network namespaces"
  exit 77
fi
ns_a="echelon-host-a-$$"
ns_b="echelon-host-b-$$"
cleanup() {
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
}
trap cleanup EXIT
if ! ip netns add "$ns_a" 2>/dev/null; then
  echo "skipped: cannot create a network namespace here"
  exit 77
fi
ip netns add "$ns_b"
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
ip -n "$ns_a" addr add 10.213.7.1/24 dev veth-a
ip -n "$ns_b" addr add 10.213.7.2/24 dev veth-b
for ns in "$ns_a" "$ns_b"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up
# The carrier comes up asynchronously; UCX ignores an interface that is not running yet.
for _ in $(seq 100); do
  if ip -n "$ns_a" link show veth-a | grep -q "state UP" && ip -n "$ns_b" link show veth-b | grep -q "state UP"; then
    break
  fi
  sleep 0.05
done

# Daemon B gets its own UCX_NET_DEVICES from the test (DaemonPlace); UCX_TLS keeps UCX on tcp.
ip netns exec "$ns_a" env \
  ECHELON_TEST_TRANSPORT="$profile" UCX_TLS=tcp,self UCX_NET_DEVICES=veth-a \
  ECHELON_TEST_HOST_A_ADDR=10.213.7.1 ECHELON_TEST_HOST_B_NETNS="$ns_b" \
  ECHELON_TEST_HOST_B_ADDR=10.213.7.2 ECHELON_TEST_HOST_B_DEVICE=veth-b \
  "$tests_binary" --gtest_filter='RemoteTwoHosts.*'
