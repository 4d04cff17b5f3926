// The two syscalls the CNI daemon needs that Node does not offer: the credentials of a unix
// socket's peer (SO_PEERCRED), and flock(2) on host-local's lock file, so leases are shared
// safely with the reference host-local plugin running at the same time.
#include <errno.h>
#include <sys/file.h>
#include <sys/socket.h>

#include "addon.h"

// peerCredentials(fd) -> { pid, uid, gid } of the process at the other end of a unix socket,
// as the kernel recorded them at connect() time (they cannot be forged by the peer).
static Napi::Value PeerCredentials(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return ThrowSyscallError(env, errno, "getsockopt");
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

// tryLock(fd, exclusive) -> true when the lock was taken, false when another holder has it.
// Never blocks: the caller retries from the event loop, so a stuck holder cannot freeze it.
// Closing the fd releases the lock.
static Napi::Value TryLock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  bool exclusive = info.Length() < 2 || info[1].ToBoolean().Value();
  for (;;) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    return ThrowSyscallError(env, errno, "flock");
  }
}

void InitCni(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("tryLock", Napi::Function::New(env, TryLock, "tryLock"));
}
