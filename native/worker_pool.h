// Addon-owned worker threads. Every blocking syscall (netlink sendmsg/recvmsg, unshare,
// mount, setns) runs here, never on the JS thread or libuv's shared pool. A thread that
// switched namespace switches back before its next job; if it cannot, it retires.
#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct Worker;

// Whether JS may run in env. Not while a worker_thread is torn down (terminate(), or after its
// last callback): libuv still runs our handles' callbacks then, and every N-API call that could
// run JS fails. node-addon-api would turn such a failure into a fatal error (the process
// aborts) but for NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (binding.gyp), which covers a
// terminate() that lands between this check and the calls after it.
bool CanCallIntoJs(napi_env env);

// One unit of work: `run` executes on a worker thread and fills the result or the error;
// `settle` runs on the JS thread and turns the result into a JS value.
struct Job {
  virtual ~Job() = default;
  virtual void Run(Worker &w) = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  void Fail(int err, const char *call, std::string where = std::string(), std::string what = std::string()) {
    error = err;
    syscall = call;
    path = std::move(where);
    detail = std::move(what);
  }

  int error = 0;
  const char *syscall = "";
  std::string path;
  std::string detail;  // words for the error message: what the file at `path` turned out to be
  // fds this job opened for JS, set by Run on success. When the job settles they become the
  // environment's (closed with it, unless JS closes them first); when it never settles (the
  // environment went away first) they are closed with the job.
  std::vector<int> resultFds;
  // false: JS hands the fds to Node at once (sockets made inside namespaces), which owns them.
  bool trackResultFds = true;
  uint32_t id = 0;  // non-zero when JS can cancel it
  // Lane 0: netlink I/O (short, latency-sensitive). Lane 1: namespace creation and removal,
  // which hold a thread for hundreds of µs and must not delay the I/O queued behind them.
  int lane = 0;
  std::atomic<bool> cancelled{false};
  napi_deferred deferred = nullptr;
};

struct Worker {
  int originalNetns = -1;  // this thread's namespace at start, restored after every switch
  bool retired = false;
  std::vector<uint8_t> recvBuffer;
  // This thread's own NETLINK_ROUTE socket in its home namespace (opened on first use by a
  // provisioning job) and the seqs it has used: no other thread ever touches it.
  int homeRouteFd = -1;
  uint32_t homeSeq = 0;

  // Runs fn inside the namespace nsFd (or where we are, when nsFd < 0). Returns false and
  // fills job's error when entering fails; a failed return marks the thread retired.
  template <typename Fn>
  bool InNetns(int nsFd, Job &job, Fn fn);
  bool EnterNetns(int nsFd, Job &job);
  void LeaveNetns();
};

class WorkerPool {
 public:
  WorkerPool(napi_env env, Napi::FunctionReference *makeError, size_t threads);
  ~WorkerPool();

  // Queues the job; returns its promise. Takes ownership.
  Napi::Promise Submit(Napi::Env env, Job *job);
  void Cancel(uint32_t id);
  size_t ThreadCount() const { return threadCount_; }
  // JS closed (or handed on) an fd a job gave it: no longer ours to close at teardown.
  void Forget(int fd) { ownedFds_.erase(fd); }
  // Environment teardown, once nothing uses them any more: closes every fd a job handed to JS
  // that JS did not close (the environment's netlink sockets and namespace fds).
  void CloseOwnedFds();
  // Stops the threads (pending jobs are dropped, running waits cancelled) and calls
  // onClosed(arg) once libuv has closed the pool's handle.
  void Shutdown(void (*onClosed)(void *), void *arg);

 private:
  void ThreadMain(int lane);
  void SpawnThread(int lane);
  static void OnAsync(uv_async_t *handle);
  void DrainCompletions();

  napi_env env_;
  Napi::FunctionReference *makeError_;
  size_t threadCount_;
  uv_async_t *async_;
  std::mutex mutex_;
  static constexpr int kLanes = 2;
  std::condition_variable wake_[kLanes];
  std::deque<Job *> queue_[kLanes];
  std::vector<Job *> done_;
  std::unordered_map<uint32_t, Job *> cancellable_;
  std::unordered_set<Job *> running_;  // on a thread now: shutdown cancels their waits
  std::unordered_set<int> ownedFds_;   // handed to JS and not closed yet (JS thread only)
  std::vector<std::thread> threads_;
  std::vector<int> threadLanes_;
  bool stopping_ = false;
  std::atomic<size_t> queued_[kLanes]{};
  // How long an idle worker looks for its next job before sleeping (RTNETLINK_SPIN_US).
  std::chrono::microseconds spin_{50};
  size_t pending_ = 0;  // touched on the JS thread only
  void (*onClosed_)(void *) = nullptr;
  void *onClosedArg_ = nullptr;
};

template <typename Fn>
bool Worker::InNetns(int nsFd, Job &job, Fn fn) {
  if (nsFd < 0) {
    fn();
    return true;
  }
  if (!EnterNetns(nsFd, job)) return false;
  fn();
  LeaveNetns();
  return true;
}
