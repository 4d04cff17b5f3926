// Namespaces provisioned in one job, the bulk path's unit of work: create each namespace (and
// its socket, from inside), create their veths from this thread's home socket with the peers
// straight inside them, then send each namespace's own requests (links up, addresses, routes)
// with the peers' indexes filled in. TypeScript encodes every message beforehand; this thread
// only patches in what is known once the kernel has answered (the namespace fd, the peer
// indexes) and numbers the messages. Nothing goes back to the JS thread in between, so the
// kernel work runs back to back, as a hand-written C program would do it.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>

#include "addon.h"

namespace {

constexpr int kTimeoutMs = 30000;

uint32_t ReadU32(const std::vector<uint8_t> &b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

void WriteU32(std::vector<uint8_t> &b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, sizeof v); }

// What the kernel said to each host request (by seq - first): refused or not, and the peer
// index its echo names (IFLA_LINK, 0 when none). One pass over all the job's answers.
struct HostAnswers {
  std::vector<bool> acked;
  std::vector<uint32_t> peer;

  HostAnswers(const std::vector<uint8_t> &replies, uint32_t first, uint32_t count) : acked(count), peer(count) {
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= replies.size()) {
      nlmsghdr h;
      std::memcpy(&h, replies.data() + off, sizeof h);
      if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > replies.size()) return;
      uint32_t k = h.nlmsg_seq - first;
      if (k < count && h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
        acked[k] = static_cast<int>(ReadU32(replies, off + NLMSG_HDRLEN)) == 0;
      } else if (k < count && h.nlmsg_type == RTM_NEWLINK && h.nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) {
        peer[k] = LinkAttribute(replies, off + NLMSG_LENGTH(sizeof(ifinfomsg)), off + h.nlmsg_len);
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }

  // IFLA_LINK among the attributes in replies[a, end), or 0.
  static uint32_t LinkAttribute(const std::vector<uint8_t> &replies, size_t a, size_t end) {
    while (a + sizeof(nlattr) <= end) {
      nlattr attr;
      std::memcpy(&attr, replies.data() + a, sizeof attr);
      if (attr.nla_len < sizeof attr || a + attr.nla_len > end) return 0;
      if ((attr.nla_type & NLA_TYPE_MASK) == IFLA_LINK && attr.nla_len >= NLA_HDRLEN + 4) return ReadU32(replies, a + NLA_HDRLEN);
      a += NLA_ALIGN(attr.nla_len);
    }
    return 0;
  }
};

// Collects a step's failure without failing the provisioning job itself.
struct Step : Job {
  void Run(Worker &) override {}
};

// The namespace's socket is new; its later connection numbers from 1, so these seqs are far
// from there and a late answer can never be taken for one of its requests.
constexpr uint32_t kInsideFirstSeq = 0x40000000;

// One namespace of a provisioning job.
struct Item {
  std::string name;  // empty: anonymous
  bool ipv6Off = false;
  std::vector<uint8_t> mark;  // sent from inside before the mount (see SendMarkInside)
  std::vector<uint8_t> host, inside;
  std::vector<uint32_t> nsFdOffsets;       // in `host`: where the namespace fd goes
  std::vector<uint32_t> peerIndexPatches;  // in `inside`: (offset, which veth) pairs

  int nsFd = -1, routeFd = -1;
  int createErrno = 0;  // the namespace could not be created (nothing else was tried)
  const char *createSyscall = "";
  std::string createPath, createDetail;
  uint32_t hostFirst = 0, hostCount = 0, insideFirst = 0;
  std::vector<uint8_t> insideReplies;
  bool insideSent = false;
  int stepErrno = 0;  // a syscall failure after the namespace existed
  const char *stepSyscall = "";

  void Record(const Job &step) {
    stepErrno = step.error;
    stepSyscall = step.syscall;
  }
};

// Several namespaces in phases, as a hand-written program does it fastest: create them all,
// create every veth in one send(), then each namespace's own requests. Measured: the same
// kernel work interleaved namespace by namespace takes ~15% longer.
struct ProvisionJob : Job {
  ProvisionJob() { lane = 1; }
  std::string runDir;
  std::vector<Item> items;
  std::vector<uint8_t> hostReplies;  // the answers to every namespace's veth creates

  void Run(Worker &w) override {
    for (Item &it : items) CreateNamespace(w, it);
    for (Item &it : items) {
      if (it.nsFd >= 0) resultFds.insert(resultFds.end(), {it.nsFd, it.routeFd});
    }
    Step step;
    if (w.homeRouteFd < 0 && HasHostRequests()) w.homeRouteFd = OpenNetlinkSocket(NETLINK_ROUTE, {}, step);
    if (step.error) {
      for (Item &it : items) it.Record(step);
      return;
    }
    uint32_t first = 0, total = 0;
    SendHostRequests(w, first, total);
    HostAnswers answers(hostReplies, first, total);
    for (Item &it : items) SendInside(w, it, answers, first);
  }

  bool HasHostRequests() const {
    for (const Item &it : items) {
      if (it.nsFd >= 0 && !it.host.empty()) return true;
    }
    return false;
  }

  void CreateNamespace(Worker &w, Item &it) {
    Step step;
    auto whileInside = [&step, &it, &w] {
      // New devices copy `default`: set before any link arrives.
      if (it.ipv6Off && !(WriteFileHere("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1", step) &&
                          WriteFileHere("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1", step))) {
        return;
      }
      if (!it.mark.empty()) SendMarkInside(it.routeFd, it.mark, w.recvBuffer, step);
    };
    it.nsFd = it.name.empty() ? CreateAnonymousNetnsOnThread(w, step, &it.routeFd, whileInside)
                              : CreateNamedNetnsOnThread(w, step, runDir, it.name, 0, &it.routeFd, whileInside);
    if (it.nsFd < 0) {
      it.createErrno = step.error;
      it.createSyscall = step.syscall;
      it.createPath = step.path;
      it.createDetail = step.detail;
    }
  }

  // Every namespace's veth creates in one send() on this thread's home socket.
  void SendHostRequests(Worker &w, uint32_t &first, uint32_t &total) {
    std::vector<uint8_t> all;
    std::vector<Item *> senders;
    for (Item &it : items) {
      if (it.nsFd < 0 || it.host.empty()) continue;
      for (uint32_t at : it.nsFdOffsets) WriteU32(it.host, at, static_cast<uint32_t>(it.nsFd));
      it.hostCount = NumberMessages(it.host, 0);
      if (it.hostCount == 0) {
        it.stepErrno = EINVAL;
        it.stepSyscall = "encode";
        continue;
      }
      senders.push_back(&it);
    }
    for (Item *it : senders) total += it->hostCount;
    if (total == 0) return;
    // Seqs of the home socket go up for ever, skipping 0 (the kernel's notifications).
    if (w.homeSeq > 0xffffffffu - total - 1) w.homeSeq = 0;
    first = w.homeSeq + 1;
    w.homeSeq += total;
    uint32_t seq = first;
    for (Item *it : senders) {
      it->hostFirst = seq;
      NumberMessages(it->host, seq);
      seq += it->hostCount;
      all.insert(all.end(), it->host.begin(), it->host.end());
    }
    Step step;
    ExchangeOnThread(w.homeRouteFd, all.data(), all.size(), first, total, kTimeoutMs, w.recvBuffer, hostReplies, step);
    if (step.error) {
      for (Item *it : senders) it->Record(step);
    }
  }

  void SendInside(Worker &w, Item &it, const HostAnswers &answers, uint32_t first) {
    if (it.nsFd < 0 || it.stepErrno != 0 || it.inside.empty()) return;
    uint32_t base = it.hostFirst - first;
    for (uint32_t k = 0; k < it.hostCount; k++) {
      if (!answers.acked[base + k]) return;  // TypeScript reports the refusal
    }
    for (size_t i = 0; i + 1 < it.peerIndexPatches.size(); i += 2) {
      uint32_t veth = it.peerIndexPatches[i + 1];
      uint32_t peer = veth < it.hostCount ? answers.peer[base + veth] : 0;
      if (peer == 0) {
        it.stepErrno = EPROTO;
        it.stepSyscall = "recvmsg";
        return;
      }
      WriteU32(it.inside, it.peerIndexPatches[i], peer);
    }
    it.insideFirst = kInsideFirstSeq;
    uint32_t count = NumberMessages(it.inside, it.insideFirst);
    if (count == 0) {
      it.stepErrno = EINVAL;
      it.stepSyscall = "encode";
      return;
    }
    it.insideSent = true;
    Step step;
    ExchangeOnThread(it.routeFd, it.inside.data(), it.inside.size(), it.insideFirst, count, kTimeoutMs, w.recvBuffer, it.insideReplies, step);
    if (step.error) it.Record(step);
  }

  // { hostReplies, items: [...] }: TypeScript picks each namespace's seqs out of hostReplies.
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, items.size());
    for (uint32_t k = 0; k < items.size(); k++) {
      const Item &it = items[k];
      Napi::Object o = Napi::Object::New(env);
      o.Set("nsFd", it.nsFd);
      o.Set("routeFd", it.routeFd);
      o.Set("createErrno", it.createErrno);
      o.Set("createSyscall", it.createSyscall);
      o.Set("createPath", it.createPath);
      o.Set("createDetail", it.createDetail);
      o.Set("hostFirstSeq", it.hostFirst);
      o.Set("insideSent", it.insideSent);
      o.Set("insideFirstSeq", it.insideFirst);
      o.Set("insideReplies", Napi::Buffer<uint8_t>::Copy(env, it.insideReplies.data(), it.insideReplies.size()));
      o.Set("errno", it.stepErrno);
      o.Set("syscall", it.stepSyscall);
      out.Set(k, o);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("hostReplies", Napi::Buffer<uint8_t>::Copy(env, hostReplies.data(), hostReplies.size()));
    result.Set("items", out);
    return result;
  }
};

std::vector<uint8_t> BytesOf(Napi::Env env, Napi::Value v) {
  if (!v.IsBuffer()) {
    Napi::TypeError::New(env, "provisionNetns: host and inside must be Buffers").ThrowAsJavaScriptException();
    return {};
  }
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

std::vector<uint32_t> U32sOf(Napi::Env env, Napi::Value v) {
  std::vector<uint32_t> out;
  if (!v.IsArray()) {
    Napi::TypeError::New(env, "provisionNetns: offsets must be arrays").ThrowAsJavaScriptException();
    return out;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) out.push_back(a.Get(k).ToNumber().Uint32Value());
  return out;
}

// provisionNetns(runDir, [{ name, ipv6Off, host, nsFdOffsets, inside, peerIndexPatches }, ...])
Napi::Value ProvisionNetns(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto *job = new ProvisionJob();
  job->runDir = ArgString(info, 0);
  if (!env.IsExceptionPending() && (info.Length() < 2 || !info[1].IsArray())) {
    Napi::TypeError::New(env, "provisionNetns(runDir, items)").ThrowAsJavaScriptException();
  }
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  Napi::Array list = info[1].As<Napi::Array>();
  job->items.resize(list.Length());
  for (uint32_t k = 0; k < list.Length() && !env.IsExceptionPending(); k++) {
    Napi::Object o = list.Get(k).As<Napi::Object>();
    Item &it = job->items[k];
    it.name = o.Get("name").As<Napi::String>().Utf8Value();
    it.ipv6Off = o.Get("ipv6Off").ToBoolean().Value();
    if (o.Has("mark")) it.mark = BytesOf(env, o.Get("mark"));
    it.host = BytesOf(env, o.Get("host"));
    it.nsFdOffsets = U32sOf(env, o.Get("nsFdOffsets"));
    it.inside = BytesOf(env, o.Get("inside"));
    it.peerIndexPatches = U32sOf(env, o.Get("peerIndexPatches"));
    // Offsets come from lib/, but a wrong one must not write outside the buffers.
    bool inRange = it.peerIndexPatches.size() % 2 == 0;
    for (uint32_t at : it.nsFdOffsets) inRange = inRange && at + 4 <= it.host.size();
    for (size_t i = 0; i < it.peerIndexPatches.size(); i += 2) inRange = inRange && it.peerIndexPatches[i] + 4 <= it.inside.size();
    if (!inRange && !env.IsExceptionPending()) Napi::RangeError::New(env, "provisionNetns: patch offset outside its buffer").ThrowAsJavaScriptException();
  }
  if (env.IsExceptionPending()) {
    delete job;
    return env.Undefined();
  }
  return GetAddon(env).pool->Submit(env, job);
}

}  // namespace

void InitProvision(Napi::Env env, Napi::Object exports) {
  exports.Set("provisionNetns", Napi::Function::New(env, ProvisionNetns, "provisionNetns"));
}
