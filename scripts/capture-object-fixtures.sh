#!/bin/sh
# Captures the rtnetlink messages `ip` and `bridge` exchange with this machine's kernel for
# neighbours, FDB entries, policy rules, route lookups, namespace ids, bridge vlans and the
# newer link attributes, into test/fixtures/rtnetlink/*.json (the same format as
# capture-fixtures.sh, which captured the first kinds). It creates links, so it refuses to run
# outside the throwaway namespace of scripts/sandbox:
#   scripts/sandbox scripts/capture-object-fixtures.sh
set -eu
. "$(dirname "$0")/capture-common.sh"

ip link add va type veth peer name vb
ip link add br0 type bridge
ip link set va master br0
ip link set va up
ip link set vb up
ip link set br0 up
ip addr add 10.1.2.3/24 dev vb
ip -6 addr add 2001:db8::1/64 dev vb nodad
ip link add vx0 type vxlan id 42 local 10.1.2.3 dstport 4789 nolearning
ip link set vx0 master br0
ip link set vx0 up

cap neigh-add-permanent ip neigh add 10.1.2.9 lladdr 02:00:00:00:00:09 dev vb nud permanent
cap neigh-add-ipv6 ip -6 neigh replace 2001:db8::9 lladdr 02:00:00:00:00:19 dev vb nud reachable router
cap neigh-add-proxy ip neigh add proxy 10.1.2.77 dev vb
cap neigh-del ip neigh del 10.1.2.9 dev vb
ip neigh add 10.1.2.10 lladdr 02:00:00:00:00:0a dev vb nud stale
cap dump-neigh ip neigh show
cap fdb-append-flood bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.1.2.4 self permanent
cap fdb-add-master bridge fdb add 02:00:00:00:00:aa dev va master static vlan 5
cap fdb-add-vxlan bridge fdb add 02:00:00:00:00:bb dev vx0 dst 10.1.2.5 port 4790 vni 43 self permanent
cap dump-fdb bridge fdb show
cap rule-add-ipv4 ip rule add from 10.0.0.0/8 to 192.168.0.0/16 fwmark 0x10/0xff iif vb table 100 priority 100
cap rule-add-ipv6 ip -6 rule add from 2001:db8::/32 oif vb blackhole priority 200
cap rule-add-unreachable ip rule add to 10.9.0.0/16 unreachable priority 300
cap dump-rule4 ip rule show
cap dump-rule6 ip -6 rule show
cap route-get ip route get 10.1.2.9 from 10.1.2.3 mark 7
cap route-get-error ip route get 203.0.113.1
ip netns add X
cap nsid-set ip netns set X 7
cap nsid-list ip netns list-id
cap link-set-alias ip link set vb alias web txqueuelen 500 promisc on arp off
cap link-altname ip link property add dev vb altname backbone
cap bridge-link-set bridge link set dev va hairpin on isolated on learning off flood off
cap bridge-vlan-add bridge vlan add dev va vid 10 pvid untagged
cap dump-link-stats ip -s link show vb
cap dump-bridge-vlan bridge vlan show
cap link-set-bridge ip link set br0 type bridge stp_state 1 forward_delay 400 ageing_time 1000
cap link-del-altname ip link property del dev vb altname backbone
