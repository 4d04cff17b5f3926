#!/bin/sh
# Captures the rtnetlink messages `ip` exchanges with this machine's kernel into
# test/fixtures/rtnetlink/*.json, for the codec unit tests. It creates links, addresses and
# routes, so it runs only inside the throwaway namespace of scripts/sandbox:
#   scripts/sandbox scripts/capture-fixtures.sh
set -eu
. "$(dirname "$0")/capture-common.sh"

ip netns add X
cap link-add-veth-peer-netns ip link add vc type veth peer name vd netns X
cap link-add-veth ip link add va type veth peer name vb
cap link-add-bridge ip link add br0 type bridge stp_state 0 forward_delay 400 \
  ageing_time 30000 priority 100 mcast_snooping 0
# This kernel has no CONFIG_BRIDGE_VLAN_FILTERING: the request is still a good fixture.
cap error-bridge-vlan-filtering ip link add br1 type bridge vlan_filtering 1
cap link-add-macvlan ip link add mv0 link vb type macvlan mode bridge
cap link-add-vxlan ip link add vx0 type vxlan id 42 local 10.0.0.1 group 239.1.1.1 dev vb \
  dstport 4789 ttl 10 nolearning
cap link-set-master ip link set va master br0
cap link-set-up ip link set va up
ip link set vb up
ip link set br0 up
cap addr-add-ipv4 ip addr add 10.1.2.3/24 broadcast 10.1.2.255 dev br0 label br0:web
cap addr-add-ipv6 ip -6 addr add 2001:db8::1/64 dev br0 nodad
cap route-add-default ip route add default via 10.1.2.1
cap route-add-metrics ip route add 10.6.0.0/16 via 10.1.2.1 mtu 1400 advmss 1360 proto static
cap route-add-multipath ip route add 10.5.0.0/16 nexthop via 10.1.2.1 weight 1 \
  nexthop via 10.1.2.2 weight 2
cap error-route-unreachable ip route add 10.9.0.0/16 via 192.0.2.1
cap error-link-exists ip link add br0 type bridge
cap dump-link ip link show
cap dump-addr ip addr show
cap dump-route4 ip -4 route show table all
cap dump-route6 ip -6 route show table all
