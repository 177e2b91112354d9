/* Test chip kernel: x[i] += (uint8_t)scalar 0, in place, over a 1-D UINT8 view (strides honoured).
 * The session tests run it on the runner's inner chip over a remote buffer, so a pass proves the
 * forked chip mapped the allocation by name and wrote into it. */
#include <stdio.h>

#include "echelon/chip_kernel.h"

#define DTYPE_UINT8 5u

static int32_t inc_u8(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                      uint32_t scalar_count, const echelon_chip_config_t* config, char* error, uint32_t capacity) {
  (void)tensor_count, (void)scalar_count, (void)config;
  if (t[0].dtype != DTYPE_UINT8 || t[0].ndims != 1 || t[0].data == NULL) {
    snprintf(error, capacity, "inc_u8: x must be a bound 1-D UINT8 view (dtype %u, ndims %u)", t[0].dtype, t[0].ndims);
    return 1;
  }
  uint8_t* x = (uint8_t*)t[0].data;
  for (uint32_t i = 0; i < t[0].shapes[0]; ++i) x[(uint64_t)i * t[0].strides[0]] += (uint8_t)scalars[0];
  return 0;
}

ECHELON_CHIP_KERNEL(inc_u8, ECHELON_ARG_INOUT, ECHELON_ARG_SCALAR)
