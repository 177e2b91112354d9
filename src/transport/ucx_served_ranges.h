// The memory a data plane serves peers' get and put requests for (wire/served_rma.h): every range
// registered through UcxDataPlane::register_memory, for as long as its registration lives. The
// requests name an address, a length and the packed key the owner exported; a range is served only
// when it lies wholly inside one live registration with that key, so a stale or forged request
// never touches memory the owner does not export.
//
// Thread-safe: registrations come and go on the runner's command thread while the data thread
// serves. A registration being destroyed waits for a request that is reading or writing its memory
// at that moment, so memory is never freed under a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "transport/ucx/ucx_api.h"

namespace echelon::transport {

class ServedRanges : public std::enable_shared_from_this<ServedRanges> {
 public:
  static std::shared_ptr<ServedRanges> create() { return std::shared_ptr<ServedRanges>(new ServedRanges()); }

  // Serves `registration`'s range until the returned registration (which owns it) is destroyed.
  std::unique_ptr<ucx::Registration> serve(std::unique_ptr<ucx::Registration> registration);

  // Calls fn(memory at addr) with the range held, when [addr, addr + length) lies inside one live
  // registration whose packed key equals `packed_rkey`; returns false (fn not called) otherwise.
  bool with_range(uint64_t addr, uint64_t length, std::span<const uint8_t> packed_rkey,
                  const std::function<void(uint8_t*)>& fn);

 private:
  class Served;  // the registration handed out by serve()
  struct Entry {
    uintptr_t base = 0;
    size_t bytes = 0;
    std::vector<uint8_t> packed_rkey;
  };
  ServedRanges() = default;
  void remove(uint64_t token) noexcept;

  std::mutex mu_;
  // A linear scan per request: a runner has at most a few hundred live exports, and a request
  // moves up to megabytes.
  std::map<uint64_t, Entry> entries_;
  uint64_t next_token_ = 1;
};

}  // namespace echelon::transport
