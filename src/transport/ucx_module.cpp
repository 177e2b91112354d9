#include "transport/ucx_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

namespace echelon::transport {
namespace {

constexpr const char* kModuleFile = "libechelon_ucx.so";

std::string exe_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::mutex g_mutex;
ucx::Module* g_module = nullptr;  // never unloaded: module objects may live until exit

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw TransportError(
      TransportErrc::CONNECT_FAILED,
      fmt::format("the ucx transport profile cannot load its module {}: {} (the ucx profile needs "
                  "libucp.so.0 from the Debian package libucx0, and echelon built with "
                  "ECHELON_WITH_UCX=ON)",
                  path, why));
}

}  // namespace

std::string ucx_module_path() {
  if (const char* env = std::getenv("ECHELON_UCX_MODULE"); env != nullptr && *env != '\0') return env;
  const std::string dir = exe_dir();
  const std::string in_lib = dir + "/../lib/" + kModuleFile;
  if (::access(in_lib.c_str(), F_OK) == 0) return in_lib;
  return dir + "/" + kModuleFile;
}

ucx::Module& load_ucx_module() { return load_ucx_module_from(ucx_module_path()); }

ucx::Module& load_ucx_module_from(const std::string& path) {
  std::lock_guard lock(g_mutex);
  if (g_module != nullptr) return *g_module;
  // RTLD_LOCAL keeps libucp's symbols out of the global namespace; RTLD_NOW reports a missing
  // libucp.so.0 here, with the module, instead of at the first UCX call.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    fail(path, err != nullptr ? err : "dlopen failed");
  }
  using Factory = ucx::Module* (*)();
  auto factory = reinterpret_cast<Factory>(::dlsym(handle, ucx::kModuleFactorySymbol));
  if (factory == nullptr) {
    ::dlclose(handle);
    fail(path, fmt::format("it has no symbol {}", ucx::kModuleFactorySymbol));
  }
  ucx::Module* module = factory();
  if (module == nullptr || module->abi_version() != ucx::kModuleAbiVersion) {
    const uint32_t got = module != nullptr ? module->abi_version() : 0;
    ::dlclose(handle);
    fail(path, fmt::format("module interface version {} but echelon expects {} (rebuild both together)",
                           got, ucx::kModuleAbiVersion));
  }
  g_module = module;
  return *module;
}

}  // namespace echelon::transport
