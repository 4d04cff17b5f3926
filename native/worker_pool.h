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
#include <vector>

struct Worker;

// One unit of work: `run` executes on a worker thread and fills the result or the error;
// `settle` runs on the JS thread and turns the result into a JS value.
struct Job {
  virtual ~Job() = default;
  virtual void Run(Worker &w) = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  void Fail(int err, const char *call, std::string where = std::string()) {
    error = err;
    syscall = call;
    path = std::move(where);
  }

  int error = 0;
  const char *syscall = "";
  std::string path;
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
