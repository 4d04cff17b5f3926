#!/bin/sh
# The tutorial's build steps with the ip CLI, exactly as the tutorial writes them (create the
# veths in the host, move one end, ip netns exec for the inside). Run inside scripts/sandbox.
set -e
ip netns add pb
ip netns add jelly
ip link add veth-pb type veth peer name bread-pb-veth
ip link add veth-jelly type veth peer name bread-j-veth
ip link set veth-pb netns pb
ip link set veth-jelly netns jelly
ip netns exec jelly ip address add 192.168.0.55/24 dev veth-jelly
ip netns exec jelly ip link set veth-jelly up
ip netns exec pb ip address add 192.168.0.56/24 dev veth-pb
ip netns exec pb ip link set veth-pb up
ip link add name brd1 type bridge
ip link set brd1 up
ip link set bread-pb-veth up
ip link set bread-j-veth up
ip link set bread-pb-veth master brd1
ip link set bread-j-veth master brd1
ip addr add 192.168.0.60/24 brd + dev brd1
ip -all netns exec ip route add default via 192.168.0.60 >/dev/null
