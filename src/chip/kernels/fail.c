/* Test kernel that always fails. The scalar picks how, so each error-text path can be exercised:
 *   0: return 7 with a message;
 *   1: return 42 with an empty error buffer;
 *   2: return 3 after filling the whole buffer, unterminated, with one ASCII byte and then 3-byte
 *      UTF-8 characters, so the last whole character ends two bytes before the buffer does. */
#include "kernel_support.h"

static int32_t fail(const echelon_chip_tensor_t* t, uint32_t tensor_count, const uint64_t* scalars,
                    uint32_t scalar_count, const echelon_chip_config_t* config, char* error,
                    uint32_t capacity) {
  (void)t, (void)tensor_count, (void)scalar_count, (void)config;
  switch (scalars[0]) {
    case 0:
      return ek_fail(error, capacity, 7, "fail kernel: deliberate failure");
    case 1:
      return 42;
    default: {
      static const char euro[3] = {(char)0xE2, (char)0x82, (char)0xAC};
      if (capacity == 0) return 3;
      error[0] = 'x';
      for (uint32_t i = 1; i < capacity; ++i) error[i] = euro[(i - 1) % 3];
      return 3;
    }
  }
}

ECHELON_CHIP_KERNEL(fail, ECHELON_ARG_SCALAR)
