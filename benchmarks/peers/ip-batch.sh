#!/bin/bash
# W(N) with `ip -batch`: one `ip` process for everything in the host (bridge, `netns add`,
# veths created with their peer inside the namespace, enslaved and up) and then one
# `ip -n c<i> -batch` per namespace for lo, eth0, address and route (addresses and routes
# need a socket inside the namespace). N+1 processes in all.
#   ip-batch.sh N setup|teardown          prints {"ms": <elapsed ms of the phase>}
# Teardown: one host batch of `netns delete` lines and `link delete br0`; namespace deletion
# returns at once, so then poll the host's links until the kernel has destroyed every h<i>.
set -eu
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
  # Clean means the kernel has removed the links, which it does in batches after the
  # namespaces went away: poll (one `ip` process, a few ms) every 10 ms until no h<i> is left.
  while ip -o link show | grep -qE '^[0-9]+: h[0-9]+[@:]'; do sleep 0.01; done
  ;;
*)
  echo "usage: ip-batch.sh N setup|teardown" >&2
  exit 2
  ;;
esac
t1=$EPOCHREALTIME
# EPOCHREALTIME is seconds.microseconds: subtract as integer microseconds.
us=$((10#${t1/[.,]/} - 10#${t0/[.,]/}))
printf '{"ms": %d.%03d}\n' $((us / 1000)) $((us % 1000))
