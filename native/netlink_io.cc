// Netlink sockets: open (optionally inside a namespace), and the one I/O primitive the
// TypeScript connection needs: send a buffer of requests, receive until each is answered.
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.h"

namespace {

constexpr int kSliceMs = 50;  // how often a blocked receive looks at its cancel flag
// Receive-buffer bytes one answer may take (an ACK with extended-ack text, or an NLM_F_ECHO
// of a link with its ACK, counted as the kernel does: skb truesize): sizes batch pieces.
constexpr uint32_t kAnswerBytes = 8192;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void SetBool(int fd, int option) {
  int one = 1;
  // Older kernels lack some of these; the connection works without them.
  setsockopt(fd, SOL_NETLINK, option, &one, sizeof one);
}

void SetBuffer(int fd, int force, int plain, int size) {
  if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size);
  }
}

// Waits until fd is readable, the deadline passes (0) or the job is cancelled (0).
// Returns 1 when readable, 0 when not, -1 with errno on failure.
int WaitReadable(int fd, int64_t deadline, Job &job) {
  for (;;) {
    if (job.cancelled.load()) return 0;
    int64_t left = deadline - NowMs();
    if (left <= 0) return 0;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left < kSliceMs ? left : kSliceMs));
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

// Sending and receiving go straight through syscall(2): in a process with threads, as every
// Node process is, glibc's wrappers of these cancellation points switch asynchronous
// cancellation on and off around each call, and a batch's answers are a recvfrom() each (a
// profile of 64 link-ups per exchange showed it). The addon never cancels its threads.
// Errors still name the calls "sendmsg" and "recvmsg", as the library's errors always have:
// the same operations to a reader, and what callers may already match on.
ssize_t SendToKernel(int fd, const uint8_t *p, size_t n) {
  return syscall(SYS_sendto, fd, p, n, 0, nullptr, 0);
}

// One datagram from the kernel into `buffer`. Returns its length, 0 for a datagram that did not
// come from the kernel (dropped), -1 with errno on failure (EAGAIN when none waits).
ssize_t ReceiveFromKernel(int fd, std::vector<uint8_t> &buffer, int flags) {
  // recvfrom rather than recvmsg: no msghdr and iovec to copy in and out for each datagram.
  // MSG_TRUNC makes it return the datagram's whole length, so a truncated one is still seen.
  sockaddr_nl from{};
  socklen_t fromLength = sizeof from;
  ssize_t n;
  do {
    n = syscall(SYS_recvfrom, fd, buffer.data(), buffer.size(), flags | MSG_TRUNC, reinterpret_cast<sockaddr *>(&from), &fromLength);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  if (static_cast<size_t>(n) > buffer.size()) {
    errno = EMSGSIZE;
    return -1;
  }
  if (from.nl_pid != 0) return 0;  // forged by another process: never trusted
  return n;
}

}  // namespace

int OpenNetlinkSocket(int protocol, const std::vector<uint32_t> &groups, Job &job, int receiveBuffer) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    job.Fail(errno, "socket");
    return -1;
  }
  SetBool(fd, NETLINK_EXT_ACK);
  SetBool(fd, NETLINK_CAP_ACK);
  SetBool(fd, NETLINK_GET_STRICT_CHK);
  // Big batches are answered by as many ACKs; they must fit or the kernel drops them.
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, receiveBuffer > 0 ? receiveBuffer : 32 * 1024 * 1024);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 * 1024 * 1024);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    job.Fail(errno, "bind");
  }
  for (uint32_t g : groups) {
    if (job.error) break;
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0) {
      job.Fail(errno, "setsockopt", "NETLINK_ADD_MEMBERSHIP");
    }
  }
  if (job.error) {
    close(fd);
    return -1;
  }
  return fd;
}

namespace {

struct Bytes {
  std::vector<uint8_t> *data = new std::vector<uint8_t>();
  ~Bytes() { delete data; }

  void Append(const uint8_t *p, size_t n) {
    data->insert(data->end(), p, p + n);
    data->resize(NLMSG_ALIGN(data->size()), 0);
  }

  Napi::Value Take(Napi::Env env) {
    std::vector<uint8_t> *v = data;
    data = nullptr;
    if (v->empty()) {
      // An empty vector's data() is null, and an external buffer over null arrives in JS as a
      // detached ArrayBuffer: Buffer.concat or set() on it throws a TypeError. Found by the
      // native fuzz (test/integration/asan.test.ts).
      delete v;
      return Napi::Buffer<uint8_t>::New(env, 0);
    }
    return Napi::Buffer<uint8_t>::New(env, v->data(), v->size(),
                                      [](Napi::Env, uint8_t *, std::vector<uint8_t> *v) { delete v; }, v);
  }
};

struct OpenNetlinkJob : Job {
  int nsFd, protocol;
  std::vector<uint32_t> groups;
  int receiveBuffer = 0;  // bytes; 0: the large default
  int fd = -1;

  void Run(Worker &w) override {
    w.InNetns(nsFd, *this, [&] { fd = OpenNetlinkSocket(protocol, groups, *this, receiveBuffer); });
    if (fd >= 0) resultFds = {fd};
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd); }
};

// One exchange: send the requests (unless there are none), then receive until `expected` of
// seqs firstSeq..firstSeq+count-1 are answered by NLMSG_ERROR or NLMSG_DONE. With a deadline
// of -1 it never sleeps: it takes what the kernel queued during send() and stops.
struct Exchange {
  int fd;
  const uint8_t *request;
  size_t requestLength;
  uint32_t firstSeq, count, expected;
  Bytes replies;
  bool complete = false;
  bool malformed = false;
  uint32_t answeredCount = 0;
  int error = 0;
  const char *syscall = "";

  void Run(std::vector<uint8_t> &buffer, int64_t deadline, Job *job) {
    std::vector<bool> answered(count, false);
    // The kernel answers every message of a send() before we read anything, so the answers
    // must fit in the receive buffer at once, or it drops them (ENOBUFS). Where the buffer is
    // small (SO_RCVBUFFORCE refused, so rmem_max applies: a user namespace, no CAP_NET_ADMIN),
    // a big batch goes in pieces that fit, each sent once the one before it is answered.
    uint32_t perSend = deadline < 0 ? count : MessagesPerSend();
    size_t off = 0;
    uint32_t sentMessages = 0;
    do {
      size_t end = requestLength;
      uint32_t target = expected;
      if (perSend < count) {
        end = off;
        for (uint32_t n = 0; n < perSend && end + sizeof(nlmsghdr) <= requestLength; n++, sentMessages++) {
          uint32_t len;
          std::memcpy(&len, request + end, sizeof len);
          if (len < sizeof(nlmsghdr) || len > requestLength - end) break;
          end += NLMSG_ALIGN(len);
        }
        // What does not parse goes whole, as it would unchunked (TypeScript never sends it).
        if (end == off || end > requestLength) end = requestLength;
        target = end == requestLength ? expected : sentMessages;
      }
      if (end > off) {
        ssize_t sent;
        do {
          sent = SendToKernel(fd, request + off, end - off);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) return Failed(errno, "sendmsg");
      }
      off = end;
      if (!ReceiveUntil(target, answered, buffer, deadline, job)) return;
    } while (off < requestLength && !malformed);
    complete = true;
  }

  void Drain(std::vector<uint8_t> &buffer) {
    // Bounded: a socket that also receives notifications could be refilled as fast as we read.
    for (int i = 0; i < 65536; i++) {
      ssize_t n = ReceiveFromKernel(fd, buffer, MSG_DONTWAIT);
      if (n < 0 && errno != ENOBUFS) return;
    }
  }

  // How many messages one send() may carry so that their answers fit in the receive buffer.
  // Only rtnetlink, where every message is answered on its own: an nf_tables batch must
  // arrive in one send().
  uint32_t MessagesPerSend() const {
    if (requestLength == 0 || expected != count || count < 2) return count;
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &len) != 0 || value != NETLINK_ROUTE) return count;
    len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) != 0 || value <= 0) return count;
    uint32_t fit = static_cast<uint32_t>(value) / kAnswerBytes;
    return fit < 1 ? 1 : fit < count ? fit : count;
  }

  // Receives until `target` answers are in. False when the deadline, a cancel or a failure
  // (error set) ended the wait first; the exchange stops there.
  bool ReceiveUntil(uint32_t target, std::vector<bool> &answered, std::vector<uint8_t> &buffer, int64_t deadline, Job *job) {
    uint32_t left = target > answeredCount ? target - answeredCount : 0;
    while (left > 0) {
      // The kernel answers most requests inside send(), so try before sleeping in poll().
      ssize_t n = ReceiveFromKernel(fd, buffer, MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) {
        if (deadline < 0 || job == nullptr) return false;
        int r = WaitReadable(fd, deadline, *job);
        if (r < 0) return Failed(errno, "poll"), false;
        if (r == 0) return false;  // TypeScript sees which requests went unanswered
        continue;
      }
      if (n < 0 && errno == ENOBUFS) {
        // Answers were dropped. Until its queue is read empty the socket stays congested and
        // the kernel drops more without a word: the next exchange would wait for answers that
        // never come. Empty it now, so the socket recovers and later losses are reported.
        Drain(buffer);
        return Failed(ENOBUFS, "recvmsg"), false;
      }
      if (n < 0) return Failed(errno, "recvmsg"), false;
      if (n == 0) continue;
      replies.Append(buffer.data(), static_cast<size_t>(n));
      uint32_t ended = CountAnswers(buffer.data(), static_cast<size_t>(n), answered);
      answeredCount += ended;
      left = ended >= left ? 0 : left - ended;
    }
    return true;
  }

  void Failed(int err, const char *call) {
    error = err;
    syscall = call;
  }

  // Marks the requests this datagram ends (NLMSG_ERROR or NLMSG_DONE). A malformed length
  // ends the walk: TypeScript reports the parse error, so stop waiting for more.
  uint32_t CountAnswers(const uint8_t *p, size_t n, std::vector<bool> &answered) {
    uint32_t ended = 0;
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= n) {
      nlmsghdr h;
      std::memcpy(&h, p + off, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > n) {
        malformed = true;
        return expected;
      }
      uint32_t i = h.nlmsg_seq - firstSeq;
      if ((h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE) && i < count && !answered[i]) {
        answered[i] = true;
        ended++;
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
    return ended;
  }
};

}  // namespace

uint32_t NumberMessages(std::vector<uint8_t> &request, uint32_t first) {
  uint32_t count = 0;
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= request.size()) {
    uint32_t len;
    std::memcpy(&len, request.data() + off, sizeof len);
    if (len < sizeof(nlmsghdr) || off + NLMSG_ALIGN(len) > request.size()) return 0;
    uint32_t seq = first + count++;
    std::memcpy(request.data() + off + offsetof(nlmsghdr, nlmsg_seq), &seq, sizeof seq);
    off += NLMSG_ALIGN(len);
  }
  return off == request.size() ? count : 0;
}

bool ExchangeOnThread(int fd, const uint8_t *request, size_t length, uint32_t firstSeq, uint32_t count, int timeoutMs,
                      std::vector<uint8_t> &buffer, std::vector<uint8_t> &replies, Job &job) {
  Exchange x{};
  x.fd = fd;
  x.request = request;
  x.requestLength = length;
  x.firstSeq = firstSeq;
  x.count = x.expected = count;
  x.Run(buffer, NowMs() + timeoutMs, &job);
  if (x.replies.data) replies.insert(replies.end(), x.replies.data->begin(), x.replies.data->end());
  if (x.error) return job.Fail(x.error, x.syscall), false;
  if (!x.complete && !x.malformed) return job.Fail(ETIMEDOUT, "recvmsg"), false;
  return true;
}

namespace {

struct TransactJob : Job {
  Napi::Reference<Napi::Buffer<uint8_t>> requestRef;  // keeps the request alive
  Exchange x;
  int timeoutMs;

  void Run(Worker &w) override {
    x.Run(w.recvBuffer, NowMs() + timeoutMs, this);
    if (x.error) Fail(x.error, x.syscall);
  }

  Napi::Value Result(Napi::Env env) override { return x.replies.Take(env); }
};

struct ReceiveJob : Job {
  int fd, timeoutMs;
  Bytes received;
  bool any = false;

  void Run(Worker &w) override {
    int64_t deadline = NowMs() + timeoutMs;
    for (;;) {
      ssize_t n = ReceiveFromKernel(fd, w.recvBuffer, MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) {
        if (any) return;  // hand over what is here rather than wait for more
        int r = WaitReadable(fd, deadline, *this);
        if (r < 0) return Fail(errno, "poll");
        if (r == 0) return;
        continue;
      }
      if (n < 0) return Fail(errno, "recvmsg");
      if (n == 0) continue;
      received.Append(w.recvBuffer.data(), static_cast<size_t>(n));
      any = true;
      if (received.data->size() >= 4 * 1024 * 1024) return;
    }
  }

  Napi::Value Result(Napi::Env env) override { return any ? received.Take(env) : env.Null(); }
};

Napi::Value OpenNetlink(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *job = new OpenNetlinkJob();
  job->nsFd = ArgInt(info, 0);
  job->protocol = ArgInt(info, 1);
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) job->groups.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  }
  if (info.Length() > 3 && info[3].IsNumber()) job->receiveBuffer = info[3].As<Napi::Number>().Int32Value();
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  return GetAddon(env).pool->Submit(env, job);
}

Napi::Value Transact(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "transact(fd, buffer, firstSeq, count, expected, timeoutMs, jobId)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *job = new TransactJob();
  job->x.fd = ArgInt(info, 0);
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  job->requestRef = Napi::Persistent(buf);
  job->x.request = buf.Data();
  job->x.requestLength = buf.Length();
  job->x.firstSeq = info[2].As<Napi::Number>().Uint32Value();
  job->x.count = info[3].As<Napi::Number>().Uint32Value();
  job->x.expected = info[4].As<Napi::Number>().Uint32Value();
  job->timeoutMs = ArgInt(info, 5);
  job->id = info[6].As<Napi::Number>().Uint32Value();
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  return GetAddon(env).pool->Submit(env, job);
}

// The same exchange on the calling thread, for small requests the kernel answers within
// send(): two thread hand-offs would cost more than the request. Never sleeps; returns
// { replies, complete } and the caller finishes an incomplete exchange with transact().
Napi::Value TransactInline(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "transactInline(fd, buffer, firstSeq, count, expected)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  static thread_local std::vector<uint8_t> buffer(256 * 1024);
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  Exchange x;
  x.fd = ArgInt(info, 0);
  x.request = buf.Data();
  x.requestLength = buf.Length();
  x.firstSeq = info[2].As<Napi::Number>().Uint32Value();
  x.count = info[3].As<Napi::Number>().Uint32Value();
  x.expected = info[4].As<Napi::Number>().Uint32Value();
  x.Run(buffer, -1, nullptr);
  if (x.error) return ThrowSyscallError(env, x.error, x.syscall);
  // The common case, answered in full and small: copied into the caller's scratch buffer, and
  // only its length returned. A new external buffer per request (with its finalizer) cost more
  // than the request itself.
  if (x.complete && info.Length() > 5 && info[5].IsBuffer()) {
    auto scratch = info[5].As<Napi::Buffer<uint8_t>>();
    size_t n = x.replies.data ? x.replies.data->size() : 0;
    if (n <= scratch.Length()) {
      if (n > 0) std::memcpy(scratch.Data(), x.replies.data->data(), n);
      return Napi::Number::New(env, static_cast<double>(n));
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("replies", x.replies.Take(env));
  out.Set("complete", Napi::Boolean::New(env, x.complete));
  out.Set("answered", Napi::Number::New(env, x.answeredCount));
  return out;
}

Napi::Value Receive(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *job = new ReceiveJob();
  job->fd = ArgInt(info, 0);
  job->timeoutMs = ArgInt(info, 1);
  job->id = static_cast<uint32_t>(ArgInt(info, 2));
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  return GetAddon(env).pool->Submit(env, job);
}

Napi::Value Cancel(const Napi::CallbackInfo &info) {
  GetAddon(info.Env()).pool->Cancel(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value PortId(const Napi::CallbackInfo &info) {
  int fd = ArgInt(info, 0);
  sockaddr_nl addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
    return ThrowSyscallError(info.Env(), errno, "getsockname");
  }
  return Napi::Number::New(info.Env(), addr.nl_pid);
}

Napi::Value SendTo(const Napi::CallbackInfo &info) {
  int fd = ArgInt(info, 0);
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  to.nl_pid = info[2].As<Napi::Number>().Uint32Value();
  if (sendto(fd, buf.Data(), buf.Length(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to) < 0) {
    return ThrowSyscallError(info.Env(), errno, "sendto");
  }
  return info.Env().Undefined();
}

}  // namespace

void InitNetlinkIo(Napi::Env env, Napi::Object exports) {
  exports.Set("openNetlink", Napi::Function::New(env, OpenNetlink, "openNetlink"));
  exports.Set("transact", Napi::Function::New(env, Transact, "transact"));
  exports.Set("receive", Napi::Function::New(env, Receive, "receive"));
  exports.Set("transactInline", Napi::Function::New(env, TransactInline, "transactInline"));
  exports.Set("cancel", Napi::Function::New(env, Cancel, "cancel"));
  exports.Set("portId", Napi::Function::New(env, PortId, "portId"));
  exports.Set("sendTo", Napi::Function::New(env, SendTo, "sendTo"));
}
