#!/bin/bash
# W(N) as an iproute2 tutorial writes it: ~10 `ip` processes per container, the veth created
# in the host and then moved (one RCU grace period, ~19 ms, per move), the inside configured
# with `ip netns exec`.
#   cli-tutorial.sh N setup|teardown      prints {"ms": <elapsed ms of the phase>}
# Teardown: `ip netns delete` each namespace and `ip link delete br0`; namespace deletion
# returns at once, so then poll the host's links until the kernel has destroyed every h<i>.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:?usage: cli-tutorial.sh N setup|teardown}
phase=${2:?usage: cli-tutorial.sh N setup|teardown}

t0=$EPOCHREALTIME
case $phase in
setup)
  ip link add br0 type bridge
  ip addr add 10.200.0.1/16 dev br0
  ip link set br0 up
  for ((i = 1; i <= n; i++)); do
    ns=c$i
    ip netns add $ns
    # The container end gets a temporary name: the host may have an eth0 of its own.
    ip link add h$i type veth peer name p$i
    ip link set p$i netns $ns
    ip netns exec $ns ip link set p$i name eth0
    ip link set h$i master br0
    ip link set h$i up
    ip netns exec $ns ip link set lo up
    ip netns exec $ns ip link set eth0 up
    ip netns exec $ns ip addr add 10.200.$((i / 250)).$((i % 250 + 2))/16 dev eth0
    ip netns exec $ns ip route add default via 10.200.0.1
  done
  ;;
teardown)
  for ((i = 1; i <= n; i++)); do ip netns delete c$i; done
  ip link delete br0
  wait_until_no_host_links
  ;;
*)
  echo "usage: cli-tutorial.sh N setup|teardown" >&2
  exit 2
  ;;
esac
print_elapsed
