// Notification sockets (link added/removed ...): readiness comes from libuv on the JS
// thread, and reading is a non-blocking drain of what the kernel already queued, so a
// subscription never holds one of the worker threads.
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "addon.h"

struct Watch {
  uv_poll_t poll;
  int fd;
  // The socket listens to every namespace with an nsid (NETLINK_LISTEN_ALL_NSID): each
  // datagram's nsid comes in a control message and is handed to JS beside it.
  bool withNsid;
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

// One datagram into w->buffer; its nsid (-1: none, the socket's own namespace) in *nsid.
ssize_t ReceiveOne(Watch *w, int *nsid, sockaddr_nl *from) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  iovec iov{w->buffer.data(), w->buffer.size()};
  msghdr msg{};
  msg.msg_name = from;
  msg.msg_namelen = sizeof *from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (w->withNsid) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  ssize_t n;
  do {
    n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  *nsid = -1;
  if (n < 0 || !w->withNsid) return n;
  for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      std::memcpy(nsid, CMSG_DATA(c), sizeof(int));
    }
  }
  return n;
}

// After ENOBUFS the kernel drops every notification for this socket until its queue has been
// read empty (netlink's "congested" state). What is queued predates the loss and is
// superseded by the re-read of state the caller does next, so it is discarded here, in the
// same callback: the caller's re-read then starts after the queue was empty, and everything
// that arrives from then on is a change after the point its re-read sees. Bounded, in case
// the kernel queues faster than we read. Returns how many datagrams were discarded.
uint32_t DiscardQueued(Watch *w) {
  uint32_t discarded = 0;
  for (int i = 0; i < 1 << 20; i++) {
    int nsid;
    sockaddr_nl from{};
    ssize_t n = ReceiveOne(w, &nsid, &from);
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0 && errno != ENOBUFS) break;
    if (n >= 0) discarded++;
  }
  return discarded;
}

void OnReadable(uv_poll_t *handle, int status, int events) {
  Watch *w = static_cast<Watch *>(handle->data);
  Napi::Env env(w->env);
  if (!CanCallIntoJs(env)) {
    // The environment is being torn down, with notifications still arriving: nobody can take
    // them, and a readable socket left unread would call again at once. Teardown closes it.
    uv_poll_stop(&w->poll);
    return;
  }
  Napi::HandleScope scope(env);
  std::vector<uint8_t> out;
  std::vector<int32_t> marks;  // per datagram: its end offset in `out`, and its nsid
  uint32_t discarded = 0;
  int err = 0;
  if (status < 0) {
    // An overrun leaves an error pending on the socket, which epoll reports as POLLERR; libuv
    // turns that into EBADF and stops watching. recvmsg below returns the real error (and
    // clears it), so watch again and read.
    uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  }
  while (!err) {
    sockaddr_nl from{};
    int nsid;
    ssize_t n = ReceiveOne(w, &nsid, &from);
    if (n < 0) {
      if (errno != EAGAIN) err = errno;  // ENOBUFS: the kernel dropped notifications
      if (err == ENOBUFS) discarded = DiscardQueued(w);
      // Anything else will not go away by reading again: stop, rather than spin on it.
      if (err && err != ENOBUFS) uv_poll_stop(&w->poll);
      break;
    }
    if (from.nl_pid != 0) continue;
    out.insert(out.end(), w->buffer.data(), w->buffer.data() + n);
    out.resize(NLMSG_ALIGN(out.size()), 0);
    if (w->withNsid) {
      marks.push_back(static_cast<int32_t>(out.size()));
      marks.push_back(nsid);
    }
    // Bounded, so that one callback never holds the event loop for long: what is left is read
    // on the next turn of the loop (the poll is level-triggered).
    if (out.size() > 32 * 1024) break;
  }
  Napi::Value error = err ? Napi::Value(Napi::Number::New(env, err)) : env.Null();
  Napi::Value data = out.empty() ? env.Null() : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size()));
  Napi::Value nsids = env.Null();
  if (w->withNsid && !marks.empty()) {
    Napi::Int32Array a = Napi::Int32Array::New(env, marks.size());
    std::memcpy(a.Data(), marks.data(), marks.size() * sizeof(int32_t));
    nsids = a;
  }
  w->callback.Call({error, data, nsids, Napi::Number::New(env, discarded)});
  // Called from libuv, not from JS: nobody would see an exception a listener threw. Hand it
  // to Node, as its own emitters do ('uncaughtException', or the process ends).
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

Napi::Value WatchStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "watch(fd, callback, withNsid?)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  Watch *w = new Watch();
  w->fd = fd;
  w->withNsid = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
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

// How many messages the kernel dropped for this socket since it was opened (SO_MEMINFO's
// SK_MEMINFO_DROPS: netlink counts every notification it could not queue).
Napi::Value SocketDrops(const Napi::CallbackInfo &info) {
  int fd = ArgInt(info, 0);
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof meminfo;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) return ThrowSyscallError(info.Env(), errno, "getsockopt");
  if (len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1)) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), meminfo[SK_MEMINFO_DROPS]);
}

// setsockopt(fd, SOL_NETLINK, option, int value): NETLINK_LISTEN_ALL_NSID for a watch over
// every namespace.
Napi::Value SetNetlinkOption(const Napi::CallbackInfo &info) {
  int fd = ArgInt(info, 0);
  int option = ArgInt(info, 1);
  int value = ArgInt(info, 2);
  if (info.Env().IsExceptionPending()) return info.Env().Undefined();
  if (setsockopt(fd, SOL_NETLINK, option, &value, sizeof value) != 0) return ThrowSyscallError(info.Env(), errno, "setsockopt");
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
  exports.Set("socketDrops", Napi::Function::New(env, SocketDrops, "socketDrops"));
  exports.Set("setNetlinkOption", Napi::Function::New(env, SetNetlinkOption, "setNetlinkOption"));
}
