#pragma once

#include <napi.h>
#include <sys/stat.h>
#include <time.h>

#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "worker_pool.h"

struct Watch;

// Per-environment state (the main thread and each worker_thread get their own).
struct Addon {
  Napi::FunctionReference makeError;
  WorkerPool *pool = nullptr;
  std::unordered_set<Watch *> watches;  // open notification watches (watcher.cc)
  // Environment teardown: libuv handles still closing; the last one ends the cleanup hook.
  napi_async_cleanup_hook_handle cleanup = nullptr;
  int closing = 0;
};

// Closes every open watch (their libuv handles); returns how many. Each calls
// HandleClosed once libuv is done with it.
int CloseWatches(Addon &addon);
void HandleClosed(Addon *addon);

inline Addon &GetAddon(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

// Throws (as a JS exception) the project's error for a synchronous syscall failure.
Napi::Value ThrowSyscallError(Napi::Env env, int err, const char *syscall, const std::string &path = "");

// Argument helpers: a wrong type is a bug in lib/, so a TypeError is enough.
int32_t ArgInt(const Napi::CallbackInfo &info, size_t i);
std::string ArgString(const Napi::CallbackInfo &info, size_t i);

// A netlink socket (CLOEXEC, ext-ack, cap-ack, strict checking, big buffers, groups joined) in
// the calling thread's namespace; -1 with job's error set on failure.
int OpenNetlinkSocket(int protocol, const std::vector<uint32_t> &groups, Job &job, int receiveBuffer = 0);

// Namespace creation on a worker thread (netns.cc): named as `ip netns add` does it, or
// anonymous. With routeFd, a NETLINK_ROUTE socket is opened inside; whileInside runs inside
// too, before the thread goes home. Returns the namespace fd, or -1 with job's error set (and
// nothing left behind).
int CreateNamedNetnsOnThread(Worker &w, Job &job, const std::string &runDir, const std::string &name, int failAfterStep,
                             int *routeFd, const std::function<void()> &whileInside);
int CreateAnonymousNetnsOnThread(Worker &w, Job &job, int *routeFd, const std::function<void()> &whileInside);

// Sends pre-encoded rtnetlink requests on routeFd and fails the job (syscall "mark") unless the
// kernel acknowledges every one: how a topology marks a namespace it creates (lo's link group),
// from inside it and before its bind mount, so no mounted namespace of ours is ever unmarked.
bool SendMarkInside(int routeFd, std::vector<uint8_t> requests, std::vector<uint8_t> &buffer, Job &job);

// What a file where a namespace is expected turns out to be (netns_file.cc).
struct NsFile {
  enum Kind { kMissing, kNetwork, kEmpty, kForeign } kind = kMissing;
  std::string what;      // kForeign: "a FIFO", "a mount namespace", "a regular file of 12 bytes" ...
  bool mounted = false;  // kEmpty: something (not a namespace) is mounted on it
  mode_t mode = 0;       // as lstat (or stat, when followed) shows it
  timespec ctime{};
  int fd = -1;  // when asked for: an O_RDONLY fd of the namespace (kNetwork) or the file (kEmpty)
  std::string Describe() const;
};

// Looks at `relative` (from dirFd, or AT_FDCWD) without opening it for reading: O_PATH, then
// fstat and fstatfs; only an nsfs file is opened, to read its type. noFollow: a symlink is
// reported as one rather than followed. With a real dirFd, an empty file is also checked for a
// mount on it. False (job's error set) when a syscall fails; a missing file is kMissing.
bool InspectNamespaceFile(int dirFd, const std::string &relative, const std::string &path, bool noFollow, bool wantFd,
                          NsFile &out, Job &job);
// flock(operation) on fd, polled: fails with ETIMEDOUT after 30 s, or when the job is
// cancelled (shutdown). Polled rather than blocking, so a process that keeps a lock for ever
// (stopped, or stuck) cannot take an addon thread with it.
bool FlockPolled(int fd, int operation, Job &job, const std::string &path);
// Sleeps ms, in slices; false when the job was cancelled meanwhile.
bool WaitOrCancelled(int ms, Job &job);
// How long ago the file's inode last changed (its creation, for a file nobody wrote to).
int CrashLeftoverAgeMs(const NsFile &f);

// Writes a /proc/sys file as the calling thread's namespace sees it (no symlinks followed).
bool WriteFileHere(const std::string &path, const std::string &data, Job &job);

// Numbers the messages of a request buffer from `first` (nlmsg_seq); returns how many there
// are, or 0 if a length does not walk the buffer exactly (TypeScript never sends that).
uint32_t NumberMessages(std::vector<uint8_t> &request, uint32_t first);

// Sends `length` bytes of requests (their seqs firstSeq..firstSeq+count-1) on fd and appends
// the kernel's answers to `replies` until each request is answered. False with the job's error
// set when a syscall fails or the deadline passes first.
bool ExchangeOnThread(int fd, const uint8_t *request, size_t length, uint32_t firstSeq, uint32_t count, int timeoutMs,
                      std::vector<uint8_t> &buffer, std::vector<uint8_t> &replies, Job &job);

void InitProvision(Napi::Env env, Napi::Object exports);
void InitNetlinkIo(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitWatcher(Napi::Env env, Napi::Object exports);
void InitCni(Napi::Env env, Napi::Object exports);  // cni.cc: peer credentials, flock
