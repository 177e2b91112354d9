// Where the bundled kernels were built; for tests, benchmarks and examples (link echelon_kernels).
#pragma once

#include <string>
#include <string_view>

#ifndef ECHELON_KERNEL_DIR
#error "ECHELON_KERNEL_DIR is undefined: link the echelon_kernels CMake target"
#endif

namespace echelon::kernels {

// Path of the shared object of bundled kernel `name` ("vadd", "scale", "gemm", or the test kernels
// "fail", "badabi", "throw").
inline std::string kernel_file(std::string_view name) {
  return std::string(ECHELON_KERNEL_DIR) + "/libechelon_kernel_" + std::string(name) + ".so";
}

}  // namespace echelon::kernels
