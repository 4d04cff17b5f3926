#include "worker_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>

namespace {
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace

bool CanCallIntoJs(napi_env env) {
  // A property set is the cheapest call that checks (N-API's preamble); it runs no JS itself.
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value object;
  bool ok = napi_create_object(env, &object) == napi_ok && napi_set_named_property(env, object, "probe", object) == napi_ok;
  napi_close_handle_scope(env, scope);
  return ok;
}

bool Worker::EnterNetns(int nsFd, Job &job) {
  if (setns(nsFd, CLONE_NEWNET) != 0) {
    job.Fail(errno, "setns");
    return false;
  }
  return true;
}

void Worker::LeaveNetns() {
  // A thread that cannot get home must never run another job in the wrong namespace.
  if (setns(originalNetns, CLONE_NEWNET) != 0) retired = true;
}

WorkerPool::WorkerPool(napi_env env, Napi::FunctionReference *makeError, size_t threads)
    : env_(env), makeError_(makeError), threadCount_(threads) {
  if (const char *v = std::getenv("RTNETLINK_SPIN_US")) spin_ = std::chrono::microseconds(std::strtol(v, nullptr, 10));
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  async_ = new uv_async_t;
  uv_async_init(loop, async_, OnAsync);
  async_->data = this;
  // An idle pool must not keep the process alive; Submit refs the handle while jobs are pending.
  uv_unref(reinterpret_cast<uv_handle_t *>(async_));
  // One thread for netlink I/O, the others for namespace work.
  SpawnThread(0);
  for (size_t i = 1; i < threads; i++) SpawnThread(1);
  if (threads < 2) SpawnThread(1);
}

WorkerPool::~WorkerPool() = default;

void WorkerPool::SpawnThread(int lane) {
  threadLanes_.push_back(lane);
  threads_.emplace_back([this, lane] { ThreadMain(lane); });
}

void WorkerPool::ThreadMain(int lane) {
  Worker w;
  w.originalNetns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  w.recvBuffer.resize(256 * 1024);
  for (;;) {
    Job *job;
    // Jobs tend to come in quick succession (one awaited request after another): look for
    // the next one for a moment before sleeping, since a futex wake-up costs tens of µs here.
    auto spinUntil = std::chrono::steady_clock::now() + spin_;
    for (int spin = 1; queued_[lane].load(std::memory_order_acquire) == 0; spin++) {
      CpuRelax();
      if ((spin & 63) == 0 && std::chrono::steady_clock::now() > spinUntil) break;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_[lane].wait(lock, [this, lane] { return stopping_ || !queue_[lane].empty(); });
      if (stopping_) break;
      job = queue_[lane].front();
      queue_[lane].pop_front();
      queued_[lane].fetch_sub(1, std::memory_order_release);
      running_.insert(job);
    }
    if (w.originalNetns < 0) {
      job->Fail(EMFILE, "open", "/proc/thread-self/ns/net");
    } else {
      job->Run(w);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_.erase(job);
      done_.push_back(job);
    }
    uv_async_send(async_);
    if (w.retired) {
      // Replace ourselves; this thread stays parked until shutdown, doing nothing.
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stopping_) SpawnThread(lane);
      wake_[lane].wait(lock, [this] { return stopping_; });
      break;
    }
  }
  if (w.homeRouteFd >= 0) close(w.homeRouteFd);
  if (w.originalNetns >= 0) close(w.originalNetns);
}

Napi::Promise WorkerPool::Submit(Napi::Env env, Job *job) {
  napi_value promise;
  napi_create_promise(env, &job->deferred, &promise);
  if (pending_++ == 0) uv_ref(reinterpret_cast<uv_handle_t *>(async_));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (job->id != 0) cancellable_[job->id] = job;
    queue_[job->lane].push_back(job);
    queued_[job->lane].fetch_add(1, std::memory_order_release);
  }
  wake_[job->lane].notify_one();
  return Napi::Promise(env, promise);
}

void WorkerPool::Cancel(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cancellable_.find(id);
  if (it != cancellable_.end()) it->second->cancelled.store(true);
}

void WorkerPool::OnAsync(uv_async_t *handle) {
  static_cast<WorkerPool *>(handle->data)->DrainCompletions();
}

void WorkerPool::DrainCompletions() {
  // Teardown has begun: Shutdown discards them (and closes the fds they opened).
  if (!CanCallIntoJs(env_)) return;
  std::vector<Job *> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done.swap(done_);
    for (Job *job : done) {
      if (job->id != 0) cancellable_.erase(job->id);
    }
  }
  Napi::Env env(env_);
  for (Job *job : done) {
    Napi::HandleScope scope(env);
    if (job->error != 0) {
      Napi::Value err = makeError_->Call({Napi::Number::New(env, job->error),
                                          Napi::String::New(env, job->syscall),
                                          Napi::String::New(env, job->path),
                                          Napi::String::New(env, job->detail)});
      napi_reject_deferred(env_, job->deferred, err);
    } else {
      if (job->trackResultFds) ownedFds_.insert(job->resultFds.begin(), job->resultFds.end());
      job->resultFds.clear();
      napi_resolve_deferred(env_, job->deferred, job->Result(env));
    }
    delete job;
    if (--pending_ == 0) uv_unref(reinterpret_cast<uv_handle_t *>(async_));
  }
}

void WorkerPool::CloseOwnedFds() {
  for (int fd : ownedFds_) close(fd);
  ownedFds_.clear();
}

void WorkerPool::Shutdown(void (*onClosed)(void *), void *arg) {
  onClosed_ = onClosed;
  onClosedArg_ = arg;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    // A job waiting for the kernel (up to its timeout) would hold up the exit of the
    // process or worker; cancelled, it ends within one poll slice.
    for (auto &entry : cancellable_) entry.second->cancelled.store(true);
    for (Job *job : running_) job->cancelled.store(true);
  }
  for (auto &w : wake_) w.notify_all();
  // Retired threads may have spawned replacements while we joined; join until none are left.
  for (size_t i = 0; i < threads_.size(); i++) {
    std::thread t;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      t = std::move(threads_[i]);
    }
    if (t.joinable()) t.join();
  }
  for (auto &q : queue_) {
    for (Job *job : q) delete job;
    q.clear();
  }
  // Finished but never settled: the fds they opened for JS would be nobody's.
  for (Job *job : done_) {
    for (int fd : job->resultFds) close(fd);
    delete job;
  }
  done_.clear();
  uv_close(reinterpret_cast<uv_handle_t *>(async_), [](uv_handle_t *h) {
    auto *pool = static_cast<WorkerPool *>(h->data);
    delete reinterpret_cast<uv_async_t *>(h);
    if (pool->onClosed_) pool->onClosed_(pool->onClosedArg_);
  });
}
