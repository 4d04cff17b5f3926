#include "addon.h"

#include <unistd.h>

#include <cstdlib>
#include <thread>

Napi::Value ThrowSyscallError(Napi::Env env, int err, const char *syscall, const std::string &path) {
  Addon &addon = GetAddon(env);
  if (addon.makeError.IsEmpty()) {
    Napi::Error::New(env, std::string(syscall) + " failed").ThrowAsJavaScriptException();
  } else {
    Napi::Value e = addon.makeError.Call({Napi::Number::New(env, err), Napi::String::New(env, syscall),
                                          Napi::String::New(env, path), Napi::String::New(env, "")});
    napi_throw(env, e);
  }
  return env.Undefined();
}

int32_t ArgInt(const Napi::CallbackInfo &info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number")
        .ThrowAsJavaScriptException();
    return 0;
  }
  return info[i].As<Napi::Number>().Int32Value();
}

std::string ArgString(const Napi::CallbackInfo &info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string")
        .ThrowAsJavaScriptException();
    return std::string();
  }
  return info[i].As<Napi::String>().Utf8Value();
}

static size_t DefaultThreads() {
  if (const char *env = std::getenv("RTNETLINK_THREADS")) {
    long n = std::strtol(env, nullptr, 10);
    if (n >= 1 && n <= 64) return static_cast<size_t>(n);
  }
  // One netlink I/O thread and three namespace threads: the bulk path's provisioning jobs
  // run on the namespace lane, and three of them at once measured fastest on 2 vCPUs
  // (W(1000): 2.6 ms per container against 3.0 with two and 3.9 with one).
  return 4;
}

static Napi::Value Init(const Napi::CallbackInfo &info) {
  Addon &addon = GetAddon(info.Env());
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "init(makeError) needs a function").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  addon.makeError = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

static Napi::Value Threads(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(GetAddon(info.Env()).pool->ThreadCount()));
}

static Napi::Value Close(const Napi::CallbackInfo &info) {
  int fd = ArgInt(info, 0);
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();
  GetAddon(info.Env()).pool->Forget(fd);
  if (close(fd) != 0 && errno != EINTR) return ThrowSyscallError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

void HandleClosed(Addon *addon) {
  if (--addon->closing > 0) return;
  // Threads joined, libuv handles closed: nothing uses the fds any more. fds are the process's,
  // not the environment's: a worker_thread's sockets and namespace fds would outlive it (and
  // an fd of an anonymous namespace keeps the namespace alive).
  addon->pool->CloseOwnedFds();
  napi_remove_async_cleanup_hook(addon->cleanup);
}

// Tells V8 about memory it cannot see (what an open namespace fd pins in the kernel), so that
// handles dropped without close() are collected, and their fds closed, before fds run out.
static Napi::Value AdjustExternalMemory(const Napi::CallbackInfo &info) {
  int64_t delta = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 0;
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), delta);
  return info.Env().Undefined();
}

static Napi::Object ModuleInit(Napi::Env env, Napi::Object exports) {
  Addon *addon = new Addon();
  addon->pool = new WorkerPool(env, &addon->makeError, DefaultThreads());
  env.SetInstanceData<Addon>(addon);
  // worker_threads and process exit: stop our threads and close our libuv handles before the
  // environment goes away. Asynchronous, because a handle's close callback runs on a later
  // loop turn: a worker_thread unloads this library after its cleanup, and a callback left
  // for later would jump into unmapped code.
  napi_add_async_cleanup_hook(
      env,
      [](napi_async_cleanup_hook_handle handle, void *arg) {
        Addon *a = static_cast<Addon *>(arg);
        a->cleanup = handle;
        a->closing = 1 + CloseWatches(*a);
        a->pool->Shutdown([](void *p) { HandleClosed(static_cast<Addon *>(p)); }, a);
      },
      addon, nullptr);

  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("threads", Napi::Function::New(env, Threads, "threads"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("adjustExternalMemory", Napi::Function::New(env, AdjustExternalMemory, "adjustExternalMemory"));
  InitNetlinkIo(env, exports);
  InitNetns(env, exports);
  InitProvision(env, exports);
  InitWatcher(env, exports);
  InitCni(env, exports);
  return exports;
}

NODE_API_MODULE(rtnetlink, ModuleInit)
