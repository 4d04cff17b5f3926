// Network namespaces: create (named like `ip netns add`, or anonymous), open, delete, and
// the few things that must be done from inside one (sockets, /proc/sys files).
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>

#include "addon.h"

namespace {

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Names never carry a path: lib/ validates too, this is the last line.
bool SafeName(const std::string &name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name.size() <= 255;
}

// Opens the run dir without following a symlink in its last component, creating it if needed.
int OpenRunDir(const std::string &runDir, Job &job, bool create) {
  if (create && mkdir(runDir.c_str(), 0755) != 0 && errno != EEXIST) {
    job.Fail(errno, "mkdir", runDir);
    return -1;
  }
  int fd = open(runDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    struct stat st;
    // O_DIRECTORY reports a symlink as ENOTDIR; say what it is.
    if (err == ENOTDIR && lstat(runDir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
    job.Fail(err, "open", runDir);
  }
  return fd;
}

// Makes the run dir a shared mount point once per process, as `ip netns add` does under
// flock: an unmount in one mount namespace then propagates, so namespaces are freed sooner.
std::mutex sharedMutex;
std::set<std::string> sharedDirs;

bool EnsureSharedRunDir(const std::string &runDir, int dirFd, Job &job) {
  std::lock_guard<std::mutex> guard(sharedMutex);
  if (sharedDirs.count(runDir)) return true;
  if (!FlockPolled(dirFd, LOCK_EX, job, runDir)) return false;
  bool madeMount = false;
  bool ok = true;
  while (mount("", runDir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || madeMount) {
      job.Fail(errno, "mount", runDir);
      ok = false;
      break;
    }
    if (mount(runDir.c_str(), runDir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      job.Fail(errno, "mount", runDir);
      ok = false;
      break;
    }
    madeMount = true;
  }
  flock(dirFd, LOCK_UN);
  if (ok) sharedDirs.insert(runDir);
  return ok;
}

// Telling a creation in progress from one that crashed. A creation makes the file, unshares and
// bind mounts the namespace on it; a process killed in between leaves an empty file without a
// mount, which a later apply must remove, but another process's creation looks the same for
// that moment. So:
// - A creation holds flock(LOCK_EX) on the file it made until the mount is on it, or the file
//   is removed again. A process that dies drops it.
// - It makes the file and takes that lock under LOCK_SH on the run dir (on its own open of the
//   dir: creations do not exclude each other), so no file of ours is ever seen without its lock.
// - Recovery takes LOCK_EX on the run dir, looks, and removes an empty unmounted file only if
//   its lock is free; if it is taken, it waits for the creation to end and looks again.
// The run dir's lock is the one `ip netns add` takes (LOCK_EX, only around making the dir a
// shared mount), so both are held for microseconds and neither starves the other; a lock on
// the whole dir until the mount would stall `ip netns add` and recovery for as long as a bulk
// apply keeps creating.
//
// The mode a creation gives the file until the mount covers it: an empty file with this mode
// was made by this library, so its lock is to be trusted. `ip netns add` makes its file with
// mode 0 and locks nothing: an empty file of another mode gets kForeignCreationGraceMs from its
// creation to be mounted before it is taken for a crash leftover.
constexpr mode_t kOurFileMode = 0400;
constexpr int kForeignCreationGraceMs = 2000;

enum class Leftover { kGone, kNetwork, kRemoved };

// Whether NAME still names the file held open as heldFd, with nothing mounted on it. A creation
// mounts and then drops its lock without the run dir's lock, so what was seen before taking the
// file's lock may be out of date once it is taken (unlinking a mount point then fails EBUSY).
bool NamesThisUnmountedFile(int dirFd, const std::string &name, int heldFd) {
  struct stat held, now;
  // The last component is followed into a mount on it: a namespace there shows nsfs's device.
  return fstat(heldFd, &held) == 0 && fstatat(dirFd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 &&
         held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

// Judges RUN_DIR/NAME under the run dir's LOCK_EX: an empty file with nothing mounted on it and
// no creation holding it is a crash leftover and is unlinked; with `grace`, one not made by us
// must first be old enough. Anything else is reported in `found` and left alone. False with the
// job's error set on failure.
bool ClearLeftoverUnderLock(int dirFd, const std::string &runDir, const std::string &name, bool grace, NsFile &found,
                            Leftover &outcome, Job &job) {
  std::string path = runDir + "/" + name;
  for (;;) {
    if (!FlockPolled(dirFd, LOCK_EX, job, runDir)) return false;
    bool ok = InspectNamespaceFile(dirFd, name, path, true, true, found, job);
    int waitMs = 0;
    bool again = false;
    int creating = -1;  // the file of a creation in progress, to wait on
    outcome = found.kind == NsFile::kNetwork ? Leftover::kNetwork : Leftover::kGone;
    if (ok && found.kind == NsFile::kEmpty && !found.mounted) {
      if (grace && (found.mode & 07777) != kOurFileMode) waitMs = kForeignCreationGraceMs - CrashLeftoverAgeMs(found);
      if (waitMs > 0) {
        // Look again soon: the other tool's mount usually comes within milliseconds.
        if (waitMs > 50) waitMs = 50;
      } else if (flock(found.fd, LOCK_EX | LOCK_NB) != 0) {
        creating = found.fd;
        found.fd = -1;
      } else if (!NamesThisUnmountedFile(dirFd, name, found.fd)) {
        // The creation mounted and let go between the look and the lock: look again.
        again = true;
      } else if (unlinkat(dirFd, name.c_str(), 0) == 0) {
        outcome = Leftover::kRemoved;
      } else if (errno != ENOENT) {
        job.Fail(errno, "unlink", path);
        ok = false;
      }
    }
    if (found.fd >= 0) close(found.fd);
    found.fd = -1;
    flock(dirFd, LOCK_UN);
    if (creating >= 0) {
      // Until that creation mounts or gives up; then look again.
      ok = FlockPolled(creating, LOCK_SH, job, path);
      close(creating);
      if (!ok) return false;
      continue;
    }
    if (ok && again) continue;
    if (!ok || waitMs <= 0) return ok;
    if (!WaitOrCancelled(waitMs, job)) return job.Fail(ECANCELED, "flock", runDir), false;
  }
}

// A new network namespace for this thread, then straight back home. Returns an fd of it.
// With routeFd, a NETLINK_ROUTE socket is opened while inside: no second switch later.
int UnshareNetns(Worker &w, Job &job, int *routeFd, const std::function<void()> &whileInside = nullptr) {
  if (unshare(CLONE_NEWNET) != 0) {
    job.Fail(errno, "unshare");
    return -1;
  }
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int openErrno = errno;
  if (fd >= 0 && routeFd) *routeFd = OpenNetlinkSocket(NETLINK_ROUTE, {}, job);
  if (fd >= 0 && !job.error && whileInside) whileInside();
  w.LeaveNetns();
  if (fd < 0) job.Fail(openErrno, "open", "/proc/thread-self/ns/net");
  if (fd >= 0 && job.error) {
    close(fd);
    fd = -1;
    if (routeFd && *routeFd >= 0) close(*routeFd);
    if (routeFd) *routeFd = -1;
  }
  return fd;
}

// Resolves to the namespace fd, or to [nsFd, routeFd] when a socket was asked for.
Napi::Value NamespaceResult(Napi::Env env, int nsFd, bool withRoute, int routeFd) {
  if (!withRoute) return Napi::Number::New(env, nsFd);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, nsFd));
  a.Set(1u, Napi::Number::New(env, routeFd));
  return a;
}

}  // namespace

bool SendMarkInside(int routeFd, std::vector<uint8_t> requests, std::vector<uint8_t> &buffer, Job &job) {
  // Far from the seqs the namespace's connection will use (from 1) and its provisioning requests.
  constexpr uint32_t kMarkFirstSeq = 0x3f000000;
  uint32_t count = NumberMessages(requests, kMarkFirstSeq);
  if (count == 0) return job.Fail(EINVAL, "mark"), false;
  std::vector<uint8_t> replies;
  if (!ExchangeOnThread(routeFd, requests.data(), requests.size(), kMarkFirstSeq, count, 5000, buffer, replies, job)) return false;
  for (size_t off = 0; off + sizeof(nlmsghdr) <= replies.size();) {
    nlmsghdr h;
    std::memcpy(&h, replies.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > replies.size()) break;
    if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
      int err;
      std::memcpy(&err, replies.data() + off + NLMSG_HDRLEN, sizeof err);
      if (err != 0) return job.Fail(-err, "mark"), false;
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return true;
}

bool WriteFileHere(const std::string &path, const std::string &data, Job &job) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return job.Fail(errno, "open", path), false;
  ssize_t n;
  do {
    n = write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) job.Fail(errno, "write", path);
  close(fd);
  return n >= 0;
}

int CreateNamedNetnsOnThread(Worker &w, Job &job, const std::string &runDir, const std::string &name, int failAfterStep,
                             int *routeFd, const std::function<void()> &whileInside) {
  if (!SafeName(name)) return job.Fail(EINVAL, "open", name), -1;
  int dirFd = OpenRunDir(runDir, job, true);
  if (dirFd < 0) return -1;
  std::string path = runDir + "/" + name;
  if (!EnsureSharedRunDir(runDir, dirFd, job) || !FlockPolled(dirFd, LOCK_SH, job, runDir)) {
    close(dirFd);
    return -1;
  }
  // O_EXCL refuses an existing name, O_NOFOLLOW a planted symlink.
  int fileFd = openat(dirFd, name.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kOurFileMode);
  int openErrno = errno;
  // In progress while this lock is held (see ClearLeftoverUnderLock). A fresh inode: free.
  if (fileFd >= 0) flock(fileFd, LOCK_EX | LOCK_NB);
  flock(dirFd, LOCK_UN);
  if (fileFd < 0) {
    job.Fail(openErrno, "open", path);
    close(dirFd);
    return -1;
  }
  int nsFd = -1;
  bool mounted = false;
  if (failAfterStep == 1) {
    job.Fail(ECANCELED, "inject", "after create");
  } else {
    nsFd = UnshareNetns(w, job, routeFd, whileInside);
    if (nsFd >= 0 && failAfterStep == 2) job.Fail(ECANCELED, "inject", "after unshare");
  }
  if (!job.error) {
    // Mount through our own descriptor so the target cannot be swapped under us.
    if (mount(FdPath(nsFd).c_str(), FdPath(fileFd).c_str(), "none", MS_BIND, nullptr) != 0) {
      job.Fail(errno, "mount", path);
    } else {
      mounted = true;
      if (failAfterStep == 3) job.Fail(ECANCELED, "inject", "after mount");
    }
  }
  if (job.error) {
    if (mounted) umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    unlinkat(dirFd, name.c_str(), 0);
    if (nsFd >= 0) close(nsFd);
    if (routeFd && *routeFd >= 0) close(*routeFd);
    if (routeFd) *routeFd = -1;
    nsFd = -1;
  }
  // Explicitly: a child forked meanwhile shares the open file description until it execs.
  flock(fileFd, LOCK_UN);
  close(fileFd);
  close(dirFd);
  return nsFd;
}

int CreateAnonymousNetnsOnThread(Worker &w, Job &job, int *routeFd, const std::function<void()> &whileInside) {
  return UnshareNetns(w, job, routeFd, whileInside);
}

namespace {

struct CreateNamedJob : Job {
  CreateNamedJob() { lane = 1; }
  std::string runDir, name;
  int failAfterStep = 0;
  bool withRoute = false;
  std::vector<uint8_t> mark;  // requests sent from inside before the mount (needs withRoute)
  int nsFd = -1, routeFd = -1;

  void Run(Worker &w) override {
    std::function<void()> marking = [this, &w] { SendMarkInside(routeFd, mark, w.recvBuffer, *this); };
    nsFd = CreateNamedNetnsOnThread(w, *this, runDir, name, failAfterStep, withRoute ? &routeFd : nullptr,
                                    withRoute && !mark.empty() ? marking : nullptr);
    if (nsFd >= 0) resultFds = withRoute ? std::vector<int>{nsFd, routeFd} : std::vector<int>{nsFd};
  }

  Napi::Value Result(Napi::Env env) override { return NamespaceResult(env, nsFd, withRoute, routeFd); }
};

struct CreateAnonymousJob : Job {
  CreateAnonymousJob() { lane = 1; }
  bool withRoute = false;
  int nsFd = -1, routeFd = -1;
  void Run(Worker &w) override {
    nsFd = UnshareNetns(w, *this, withRoute ? &routeFd : nullptr);
    if (nsFd >= 0) resultFds = withRoute ? std::vector<int>{nsFd, routeFd} : std::vector<int>{nsFd};
  }
  Napi::Value Result(Napi::Env env) override { return NamespaceResult(env, nsFd, withRoute, routeFd); }
};

// On the namespace lane, never the netlink I/O one: nothing here blocks (see
// InspectNamespaceFile), but a path is the caller's and the I/O lane must stay free.
struct OpenNetnsJob : Job {
  OpenNetnsJob() { lane = 1; }
  std::string path;
  bool noFollow = true;
  int fd = -1;

  void Run(Worker &) override {
    NsFile f;
    if (!InspectNamespaceFile(AT_FDCWD, path, path, noFollow, true, f, *this)) return;
    if (f.fd >= 0 && f.kind != NsFile::kNetwork) close(f.fd);
    if (f.kind == NsFile::kNetwork) {
      fd = f.fd;
      resultFds = {fd};
    } else if (f.kind == NsFile::kMissing) {
      Fail(ENOENT, "open", path);
    } else if (S_ISLNK(f.mode)) {
      Fail(ELOOP, "open", path, "refusing to follow a symlink");
    } else {
      Fail(EINVAL, "open", path, "is " + f.Describe() + ", not a network namespace");
    }
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd); }
};

// `ip netns delete`, for what is ours to delete: a network namespace (lazy unmount, unlink) or
// a crash leftover (judged under the run dir's lock). Anything else is refused, untouched.
struct DeleteNamedJob : Job {
  DeleteNamedJob() { lane = 1; }
  std::string runDir, name;

  void Run(Worker &) override {
    if (!SafeName(name)) return Fail(EINVAL, "unlink", name);
    std::string path = runDir + "/" + name;
    int dirFd = OpenRunDir(runDir, *this, false);
    if (dirFd < 0) return;
    NsFile f;
    Leftover outcome = Leftover::kGone;
    if (InspectNamespaceFile(dirFd, name, path, true, false, f, *this) && f.kind == NsFile::kEmpty && !f.mounted) {
      ClearLeftoverUnderLock(dirFd, runDir, name, false, f, outcome, *this);
    }
    if (error) {
      // reported
    } else if (f.kind == NsFile::kMissing && outcome != Leftover::kRemoved) {
      Fail(ENOENT, "unlink", path);
    } else if (f.kind == NsFile::kNetwork) {
      if (umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT) {
        Fail(errno, "umount2", path);
      } else if (unlinkat(dirFd, name.c_str(), 0) != 0) {
        Fail(errno, "unlink", path);
      }
    } else if (outcome != Leftover::kRemoved) {
      Fail(EINVAL, "unlink", path, "is " + f.Describe() + ", not a network namespace: left untouched");
    }
    close(dirFd);
  }
};

// applyTopology's recovery, for a name whose file exists and is no network namespace: under the
// run dir's lock, removes it if it is a crash leftover. Resolves to 'removed', 'network' (it is
// a namespace now: a creation was in progress) or 'gone'; anything else is refused (EEXIST,
// saying what it is) and left as it is.
struct ClearLeftoverJob : Job {
  ClearLeftoverJob() { lane = 1; }
  std::string runDir, name;
  Leftover outcome = Leftover::kGone;

  void Run(Worker &) override {
    if (!SafeName(name)) return Fail(EINVAL, "open", name);
    int dirFd = OpenRunDir(runDir, *this, false);
    if (dirFd < 0) return;
    NsFile f;
    if (ClearLeftoverUnderLock(dirFd, runDir, name, true, f, outcome, *this) && outcome == Leftover::kGone && f.kind != NsFile::kMissing) {
      Fail(EEXIST, "open", runDir + "/" + name, "exists and is " + f.Describe() + ", not a network namespace: not ours, left untouched");
    }
    close(dirFd);
  }

  Napi::Value Result(Napi::Env env) override {
    return Napi::String::New(env, outcome == Leftover::kRemoved ? "removed" : outcome == Leftover::kNetwork ? "network" : "gone");
  }
};

struct SocketInJob : Job {
  SocketInJob() { trackResultFds = false; }  // Node adopts it
  int nsFd, family, type, protocol, port;
  std::string address;  // raw 4 or 16 bytes; empty: do not bind
  int fd = -1;

  void Run(Worker &w) override {
    w.InNetns(nsFd, *this, [&] {
      fd = socket(family, type | SOCK_CLOEXEC, protocol);
      if (fd < 0) Fail(errno, "socket");
    });
    if (fd >= 0) resultFds = {fd};
    if (fd < 0 || address.empty()) return;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r;
    if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      std::memcpy(&a.sin6_addr, address.data(), 16);
      r = bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      std::memcpy(&a.sin_addr, address.data(), 4);
      r = bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    }
    if (r != 0) {
      Fail(errno, "bind");
      close(fd);
      fd = -1;
      resultFds.clear();
    }
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd); }
};

bool ProcSysPath(const std::string &path) {
  return path.rfind("/proc/sys/", 0) == 0 && path.find("/../") == std::string::npos;
}

struct WriteFileInJob : Job {
  int nsFd;
  std::string path, data;

  void Run(Worker &w) override {
    if (!ProcSysPath(path)) return Fail(EINVAL, "open", path);
    w.InNetns(nsFd, *this, [&] { WriteFileHere(path, data, *this); });
  }
};

struct ReadFileInJob : Job {
  int nsFd;
  std::string path, data;

  void Run(Worker &w) override {
    if (!ProcSysPath(path)) return Fail(EINVAL, "open", path);
    w.InNetns(nsFd, *this, [&] {
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return Fail(errno, "open", path);
      char buf[4096];
      for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          Fail(errno, "read", path);
          break;
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
      }
      close(fd);
    });
  }

  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, data); }
};

template <typename J>
Napi::Value Submit(Napi::Env env, J *job) {
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  return GetAddon(env).pool->Submit(env, job);
}

Napi::Value CreateNamedNetns(const Napi::CallbackInfo &info) {
  auto *job = new CreateNamedJob();
  job->runDir = ArgString(info, 0);
  job->name = ArgString(info, 1);
  job->failAfterStep = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  job->withRoute = info.Length() > 3 && info[3].ToBoolean().Value();
  if (info.Length() > 4 && info[4].IsBuffer()) {
    auto b = info[4].As<Napi::Buffer<uint8_t>>();
    job->mark.assign(b.Data(), b.Data() + b.Length());
  }
  return Submit(info.Env(), job);
}

Napi::Value CreateAnonymousNetns(const Napi::CallbackInfo &info) {
  auto *job = new CreateAnonymousJob();
  job->withRoute = info.Length() > 0 && info[0].ToBoolean().Value();
  return Submit(info.Env(), job);
}

Napi::Value OpenNetns(const Napi::CallbackInfo &info) {
  auto *job = new OpenNetnsJob();
  job->path = ArgString(info, 0);
  job->noFollow = info.Length() > 1 && info[1].ToBoolean().Value();
  return Submit(info.Env(), job);
}

Napi::Value DeleteNamedNetns(const Napi::CallbackInfo &info) {
  auto *job = new DeleteNamedJob();
  job->runDir = ArgString(info, 0);
  job->name = ArgString(info, 1);
  return Submit(info.Env(), job);
}

Napi::Value ClearNetnsLeftover(const Napi::CallbackInfo &info) {
  auto *job = new ClearLeftoverJob();
  job->runDir = ArgString(info, 0);
  job->name = ArgString(info, 1);
  return Submit(info.Env(), job);
}

Napi::Value SocketIn(const Napi::CallbackInfo &info) {
  auto *job = new SocketInJob();
  job->nsFd = ArgInt(info, 0);
  job->family = ArgInt(info, 1);
  job->type = ArgInt(info, 2);
  job->protocol = ArgInt(info, 3);
  if (info.Length() > 4 && info[4].IsBuffer()) {
    auto b = info[4].As<Napi::Buffer<char>>();
    size_t want = job->family == AF_INET6 ? 16 : 4;
    if (b.Length() != want) {
      delete job;
      Napi::TypeError::New(info.Env(), "address has the wrong length for its family").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    job->address.assign(b.Data(), b.Length());
  }
  job->port = ArgInt(info, 5);
  return Submit(info.Env(), job);
}

Napi::Value WriteFileIn(const Napi::CallbackInfo &info) {
  auto *job = new WriteFileInJob();
  job->nsFd = ArgInt(info, 0);
  job->path = ArgString(info, 1);
  job->data = ArgString(info, 2);
  return Submit(info.Env(), job);
}

Napi::Value ReadFileIn(const Napi::CallbackInfo &info) {
  auto *job = new ReadFileInJob();
  job->nsFd = ArgInt(info, 0);
  job->path = ArgString(info, 1);
  return Submit(info.Env(), job);
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("createNamedNetns", Napi::Function::New(env, CreateNamedNetns, "createNamedNetns"));
  exports.Set("createAnonymousNetns", Napi::Function::New(env, CreateAnonymousNetns, "createAnonymousNetns"));
  exports.Set("openNetns", Napi::Function::New(env, OpenNetns, "openNetns"));
  exports.Set("deleteNamedNetns", Napi::Function::New(env, DeleteNamedNetns, "deleteNamedNetns"));
  exports.Set("clearNetnsLeftover", Napi::Function::New(env, ClearNetnsLeftover, "clearNetnsLeftover"));
  exports.Set("socketIn", Napi::Function::New(env, SocketIn, "socketIn"));
  exports.Set("writeFileIn", Napi::Function::New(env, WriteFileIn, "writeFileIn"));
  exports.Set("readFileIn", Napi::Function::New(env, ReadFileIn, "readFileIn"));
}
