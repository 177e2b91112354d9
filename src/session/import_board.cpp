#include "session/import_board.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "echelon/native_callable.h"

namespace echelon::session {

namespace {

// Runs in a SUB child: the announcement names the file the runner resolved; the child opens the
// same one and publishes the entry in its own callable table.
const LocalEntry* load_announced(const std::string& path, const Digest& digest) {
  std::ifstream in(path);
  if (!in) return nullptr;  // never announced: an ordinary NOT_FOUND for the caller
  std::string target_text, file, sha_hex;
  if (!std::getline(in, target_text) || !std::getline(in, file) || !std::getline(in, sha_hex))
    throw Error(fmt::format("announcement {} is truncated", path));
  const NativeImportTarget target = NativeImportTarget::parse(target_text);
  if (sha256(native_import_descriptor(target)) != digest)
    throw Error(fmt::format("announcement {} names '{}', which is not {}", path, target_text, to_hashid(digest)));
  const std::string what = fmt::format("plugin '{}' at {} (announced by the runner)", target_text, file);
  const ResolvedPlugin plugin = load_plugin_file(file, target, EntryKind::SUB, what);
  if (to_hex(plugin.file_sha256) != sha_hex)
    throw Error(fmt::format("{} changed since the runner resolved it: SHA-256 {} here, {} there", file,
                            to_hex(plugin.file_sha256), sha_hex));
  return &NativeCallable::imported(make_plugin_entry(digest, target_text, plugin)).entry();
}

}  // namespace

Announcement& Announcement::operator=(Announcement&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

Announcement::~Announcement() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::string ImportBoard::path_of(const Digest& digest) const { return dir_ + "/" + to_hex(digest) + ".import"; }

void ImportBoard::install_loader() const {
  set_local_entry_loader([board = *this](const Digest& d) { return load_announced(board.path_of(d), d); });
}

Announcement ImportBoard::announce(const Digest& digest, const std::string& target_text,
                                   const ResolvedPlugin& plugin) const {
  const std::string path = path_of(digest), tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << target_text << '\n' << plugin.path << '\n' << to_hex(plugin.file_sha256) << '\n';
    out.close();
    if (!out) throw Error(fmt::format("writing the import announcement {} failed", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("publishing the import announcement {} failed: {}", path, std::strerror(err)));
  }
  return Announcement(path);
}

}  // namespace echelon::session
