/* Single rtnetlink operations from C, the floor for the JS micro-benchmark:
 *   micro OP COUNT BATCH [--hop]   OP: addr (add then delete 10.9.0.1/24 on ifindex IFINDEX) | up
 * Prints {"usPerOp": ...}. BATCH 1: one request, wait for its ACK; BATCH k: k requests per
 * sendmsg, then all k ACKs. Run inside scripts/sandbox with a link at IFINDEX (env, default 2).
 * --hop: the requests are sent and their ACKs read by a second thread, handed over and back
 * through eventfds, as the addon does (its netlink I/O runs off the JS thread, which must never
 * block): the same kernel work plus the two cross-thread wake-ups, the floor for that design. */
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
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

static int fd;
static const char *op;
static int batch;
static char buf[1 << 20];
static unsigned seq = 1;

/* One batch: built, sent, all ACKs read. */
static void run_batch(int done) {
  size_t len = 0;
  for (int k = 0; k < batch; k++) {
    if (strcmp(op, "up") == 0) len += put_up(buf + len, seq++);
    else len += put_addr(buf + len, (done + k) % 2 ? RTM_DELADDR : RTM_NEWADDR, seq++);
  }
  if (send(fd, buf, len, 0) < 0) { perror("send"); exit(1); }
  wait_acks(fd, batch);
}

static int to_worker, to_main;

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    uint64_t v;
    if (read(to_worker, &v, sizeof v) != sizeof v) { perror("read"); exit(1); }
    if (v == UINT64_MAX - 1) return NULL;
    run_batch((int)(v - 1));
    uint64_t one = 1;
    if (write(to_main, &one, sizeof one) != sizeof one) { perror("write"); exit(1); }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: micro addr|up COUNT BATCH [--hop]\n"); return 2; }
  op = argv[1];
  int count = atoi(argv[2]);
  batch = atoi(argv[3]);
  int hop = argc > 4 && strcmp(argv[4], "--hop") == 0;
  if (getenv("IFINDEX")) ifindex = atoi(getenv("IFINDEX"));
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int one = 1, rcv = 32 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  pthread_t tid;
  if (hop) {
    to_worker = eventfd(0, EFD_CLOEXEC);
    to_main = eventfd(0, EFD_CLOEXEC);
    pthread_create(&tid, NULL, worker, NULL);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int done = 0; done < count; done += batch) {
    if (!hop) {
      run_batch(done);
      continue;
    }
    uint64_t v = (uint64_t)done + 1, back;
    if (write(to_worker, &v, sizeof v) != sizeof v || read(to_main, &back, sizeof back) != sizeof back) { perror("hop"); return 1; }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (hop) {
    uint64_t stop = UINT64_MAX - 1;
    if (write(to_worker, &stop, sizeof stop) == sizeof stop) pthread_join(tid, NULL);
  }
  double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / count;
  printf("{\"usPerOp\": %.2f}\n", us);
  return 0;
}
