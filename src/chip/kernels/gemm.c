/* C[MxN] = A[MxK] . B[KxN], float32 2-D views (row and column strides honoured). Shapes come from
 * the tensors; a mismatch is an error return naming both shapes. */
#include "kernel_support.h"

static int32_t gemm(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                    uint32_t scalar_count, const echelon_chip_config_t* config, char* error,
                    uint32_t capacity) {
  (void)tensor_count, (void)scalars, (void)scalar_count, (void)config;
  static const char* const names[3] = {"A", "B", "C"};
  ek_matrix m[3];
  for (int i = 0; i < 3; ++i) {
    int32_t rc = ek_matrix_of(&t[i], "gemm", names[i], &m[i], error, capacity);
    if (rc) return rc;
    if (t[i].ndims != 2)
      return ek_fail(error, capacity, EK_ERR_BAD_ARGUMENT, "gemm: %s must be 2-D, has %u dims", names[i], t[i].ndims);
  }
  const ek_matrix *a = &m[0], *b = &m[1], *c = &m[2];
  if (a->cols != b->rows)
    return ek_fail(error, capacity, EK_ERR_SHAPE_MISMATCH, "gemm: A is %ux%u but B is %ux%u (inner dimensions differ)",
                   a->rows, a->cols, b->rows, b->cols);
  if (c->rows != a->rows || c->cols != b->cols)
    return ek_fail(error, capacity, EK_ERR_SHAPE_MISMATCH, "gemm: C is %ux%u, expected %ux%u for A %ux%u and B %ux%u",
                   c->rows, c->cols, a->rows, b->cols, a->rows, a->cols, b->rows, b->cols);
  for (uint32_t i = 0; i < a->rows; ++i)
    for (uint32_t j = 0; j < b->cols; ++j) {
      float acc = 0.0f;
      for (uint32_t k = 0; k < a->cols; ++k) acc += *ek_at(a, i, k) * *ek_at(b, k, j);
      *ek_at(c, i, j) = acc;
    }
  return 0;
}

ECHELON_CHIP_KERNEL(gemm, ECHELON_ARG_IN, ECHELON_ARG_IN, ECHELON_ARG_OUT)
