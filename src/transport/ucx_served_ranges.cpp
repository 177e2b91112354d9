#include "transport/ucx_served_ranges.h"

#include <algorithm>

namespace echelon::transport {

class ServedRanges::Served final : public ucx::Registration {
 public:
  Served(std::shared_ptr<ServedRanges> ranges, uint64_t token, std::unique_ptr<ucx::Registration> inner)
      : ranges_(std::move(ranges)), token_(token), inner_(std::move(inner)) {}
  // Out of the table (waiting for a request using it) before the memory is unregistered.
  ~Served() override { ranges_->remove(token_); }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;

  void* base() const noexcept override { return inner_->base(); }
  size_t bytes() const noexcept override { return inner_->bytes(); }
  const std::vector<uint8_t>& packed_rkey() const noexcept override { return inner_->packed_rkey(); }

 private:
  std::shared_ptr<ServedRanges> ranges_;
  uint64_t token_;
  std::unique_ptr<ucx::Registration> inner_;
};

std::unique_ptr<ucx::Registration> ServedRanges::serve(std::unique_ptr<ucx::Registration> registration) {
  Entry entry{reinterpret_cast<uintptr_t>(registration->base()), registration->bytes(), registration->packed_rkey()};
  uint64_t token = 0;
  {
    std::lock_guard lock(mu_);
    token = next_token_++;
    entries_.emplace(token, std::move(entry));
  }
  return std::make_unique<Served>(shared_from_this(), token, std::move(registration));
}

void ServedRanges::remove(uint64_t token) noexcept {
  std::lock_guard lock(mu_);
  entries_.erase(token);
}

bool ServedRanges::with_range(uint64_t addr, uint64_t length, std::span<const uint8_t> packed_rkey,
                              const std::function<void(uint8_t*)>& fn) {
  std::lock_guard lock(mu_);
  for (const auto& [token, e] : entries_) {
    const bool inside = addr >= e.base && length <= e.bytes && addr - e.base <= e.bytes - length;
    if (inside && std::ranges::equal(e.packed_rkey, packed_rkey)) {
      fn(reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(addr)));
      return true;
    }
  }
  return false;
}

}  // namespace echelon::transport
