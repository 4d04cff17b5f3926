#!/bin/sh
# Captures the nf_tables byte fixtures in test/fixtures/nftables from this kernel:
# what `nft` sends (batches, dump requests) and what the kernel answers (dumps, acks).
# The unit tests compare our encoder's bytes against nft's and decode the kernel's replies.
#
# Needs root, nft and strace (apt-get install -y nftables strace). Everything runs inside a
# throwaway network namespace (scripts/sandbox, or $SANDBOX), so the host's rules are never
# read or touched. Re-run it after changing a scenario; it rewrites every fixture. Requests come
# out identical each time; replies differ only in nlmsg_pid (the capturing socket's port id).
#   scripts/capture-nft-fixtures.sh          every fixture
#   scripts/capture-nft-fixtures.sh dnat     only the port-forward (DNAT) ones
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${RTNL_NFT_CAPTURE_INNER:-}" ]; then
  SANDBOX=${SANDBOX:-$ROOT/scripts/sandbox}
  exec env RTNL_NFT_CAPTURE_INNER=1 "$SANDBOX" sh "$0" "$@"
fi

OUT=$ROOT/test/fixtures/nftables
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# strace's hex dumps (-e read=/write=) are turned into binary here. nft leaves garbage in the
# alignment padding of what it sends; the padding is zeroed so fixtures are reproducible
# (the kernel ignores padding, and our encoder writes zeros).
cat > "$TMP/extract.py" <<'PY'
import struct, sys

NLMSG_DONE, NLMSG_ERROR, BATCH_BEGIN = 3, 2, 0x10
NLA_F_NESTED, NLM_F_DUMP = 0x8000, 0x300

def events(path):
    out, cur = [], None
    for line in open(path, encoding='latin-1'):
        if line.startswith(' | '):
            if cur is not None:
                cur[1].extend(bytes.fromhex(line[10:59].replace(' ', '')))
        elif line.startswith(' * '):
            continue
        else:
            name = line.split('(', 1)[0]
            if name in ('sendmsg', 'sendto'):
                cur = ['send', bytearray()]
            elif name in ('recvmsg', 'recvfrom') and '= -1' not in line:
                cur = ['recv', bytearray()]
            else:
                cur = None
                continue
            out.append(cur)
    return [(k, bytes(b)) for k, b in out if b]

def messages(buf):
    off = 0
    while off + 16 <= len(buf):
        ln, ty, fl = struct.unpack_from('<IHH', buf, off)
        yield off, ln, ty, fl
        off += (ln + 3) & ~3

def zero_attr_padding(buf, start, end):
    off = start
    while off + 4 <= end:
        ln, ty = struct.unpack_from('<HH', buf, off)
        if ln < 4 or off + ln > end:
            return
        if ty & NLA_F_NESTED:
            zero_attr_padding(buf, off + 4, off + ln)
        nxt = min((off + ln + 3) & ~3, end)
        buf[off + ln:nxt] = bytes(nxt - off - ln)
        off = nxt

def normalise(data):
    buf = bytearray(data)
    for off, ln, ty, fl in list(messages(buf)):
        # nfnetlink payloads start with the 4-byte nfgenmsg, then attributes.
        if ty >= 0x10:
            zero_attr_padding(buf, off + 20, off + ln)
        nxt = min((off + ln + 3) & ~3, len(buf))
        buf[off + ln:nxt] = bytes(nxt - off - ln)
    return bytes(buf)

def first_type(data):
    return struct.unpack_from('<H', data, 4)[0]

def main():
    mode, trace, out = sys.argv[1], sys.argv[2], sys.argv[3]
    evs = events(trace)
    if mode == 'batch':
        sends = [d for k, d in evs if k == 'send' and first_type(d) == BATCH_BEGIN]
        if len(sends) != 1:
            sys.exit(f'{trace}: expected one batch, found {len(sends)}')
        open(out, 'wb').write(normalise(sends[0]))
        return
    # dump:<nfnetlink message type>: the request and every reply up to NLMSG_DONE
    want = int(mode.split(':')[1], 0)
    for i, (k, d) in enumerate(evs):
        ty, fl = struct.unpack_from('<HH', d, 4)
        if k == 'send' and ty == want and (fl & NLM_F_DUMP) == NLM_F_DUMP:
            reply = bytearray()
            for k2, d2 in evs[i + 1:]:
                if k2 != 'recv':
                    break
                reply += d2
                if any(t == NLMSG_DONE for _, _, t, _ in messages(d2)):
                    break
            open(out + '.request.bin', 'wb').write(normalise(d))
            open(out + '.reply.bin', 'wb').write(bytes(reply))
            return
    sys.exit(f'{trace}: no dump request of type {want:#x}')

main()
PY

# Sends a captured batch over a raw NETLINK_NETFILTER socket with NLM_F_ACK set on every message
# between BATCH_BEGIN and BATCH_END (what our encoder does by default) and records the answers.
cat > "$TMP/acks.py" <<'PY'
import select, socket, struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
off = 0
while off + 16 <= len(data):
    ln, ty, fl = struct.unpack_from('<IHH', data, off)
    if ty not in (0x10, 0x11):
        struct.pack_into('<H', data, off + 6, fl | 0x4)
    off += (ln + 3) & ~3
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.bind((0, 0))
s.setsockopt(270, 11, 1)  # NETLINK_EXT_ACK
s.send(bytes(data))
reply = b''
# The kernel runs the whole batch inside send(), so every answer is queued by now.
while select.select([s], [], [], 0.2)[0]:
    reply += s.recv(65536)
open(sys.argv[2], 'wb').write(reply)
PY

# Sends a captured dump request again, with another nfgenmsg family (AF_UNSPEC dumps every
# family, which nft never asks for), and records the reply up to NLMSG_DONE.
cat > "$TMP/redump.py" <<'PY'
import select, socket, struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
data[16] = int(sys.argv[2])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.bind((0, 0))
s.send(bytes(data))
reply, done = b'', False
while not done and select.select([s], [], [], 1)[0]:
    d = s.recv(65536)
    reply += d
    off = 0
    while off + 16 <= len(d):
        ln, ty = struct.unpack_from('<IH', d, off)
        done = done or ty == 3
        off += (ln + 3) & ~3
if not done:
    sys.exit('no NLMSG_DONE')
open(sys.argv[3], 'wb').write(reply)
PY

strace_nft() { # name, nft args...
  name=$1; shift
  strace -o "$TMP/$name.strace" -e trace=sendmsg,sendto,recvmsg,recvfrom -e read=3 -e write=3 nft "$@" > /dev/null
}
batch() { # fixture, nft args...
  name=$1; shift
  strace_nft "$name" "$@"
  python3 "$TMP/extract.py" batch "$TMP/$name.strace" "$OUT/$name.bin"
}
dump() { # fixture, message type, nft args...
  name=$1; type=$2; shift 2
  strace_nft "$name" "$@"
  python3 "$TMP/extract.py" "dump:$type" "$TMP/$name.strace" "$OUT/$name"
}
fresh() { nft flush ruleset; }

CHAIN='{ type nat hook postrouting priority srcnat; policy accept; }'
TAG=rtnetlink:masq
PRE='{ type nat hook prerouting priority dstnat; policy accept; }'
# nft 1.0.6 knows `dstnat` only for prerouting; for output it is the same -100, by number.
OUTPUT='{ type nat hook output priority -100; policy accept; }'
DNAT=rtnetlink:dnat

# --- port forwards (DNAT), as addPortForward writes them: prerouting for traffic from outside,
# output for connections the host itself makes; without a host address the port is published
# on every local address (fib daddr type local), loopback excepted in output. ---
dnat() {
  fresh
  nft add table ip rtnetlink
  nft add table ip6 rtnetlink
  batch batch-newchain-prerouting-ip add chain ip rtnetlink prerouting "$PRE"
  batch batch-newchain-output-ip add chain ip rtnetlink output "$OUTPUT"
  batch batch-newchain-prerouting-ip6 add chain ip6 rtnetlink prerouting "$PRE"
  batch batch-newchain-output-ip6 add chain ip6 rtnetlink output "$OUTPUT"
  batch batch-newrule-dnat-pre-ip add rule ip rtnetlink prerouting fib daddr type local tcp dport 8080 dnat to 192.168.0.2:80 comment "\"$DNAT:tcp/8080->192.168.0.2:80\""
  batch batch-newrule-dnat-out-ip add rule ip rtnetlink output ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 dnat to 192.168.0.2:80 comment "\"$DNAT:tcp/8080->192.168.0.2:80\""
  batch batch-newrule-dnat-pre-ip-host add rule ip rtnetlink prerouting ip daddr 10.250.0.1 udp dport 5353 dnat to 192.168.0.2:53 comment "\"$DNAT:udp/10.250.0.1:5353->192.168.0.2:53\""
  batch batch-newrule-dnat-out-ip-host add rule ip rtnetlink output ip daddr 10.250.0.1 udp dport 5353 dnat to 192.168.0.2:53 comment "\"$DNAT:udp/10.250.0.1:5353->192.168.0.2:53\""
  batch batch-newrule-dnat-pre-ip6 add rule ip6 rtnetlink prerouting fib daddr type local tcp dport 8080 dnat to [fd00::2]:80 comment "\"$DNAT:tcp/8080->[fd00::2]:80\""
  batch batch-newrule-dnat-out-ip6 add rule ip6 rtnetlink output ip6 daddr != ::1 fib daddr type local tcp dport 8080 dnat to [fd00::2]:80 comment "\"$DNAT:tcp/8080->[fd00::2]:80\""
  batch batch-newrule-dnat-pre-ip6-host add rule ip6 rtnetlink prerouting ip6 daddr fd00::1 tcp dport 443 dnat to [fd00::2]:8443 comment "\"$DNAT:tcp/[fd00::1]:443->[fd00::2]:8443\""

  # A ruleset holding ours and look-alikes that are not (no comment, a counter, a port range, a
  # dnat without port, snat), dumped as addPortForward's listing reads it.
  fresh
  cat > "$TMP/dnat.nft" <<NFT
add table ip rtnetlink
add chain ip rtnetlink prerouting $PRE
add chain ip rtnetlink output $OUTPUT
add rule ip rtnetlink prerouting fib daddr type local tcp dport 8080 dnat to 192.168.0.2:80 comment "$DNAT:tcp/8080->192.168.0.2:80"
add rule ip rtnetlink output ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 dnat to 192.168.0.2:80 comment "$DNAT:tcp/8080->192.168.0.2:80"
add rule ip rtnetlink prerouting ip daddr 10.250.0.1 udp dport 5353 dnat to 192.168.0.2:53 comment "$DNAT:udp/10.250.0.1:5353->192.168.0.2:53"
add rule ip rtnetlink prerouting tcp dport 8081 dnat to 192.168.0.3:80
add rule ip rtnetlink prerouting fib daddr type local tcp dport 8082 counter dnat to 192.168.0.3:80 comment "$DNAT:tcp/8082->192.168.0.3:80"
add rule ip rtnetlink prerouting fib daddr type local tcp dport 9000-9010 dnat to 192.168.0.3:80
add rule ip rtnetlink prerouting fib daddr type local tcp dport 8083 dnat to 192.168.0.3
add table ip6 rtnetlink
add chain ip6 rtnetlink prerouting $PRE
add rule ip6 rtnetlink prerouting fib daddr type local tcp dport 8080 dnat to [fd00::2]:80 comment "$DNAT:tcp/8080->[fd00::2]:80"
NFT
  nft -f "$TMP/dnat.nft"
  dump dump-rules-dnat 0x0a07 list ruleset
  nft -a list ruleset > "$OUT/dump-dnat.ruleset.txt"
}

if [ "${1:-}" = dnat ]; then
  dnat
  ls -l "$OUT"
  exit 0
fi

# --- what nft sends to create/delete our objects (one message per batch) ---
fresh
batch batch-newtable-ip add table ip rtnetlink
batch batch-newchain-ip add chain ip rtnetlink postrouting "$CHAIN"
batch batch-newrule-ip-24-oif add rule ip rtnetlink postrouting ip saddr 192.168.0.0/24 oifname '"eth0"' masquerade comment "\"$TAG:192.168.0.0/24:eth0\""
batch batch-newrule-ip-20 add rule ip rtnetlink postrouting ip saddr 10.1.16.0/20 masquerade comment "\"$TAG:10.1.16.0/20\""
batch batch-newrule-ip-32 add rule ip rtnetlink postrouting ip saddr 10.0.0.1/32 masquerade comment "\"$TAG:10.0.0.1/32\""
batch batch-newrule-ip-0 add rule ip rtnetlink postrouting ip saddr 0.0.0.0/0 masquerade comment "\"$TAG:0.0.0.0/0\""
batch batch-delrule-ip delete rule ip rtnetlink postrouting handle 2
batch batch-delchain-ip delete chain ip rtnetlink postrouting
batch batch-deltable-ip delete table ip rtnetlink
batch batch-newtable-ip6 add table ip6 rtnetlink
batch batch-newchain-ip6 add chain ip6 rtnetlink postrouting "$CHAIN"
batch batch-newrule-ip6-64-oif add rule ip6 rtnetlink postrouting ip6 saddr fd00:1::/64 oifname '"eth0"' masquerade comment "\"$TAG:fd00:1::/64:eth0\""
batch batch-newrule-ip6-60 add rule ip6 rtnetlink postrouting ip6 saddr fd00:1::/60 masquerade comment "\"$TAG:fd00:1::/60\""
batch batch-newrule-ip6-128 add rule ip6 rtnetlink postrouting ip6 saddr 2001:db8::1/128 masquerade comment "\"$TAG:2001:db8::1/128\""

# --- a whole transaction in one batch, as addMasquerade sends it ---
fresh
cat > "$TMP/setup.nft" <<NFT
add table ip rtnetlink
add chain ip rtnetlink postrouting $CHAIN
add rule ip rtnetlink postrouting ip saddr 192.168.0.0/24 oifname "eth0" masquerade comment "$TAG:192.168.0.0/24:eth0"
NFT
batch batch-setup-ip -f "$TMP/setup.nft"

# --- the kernel's acks for it: into an empty ruleset (all succeed), then a failing delete ---
fresh
python3 "$TMP/acks.py" "$OUT/batch-setup-ip.bin" "$OUT/acks-setup-ip.reply.bin"
nft delete rule ip rtnetlink postrouting handle 2
python3 "$TMP/acks.py" "$OUT/batch-delrule-ip.bin" "$OUT/acks-delrule-enoent.reply.bin"

# --- dumps of a ruleset holding ours and other tools' objects ---
fresh
cat > "$TMP/ruleset.nft" <<NFT
add table ip rtnetlink
add chain ip rtnetlink postrouting $CHAIN
add rule ip rtnetlink postrouting ip saddr 192.168.0.0/24 oifname "eth0" masquerade comment "$TAG:192.168.0.0/24:eth0"
add rule ip rtnetlink postrouting ip saddr 10.1.16.0/20 masquerade comment "$TAG:10.1.16.0/20"
add rule ip rtnetlink postrouting ip saddr 10.0.0.1/32 masquerade comment "$TAG:10.0.0.1/32"
add rule ip rtnetlink postrouting ip saddr 0.0.0.0/0 masquerade comment "$TAG:0.0.0.0/0"
add rule ip rtnetlink postrouting ip saddr 172.16.0.0/12 masquerade
add rule ip rtnetlink postrouting ip saddr 172.17.0.0/16 oifname "eth*" masquerade comment "$TAG:172.17.0.0/16"
add rule ip rtnetlink postrouting ip saddr 10.9.0.0/16 counter accept
add rule ip rtnetlink postrouting ip saddr 10.8.0.0/16 masquerade random,persistent comment "$TAG:10.8.0.0/16"
add table ip6 rtnetlink
add chain ip6 rtnetlink postrouting $CHAIN
add rule ip6 rtnetlink postrouting ip6 saddr fd00:1::/64 oifname "eth0" masquerade comment "$TAG:fd00:1::/64:eth0"
add rule ip6 rtnetlink postrouting ip6 saddr fd00:1::/60 masquerade comment "$TAG:fd00:1::/60"
add rule ip6 rtnetlink postrouting ip6 saddr 2001:db8::1/128 masquerade comment "$TAG:2001:db8::1/128"
add table inet other
add chain inet other input { type filter hook input priority filter - 5; policy drop; }
add chain inet other regular
add rule inet other input iifname "lo" accept
NFT
nft -f "$TMP/ruleset.nft"
dump dump-tables 0x0a01 list tables
dump dump-chains 0x0a04 list chains
dump dump-rules 0x0a07 list ruleset
python3 "$TMP/redump.py" "$OUT/dump-rules.request.bin" 0 "$OUT/dump-rules-all.reply.bin"
dump dump-rules-chain 0x0a07 list chain ip rtnetlink postrouting
nft -a list ruleset > "$OUT/dump.ruleset.txt"

dnat

ls -l "$OUT"
