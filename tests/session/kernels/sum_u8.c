/* Test chip kernel: out[0] = sum of the bytes of a 1-D UINT8 input, as one UINT64 element. The
 * session tests feed it a HOST_INLINE input and a REMOTE_DEVICE output. */
#include <stdio.h>
#include <string.h>

#include "echelon/chip_kernel.h"

#define DTYPE_UINT8 5u
#define DTYPE_UINT64 8u

static int32_t sum_u8(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                      uint32_t scalar_count, const echelon_chip_config_t* config, char* error, uint32_t capacity) {
  (void)tensor_count, (void)scalars, (void)scalar_count, (void)config;
  if (t[0].dtype != DTYPE_UINT8 || t[0].ndims != 1 || t[0].data == NULL) {
    snprintf(error, capacity, "sum_u8: in must be a bound 1-D UINT8 view");
    return 1;
  }
  if (t[1].dtype != DTYPE_UINT64 || t[1].data == NULL) {
    snprintf(error, capacity, "sum_u8: out must be a bound UINT64 view");
    return 1;
  }
  const uint8_t* in = (const uint8_t*)t[0].data;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < t[0].shapes[0]; ++i) sum += in[(uint64_t)i * t[0].strides[0]];
  memcpy(t[1].data, &sum, sizeof sum);
  return 0;
}

ECHELON_CHIP_KERNEL(sum_u8, ECHELON_ARG_IN, ECHELON_ARG_OUT)
