// cniclient: a small container runtime's view of CNI, on libcni (the library podman, CRI-O
// and containerd use). The tests and the benchmark drive plugins through it.
//
//	cniclient add|check|del|validate -conflist FILE -bindir DIR -cachedir DIR -id ID -netns PATH [-ifname eth0]
//	cniclient bench -conflist FILE -bindir DIR -cachedir DIR -prefix P -count N [-concurrency C] [-ops add,check,del]
//
// add prints the result; a failure prints {"code","msg","details"} on stdout and exits 1. bench
// runs the ops for containers P0..P(N-1) (netns /run/netns/P<i>) and prints the time of each
// call in milliseconds as JSON, so Go's own start-up is not in the numbers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func fail(err error) {
	if e, ok := err.(*types.Error); ok {
		out, _ := json.Marshal(map[string]interface{}{"code": e.Code, "msg": e.Msg, "details": e.Details})
		fmt.Println(string(out))
	} else {
		out, _ := json.Marshal(map[string]interface{}{"code": -1, "msg": err.Error()})
		fmt.Println(string(out))
	}
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cniclient add|check|del|validate|bench ...")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	conflist := fs.String("conflist", "", "conflist file")
	bindir := fs.String("bindir", "/opt/cni/bin", "plugin folders, ':' separated")
	cachedir := fs.String("cachedir", "/var/lib/cni/cache", "libcni result cache")
	id := fs.String("id", "", "container id")
	netns := fs.String("netns", "", "netns path")
	ifname := fs.String("ifname", "eth0", "interface name in the container")
	prefix := fs.String("prefix", "c", "bench: container id prefix")
	count := fs.Int("count", 1, "bench: containers")
	concurrency := fs.Int("concurrency", 1, "bench: calls at once")
	ops := fs.String("ops", "add,check,del", "bench: ops, in order")
	fs.Parse(os.Args[2:])

	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*bindir, ":"), *cachedir, nil)
	ctx := context.Background()
	rt := func(cid, path string) *libcni.RuntimeConf {
		return &libcni.RuntimeConf{ContainerID: cid, NetNS: path, IfName: *ifname}
	}

	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt(*id, *netns))
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt(*id, *netns)); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt(*id, *netns)); err != nil {
			fail(err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(map[string]interface{}{"capabilities": caps})
		fmt.Println(string(out))
	case "bench":
		timings := map[string][]float64{}
		walls := map[string]float64{}
		for _, op := range strings.Split(*ops, ",") {
			times := make([]float64, *count)
			sem := make(chan struct{}, *concurrency)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			start := time.Now()
			for i := 0; i < *count; i++ {
				wg.Add(1)
				sem <- struct{}{}
				go func(i int) {
					defer wg.Done()
					defer func() { <-sem }()
					cid := fmt.Sprintf("%s%d", *prefix, i)
					r := rt(cid, "/run/netns/"+cid)
					t0 := time.Now()
					var err error
					switch op {
					case "add":
						_, err = cni.AddNetworkList(ctx, list, r)
					case "check":
						err = cni.CheckNetworkList(ctx, list, r)
					case "del":
						err = cni.DelNetworkList(ctx, list, r)
					case "version":
						_, err = cni.GetVersionInfo(ctx, list.Plugins[0].Network.Type)
					}
					times[i] = float64(time.Since(t0).Microseconds()) / 1000
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("%s %s: %v", op, cid, err)
						}
						mu.Unlock()
					}
				}(i)
			}
			wg.Wait()
			if firstErr != nil {
				fail(firstErr)
			}
			timings[op] = times
			walls[op] = float64(time.Since(start).Microseconds()) / 1000
		}
		out, _ := json.Marshal(map[string]interface{}{"ms": timings, "wallMs": walls})
		fmt.Println(string(out))
	default:
		fmt.Fprintln(os.Stderr, "unknown command", cmd)
		os.Exit(2)
	}
}
