/* rtnl-exec NSFD FILE [ARG...]
 * Enters the network namespace held by the inherited descriptor NSFD, then execs FILE in
 * place, so the caller's ChildProcess is the user's command itself (same pid, same pipes).
 * It exists because a multithreaded Node process must not switch namespaces before forking. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rtnl-exec NSFD FILE [ARG...]\n");
    return 125;
  }
  char *end = NULL;
  long fd = strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || fd < 0 || fd > 1 << 20) {
    fprintf(stderr, "rtnl-exec: bad namespace descriptor '%s'\n", argv[1]);
    return 125;
  }
  if (setns((int)fd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "rtnl-exec: setns: %s\n", strerror(errno));
    return 125;
  }
  close((int)fd);
  execvp(argv[2], argv + 2);
  int err = errno;
  fprintf(stderr, "rtnl-exec: %s: %s\n", argv[2], strerror(err));
  return err == ENOENT ? 127 : 126;
}
