// The callables installed on one child, and the register/unregister/echo controls that change it.
// Shared by in-process and forked children so both answer controls identically.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <unordered_map>

#include "echelon/endpoint.h"
#include "echelon/native_callable.h"

namespace echelon {

class EntryTable {
 public:
  // `accepts` is the entry kind this child runs (orchestration for nested Workers, sub for SUBs).
  explicit EntryTable(EntryKind accepts) : accepts_(accepts) {}

  const LocalEntry* find(const Digest& d) const {
    auto it = installed_.find(d);
    return it == installed_.end() ? nullptr : it->second;
  }
  // Handles "register", "unregister" and "echo"; anything else is an unknown control.
  ControlReply handle(const std::string& name, std::span<const uint8_t> payload);

 private:
  EntryKind accepts_;
  std::unordered_map<Digest, const LocalEntry*, DigestHash> installed_;
};

}  // namespace echelon
