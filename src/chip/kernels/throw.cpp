// Test kernel written in C++ whose body throws: the ECHELON_CHIP_KERNEL forwarder must turn the
// exception into an error return instead of unwinding into the chip runtime.
#include <stdexcept>

#include "echelon/chip_kernel.h"

namespace {

int32_t throw_always(const echelon_chip_tensor_t*, uint32_t, const uint64_t*, uint32_t, const echelon_chip_config_t*,
                     char*, uint32_t) {
  throw std::runtime_error("throw kernel: deliberate exception");
}

}  // namespace

ECHELON_CHIP_KERNEL(throw_always, ECHELON_ARG_SCALAR)
