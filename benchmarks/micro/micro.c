/* Single rtnetlink operations from C, the floor for the JS micro-benchmark:
 *   micro OP COUNT BATCH   OP: addr (add then delete 10.9.0.1/24 on ifindex IFINDEX) | up
 * Prints {"usPerOp": ...}. BATCH 1: one request, wait for its ACK; BATCH k: k requests per
 * sendmsg, then all k ACKs. Run inside scripts/sandbox with a link at IFINDEX (env, default 2). */
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int ifindex = 2;

static size_t put_addr(char *buf, int type, unsigned seq) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  struct ifaddrmsg *ifa = (struct ifaddrmsg *)NLMSG_DATA(h);
  memset(buf, 0, NLMSG_SPACE(sizeof *ifa) + 2 * RTA_SPACE(4));
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  h->nlmsg_seq = seq;
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 24;
  ifa->ifa_index = ifindex;
  size_t len = NLMSG_SPACE(sizeof *ifa);
  unsigned addr = htonl(0x0a090001);
  for (int t = IFA_LOCAL; t >= IFA_ADDRESS; t--) {
    struct rtattr *a = (struct rtattr *)(buf + len);
    a->rta_type = t;
    a->rta_len = RTA_LENGTH(4);
    memcpy(RTA_DATA(a), &addr, 4);
    len += RTA_SPACE(4);
  }
  h->nlmsg_len = len;
  return len;
}

static size_t put_up(char *buf, unsigned seq) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  struct ifinfomsg *ifi = (struct ifinfomsg *)NLMSG_DATA(h);
  memset(buf, 0, NLMSG_SPACE(sizeof *ifi));
  h->nlmsg_len = NLMSG_LENGTH(sizeof *ifi);
  h->nlmsg_type = RTM_NEWLINK;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = seq;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return NLMSG_SPACE(sizeof *ifi);
}

static void wait_acks(int fd, int n) {
  static char buf[1 << 16];
  while (n > 0) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) { perror("recv"); exit(1); }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (err) { fprintf(stderr, "kernel: %s\n", strerror(-err)); exit(1); }
      n--;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: micro addr|up COUNT BATCH\n"); return 2; }
  const char *op = argv[1];
  int count = atoi(argv[2]), batch = atoi(argv[3]);
  if (getenv("IFINDEX")) ifindex = atoi(getenv("IFINDEX"));
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int one = 1, rcv = 32 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  static char buf[1 << 20];
  unsigned seq = 1;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int done = 0; done < count; done += batch) {
    size_t len = 0;
    for (int k = 0; k < batch; k++) {
      if (strcmp(op, "up") == 0) len += put_up(buf + len, seq++);
      else len += put_addr(buf + len, (done + k) % 2 ? RTM_DELADDR : RTM_NEWADDR, seq++);
    }
    if (send(fd, buf, len, 0) < 0) { perror("send"); return 1; }
    wait_acks(fd, batch);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / count;
  printf("{\"usPerOp\": %.2f}\n", us);
  return 0;
}
