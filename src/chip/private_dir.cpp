#include "chip/private_dir.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "echelon/chip_callable.h"

namespace echelon::chip {

namespace {
std::string temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp && *tmp) ? tmp : "/tmp";
}
}  // namespace

PrivateDir::PrivateDir(const std::string& prefix) {
  if (prefix.empty() || prefix.find('/') != std::string::npos)
    throw ChipError(fmt::format("private directory prefix '{}' must be a non-empty name without '/'", prefix));
  std::string templ = temp_root() + "/" + prefix + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  // mkdtemp creates the directory with mode 0700.
  if (::mkdtemp(buf.data()) == nullptr)
    throw ChipError(fmt::format("cannot create private directory {}: {}", templ, std::strerror(errno)));
  path_ = buf.data();
  owner_pid_ = ::getpid();
}

PrivateDir::PrivateDir(PrivateDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), owner_pid_(std::exchange(other.owner_pid_, 0)) {}

PrivateDir& PrivateDir::operator=(PrivateDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    owner_pid_ = std::exchange(other.owner_pid_, 0);
  }
  return *this;
}

PrivateDir::~PrivateDir() { remove(); }

void PrivateDir::remove() noexcept {
  if (!path_.empty() && owner_pid_ == ::getpid()) {
    std::error_code ec;  // best effort: a destructor has nobody to report to
    std::filesystem::remove_all(path_, ec);
  }
  path_.clear();
}

}  // namespace echelon::chip
