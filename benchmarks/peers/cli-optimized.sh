#!/bin/bash
# W(N) with the iproute2 CLI used well: the veth's peer created directly inside the namespace
# (no move, so no RCU grace period), enslaved and up in the same `ip link add`, and the
# inside configured with `ip -n` (no shell, no second exec). 6 `ip` processes per container.
#   cli-optimized.sh N setup|teardown     prints {"ms": <elapsed ms of the phase>}
# Teardown: `ip netns delete` each namespace and `ip link delete br0`; namespace deletion
# returns at once, so then poll the host's links until the kernel has destroyed every h<i>.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:?usage: cli-optimized.sh N setup|teardown}
phase=${2:?usage: cli-optimized.sh N setup|teardown}

t0=$EPOCHREALTIME
case $phase in
setup)
  ip link add br0 up type bridge
  ip addr add 10.200.0.1/16 dev br0
  for ((i = 1; i <= n; i++)); do
    ns=c$i
    ip netns add $ns
    ip link add h$i master br0 up type veth peer name eth0 netns $ns
    ip -n $ns link set lo up
    ip -n $ns link set eth0 up
    ip -n $ns addr add 10.200.$((i / 250)).$((i % 250 + 2))/16 dev eth0
    ip -n $ns route add default via 10.200.0.1
  done
  ;;
teardown)
  for ((i = 1; i <= n; i++)); do ip netns delete c$i; done
  ip link delete br0
  wait_until_no_host_links
  ;;
*)
  echo "usage: cli-optimized.sh N setup|teardown" >&2
  exit 2
  ;;
esac
print_elapsed
