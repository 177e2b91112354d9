// The C ABI must line up with the C++ task model it is filled from.
#include <gtest/gtest.h>

#include <cstddef>

#include "echelon/callable.h"
#include "echelon/chip_kernel.h"
#include "echelon/tensor.h"

namespace {

using echelon::ArgDirection;

TEST(ChipAbi, DirectionsMatchArgDirection) {
  EXPECT_EQ(ECHELON_ARG_SCALAR, static_cast<uint32_t>(ArgDirection::SCALAR));
  EXPECT_EQ(ECHELON_ARG_IN, static_cast<uint32_t>(ArgDirection::IN));
  EXPECT_EQ(ECHELON_ARG_OUT, static_cast<uint32_t>(ArgDirection::OUT));
  EXPECT_EQ(ECHELON_ARG_INOUT, static_cast<uint32_t>(ArgDirection::INOUT));
}

TEST(ChipAbi, LayoutIsStable) {
  static_assert(ECHELON_CHIP_ABI_VERSION == 1);
  static_assert(ECHELON_CHIP_MAX_ARGS == 384);
  static_assert(ECHELON_CHIP_MAX_DIMS == echelon::MAX_TENSOR_DIMS);
  static_assert(sizeof(echelon_chip_signature_t) == 4 * (1 + 384));
  static_assert(offsetof(echelon_chip_tensor_t, extent) == 8);
  static_assert(offsetof(echelon_chip_tensor_t, shapes) == 24);
  static_assert(offsetof(echelon_chip_tensor_t, strides) == 44);
  static_assert(sizeof(echelon_chip_tensor_t) == 64);
  static_assert(offsetof(echelon_chip_config_t, output_prefix) == 24);
  SUCCEED();
}

}  // namespace
