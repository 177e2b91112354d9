// Loads the UCX module (libechelon_ucx.so) on first use. echelon never links libucp: the module
// does, and it is dlopen()ed only when the ucx profile is used, so a host without UCX runs
// host_tcp normally and fails a ucx request with a message naming the missing library.
#pragma once

#include <string>

#include "transport/ucx/ucx_api.h"

namespace echelon::transport {

// Where the module is looked for: $ECHELON_UCX_MODULE if set, else libechelon_ucx.so in the
// running binary's ../lib directory, then in its own directory.
std::string ucx_module_path();

// The module at ucx_module_path(), loaded once per process (a failure is not cached, so a later
// call retries). Throws TransportError(CONNECT_FAILED) naming the module path, libucp.so.0 and
// its Debian package, with the dynamic loader's reason.
ucx::Module& load_ucx_module();

// As load_ucx_module(), from an explicit path (tests). The first successful load wins for the
// whole process; a later call with another path returns that module.
ucx::Module& load_ucx_module_from(const std::string& path);

}  // namespace echelon::transport
