/* Shared helpers for the bundled simulated-chip kernels: argument checks that produce readable
 * error text, and a 2-D strided view so 1-D and 2-D tensors are walked the same way. */
#ifndef ECHELON_KERNEL_SUPPORT_H
#define ECHELON_KERNEL_SUPPORT_H

#include <stdarg.h>
#include <stdio.h>

#include "echelon/chip_kernel.h"

#define EK_DTYPE_FLOAT32 0u
#define EK_ERR_BAD_ARGUMENT 1
#define EK_ERR_SHAPE_MISMATCH 2

/* Formats the error text and returns `code`, so a check reads `return ek_fail(...)`. */
static inline int32_t ek_fail(char* error, uint32_t capacity, int32_t code, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int32_t ek_fail(char* error, uint32_t capacity, int32_t code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (capacity > 0) vsnprintf(error, capacity, fmt, ap);
  va_end(ap);
  return code;
}

/* A float32 matrix view; a 1-D tensor of n elements is the 1 x n row. Strides are in elements. */
typedef struct {
  float* base;
  uint32_t rows, cols;
  uint64_t row_stride, col_stride;
} ek_matrix;

static inline float* ek_at(const ek_matrix* m, uint32_t r, uint32_t c) {
  return m->base + (uint64_t)r * m->row_stride + (uint64_t)c * m->col_stride;
}

/* Fills `out` from a FLOAT32 tensor of 1 or 2 dims; returns 0 or writes why not and returns a code. */
static inline int32_t ek_matrix_of(const echelon_chip_tensor_t* t, const char* kernel, const char* name,
                                   ek_matrix* out, char* error, uint32_t capacity) {
  const ek_matrix empty = {NULL, 0, 0, 0, 0};
  *out = empty;
  if (t->dtype != EK_DTYPE_FLOAT32)
    return ek_fail(error, capacity, EK_ERR_BAD_ARGUMENT, "%s: %s has dtype %u, expected FLOAT32 (0)",
                   kernel, name, t->dtype);
  if (t->data == NULL)
    return ek_fail(error, capacity, EK_ERR_BAD_ARGUMENT, "%s: %s has no data address", kernel, name);
  out->base = (float*)t->data;
  if (t->ndims == 1) {
    out->rows = 1;
    out->cols = t->shapes[0];
    out->row_stride = 0;
    out->col_stride = t->strides[0];
  } else if (t->ndims == 2) {
    out->rows = t->shapes[0];
    out->cols = t->shapes[1];
    out->row_stride = t->strides[0];
    out->col_stride = t->strides[1];
  } else {
    return ek_fail(error, capacity, EK_ERR_BAD_ARGUMENT, "%s: %s has %u dims, only 1-D and 2-D views are supported",
                   kernel, name, t->ndims);
  }
  return 0;
}

static inline int ek_same_shape(const ek_matrix* a, const ek_matrix* b) {
  return a->rows == b->rows && a->cols == b->cols;
}

#endif /* ECHELON_KERNEL_SUPPORT_H */
