/* rtnetlink-cni: the executable a container runtime runs for `"type": "rtnetlink"`.
 *
 * A runtime starts a CNI plugin once per call (and podman calls VERSION dozens of times a
 * run), so this program must start in well under a millisecond: it holds no CNI logic. It
 * reads the CNI_* environment and the config on stdin, sends them as one frame to the
 * rtnetlink CNI daemon over a unix socket, copies the daemon's answer to stdout and exits with
 * the daemon's status. The frame format is described in lib/cni/frame.ts.
 *
 * The only things it looks at in the config are two top-level string fields, found by a plain
 * scan (no JSON parser, no allocation per token): "daemonSocket" (default
 * /run/rtnetlink/cni.sock) and "fallback" ("exec" runs `rtnl cni-plugin`, a one-shot Node
 * process, when the daemon cannot be reached). Without a fallback an unreachable daemon is CNI
 * error 11, "try again later", on stdout, as the spec asks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/rtnetlink/cni.sock"
#define MAX_STDIN (16u << 20)
#define MAX_REPLY (16u << 20)
#define FRAME_MAGIC "RCNI"
#define FRAME_VERSION 1

static const char *const ENV_NAMES[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};
#define ENV_COUNT (sizeof(ENV_NAMES) / sizeof(ENV_NAMES[0]))

static char *input;
static size_t input_len;

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const uint8_t *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *data, size_t len) {
  char *p = data;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_stdin(void) {
  size_t cap = 8192;
  input = malloc(cap);
  if (!input) return -1;
  for (;;) {
    if (input_len == cap) {
      if (cap >= MAX_STDIN) return -1;
      cap *= 2;
      char *bigger = realloc(input, cap);
      if (!bigger) return -1;
      input = bigger;
    }
    ssize_t n = read(0, input + input_len, cap - input_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      /* No stdin at all (closed): an empty config, which the daemon will refuse properly. */
      if (errno == EBADF) return 0;
      return -1;
    }
    if (n == 0) return 0;
    input_len += (size_t)n;
  }
}

/* The value of the first `"key": "value"` in the input, copied into out (no escapes allowed:
 * socket paths and the fallback name never need them). 0 found, -1 absent or unusable. */
static int find_string_field(const char *key, char *out, size_t out_size) {
  size_t key_len = strlen(key);
  const char *end = input + input_len;
  for (const char *p = input; p && p < end; p++) {
    p = memchr(p, '"', (size_t)(end - p));
    if (!p) return -1;
    if ((size_t)(end - p) < key_len + 2 || memcmp(p + 1, key, key_len) != 0 || p[key_len + 1] != '"') continue;
    const char *q = p + key_len + 2;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (q >= end || *q != ':') continue;
    q++;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (q >= end || *q != '"') return -1;
    q++;
    size_t n = 0;
    while (q + n < end && q[n] != '"' && q[n] != '\\') n++;
    if (q + n >= end || q[n] != '"' || n == 0 || n >= out_size) return -1;
    memcpy(out, q, n);
    out[n] = '\0';
    return 0;
  }
  return -1;
}

/* CNI error JSON on stdout (the spec's place for errors), exit status 1. */
static int cni_error(int code, const char *msg, const char *detail) {
  char version[32];
  if (find_string_field("cniVersion", version, sizeof(version)) != 0 || strspn(version, "0123456789.") != strlen(version)) {
    strcpy(version, "1.1.0");
  }
  /* msg and detail are our own text plus strerror() and a socket path from the config, which
   * cannot hold a quote or backslash (find_string_field refuses them). */
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"%s\",\"details\":\"%s\"}\n", version, code, msg, detail);
  fflush(stdout);
  return 1;
}

/* The slow but self-sufficient path: the same plugin in a one-shot Node process. Its stdin is
 * a memfd holding what we already read, so it sees exactly the bytes the runtime sent. */
static int exec_fallback(void) {
  int fd = memfd_create("rtnetlink-cni-stdin", MFD_CLOEXEC);
  if (fd < 0 || write_all(fd, input, input_len) != 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) != 0) {
    return cni_error(11, "rtnetlink CNI daemon is not reachable and the exec fallback failed", strerror(errno));
  }
  char *argv[] = {"rtnl", "cni-plugin", NULL};
  execvp("rtnl", argv);
  static const char *const fixed[] = {"/usr/local/bin/rtnl", "/usr/bin/rtnl"};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) execv(fixed[i], argv);
  return cni_error(11, "rtnetlink CNI daemon is not reachable and rtnl was not found for the exec fallback", strerror(errno));
}

static int connect_daemon(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

int main(void) {
  if (read_stdin() != 0) return cni_error(5, "cannot read the network configuration from stdin", strerror(errno));

  char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (find_string_field("daemonSocket", socket_path, sizeof(socket_path)) != 0) strcpy(socket_path, DEFAULT_SOCKET);
  char fallback[16];
  int exec_on_failure = find_string_field("fallback", fallback, sizeof(fallback)) == 0 && strcmp(fallback, "exec") == 0;

  int fd = connect_daemon(socket_path);
  if (fd < 0) {
    if (exec_on_failure) return exec_fallback();
    char detail[sizeof(socket_path) + 64];
    snprintf(detail, sizeof(detail), "connect %s: %s", socket_path, strerror(errno));
    return cni_error(11, "rtnetlink CNI daemon is not reachable", detail);
  }

  /* Frame: magic, u32 of version (low byte) and presence bits (bit 8+i: env var i is set),
   * body length, then each env var
   * and the config as u32 length + bytes. */
  uint8_t header[12];
  uint8_t lengths[ENV_COUNT + 1][4];
  struct iovec iov[1 + 2 * (ENV_COUNT + 1)];
  uint32_t present = 0;
  uint32_t body = 0;
  size_t n = 1;
  for (size_t i = 0; i <= ENV_COUNT; i++) {
    const char *value = i < ENV_COUNT ? getenv(ENV_NAMES[i]) : input;
    size_t len = i < ENV_COUNT ? (value ? strlen(value) : 0) : input_len;
    if (i < ENV_COUNT && value) present |= 1u << i;
    put_u32(lengths[i], (uint32_t)len);
    iov[n].iov_base = lengths[i];
    iov[n++].iov_len = 4;
    iov[n].iov_base = (void *)(value ? value : "");
    iov[n++].iov_len = len;
    body += 4 + (uint32_t)len;
  }
  memcpy(header, FRAME_MAGIC, 4);
  put_u32(header + 4, FRAME_VERSION | (present << 8));
  put_u32(header + 8, body);
  iov[0].iov_base = header;
  iov[0].iov_len = sizeof(header);

  size_t first = 0;
  while (first < n) {
    ssize_t sent = writev(fd, iov + first, (int)(n - first));
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return cni_error(11, "rtnetlink CNI daemon closed the connection", strerror(errno));
    size_t left = (size_t)sent;
    while (first < n && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < n) {
      iov[first].iov_base = (char *)iov[first].iov_base + left;
      iov[first].iov_len -= left;
    }
  }

  /* Reply: status (u32), length (u32), then what goes to stdout. */
  uint8_t reply[8];
  if (read_all(fd, reply, sizeof(reply)) != 0) return cni_error(11, "rtnetlink CNI daemon closed the connection before answering", "");
  uint32_t status = get_u32(reply);
  uint32_t length = get_u32(reply + 4);
  if (length > MAX_REPLY) return cni_error(5, "rtnetlink CNI daemon sent an oversized answer", "");
  char *out = malloc(length ? length : 1);
  if (!out) return cni_error(5, "out of memory", "");
  if (read_all(fd, out, length) != 0) return cni_error(11, "rtnetlink CNI daemon closed the connection while answering", "");
  if (write_all(1, out, length) != 0) return 1;
  return (int)(status > 255 ? 1 : status);
}
