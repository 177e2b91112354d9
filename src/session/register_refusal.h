// A register-family request (or a manifest entry) that the runner refuses (callables.md 10): the
// wire status, the rule that refused it and the details. A refusal leaves no prepared or live
// entry behind; the caller adds the hashid and registry to the text.
#pragma once
#include <string>
#include "echelon/errors.h"
#include "wire/wire_status.h"

namespace echelon::session {

class RegisterRefusal : public Error {
 public:
  RegisterRefusal(wire::WireStatus status, std::string rule, const std::string& detail)
      : Error(rule + ": " + detail), status_(status), rule_(std::move(rule)), detail_(detail) {}
  wire::WireStatus status() const { return status_; }
  const std::string& rule() const { return rule_; }
  const std::string& detail() const { return detail_; }

 private:
  wire::WireStatus status_;
  std::string rule_;
  std::string detail_;
};

}  // namespace echelon::session
