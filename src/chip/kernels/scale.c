/* x = alpha * x in place over a float32 1-D or 2-D view; alpha travels as the float's bit pattern
 * in the low 32 bits of the scalar. */
#include <string.h>

#include "kernel_support.h"

static int32_t scale(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                     uint32_t scalar_count, const echelon_chip_config_t* config, char* error,
                     uint32_t capacity) {
  (void)tensor_count, (void)scalar_count, (void)config;
  ek_matrix x;
  int32_t rc;
  if ((rc = ek_matrix_of(&t[0], "scale", "x", &x, error, capacity))) return rc;
  const uint32_t bits = (uint32_t)scalars[0];
  float alpha;
  memcpy(&alpha, &bits, sizeof alpha);
  for (uint32_t r = 0; r < x.rows; ++r)
    for (uint32_t c = 0; c < x.cols; ++c) *ek_at(&x, r, c) *= alpha;
  return 0;
}

ECHELON_CHIP_KERNEL(scale, ECHELON_ARG_INOUT, ECHELON_ARG_SCALAR)
