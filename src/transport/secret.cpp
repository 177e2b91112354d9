#include "transport/secret.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "fmt/format.h"
#include "transport/auth.h"
#include "transport/fd.h"

namespace echelon::transport {

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() noexcept {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "<redacted>"; }

Secret load_secret_file(const std::filesystem::path& path) {
  const std::string where = "auth secret file '" + path.string() + "'";
  // O_NONBLOCK: opening a FIFO planted at this path must not hang; the S_ISREG check refuses it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) throw AuthError(where + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0) throw AuthError(where + ": fstat failed: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw AuthError(where + ": not a regular file");
  if (st.st_uid != ::geteuid())
    throw AuthError(fmt::format("{}: owned by uid {}, not by the effective user (uid {})", where, st.st_uid, ::geteuid()));
  if ((st.st_mode & 077) != 0)
    throw AuthError(fmt::format("{}: mode {:04o} gives access to group or others; it must be 0600 or stricter "
                                "(chmod 600)",
                                where, st.st_mode & 07777));
  if (st.st_size < static_cast<off_t>(MIN_SECRET_BYTES) || st.st_size > static_cast<off_t>(MAX_SECRET_BYTES))
    throw AuthError(fmt::format("{}: {} bytes; a secret must be {} to {} bytes", where, st.st_size, MIN_SECRET_BYTES,
                                MAX_SECRET_BYTES));

  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size) + 1);  // +1 notices a file that grew
  size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + have, bytes.size() - have);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(bytes.data(), bytes.size());
      throw AuthError(where + ": read failed: " + std::strerror(errno));
    }
    have += static_cast<size_t>(n);
  }
  if (have != static_cast<size_t>(st.st_size)) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    throw AuthError(where + ": changed size while being read");
  }
  bytes.resize(have);
  return Secret(std::move(bytes));
}

}  // namespace echelon::transport
