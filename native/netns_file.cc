// What a file where a namespace is expected really is, found without ever opening it for
// reading (a FIFO would block the open, a device would run its driver's open); and the polled
// flock that tells a creation in progress from one that crashed (see netns.cc).
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "addon.h"

namespace {

constexpr int kLockWaitMs = 30000;

int64_t NowMs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

const char *NamespaceTypeName(int type) {
  switch (type) {
    case CLONE_NEWNS: return "a mount namespace";
    case CLONE_NEWUTS: return "a UTS namespace";
    case CLONE_NEWIPC: return "an IPC namespace";
    case CLONE_NEWUSER: return "a user namespace";
    case CLONE_NEWPID: return "a PID namespace";
    case CLONE_NEWCGROUP: return "a cgroup namespace";
    case 0x80: return "a time namespace";  // CLONE_NEWTIME, missing from older headers
    default: return "a namespace of another kind";
  }
}

std::string FileTypeName(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "a file of an unknown type";
}

// Whether something is mounted on the file pathFd was opened through (its fd then refers to the
// mount's root). dirFd: the directory it is in, for kernels without STATX_ATTR_MOUNT_ROOT.
bool IsMountRoot(int pathFd, int dirFd) {
  struct statx file {};
  if (statx(pathFd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &file) == 0) {
    if (file.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (file.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    struct statx dir {};
    if ((file.stx_mask & STATX_MNT_ID) && statx(dirFd, "", AT_EMPTY_PATH, STATX_MNT_ID, &dir) == 0 && (dir.stx_mask & STATX_MNT_ID)) {
      return file.stx_mnt_id != dir.stx_mnt_id;
    }
  }
  // Before Linux 5.8: a file from another filesystem shows another device (a bind mount of
  // another empty file of the same tmpfs goes unseen).
  struct stat f, d;
  return fstat(pathFd, &f) == 0 && fstat(dirFd, &d) == 0 && f.st_dev != d.st_dev;
}

}  // namespace

std::string NsFile::Describe() const {
  switch (kind) {
    case kMissing: return "missing";
    case kNetwork: return "a network namespace";
    case kEmpty: return mounted ? "an empty file with something mounted on it" : "an empty file (a namespace being created, or left by a crash)";
    default: return what;
  }
}

bool InspectNamespaceFile(int dirFd, const std::string &relative, const std::string &path, bool noFollow, bool wantFd,
                          NsFile &out, Job &job) {
  out = NsFile();
  // O_PATH opens nothing: no driver open, no FIFO wait, no read access needed.
  int pathFd = openat(dirFd, relative.c_str(), O_PATH | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0));
  if (pathFd < 0) {
    if (errno == ENOENT) return true;  // kMissing
    job.Fail(errno, "open", path);
    return false;
  }
  struct stat st;
  if (fstat(pathFd, &st) != 0) {
    job.Fail(errno, "fstat", path);
    close(pathFd);
    return false;
  }
  out.kind = NsFile::kForeign;
  out.ctime = st.st_ctim;
  out.mode = st.st_mode;
  if (!S_ISREG(st.st_mode)) {
    out.what = FileTypeName(st.st_mode);
    close(pathFd);
    return true;
  }
  struct statfs fs;
  if (fstatfs(pathFd, &fs) != 0) {
    job.Fail(errno, "fstatfs", path);
    close(pathFd);
    return false;
  }
  if (fs.f_type == NSFS_MAGIC) {
    // A namespace file: safe to open, and the open is what tells its type (NS_GET_NSTYPE does
    // not work on an O_PATH fd). Through /proc/self/fd, so it is the very file just looked at.
    int fd = open(("/proc/self/fd/" + std::to_string(pathFd)).c_str(), O_RDONLY | O_CLOEXEC);
    close(pathFd);
    if (fd < 0) {
      job.Fail(errno, "open", path);
      return false;
    }
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type == CLONE_NEWNET) {
      out.kind = NsFile::kNetwork;
      if (wantFd) out.fd = fd;
      else close(fd);
    } else {
      out.what = type < 0 ? "a namespace of unknown type" : NamespaceTypeName(type);
      close(fd);
    }
    return true;
  }
  if (st.st_size > 0) {
    out.what = "a regular file of " + std::to_string(static_cast<long long>(st.st_size)) + " bytes";
  } else {
    out.kind = NsFile::kEmpty;
    out.mounted = dirFd != AT_FDCWD && IsMountRoot(pathFd, dirFd);
    // A regular file: opening it cannot block. Its lock tells a creation in progress.
    if (wantFd && (out.fd = open(("/proc/self/fd/" + std::to_string(pathFd)).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
      job.Fail(errno, "open", path);
      close(pathFd);
      return false;
    }
  }
  close(pathFd);
  return true;
}

bool FlockPolled(int fd, int operation, Job &job, const std::string &path) {
  int64_t deadline = NowMs(CLOCK_MONOTONIC) + kLockWaitMs;
  useconds_t pause = 50;
  for (;;) {
    if (flock(fd, operation | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return job.Fail(errno, "flock", path), false;
    if (job.cancelled.load() || NowMs(CLOCK_MONOTONIC) > deadline) {
      job.Fail(ETIMEDOUT, "flock", path, "still locked by another process after 30 s");
      return false;
    }
    usleep(pause);
    pause = pause < 10000 ? pause * 2 : 10000;
  }
}

bool WaitOrCancelled(int ms, Job &job) {
  int64_t until = NowMs(CLOCK_MONOTONIC) + ms;
  while (NowMs(CLOCK_MONOTONIC) < until) {
    if (job.cancelled.load()) return false;
    usleep(10000);
  }
  return !job.cancelled.load();
}

int CrashLeftoverAgeMs(const NsFile &f) {
  int64_t ctimeMs = static_cast<int64_t>(f.ctime.tv_sec) * 1000 + f.ctime.tv_nsec / 1000000;
  int64_t age = NowMs(CLOCK_REALTIME) - ctimeMs;
  return age < 0 ? 0 : age > 1000000000 ? 1000000000 : static_cast<int>(age);
}
