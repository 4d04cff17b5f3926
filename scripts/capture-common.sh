# Sourced by the fixture capture scripts: checks that they run inside scripts/sandbox (they
# create links and namespaces), and defines cap NAME COMMAND..., which traces one command's
# netlink traffic into test/fixtures/rtnetlink/NAME.json (the command may fail: error replies
# are fixtures too).
cd "$(dirname "$0")/.."
[ "${RTNETLINK_SANDBOX:-}" = 1 ] && grep -q ' /run/netns tmpfs' /proc/self/mounts || {
  echo "run me inside the sandbox: scripts/sandbox $0" >&2; exit 1; }

out=test/fixtures/rtnetlink
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

cap() {
  name=$1; shift
  strace -f -xx -e trace=sendmsg,sendto,recvmsg,recvfrom -e write=all -e read=all -o "$tmp/$name.trace" "$@" \
    >/dev/null 2>&1 || true
  node scripts/capture-fixtures.mjs "$tmp/$name.trace" "$*" > "$out/$name.json"
  echo "$out/$name.json: $*"
}
