#!/bin/bash
# Installs what the W(N) peers need (Debian packages) and builds the Go and C peers.
# Never fails because one peer can't be had: it reports each peer's status and the reason,
# and exits 0, so `npm run bench` can run whichever peers are there.
#   benchmarks/peers/install.sh        (as root)
cd "$(dirname "$0")" || exit 1
declare -A status

updated=no
# Installs the given packages unless all are there already; runs `apt-get update` at most
# once, and only when an install fails (the package lists may be missing or stale).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "not root: cannot install ${missing[*]}" >"$log"; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$log" 2>&1 && return 0
  if [ $updated = no ]; then
    updated=yes
    apt-get update -q >>"$log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$log" 2>&1 && return 0
  fi
  return 1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
last_error() { grep -E '^(E:|error|.*: error)' "$log" | head -3 | tr '\n' ' '; }

# The CLI peers and the verifier: ip (iproute2) and nsenter (util-linux).
if apt_install iproute2 util-linux; then status[cli]="ok ($(ip -V))"
else status[cli]="FAILED: $(last_error)"; fi

# pyroute2: Debian's package, for the system python (/usr/bin/python3).
# (The import check runs from / : here, ./pyroute2.py would shadow the package.)
if apt_install python3-pyroute2 && (cd / && /usr/bin/python3 -c 'import pyroute2.iproute') 2>"$log"; then
  status[pyroute2]="ok (python3-pyroute2 $(dpkg-query -W -f='${Version}' python3-pyroute2))"
else status[pyroute2]="FAILED: $(last_error)$(tail -1 "$log")"; fi

# Go: the compiler and the library sources as Debian packages them, built offline.
if ! apt_install golang-go golang-github-vishvananda-netlink-dev \
    golang-github-vishvananda-netns-dev golang-golang-x-sys-dev; then
  status[go]="FAILED to install: $(last_error)"
elif ! go/build.sh >"$log" 2>&1; then
  status[go]="FAILED to build: $(head -5 "$log" | tr '\n' ' ')"
else status[go]="ok (go/wbench, $(go version | cut -d' ' -f3))"; fi

# C: a compiler, make and the kernel's uapi headers.
if ! { command -v cc >/dev/null && command -v make >/dev/null && [ -f /usr/include/linux/veth.h ]; } &&
   ! apt_install build-essential linux-libc-dev; then
  status[c]="FAILED to install: $(last_error)"
elif ! make -C c -s >"$log" 2>&1; then
  status[c]="FAILED to build: $(head -5 "$log" | tr '\n' ' ')"
else status[c]="ok (c/floor)"; fi

for peer in cli pyroute2 go c; do printf '%-9s %s\n' "$peer:" "${status[$peer]}"; done
exit 0
