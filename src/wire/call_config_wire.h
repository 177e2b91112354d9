// CallConfigWire, layout "v2" (protocol.md 6.2): six i32 then output_prefix.
#pragma once

#include "echelon/call_config.h"
#include "wire/byte_reader.h"
#include "wire/byte_writer.h"

namespace echelon::wire {

void write_call_config(ByteWriter& out, const CallConfig& config);
// Decodes into `out` and runs the same validation as a local submit.
void read_call_config(ByteReader& in, CallConfig& out);

}  // namespace echelon::wire
