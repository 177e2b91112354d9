// Element types of tensors. Values are part of the wire format (protocol.md 6.3) and never change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace echelon {

enum class DataType : uint8_t {
  FLOAT32 = 0,
  FLOAT16 = 1,
  INT32 = 2,
  INT16 = 3,
  INT8 = 4,
  UINT8 = 5,
  BFLOAT16 = 6,
  INT64 = 7,
  UINT64 = 8,
  UINT16 = 9,
  UINT32 = 10,
  BOOL = 11,
  FP8E4M3FN = 12,
  FP8E8M0 = 13,
  FP4E2M1 = 14,  // two values packed per byte; addressed as one-byte elements
};

inline constexpr uint32_t DATA_TYPE_NUM = 15;

constexpr bool is_valid(DataType t) { return static_cast<uint32_t>(t) < DATA_TYPE_NUM; }

// Bytes per addressable element; 0 for an invalid value.
constexpr size_t element_size(DataType t) {
  constexpr uint8_t sizes[DATA_TYPE_NUM] = {4, 2, 4, 2, 1, 1, 2, 8, 8, 2, 4, 1, 1, 1, 1};
  return is_valid(t) ? sizes[static_cast<uint32_t>(t)] : 0;
}

std::string_view to_string(DataType t);

}  // namespace echelon
