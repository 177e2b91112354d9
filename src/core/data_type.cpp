#include "echelon/data_type.h"

namespace echelon {

std::string_view to_string(DataType t) {
  constexpr std::string_view names[DATA_TYPE_NUM] = {
      "FLOAT32", "FLOAT16", "INT32",  "INT16", "INT8",      "UINT8",   "BFLOAT16", "INT64",
      "UINT64",  "UINT16",  "UINT32", "BOOL",  "FP8E4M3FN", "FP8E8M0", "FP4E2M1"};
  return is_valid(t) ? names[static_cast<uint32_t>(t)] : std::string_view("INVALID");
}

}  // namespace echelon
