/* Test kernel claiming a future ABI version; the loader must refuse it before reading anything
 * else. Written out by hand because ECHELON_CHIP_KERNEL always exports the current version. */
#include "echelon/chip_kernel.h"

__attribute__((visibility("default"))) const uint32_t echelon_chip_abi_version = ECHELON_CHIP_ABI_VERSION + 1;
__attribute__((visibility("default"))) const echelon_chip_signature_t echelon_chip_signature = {0u, {0u}};

__attribute__((visibility("default"))) int32_t echelon_chip_entry(const echelon_chip_tensor_t* t, uint32_t nt,
                                                                  const uint64_t* s, uint32_t ns,
                                                                  const echelon_chip_config_t* config,
                                                                  char* error, uint32_t capacity) {
  (void)t, (void)nt, (void)s, (void)ns, (void)config, (void)error, (void)capacity;
  return 0;
}
