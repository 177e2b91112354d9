// A buffer-family request (or a TASK descriptor) that live state refuses (buffers.md 5,
// protocol.md 6.4): the wire status the runner answers with and the reason, without the
// "[host=... control=...]" prefix, which the caller adds. A refusal never changes state.
#pragma once
#include <string>
#include "echelon/errors.h"
#include "wire/wire_status.h"

namespace echelon::session {

class BufferRefusal : public Error {
 public:
  BufferRefusal(wire::WireStatus status, const std::string& what) : Error(what), status_(status) {}
  wire::WireStatus status() const { return status_; }

 private:
  wire::WireStatus status_;
};

}  // namespace echelon::session
