// How a runner's SUB children learn which plugin file a post-init NATIVE_IMPORT names
// (callables.md 2.6, last paragraph). The children were forked before the registration arrived,
// and the inner Worker's "register" control carries only the digest, so the runner leaves one
// announcement per digest in the session's private directory: the `library:symbol` text, the
// canonical path it resolved and that file's SHA-256. The loader installed before fork reads it
// when a child misses the digest, opens that same file itself, and refuses it when its SHA-256
// changed since the runner resolved it.
#pragma once
#include <string>
#include <utility>
#include "echelon/callable.h"
#include "runtime/plugin_resolver.h"

namespace echelon::session {

// One announcement file; removed when the owner is destroyed (unregister, session end).
class Announcement {
 public:
  Announcement() = default;
  explicit Announcement(std::string path) : path_(std::move(path)) {}
  Announcement(Announcement&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  Announcement& operator=(Announcement&& other) noexcept;
  Announcement(const Announcement&) = delete;
  Announcement& operator=(const Announcement&) = delete;
  ~Announcement();

 private:
  std::string path_;
};

class ImportBoard {
 public:
  // `dir`: the session's private directory (mode 0700), created before the inner worker forks.
  explicit ImportBoard(std::string dir) : dir_(std::move(dir)) {}

  // Makes this process (and every child forked afterwards) load announced sub entries on a miss
  // (set_local_entry_loader). Call while the process is single-threaded, before the inner init().
  void install_loader() const;

  // Writes the announcement for `digest` atomically (temporary file, then rename). Throws naming
  // the path on failure.
  Announcement announce(const Digest& digest, const std::string& target_text, const ResolvedPlugin& plugin) const;

 private:
  std::string path_of(const Digest& digest) const;
  std::string dir_;
};

}  // namespace echelon::session
