/* c = a + b, element-wise over float32 1-D or 2-D views of the same shape (strides honoured). */
#include "kernel_support.h"

static int32_t vadd(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                    uint32_t scalar_count, const echelon_chip_config_t* config, char* error,
                    uint32_t capacity) {
  (void)tensor_count, (void)scalars, (void)scalar_count, (void)config;
  ek_matrix a, b, c;
  int32_t rc;
  if ((rc = ek_matrix_of(&t[0], "vadd", "a", &a, error, capacity))) return rc;
  if ((rc = ek_matrix_of(&t[1], "vadd", "b", &b, error, capacity))) return rc;
  if ((rc = ek_matrix_of(&t[2], "vadd", "c", &c, error, capacity))) return rc;
  if (!ek_same_shape(&a, &b) || !ek_same_shape(&a, &c))
    return ek_fail(error, capacity, EK_ERR_SHAPE_MISMATCH, "vadd: shapes differ: a %ux%u, b %ux%u, c %ux%u",
                   a.rows, a.cols, b.rows, b.cols, c.rows, c.cols);
  for (uint32_t r = 0; r < a.rows; ++r)
    for (uint32_t col = 0; col < a.cols; ++col) *ek_at(&c, r, col) = *ek_at(&a, r, col) + *ek_at(&b, r, col);
  return 0;
}

ECHELON_CHIP_KERNEL(vadd, ECHELON_ARG_IN, ECHELON_ARG_IN, ECHELON_ARG_OUT)
