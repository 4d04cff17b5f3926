#!/bin/bash
# W(N) with `ip -batch`: one `ip` process for everything in the host (bridge, `netns add`,
# veths created with their peer inside the namespace, enslaved and up) and then one
# `ip -n c<i> -batch` per namespace for lo, eth0, address and route (addresses and routes
# need a socket inside the namespace). N+1 processes in all.
#   ip-batch.sh N setup|teardown          prints {"ms": <elapsed ms of the phase>}
# Teardown: one host batch of `netns delete` lines and `link delete br0`; namespace deletion
# returns at once, so then poll the host's links until the kernel has destroyed every h<i>.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:?usage: ip-batch.sh N setup|teardown}
phase=${2:?usage: ip-batch.sh N setup|teardown}

t0=$EPOCHREALTIME
case $phase in
setup)
  {
    echo "link add br0 up type bridge"
    echo "addr add 10.200.0.1/16 dev br0"
    for ((i = 1; i <= n; i++)); do
      echo "netns add c$i"
      echo "link add h$i master br0 up type veth peer name eth0 netns c$i"
    done
  } | ip -batch -
  for ((i = 1; i <= n; i++)); do
    printf '%s\n' "link set lo up" "link set eth0 up" \
      "addr add 10.200.$((i / 250)).$((i % 250 + 2))/16 dev eth0" \
      "route add default via 10.200.0.1" | ip -n c$i -batch -
  done
  ;;
teardown)
  {
    for ((i = 1; i <= n; i++)); do echo "netns delete c$i"; done
    echo "link delete br0"
  } | ip -batch -
  wait_until_no_host_links
  ;;
*)
  echo "usage: ip-batch.sh N setup|teardown" >&2
  exit 2
  ;;
esac
print_elapsed
