#include "remote/auth_secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "echelon/errors.h"
#include "fmt/format.h"
#include "transport/fd.h"

namespace echelon::remote {

AuthSecret AuthSecret::load(const std::string& path) {
  auto fail = [&](const std::string& why) -> AuthSecret {
    throw ValidationError(fmt::format("auth secret file '{}': {}", path, why));
  };
  // O_NOFOLLOW refuses a symlink planted where the secret should be; O_NONBLOCK keeps a FIFO from
  // blocking the open before fstat can refuse it.
  transport::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail(fmt::format("fstat failed: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return fail("is not a regular file");
  if (st.st_uid != geteuid()) return fail(fmt::format("is owned by uid {}, not by the effective user {}", st.st_uid, geteuid()));
  if ((st.st_mode & 077) != 0) return fail(fmt::format("mode {:04o} grants group/other access; chmod 600 it", st.st_mode & 07777));
  if (st.st_size < static_cast<off_t>(MIN_SECRET_BYTES) || st.st_size > static_cast<off_t>(MAX_SECRET_BYTES))
    return fail(fmt::format("is {} bytes, must be {}..{}", st.st_size, MIN_SECRET_BYTES, MAX_SECRET_BYTES));
  AuthSecret secret;
  secret.bytes_.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < secret.bytes_.size()) {
    const ssize_t n = ::read(fd.get(), secret.bytes_.data() + got, secret.bytes_.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("read failed: {}", std::strerror(errno)));
    if (n == 0) return fail("shrank while being read");
    got += static_cast<size_t>(n);
  }
  return secret;
}

AuthSecret::~AuthSecret() {
  // explicit_bzero cannot be optimised away like a memset before free.
  if (!bytes_.empty()) explicit_bzero(bytes_.data(), bytes_.size());
}

}  // namespace echelon::remote
