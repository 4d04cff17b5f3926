#!/bin/sh
# The main demo: the whole tutorial from examples/pb-and-jelly.json with the rtnl CLI, a
# connectivity check, and the teardown. Run it inside the sandbox: npm run demo.
set -e
rtnl() { node dist/cli/main.js "$@"; }
echo '$ rtnl up examples/pb-and-jelly.json'
rtnl up examples/pb-and-jelly.json
echo '$ rtnl ns list'; rtnl ns list
echo '$ rtnl addr list'; rtnl addr list
echo '$ rtnl addr list -n pb'; rtnl addr list -n pb
echo '$ rtnl route list -n jelly'; rtnl route list -n jelly
echo '$ rtnl nat list'; rtnl nat list
echo '$ rtnl exec jelly -- ping -c1 192.168.0.56'
rtnl exec jelly -- ping -c1 -W2 192.168.0.56
echo '$ ping -c1 192.168.0.56   # host -> pb over the bridge'
ping -c1 -W2 192.168.0.56
echo '$ rtnl down examples/pb-and-jelly.json'
rtnl down examples/pb-and-jelly.json
echo '$ rtnl ns list'; rtnl ns list
