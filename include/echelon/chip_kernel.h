/* The simulated-chip kernel ABI (callables.md 9.2). Plain C so kernels can be written in C or C++;
 * a kernel shared object includes this header and exports its entry with ECHELON_CHIP_KERNEL. */
#ifndef ECHELON_CHIP_KERNEL_H
#define ECHELON_CHIP_KERNEL_H

#include <stdint.h>

#ifdef __cplusplus
#include <exception>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ECHELON_CHIP_ABI_VERSION 1u
/* 256 tensors plus 128 scalars: everything a TaskArgs can hold (runtime.md RT-205). */
#define ECHELON_CHIP_MAX_ARGS 384
#define ECHELON_CHIP_MAX_DIMS 5
/* Capacity of the error buffer handed to every entry call. */
#define ECHELON_CHIP_ERROR_CAPACITY 4096u

/* ArgDirection values (callables.md 2.2). */
#define ECHELON_ARG_SCALAR 0u
#define ECHELON_ARG_IN 1u
#define ECHELON_ARG_OUT 2u
#define ECHELON_ARG_INOUT 3u

typedef struct {
  uint32_t count;                               /* 0..ECHELON_CHIP_MAX_ARGS */
  uint32_t directions[ECHELON_CHIP_MAX_ARGS];   /* ArgDirection; entries past count are 0 */
} echelon_chip_signature_t;

typedef struct {
  void* data;                                   /* first byte of the view in the chip process */
  uint64_t extent;                              /* the view's extent in bytes */
  uint32_t ndims;                               /* 1..5 */
  uint32_t dtype;                               /* DataType value (FLOAT32 = 0, ...) */
  uint32_t shapes[ECHELON_CHIP_MAX_DIMS];       /* slots past ndims are 0 */
  uint32_t strides[ECHELON_CHIP_MAX_DIMS];      /* in elements; slots past ndims are 0 */
} echelon_chip_tensor_t;

typedef struct {
  int32_t aicpu_thread_num, enable_chip_swimlane, enable_dump_args,
          enable_pmu, enable_dep_gen, enable_scope_stats;  /* CallConfig, verbatim */
  const char* output_prefix;                               /* NUL-terminated, may be empty */
} echelon_chip_config_t;

/* Returns 0 on success. On failure returns non-zero and may write NUL-terminated UTF-8 into
 * `error` (at most error_capacity bytes including the NUL). Must not throw or unwind. */
typedef int32_t echelon_chip_entry_t(const echelon_chip_tensor_t* tensors, uint32_t tensor_count,
                                     const uint64_t* scalars, uint32_t scalar_count,
                                     const echelon_chip_config_t* config,
                                     char* error, uint32_t error_capacity);

#ifdef __cplusplus
}
#endif

/* ---- Export macros --------------------------------------------------------------------------
 *
 *   static int32_t vadd(const echelon_chip_tensor_t* t, uint32_t nt, const uint64_t* s,
 *                       uint32_t ns, const echelon_chip_config_t* cfg, char* err, uint32_t cap);
 *   ECHELON_CHIP_KERNEL(vadd, ECHELON_ARG_IN, ECHELON_ARG_IN, ECHELON_ARG_OUT)
 *
 * exports echelon_chip_abi_version, echelon_chip_signature (the listed directions, in order)
 * and echelon_chip_entry (forwarding to `entry_fn`) with C linkage and default visibility, so the
 * kernel may be built with -fvisibility=hidden. In C++ the forwarder also turns an escaping
 * exception into an error return, because unwinding across the entry is undefined. */

#define ECHELON_CHIP_EXPORT_ __attribute__((visibility("default"), used))

#ifdef __cplusplus
#define ECHELON_CHIP_LINKAGE_ extern "C"
#define ECHELON_CHIP_FORWARD_(entry_fn)                                                         \
  try {                                                                                         \
    return entry_fn(tensors, tensor_count, scalars, scalar_count, config, error,                \
                    error_capacity);                                                            \
  } catch (const std::exception& e) {                                                           \
    return echelon_chip_report_exception_(e.what(), error, error_capacity);                     \
  } catch (...) {                                                                               \
    return echelon_chip_report_exception_("unknown exception", error, error_capacity);          \
  }
/* Copies "kernel threw: <what>" into the error buffer; returns the failure code. */
static inline int32_t echelon_chip_report_exception_(const char* what, char* error,
                                                     uint32_t capacity) {
  static const char prefix[] = "kernel threw: ";
  uint32_t n = 0;
  for (const char* p = prefix; *p && n + 1 < capacity; ++p) error[n++] = *p;
  for (const char* p = what; *p && n + 1 < capacity; ++p) error[n++] = *p;
  if (capacity > 0) error[n] = '\0';
  return -1;
}
#else
#define ECHELON_CHIP_LINKAGE_
#define ECHELON_CHIP_FORWARD_(entry_fn)                                                         \
  return entry_fn(tensors, tensor_count, scalars, scalar_count, config, error, error_capacity);
#endif

#define ECHELON_CHIP_ENTRY_(entry_fn)                                                           \
  ECHELON_CHIP_LINKAGE_ ECHELON_CHIP_EXPORT_ const uint32_t echelon_chip_abi_version =           \
      ECHELON_CHIP_ABI_VERSION;                                                                 \
  ECHELON_CHIP_LINKAGE_ ECHELON_CHIP_EXPORT_ int32_t echelon_chip_entry(                        \
      const echelon_chip_tensor_t* tensors, uint32_t tensor_count, const uint64_t* scalars,     \
      uint32_t scalar_count, const echelon_chip_config_t* config, char* error,                  \
      uint32_t error_capacity) {                                                                \
    ECHELON_CHIP_FORWARD_(entry_fn)                                                             \
  }

/* The direction list is spelled twice: once into a sizing array (so the count is a constant
 * expression in both C and C++) and once into the exported table. */
#define ECHELON_CHIP_KERNEL(entry_fn, ...)                                                      \
  static const uint32_t echelon_chip_directions_[] = {__VA_ARGS__};                             \
  ECHELON_CHIP_LINKAGE_ ECHELON_CHIP_EXPORT_ const echelon_chip_signature_t                     \
      echelon_chip_signature = {                                                                \
          (uint32_t)(sizeof(echelon_chip_directions_) / sizeof(echelon_chip_directions_[0])),   \
          {__VA_ARGS__}};                                                                       \
  ECHELON_CHIP_ENTRY_(entry_fn)

/* A kernel that takes no arguments at all (an empty initializer list is not valid C17). */
#define ECHELON_CHIP_KERNEL_NO_ARGS(entry_fn)                                                   \
  ECHELON_CHIP_LINKAGE_ ECHELON_CHIP_EXPORT_ const echelon_chip_signature_t                     \
      echelon_chip_signature = {0u, {0u}};                                                      \
  ECHELON_CHIP_ENTRY_(entry_fn)

#endif /* ECHELON_CHIP_KERNEL_H */
