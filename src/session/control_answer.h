// What the runner answers to one CONTROL, before the command loop adds the
// "[host=... control=...]" prefix and encodes the CONTROL_REPLY (protocol.md 8).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "wire/wire_status.h"

namespace echelon::session {

struct ControlAnswer {
  wire::WireStatus status = wire::WireStatus::OK;
  std::string failure;          // why it was refused, without the "[host=... control=...]" prefix
  std::vector<uint8_t> result;  // the encoded result layout when status is OK
};

}  // namespace echelon::session
