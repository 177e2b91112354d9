// The remote buffer e2e tests' one kernel: the session test plugin's `session_chip_increment`
// entry adds scalar 0 to every byte of tensor 0 on inner chip 0, running the inc_u8 kernel that
// the test loads into the runner's chips with Worker::register_inner.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "echelon/chip_callable.h"
#include "echelon/remote_buffer.h"
#include "echelon/worker.h"

namespace echelon::remote_e2e {

inline const ChipCallable& inc_u8() {
  static const ChipCallable k = ChipCallable::from_file(std::string(ECHELON_SESSION_KERNEL_DIR) + "/libsession_kernel_inc_u8.so");
  return k;
}

// Arguments of session_chip_increment over the whole of `buf`; the kernel's digest follows the
// increment as four scalar words (the entry names the inner kernel by hash).
inline TaskArgs increment(const RemoteBufferHandle& buf, uint64_t by, TensorTag tag = TensorTag::INOUT) {
  TaskArgs args;
  args.add(RemoteTensorRef(buf, 0, {static_cast<uint32_t>(buf.nbytes())}, DataType::UINT8), tag);
  args.add_scalar_bits(by);
  const Digest& d = inc_u8().identity().digest;
  for (size_t i = 0; i < 4; ++i) {
    uint64_t word;
    std::memcpy(&word, d.data() + 8 * i, 8);
    args.add_scalar_bits(word);
  }
  return args;
}

inline std::vector<uint8_t> read_back(Worker& w, const RemoteBufferHandle& buf) {
  std::vector<uint8_t> out(buf.nbytes());
  w.remote_copy_from(buf, 0, std::as_writable_bytes(std::span(out)));
  return out;
}

}  // namespace echelon::remote_e2e
