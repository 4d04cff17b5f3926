#!/usr/bin/python3
"""W(N) written as a pyroute2 user would (Debian's python3-pyroute2, run by /usr/bin/python3).

    /usr/bin/python3 pyroute2.py N setup|teardown    prints {"ms": <elapsed ms of the phase>}

Setup: netns.create() per container (it forks a child to unshare and bind-mount), the veth
created from the host with its peer directly in the namespace (peer={'net_ns_fd': name}),
then a NetNS() per namespace (a proxy process inside it) for lo, eth0, address and route.
Teardown, also as a user would: delete each h<i> (which takes its peer along), remove each
namespace, delete br0, then check that no h<i> is left (polling, in case the kernel is late).
"""
import os
import sys
import time

# Python puts this script's directory first on sys.path, and this script is pyroute2.py:
# drop that entry, or `import pyroute2` would import the script instead of the library.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _here]

from pyroute2 import IPRoute, NetNS, netns  # noqa: E402


def address(i):
    return '10.200.%d.%d' % (i // 250, i % 250 + 2)


def setup(n):
    with IPRoute() as ipr:
        ipr.link('add', ifname='br0', kind='bridge')
        br = ipr.link_lookup(ifname='br0')[0]
        ipr.addr('add', index=br, address='10.200.0.1', prefixlen=16)
        ipr.link('set', index=br, state='up')
        for i in range(1, n + 1):
            name = 'c%d' % i
            netns.create(name)
            ipr.link('add', ifname='h%d' % i, kind='veth',
                     peer={'ifname': 'eth0', 'net_ns_fd': name})
            host_end = ipr.link_lookup(ifname='h%d' % i)[0]
            ipr.link('set', index=host_end, master=br, state='up')
            ns = NetNS(name)
            try:
                lo = ns.link_lookup(ifname='lo')[0]
                ns.link('set', index=lo, state='up')
                eth0 = ns.link_lookup(ifname='eth0')[0]
                ns.link('set', index=eth0, state='up')
                ns.addr('add', index=eth0, address=address(i), prefixlen=16)
                ns.route('add', dst='default', gateway='10.200.0.1')
            finally:
                ns.close()


def h_links(ipr):
    return [link.get_attr('IFLA_IFNAME') for link in ipr.get_links()
            if (link.get_attr('IFLA_IFNAME') or '').startswith('h')
            and link.get_attr('IFLA_IFNAME')[1:].isdigit()]


def teardown(n):
    with IPRoute() as ipr:
        namespaces = set(netns.listnetns())
        for i in range(1, n + 1):
            for index in ipr.link_lookup(ifname='h%d' % i):
                ipr.link('del', index=index)
            if 'c%d' % i in namespaces:
                netns.remove('c%d' % i)
        for index in ipr.link_lookup(ifname='br0'):
            ipr.link('del', index=index)
        # Deleting a veth is synchronous, but wait for "clean" like every peer does.
        while h_links(ipr):
            time.sleep(0.01)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ('setup', 'teardown'):
        sys.exit('usage: pyroute2.py N setup|teardown')
    n = int(sys.argv[1])
    t0 = time.monotonic()
    (setup if sys.argv[2] == 'setup' else teardown)(n)
    print('{"ms": %.3f}' % ((time.monotonic() - t0) * 1e3), flush=True)


if __name__ == '__main__':
    main()
