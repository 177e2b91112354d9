// Compile-time bounds of the SLR3 wire protocol (protocol.md section 4). A profile may negotiate
// smaller limits, never larger ones, so every decoder takes these as the ceiling.
#pragma once

#include <cstddef>
#include <cstdint>

#include "echelon/buffer.h"
#include "echelon/callable.h"
#include "echelon/task_args.h"
#include "echelon/tensor.h"

namespace echelon::wire {

inline constexpr uint32_t WIRE_VERSION = 1;
inline constexpr size_t FRAME_HEADER_BYTES = 40;
inline constexpr uint32_t MAX_FRAME_PAYLOAD_BYTES = 16u * 1024 * 1024;
inline constexpr uint32_t MAX_STRING_BYTES = 1024;
// The decoded prefix must fit the local NUL-terminated 1024-byte field.
inline constexpr uint32_t MAX_OUTPUT_PREFIX_BYTES = MAX_STRING_BYTES - 1;
inline constexpr uint32_t MAX_ERROR_BYTES = 4096;
inline constexpr uint32_t MAX_TENSORS = static_cast<uint32_t>(echelon::MAX_TENSORS);
inline constexpr uint32_t MAX_SCALARS = static_cast<uint32_t>(echelon::MAX_SCALARS);
inline constexpr uint32_t MAX_INLINE_PAYLOAD_BYTES = 1024 * 1024;
inline constexpr uint32_t MAX_TENSOR_DIMS = echelon::MAX_TENSOR_DIMS;
inline constexpr uint32_t DESC_MAX_BYTES = static_cast<uint32_t>(echelon::DESC_MAX_BYTES);
inline constexpr size_t OWNER_INSTANCE_ID_BYTES = echelon::OWNER_INSTANCE_ID_BYTES;
inline constexpr size_t CALLABLE_HASH_DIGEST_SIZE = echelon::CALLABLE_HASH_DIGEST_SIZE;
inline constexpr uint32_t MAX_TRANSPORT_PROFILE_BYTES = 128;
inline constexpr uint32_t MAX_TRANSPORT_DESCRIPTOR_BYTES = 4096;
inline constexpr uint32_t MAX_CHIP_CALLABLE_DESCRIPTOR_BYTES = 4096;
inline constexpr uint32_t MAX_STAGED_BLOB_TOKEN_BYTES = 1024;
inline constexpr uint32_t MAX_RMA_KEY_BYTES = 4096;
inline constexpr uint32_t MAX_BOOTSTRAP_MESSAGE_BYTES = 16u * 1024 * 1024;

// Fixed record sizes that the spec states explicitly; decoders compare against them.
inline constexpr size_t REMOTE_TENSOR_DESC_BYTES = 80;
inline constexpr size_t TENSOR_WIRE_FIXED_HEAD_BYTES = 39;  // up to and including body_len
inline constexpr size_t DIGEST_COMMAND_BYTES = 40;
inline constexpr size_t ALLOC_REQUEST_BYTES = 8;
inline constexpr size_t ALLOC_RESULT_BYTES = 56;
inline constexpr size_t BUFFER_REF_BYTES = 20;
inline constexpr size_t COPY_REQUEST_HEAD_BYTES = 36;
inline constexpr size_t RELEASE_IMPORT_BYTES = 36;
inline constexpr size_t HELLO_EXT_BYTES = 76;
inline constexpr size_t HEALTH_PROOF_BYTES = 32;

static_assert(MAX_TENSORS == 256 && MAX_SCALARS == 128 && MAX_TENSOR_DIMS == 5);
static_assert(DESC_MAX_BYTES == 32 && OWNER_INSTANCE_ID_BYTES == 8 && CALLABLE_HASH_DIGEST_SIZE == 32);
static_assert(echelon::MAX_STRING_BYTES == MAX_STRING_BYTES);

}  // namespace echelon::wire
