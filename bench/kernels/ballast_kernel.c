/* A chip kernel whose shared object carries 1 MiB of read-only data, so registering it measures
 * moving and checking a 1 MiB blob (callables suite, register_chip_blob_ms_p50). */
#include <stdint.h>

#include "echelon/chip_kernel.h"

__attribute__((used)) static const uint8_t ballast[1u << 20] = {1};

static int32_t ballast_kernel(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                              uint32_t scalar_count, const echelon_chip_config_t* config, char* error,
                              uint32_t capacity) {
  (void)t, (void)tensor_count, (void)scalars, (void)scalar_count, (void)config, (void)error, (void)capacity;
  return ballast[0] == 1 ? 0 : 1;
}

ECHELON_CHIP_KERNEL(ballast_kernel, ECHELON_ARG_SCALAR)
