// A private scratch directory for kernel files: created with mkdtemp (mode 0700) under
// ${TMPDIR:-/tmp}, removed with everything in it on destruction.
#pragma once

#include <sys/types.h>

#include <string>

namespace echelon::chip {

inline constexpr const char* DEFAULT_PRIVATE_DIR_PREFIX = "echelon-chip-";

class PrivateDir {
 public:
  // `prefix` is the directory name before the random mkdtemp suffix, e.g. "echelon-chip-" or a
  // session-specific "echelon-s<16 hex>-". Throws ChipError naming the path on failure.
  explicit PrivateDir(const std::string& prefix = DEFAULT_PRIVATE_DIR_PREFIX);
  PrivateDir(PrivateDir&& other) noexcept;
  PrivateDir& operator=(PrivateDir&& other) noexcept;
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  // Only the creating process removes the directory: a forked child that inherits this object
  // and later destroys it must not pull the files out from under its parent.
  ~PrivateDir();

  const std::string& path() const { return path_; }

 private:
  void remove() noexcept;
  std::string path_;
  pid_t owner_pid_ = 0;
};

}  // namespace echelon::chip
