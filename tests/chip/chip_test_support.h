// Shared fixtures for the chip tests: kernel blobs, host-memory tensors, directory listings.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "chip/kernels/kernel_files.h"
#include "echelon/buffer.h"
#include "echelon/tensor.h"

namespace echelon::chip::testing {

inline ::testing::AssertionResult text_contains(const char* text_expr, const char*, const std::string& text,
                                               const std::string& needle) {
  if (text.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text_expr << " is \"" << text << "\", which lacks \"" << needle << "\"";
}
#define EXPECT_CONTAINS(text, needle) EXPECT_PRED_FORMAT2(::echelon::chip::testing::text_contains, text, needle)

inline std::vector<uint8_t> kernel_blob(const std::string& name) {
  std::ifstream in(kernels::kernel_file(name), std::ios::binary);
  EXPECT_TRUE(in) << "missing kernel " << kernels::kernel_file(name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline size_t entries_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

// Host floats behind an address-bearing backing with a chosen grant, as a chip child sees a
// fork-shared host buffer.
class HostFloats {
 public:
  explicit HostFloats(size_t count, AccessMode access = AccessMode::READWRITE) : values_(count) {
    desc_ = make_address_descriptor(BackendKind::FORK_SHM, AddressSpace::HOST, access, new_local_identity(),
                                    count * sizeof(float), reinterpret_cast<uint64_t>(values_.data()));
  }
  std::vector<float>& values() { return values_; }
  float& operator[](size_t i) { return values_[i]; }
  Tensor view(std::initializer_list<uint32_t> shape, std::initializer_list<uint32_t> strides = {},
              uint64_t first_element = 0) const {
    return Tensor::view(desc_, first_element * sizeof(float), std::span<const uint32_t>(shape.begin(), shape.size()),
                        DataType::FLOAT32, std::span<const uint32_t>(strides.begin(), strides.size()));
  }

 private:
  std::vector<float> values_;
  BufferDescriptor desc_;
};

}  // namespace echelon::chip::testing
