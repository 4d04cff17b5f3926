// W(N) written as a Go user of github.com/vishvananda/netlink and vishvananda/netns would.
//
//	go/wbench N setup|teardown    prints {"ms": <elapsed ms of the phase>}
//
// Setup: netns.NewNamed per container (like `ip netns add`; it leaves the thread inside the
// new namespace, so we switch back), a veth whose peer is created directly in the namespace
// (PeerNamespace: NsFd) with MasterIndex set (the library enslaves it with a second request),
// then a Handle opened inside the namespace for lo, eth0, address and default route.
// Teardown, as a user would: LinkDel each h<i> (its peer goes with it), netns.DeleteNamed each
// namespace, LinkDel br0, then wait until no h<i> is left.
//
// Built offline against Debian's golang-github-vishvananda-*-dev sources: see build.sh.
package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "wbench: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func address(i int) *netlink.Addr {
	a, err := netlink.ParseAddr(fmt.Sprintf("10.200.%d.%d/16", i/250, i%250+2))
	check(err, "parse address")
	return a
}

func setup(n int) {
	host, err := netns.Get()
	check(err, "get host netns")
	defer host.Close()

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	check(netlink.LinkAdd(br), "add br0")
	brAddr, _ := netlink.ParseAddr("10.200.0.1/16")
	check(netlink.AddrAdd(br, brAddr), "address br0")
	check(netlink.LinkSetUp(br), "br0 up")
	gw := net.ParseIP("10.200.0.1")

	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("c%d", i)
		ns, err := netns.NewNamed(name)
		check(err, "create netns "+name)
		check(netns.Set(host), "back to host netns")

		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: fmt.Sprintf("h%d", i), MasterIndex: br.Index},
			PeerName:      "eth0",
			PeerNamespace: netlink.NsFd(ns),
		}
		check(netlink.LinkAdd(veth), "add veth h"+strconv.Itoa(i))
		check(netlink.LinkSetUp(veth), "h"+strconv.Itoa(i)+" up")

		h, err := netlink.NewHandleAt(ns)
		check(err, "handle in "+name)
		lo, err := h.LinkByName("lo")
		check(err, "lo in "+name)
		check(h.LinkSetUp(lo), "lo up")
		eth0, err := h.LinkByName("eth0")
		check(err, "eth0 in "+name)
		check(h.LinkSetUp(eth0), "eth0 up")
		check(h.AddrAdd(eth0, address(i)), "address eth0 in "+name)
		check(h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gw}), "default route in "+name)
		h.Delete()
		ns.Close()
	}
}

var hName = regexp.MustCompile(`^h[0-9]+$`)

func hLinksLeft() int {
	links, err := netlink.LinkList()
	check(err, "list links")
	left := 0
	for _, l := range links {
		if hName.MatchString(l.Attrs().Name) {
			left++
		}
	}
	return left
}

func teardown(n int) {
	for i := 1; i <= n; i++ {
		if link, err := netlink.LinkByName(fmt.Sprintf("h%d", i)); err == nil {
			check(netlink.LinkDel(link), "delete h"+strconv.Itoa(i))
		}
		name := fmt.Sprintf("c%d", i)
		if _, err := os.Stat("/run/netns/" + name); err == nil {
			check(netns.DeleteNamed(name), "delete netns "+name)
		}
	}
	if br, err := netlink.LinkByName("br0"); err == nil {
		check(netlink.LinkDel(br), "delete br0")
	}
	// Deleting a veth is synchronous, but wait for "clean" like every peer does.
	for hLinksLeft() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: wbench N setup|teardown")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	check(err, "N")
	// Namespaces belong to OS threads: keep this goroutine on one (netns.NewNamed and Set).
	runtime.LockOSThread()
	t0 := time.Now()
	switch os.Args[2] {
	case "setup":
		setup(n)
	case "teardown":
		teardown(n)
	default:
		fmt.Fprintln(os.Stderr, "usage: wbench N setup|teardown")
		os.Exit(2)
	}
	fmt.Printf("{\"ms\": %.3f}\n", float64(time.Since(t0).Microseconds())/1e3)
}
