// Notification sockets (link added/removed ...): readiness comes from libuv on the JS
// thread, and reading is a non-blocking drain of what the kernel already queued, so a
// subscription never holds one of the worker threads.
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "addon.h"

struct Watch {
  uv_poll_t poll;
  int fd;
  Napi::FunctionReference callback;
  std::vector<uint8_t> buffer;
  napi_env env;
  Addon *addon;
};

namespace {

void CloseWatch(Watch *w, uv_close_cb done) {
  w->fd = -1;
  w->addon->watches.erase(w);
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t *>(&w->poll), done);
}

void OnReadable(uv_poll_t *handle, int status, int events) {
  Watch *w = static_cast<Watch *>(handle->data);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  std::vector<uint8_t> out;
  int err = 0;
  if (status < 0) {
    // An overrun leaves an error pending on the socket, which epoll reports as POLLERR; libuv
    // turns that into EBADF and stops watching. recvmsg below returns the real error (and
    // clears it), so watch again and read.
    uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  }
  while (!err) {
    sockaddr_nl from{};
    iovec iov{w->buffer.data(), w->buffer.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) err = errno;  // ENOBUFS: the kernel dropped notifications
      // Anything else will not go away by reading again: stop, rather than spin on it.
      if (err && err != ENOBUFS) uv_poll_stop(&w->poll);
      break;
    }
    if (from.nl_pid != 0) continue;
    out.insert(out.end(), w->buffer.data(), w->buffer.data() + n);
    out.resize(NLMSG_ALIGN(out.size()), 0);
    if (out.size() > 4 * 1024 * 1024) break;
  }
  Napi::Value error = err ? Napi::Value(Napi::Number::New(env, err)) : env.Null();
  Napi::Value data = out.empty() ? env.Null() : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size()));
  w->callback.Call({error, data});
  // Called from libuv, not from JS: nobody would see an exception a listener threw. Hand it
  // to Node, as its own emitters do ('uncaughtException', or the process ends).
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

Napi::Value WatchStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "watch(fd, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  Watch *w = new Watch();
  w->fd = fd;
  w->env = env;
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  w->buffer.resize(256 * 1024);
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r == 0) r = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (r != 0) {
    delete w;
    return ThrowSyscallError(env, -r, "uv_poll_start");
  }
  w->poll.data = w;
  w->addon = &GetAddon(env);
  w->addon->watches.insert(w);
  return Napi::External<Watch>::New(env, w);
}

Napi::Value WatchStop(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsExternal()) return info.Env().Undefined();
  Watch *w = info[0].As<Napi::External<Watch>>().Data();
  if (w->fd < 0) return info.Env().Undefined();
  CloseWatch(w, [](uv_handle_t *h) { delete static_cast<Watch *>(h->data); });
  return info.Env().Undefined();
}

}  // namespace

int CloseWatches(Addon &addon) {
  std::vector<Watch *> open(addon.watches.begin(), addon.watches.end());
  for (Watch *w : open) {
    CloseWatch(w, [](uv_handle_t *h) {
      Watch *w = static_cast<Watch *>(h->data);
      Addon *addon = w->addon;
      delete w;
      HandleClosed(addon);
    });
  }
  return static_cast<int>(open.size());
}

void InitWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("watchStart", Napi::Function::New(env, WatchStart, "watchStart"));
  exports.Set("watchStop", Napi::Function::New(env, WatchStop, "watchStop"));
}
