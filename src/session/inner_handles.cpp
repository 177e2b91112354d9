#include "session/inner_handles.h"

#include <fmt/format.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "echelon/remote_session.h"

namespace echelon::session {

namespace {

struct InnerHandleTable {
  std::mutex mu;
  std::unordered_map<Digest, CallableHandle, DigestHash> handles;

  static InnerHandleTable& get() {
    static InnerHandleTable table;
    return table;
  }
};

}  // namespace

void publish_inner_handle(const Digest& digest, const CallableHandle& handle) {
  auto& t = InnerHandleTable::get();
  std::lock_guard lock(t.mu);
  t.handles.insert_or_assign(digest, handle);
}

void unpublish_inner_handle(const Digest& digest) {
  auto& t = InnerHandleTable::get();
  std::lock_guard lock(t.mu);
  t.handles.erase(digest);
}

void clear_inner_handles() {
  auto& t = InnerHandleTable::get();
  std::lock_guard lock(t.mu);
  t.handles.clear();
}

}  // namespace echelon::session

namespace echelon::remote {

CallableHandle inner_handle(std::string_view hashid) {
  const Digest digest = parse_hashid(hashid, /*allow_bare=*/true);
  auto& t = session::InnerHandleTable::get();
  std::lock_guard lock(t.mu);
  const auto it = t.handles.find(digest);
  if (it == t.handles.end())
    throw std::out_of_range(fmt::format("remote inner callable {} is not installed", to_hashid(digest)));
  return it->second;
}

}  // namespace echelon::remote
