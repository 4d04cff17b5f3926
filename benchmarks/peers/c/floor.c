/*
 * floor: W(N) in hand-written C over raw NETLINK_ROUTE sockets, the kernel floor that the
 * other peers (and rtnetlink) are compared with.
 *
 *   floor [--sequential | --pipelined] [--threads=1|2] [--ipv6=off] [--echo] [--mark] N setup
 *                                                           (default --pipelined, 1 thread)
 *   floor [--teardown=netns | --teardown=group] N teardown  (default netns)
 * (options may also follow N and the phase)
 *
 * Prints {"ms": <elapsed ms of the phase>} on stdout and exits 0, or exits 1 with a message.
 *
 * Setup, per container i: `ip netns add c<i>` equivalent (file + unshare + bind mount), the
 * namespace's one netlink socket opened while we are inside it anyway, a veth h<i> whose peer
 * eth0 is created directly inside c<i> (IFLA_NET_NS_FD in VETH_INFO_PEER: moving a link costs
 * an RCU grace period, ~19 ms) with IFLA_MASTER, IFF_UP and a link group in the same create
 * request; then, from inside c<i>: lo up, eth0 up, address, default route.
 * --sequential waits for each request's ACK; --pipelined puts many requests in one sendmsg
 * and matches the ACKs afterwards. --threads=2 splits the containers between two threads,
 * each with its own sockets (namespace membership is per thread, so each unshares and returns
 * on its own). --ipv6=off disables IPv6 in each namespace before its eth0 exists (no link-local
 * address, no DAD or MLD traffic on the bridge), as the library's `ipv6: false` does.
 *
 * Teardown: --teardown=netns unmounts and unlinks every namespace (the kernel then destroys
 * their veths in batches) and waits on an RTNLGRP_LINK socket until every h<i> is gone, then
 * deletes br0. --teardown=group deletes every link of the group (h<i>, their peers and br0)
 * with one RTM_DELLINK, i.e. one unregister batch and one grace period, then the namespaces.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#define NETNS_DIR "/run/netns"
#define LINK_GROUP 0x57e1 /* tags br0 and every h<i>, so one RTM_DELLINK removes them all */
#define CHUNK 100         /* containers per pipelined round: bounds open fds and buffers */
#define MAX_N 1023        /* a bridge takes at most 1023 ports */

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- netlink sockets ---- */

static int nl_open(int groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("socket");
  int one = 1, big = 8 << 20;
  /* Small ACKs (no echoed request) but the kernel's error string when something fails. */
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  /* Pipelined ACKs and link notifications queue up: don't let them overflow. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind netlink");
  return fd;
}

/* ---- request building: messages are appended to one buffer, then sent in one sendmsg ---- */

/* Per thread: with --threads=2 each thread builds and sends its own requests. */
static __thread _Alignas(16) char sbuf[1 << 20];
static __thread size_t slen;
static __thread unsigned nmsgs; /* messages in sbuf */
static __thread uint32_t seq;

static void *put(const void *data, size_t len) {
  size_t need = NLMSG_ALIGN(len);
  if (slen + need > sizeof sbuf) { errno = ENOBUFS; die("request buffer"); }
  void *p = sbuf + slen;
  memset(p, 0, need);
  if (data) memcpy(p, data, len);
  slen += need;
  return p;
}

static size_t msg_begin(uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen) {
  size_t off = slen;
  struct nlmsghdr *n = put(NULL, NLMSG_HDRLEN);
  n->nlmsg_type = type;
  n->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  n->nlmsg_seq = ++seq;
  put(hdr, hdrlen);
  nmsgs++;
  return off;
}

static void msg_end(size_t off) { ((struct nlmsghdr *)(sbuf + off))->nlmsg_len = slen - off; }

static void attr(uint16_t type, const void *data, size_t len) {
  struct rtattr a = {.rta_len = RTA_LENGTH(len), .rta_type = type};
  put(&a, sizeof a); /* 4 bytes: already aligned */
  put(data, len);
}
static void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
static void attr_str(uint16_t type, const char *s) { attr(type, s, strlen(s) + 1); }

static size_t nest_begin(uint16_t type) {
  size_t off = slen;
  struct rtattr a = {.rta_type = type};
  put(&a, sizeof a);
  return off;
}
static void nest_end(size_t off) { ((struct rtattr *)(sbuf + off))->rta_len = slen - off; }

/* Sends what was built on fd; returns how many ACKs to expect. */
static unsigned flush(int fd) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (sendto(fd, sbuf, slen, 0, (struct sockaddr *)&sa, sizeof sa) < 0) die("sendmsg");
  unsigned n = nmsgs;
  slen = nmsgs = 0;
  return n;
}

static __thread _Alignas(16) char rbuf[1 << 16];

/* Reads `count` ACKs from fd; any error is fatal. allow_err is an errno that counts as ok. */
static void wait_acks(int fd, unsigned count, int allow_err) {
  while (count > 0) {
    ssize_t len = recv(fd, rbuf, sizeof rbuf, 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      die("recv ack");
    }
    for (struct nlmsghdr *n = (void *)rbuf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
      if (n->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *e = NLMSG_DATA(n);
      count--;
      if (e->error == 0 || -e->error == allow_err) continue;
      /* With NETLINK_CAP_ACK the extended-ACK attributes follow the bare header. */
      const char *why = "";
      if (n->nlmsg_flags & NLM_F_ACK_TLVS) {
        struct rtattr *a = (void *)((char *)e + sizeof *e);
        int alen = n->nlmsg_len - NLMSG_HDRLEN - sizeof *e;
        for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
          if (a->rta_type == NLMSGERR_ATTR_MSG) why = RTA_DATA(a);
      }
      fprintf(stderr, "floor: request %u failed: %s %s\n", e->msg.nlmsg_seq,
              strerror(-e->error), why);
      exit(1);
    }
  }
}

static void request(int fd, int allow_err) { wait_acks(fd, flush(fd), allow_err); }

/* ---- W(N) requests ---- */

static void link_set_up(int index, const char *name) {
  struct ifinfomsg ifi = {.ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  size_t m = msg_begin(RTM_NEWLINK, 0, &ifi, sizeof ifi);
  if (name) attr_str(IFLA_IFNAME, name);
  msg_end(m);
}

static void addr_add(int index, uint32_t be_addr, int prefixlen) {
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefixlen, .ifa_index = index};
  size_t m = msg_begin(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  attr_u32(IFA_LOCAL, be_addr);
  attr_u32(IFA_ADDRESS, be_addr);
  msg_end(m);
}

static void default_route(int oif, uint32_t be_gw) { /* as `ip route add default via GW` */
  struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
                     .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
                     .rtm_type = RTN_UNICAST};
  size_t m = msg_begin(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  attr_u32(RTA_GATEWAY, be_gw);
  attr_u32(RTA_OIF, oif);
  msg_end(m);
}

/* --echo and --mark make the floor do what the library does beyond it (to measure what that
 * costs, not part of the floor): NLM_F_ECHO on each veth create (the library learns the peer's
 * index from the echo), and lo's link group set from inside each new namespace before it is
 * used (the library's ownership mark). */
static int echo_creates, mark_namespaces;

/* h<i> up, in br0 and in LINK_GROUP; its peer eth0 created as ifindex 2 inside the namespace
 * (the first link after lo: fixing it lets the namespace's requests name it by index). */
static void veth_add(int i, int br_index, int nsfd) {
  char name[IFNAMSIZ];
  snprintf(name, sizeof name, "h%d", i);
  struct ifinfomsg ifi = {.ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  size_t m = msg_begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | (echo_creates ? NLM_F_ECHO : 0), &ifi, sizeof ifi);
  attr_str(IFLA_IFNAME, name);
  attr_u32(IFLA_MASTER, br_index);
  attr_u32(IFLA_GROUP, LINK_GROUP);
  size_t info = nest_begin(IFLA_LINKINFO);
  attr_str(IFLA_INFO_KIND, "veth");
  size_t data = nest_begin(IFLA_INFO_DATA);
  size_t peer = nest_begin(VETH_INFO_PEER);
  struct ifinfomsg pifi = {.ifi_index = 2};
  put(&pifi, sizeof pifi);
  attr_str(IFLA_IFNAME, "eth0");
  attr_u32(IFLA_NET_NS_FD, nsfd);
  nest_end(peer);
  nest_end(data);
  nest_end(info);
  msg_end(m);
}

static int link_index(int fd, const char *name) {
  struct ifinfomsg ifi = {0};
  size_t m = msg_begin(RTM_GETLINK, 0, &ifi, sizeof ifi);
  attr_str(IFLA_IFNAME, name);
  attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  msg_end(m);
  flush(fd);
  int index = 0;
  for (;;) {
    ssize_t len = recv(fd, rbuf, sizeof rbuf, 0);
    if (len < 0) die("recv getlink");
    for (struct nlmsghdr *n = (void *)rbuf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
      if (n->nlmsg_type == RTM_NEWLINK) index = ((struct ifinfomsg *)NLMSG_DATA(n))->ifi_index;
      if (n->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(n);
        if (e->error) { errno = -e->error; die(name); }
        return index;
      }
    }
  }
}

static uint32_t ip4(int a, int b, int c, int d) {
  return htonl((uint32_t)a << 24 | b << 16 | c << 8 | d);
}

/* ---- namespaces, as `ip netns add` does it ---- */

/* iproute2 makes /run/netns a shared mount (bind-mounting it onto itself first if it is not
 * a mount point) so namespaces mounted there show up in other mount namespaces. Once. */
static void netns_dir_init(void) {
  if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST) die("mkdir " NETNS_DIR);
  if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0) return;
  if (errno != EINVAL) die("mount --make-shared " NETNS_DIR);
  if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0) die("bind " NETNS_DIR);
  if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) die("share " NETNS_DIR);
}

/* Creates /run/netns/<name> holding a new network namespace. While inside it (right after
 * unshare) opens the namespace's netlink socket and an fd of it for IFLA_NET_NS_FD, which
 * saves the setns-in/setns-out a socket per namespace would otherwise cost. */
static int ipv6_off;

/* Writes "1" to a sysctl of the namespace the thread is in (/proc/sys/net follows the opener's
 * namespace). */
static void sysctl_set(const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) die(path);
  close(fd);
}

static void netns_add(const char *name, int hostns, int *nsfd, int *sock) {
  char path[64];
  snprintf(path, sizeof path, NETNS_DIR "/%s", name);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) die(path);
  close(fd);
  if (unshare(CLONE_NEWNET) < 0) die("unshare");
  /* thread-self: with two threads, /proc/self would name the main thread's namespace. */
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) die("bind mount netns");
  if (ipv6_off) {
    sysctl_set("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    sysctl_set("/proc/sys/net/ipv6/conf/default/disable_ipv6");
  }
  *nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*nsfd < 0) die("open ns");
  *sock = nl_open(0);
  if (mark_namespaces) {
    struct ifinfomsg lo = {.ifi_index = 1};
    size_t m = msg_begin(RTM_NEWLINK, 0, &lo, sizeof lo);
    attr_u32(IFLA_GROUP, LINK_GROUP);
    msg_end(m);
    request(*sock, 0);
  }
  if (setns(hostns, CLONE_NEWNET) < 0) die("setns back");
}

static void netns_delete(const char *name) {
  char path[64];
  snprintf(path, sizeof path, NETNS_DIR "/%s", name);
  if (umount2(path, MNT_DETACH) < 0 && errno != ENOENT && errno != EINVAL) die(path);
  if (unlink(path) < 0 && errno != ENOENT) die(path);
}

/* ---- phases ---- */

struct range {
  int first, last, pipelined, br, hostns;
};

/* Containers first..last: namespaces, veths and their insides, CHUNK at a time. */
static void *setup_range(void *arg) {
  const struct range *r = arg;
  int host = nl_open(0);
  int nsfd[CHUNK], sock[CHUNK];
  unsigned acks[CHUNK];
  for (int first = r->first; first <= r->last; first += CHUNK) {
    int count = r->last - first + 1 < CHUNK ? r->last - first + 1 : CHUNK;
    for (int k = 0; k < count; k++) {
      char name[16];
      snprintf(name, sizeof name, "c%d", first + k);
      netns_add(name, r->hostns, &nsfd[k], &sock[k]);
    }
    /* Host side: every veth of the chunk, in one sendmsg when pipelined. */
    unsigned host_acks = 0;
    for (int k = 0; k < count; k++) {
      veth_add(first + k, r->br, nsfd[k]);
      if (!r->pipelined) request(host, 0);
    }
    if (r->pipelined) host_acks = flush(host);
    /* Inside: the kernel handled the host requests during sendmsg, so eth0 exists already. */
    for (int k = 0; k < count; k++) {
      int i = first + k;
      link_set_up(1, NULL); /* lo */
      if (!r->pipelined) request(sock[k], 0);
      link_set_up(2, NULL); /* eth0: up first, so the address brings its prefix route */
      if (!r->pipelined) request(sock[k], 0);
      addr_add(2, ip4(10, 200, i / 250, i % 250 + 2), 16);
      if (!r->pipelined) request(sock[k], 0);
      default_route(2, ip4(10, 200, 0, 1));
      if (!r->pipelined) request(sock[k], 0);
      if (r->pipelined) acks[k] = flush(sock[k]);
    }
    if (r->pipelined) {
      wait_acks(host, host_acks, 0);
      for (int k = 0; k < count; k++) wait_acks(sock[k], acks[k], 0);
    }
    for (int k = 0; k < count; k++) {
      close(sock[k]);
      close(nsfd[k]);
    }
  }
  close(host);
  return NULL;
}

static void setup(int n, int pipelined, int threads) {
  int host = nl_open(0);
  int hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (hostns < 0) die("open host ns");
  netns_dir_init();

  struct ifinfomsg ifi = {.ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  size_t m = msg_begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  attr_str(IFLA_IFNAME, "br0");
  attr_u32(IFLA_GROUP, LINK_GROUP);
  size_t info = nest_begin(IFLA_LINKINFO);
  attr_str(IFLA_INFO_KIND, "bridge");
  nest_end(info);
  msg_end(m);
  request(host, 0);
  int br = link_index(host, "br0");
  addr_add(br, ip4(10, 200, 0, 1), 16);
  request(host, 0);
  close(host);

  /* Contiguous halves: each thread's chunks stay as large as with one thread. */
  struct range ranges[2];
  pthread_t tids[2];
  int per = (n + threads - 1) / threads;
  for (int t = 0; t < threads; t++) {
    ranges[t] = (struct range){.first = 1 + t * per, .last = (t + 1) * per < n ? (t + 1) * per : n,
                               .pipelined = pipelined, .br = br, .hostns = hostns};
    if (ranges[t].first > ranges[t].last) { threads = t; break; }
    if (t > 0 && (errno = pthread_create(&tids[t], NULL, setup_range, &ranges[t]))) die("pthread_create");
  }
  setup_range(&ranges[0]);
  for (int t = 1; t < threads; t++) pthread_join(tids[t], NULL);
  close(hostns);
}

/* Indexes of the host's links named h<digits>, by one dump. */
static int dump_h_links(int fd, int *out, int max) {
  struct ifinfomsg ifi = {0};
  size_t m = msg_begin(RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof ifi);
  attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  msg_end(m);
  flush(fd);
  int count = 0;
  for (;;) {
    ssize_t len = recv(fd, rbuf, sizeof rbuf, 0);
    if (len < 0) die("recv dump");
    for (struct nlmsghdr *n = (void *)rbuf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
      if (n->nlmsg_type == NLMSG_DONE) return count;
      if (n->nlmsg_type == NLMSG_ERROR) { errno = -((struct nlmsgerr *)NLMSG_DATA(n))->error; die("dump"); }
      if (n->nlmsg_type != RTM_NEWLINK) continue;
      struct ifinfomsg *ifm = NLMSG_DATA(n);
      int alen = IFLA_PAYLOAD(n);
      for (struct rtattr *a = IFLA_RTA(ifm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        const char *s = RTA_DATA(a);
        if (a->rta_type == IFLA_IFNAME && s[0] == 'h' && s[1] >= '0' && s[1] <= '9' &&
            strspn(s + 1, "0123456789") == strlen(s + 1) && count < max)
          out[count++] = ifm->ifi_index;
      }
    }
  }
}

/* Blocks until no h<i> link is left in the host namespace: subscribed before the caller's
 * deletes, it dumps what is left and then crosses off each RTM_DELLINK as the kernel's
 * namespace cleanup (or a synchronous delete) reports it. On overflow, dumps again. */
static void wait_h_links_gone(int req, int mon) {
  static int left[MAX_N * 2];
  int nleft;
redump:
  nleft = dump_h_links(req, left, MAX_N * 2);
  while (nleft > 0) {
    ssize_t len = recv(mon, rbuf, sizeof rbuf, 0);
    if (len < 0) {
      if (errno == ENOBUFS) goto redump;
      if (errno == EINTR) continue;
      die("recv monitor");
    }
    for (struct nlmsghdr *n = (void *)rbuf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
      if (n->nlmsg_type != RTM_DELLINK) continue;
      struct ifinfomsg *ifm = NLMSG_DATA(n);
      if (ifm->ifi_family == AF_BRIDGE) continue; /* "port left the bridge", not the link */
      for (int k = 0; k < nleft; k++)
        if (left[k] == ifm->ifi_index) { left[k] = left[--nleft]; break; }
    }
  }
}

static void teardown(int n, int by_group) {
  int req = nl_open(0);
  int mon = nl_open(RTMGRP_LINK);
  if (by_group) {
    struct ifinfomsg ifi = {0};
    size_t m = msg_begin(RTM_DELLINK, 0, &ifi, sizeof ifi);
    attr_u32(IFLA_GROUP, LINK_GROUP);
    msg_end(m);
    request(req, ENODEV); /* ENODEV: no link in the group (another peer's setup) */
  }
  for (int i = 1; i <= n; i++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", i);
    netns_delete(name);
  }
  wait_h_links_gone(req, mon);
  /* br0 is gone already with --teardown=group (it is in the group): ENODEV is fine then. */
  struct ifinfomsg ifi = {0};
  size_t m = msg_begin(RTM_DELLINK, 0, &ifi, sizeof ifi);
  attr_str(IFLA_IFNAME, "br0");
  msg_end(m);
  request(req, ENODEV);
  close(mon);
  close(req);
}

static void usage(void) {
  fprintf(stderr, "usage: floor [--sequential|--pipelined] [--threads=1|2] [--ipv6=off] [--echo] [--mark] N setup\n"
                  "       floor [--teardown=netns|--teardown=group] N teardown\n");
  exit(2);
}

int main(int argc, char **argv) {
  /* Options may come before or after N and the phase: `floor --sequential 100 setup` too. */
  const char *pos[2] = {0};
  int npos = 0, pipelined = 1, by_group = 0, threads = 1;
  for (int k = 1; k < argc; k++) {
    if (!strcmp(argv[k], "--sequential")) pipelined = 0;
    else if (!strcmp(argv[k], "--pipelined")) pipelined = 1;
    else if (!strcmp(argv[k], "--threads=1")) threads = 1;
    else if (!strcmp(argv[k], "--threads=2")) threads = 2;
    else if (!strcmp(argv[k], "--ipv6=off")) ipv6_off = 1;
    else if (!strcmp(argv[k], "--echo")) echo_creates = 1;
    else if (!strcmp(argv[k], "--mark")) mark_namespaces = 1;
    else if (!strcmp(argv[k], "--teardown=netns")) by_group = 0;
    else if (!strcmp(argv[k], "--teardown=group")) by_group = 1;
    else if (argv[k][0] != '-' && npos < 2) pos[npos++] = argv[k];
    else usage();
  }
  if (npos != 2) usage();
  int n = atoi(pos[0]);
  if (n < 1 || n > MAX_N) usage();
  double t0 = now_ms();
  if (!strcmp(pos[1], "setup")) setup(n, pipelined, threads);
  else if (!strcmp(pos[1], "teardown")) teardown(n, by_group);
  else usage();
  printf("{\"ms\": %.3f}\n", now_ms() - t0);
  return 0;
}
