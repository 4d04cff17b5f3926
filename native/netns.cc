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
  int r;
  do {
    r = flock(dirFd, LOCK_EX);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    job.Fail(errno, "flock", runDir);
    return false;
  }
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
  if (!EnsureSharedRunDir(runDir, dirFd, job)) {
    close(dirFd);
    return -1;
  }
  // O_EXCL refuses an existing name, O_NOFOLLOW a planted symlink.
  int fileFd = openat(dirFd, name.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fileFd < 0) {
    job.Fail(errno, "open", path);
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
  close(fileFd);
  if (job.error) {
    if (mounted) umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    unlinkat(dirFd, name.c_str(), 0);
    if (nsFd >= 0) close(nsFd);
    if (routeFd && *routeFd >= 0) close(*routeFd);
    if (routeFd) *routeFd = -1;
    nsFd = -1;
  }
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
  int nsFd = -1, routeFd = -1;

  void Run(Worker &w) override {
    nsFd = CreateNamedNetnsOnThread(w, *this, runDir, name, failAfterStep, withRoute ? &routeFd : nullptr, nullptr);
  }

  Napi::Value Result(Napi::Env env) override { return NamespaceResult(env, nsFd, withRoute, routeFd); }
};

struct CreateAnonymousJob : Job {
  CreateAnonymousJob() { lane = 1; }
  bool withRoute = false;
  int nsFd = -1, routeFd = -1;
  void Run(Worker &w) override { nsFd = UnshareNetns(w, *this, withRoute ? &routeFd : nullptr); }
  Napi::Value Result(Napi::Env env) override { return NamespaceResult(env, nsFd, withRoute, routeFd); }
};

struct OpenNetnsJob : Job {
  std::string path;
  bool noFollow = true;
  int fd = -1;

  void Run(Worker &) override {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0));
    if (fd < 0) return Fail(errno, "open", path);
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) {
      // ENOTTY: not an nsfs file at all; another type: some other kind of namespace.
      close(fd);
      fd = -1;
      return Fail(EINVAL, "NS_GET_NSTYPE", path);
    }
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd); }
};

struct DeleteNamedJob : Job {
  DeleteNamedJob() { lane = 1; }
  std::string runDir, name;

  void Run(Worker &) override {
    if (!SafeName(name)) return Fail(EINVAL, "unlink", name);
    std::string path = runDir + "/" + name;
    int dirFd = OpenRunDir(runDir, *this, false);
    if (dirFd < 0) return;
    if (umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT) {
      Fail(errno, "umount2", path);
    } else if (unlinkat(dirFd, name.c_str(), 0) != 0) {
      Fail(errno, "unlink", path);
    }
    close(dirFd);
  }
};

struct SocketInJob : Job {
  int nsFd, family, type, protocol, port;
  std::string address;  // raw 4 or 16 bytes; empty: do not bind
  int fd = -1;

  void Run(Worker &w) override {
    w.InNetns(nsFd, *this, [&] {
      fd = socket(family, type | SOCK_CLOEXEC, protocol);
      if (fd < 0) Fail(errno, "socket");
    });
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
  exports.Set("socketIn", Napi::Function::New(env, SocketIn, "socketIn"));
  exports.Set("writeFileIn", Napi::Function::New(env, WriteFileIn, "writeFileIn"));
  exports.Set("readFileIn", Napi::Function::New(env, ReadFileIn, "readFileIn"));
}
