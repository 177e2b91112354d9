// The codec's decoder entry points as fuzz targets, plus the mapping from a whole golden frame to
// the seed each target should start from.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace echelon::wire::fuzz {

struct DecoderEntry {
  const char* name;
  // Decodes `data`; a WireError is an expected outcome, anything else (crash, sanitizer report,
  // another exception, a decode that does not re-encode to the same bytes) is a finding.
  void (*run)(std::span<const uint8_t> data);
};

const std::vector<DecoderEntry>& decoder_entries();
const DecoderEntry* find_entry(const std::string& name);

// (entry name, input) pairs carved out of one valid frame: the frame itself, its payload, and
// for controls the command or result bytes inside the envelope.
std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds_from_frame(std::span<const uint8_t> frame);

// Seeds of the entries whose messages never travel inside a frame (the data planes' served RMA).
std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds_outside_frames();

}  // namespace echelon::wire::fuzz
