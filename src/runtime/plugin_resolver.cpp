#include "runtime/plugin_resolver.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "echelon/plugin.h"
#include "fmt/format.h"

namespace echelon {
namespace {

std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

// The SHA-256 of a plugin file, remembered per file identity (device, inode, size, mtime): a
// registration is one control round trip, and hashing a debug-info build of a plugin on every
// PREPARE would cost more than the round trip. dlopen keeps an already loaded library by its file
// as well, so a cached digest still describes the code that runs.
Digest file_digest(const std::string& path) {
  struct Identity {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    bool operator<(const Identity& o) const {
      return std::tie(dev, ino, size, mtime_ns) < std::tie(o.dev, o.ino, o.size, o.mtime_ns);
    }
  };
  static std::mutex mu;
  static std::map<Identity, Digest> cache;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw CallableError(fmt::format("REJECTED: cannot open {} to hash it", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw CallableError(fmt::format("REJECTED: cannot stat {} to hash it", path));
  }
  const Identity id{st.st_dev, st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(id); it != cache.end()) {
      ::close(fd);
      return it->second;
    }
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  if (got != bytes.size()) throw CallableError(fmt::format("REJECTED: reading {} to hash it came up short", path));
  const Digest digest = sha256(bytes);
  std::lock_guard lock(mu);
  cache.emplace(id, digest);
  return digest;
}

}  // namespace

ResolvedPlugin resolve_plugin(const NativeImportTarget& target, const std::vector<std::string>& dirs,
                              std::optional<EntryKind> required) {
  const std::string what = fmt::format("plugin '{}:{}' (searched {})", target.library, target.symbol,
                                       dirs.empty() ? std::string("no plugin directories")
                                                    : fmt::format("{}", fmt::join(dirs, ", ")));
  auto rejected = [&](const std::string& why) { return PluginError(PluginError::Status::REJECTED, "REJECTED: " + what + ": " + why); };
  const std::string file = "lib" + target.library + ".so";
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + file;
    struct stat st {};
    if (lstat(candidate.c_str(), &st) != 0) continue;  // not here: the next directory may have it
    // The first directory holding the name decides; it is never a fall-through past a refusal.
    const std::string real = canonical(candidate), root = canonical(dir);
    if (real.empty() || root.empty()) throw rejected(fmt::format("{} cannot be resolved", candidate));
    if (real.compare(0, root.size() + 1, root + "/") != 0)
      throw rejected(fmt::format("{} resolves to {}, outside {}", candidate, real, root));
    struct stat target_st {};
    if (stat(real.c_str(), &target_st) != 0 || !S_ISREG(target_st.st_mode))
      throw rejected(fmt::format("{} is not a regular file", real));
    return load_plugin_file(real, target, required, what);
  }
  throw PluginError(PluginError::Status::NOT_FOUND, fmt::format("NOT_FOUND: {}: no {} in any of them", what, file));
}

ResolvedPlugin load_plugin_file(const std::string& path, const NativeImportTarget& target,
                                std::optional<EntryKind> required, const std::string& what) {
  auto rejected = [&](const std::string& why) { return PluginError(PluginError::Status::REJECTED, "REJECTED: " + what + ": " + why); };
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw rejected(fmt::format("dlopen failed: {}", dlerror()));
  std::shared_ptr<void> lib(handle, [](void* h) { dlclose(h); });
  const auto* abi = static_cast<const uint32_t*>(dlsym(handle, "echelon_plugin_abi_version"));
  if (!abi) throw rejected("it does not export echelon_plugin_abi_version (missing ECHELON_PLUGIN())");
  if (*abi != ECHELON_PLUGIN_ABI_VERSION)
    throw rejected(fmt::format("plugin ABI version {} != host version {}", *abi, ECHELON_PLUGIN_ABI_VERSION));
  void* entry = dlsym(handle, target.symbol.c_str());
  if (!entry)
    throw PluginError(PluginError::Status::NOT_FOUND, fmt::format("NOT_FOUND: {}: {} has no symbol '{}'", what, path, target.symbol));
  const auto* kind = static_cast<const uint32_t*>(dlsym(handle, (target.symbol + "__echelon_entry_kind").c_str()));
  if (!kind) throw rejected(fmt::format("'{}' has no entry-kind companion (export it with ECHELON_ORCH_ENTRY or ECHELON_SUB_ENTRY)", target.symbol));
  if (*kind != ECHELON_ENTRY_KIND_ORCH && *kind != ECHELON_ENTRY_KIND_SUB)
    throw rejected(fmt::format("'{}' declares unknown entry kind {}", target.symbol, *kind));
  const EntryKind k = *kind == ECHELON_ENTRY_KIND_ORCH ? EntryKind::ORCHESTRATION : EntryKind::SUB;
  if (required && *required != k)
    throw rejected(fmt::format("'{}' is a {} entry; this registry needs a {} entry", target.symbol, to_string(k),
                               to_string(*required)));
  return ResolvedPlugin{path, file_digest(path), k, std::move(lib), entry};
}

LocalEntry make_plugin_entry(const Digest& digest, const std::string& name, const ResolvedPlugin& plugin) {
  LocalEntry e;
  e.digest = digest;
  e.name = name;
  e.entry_kind = plugin.entry_kind;
  auto check = [name](int32_t rc, const char* text) {
    if (rc != 0) throw Error(text[0] ? std::string(text) : fmt::format("{}: entry returned {}", name, rc));
  };
  if (plugin.entry_kind == EntryKind::ORCHESTRATION) {
    auto* fn = reinterpret_cast<echelon_orch_entry_t*>(plugin.entry);
    e.orch = [fn, lib = plugin.library, check](Orchestrator& o, const TaskArgs& a, const CallConfig& c) {
      char text[4096] = {};
      echelon_error_buf err{text, sizeof text, 0};
      check(fn(&o, &a, &c, &err), text);
    };
  } else {
    auto* fn = reinterpret_cast<echelon_sub_entry_t*>(plugin.entry);
    e.sub = [fn, lib = plugin.library, check](const SubCall& call) {
      char text[4096] = {};
      echelon_error_buf err{text, sizeof text, 0};
      check(fn(&call, &err), text);
    };
  }
  return e;
}

}  // namespace echelon
