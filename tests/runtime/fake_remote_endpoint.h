// A stand-in for a remote L3 session behind RemoteL3Endpoint: caps of kind REMOTE_L3 with the
// REMOTE_SIDECAR backing, tasks recorded (tensors and a copy of the sidecar) and completed at once
// or held until the test releases them, and buffer controls answered from an in-memory table
// through the real wire layouts (protocol.md 9.2): allocations, exports and imports (an import
// only records its mapping; the fake shares no bytes between workers). Its state lives in a shared
// Book, so the test can inspect it after the endpoint moved into the Worker. Books may share one
// Journal, which orders controls across workers.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echelon/endpoint.h"
#include "wire/buffer_controls.h"
#include "wire/register_controls.h"

namespace echelon::testing {

// "w<worker>:<control>" for every buffer control of every book sharing it, in arrival order.
struct Journal {
  std::mutex mu;
  std::vector<std::string> entries;
  void add(std::string e) {
    std::lock_guard l(mu);
    entries.push_back(std::move(e));
  }
  std::vector<std::string> copy() {
    std::lock_guard l(mu);
    return entries;
  }
};

struct RemoteBook {
  struct Dispatch {
    uint64_t dispatch_id = 0;
    std::vector<Tensor> tensors;
    RemoteArgs remote;
    bool had_remote = false;
  };

  std::mutex mu;
  std::vector<Dispatch> dispatches;
  std::vector<std::string> log;  // "TASK" and buffer control names, in arrival order
  std::map<uint64_t, std::vector<uint8_t>> buffers;  // live allocations by buffer id
  uint64_t next_buffer = 1;
  std::map<uint64_t, wire::ImportBufferRequest> imports;  // live mappings by import id
  uint64_t next_export = 1, next_import = 1;
  // Controls to refuse: name -> how many more times (each refusal answers with fail_text and
  // changes nothing). "IMPORT_BUFFER" refusals of a cross-host kind use the runner's own text.
  std::map<std::string, int> fail_next;
  std::string fail_text = "REJECTED: injected by the test";
  std::shared_ptr<Journal> journal;
  bool hold = false;        // tasks wait for release()
  bool fail_tasks = false;  // tasks end TASK_FAILURE
  std::vector<uint64_t> held;
  std::vector<EndpointEvent> done;
  Waker* waker = nullptr;
  // Called (without the book lock) before a buffer control is applied; tests use it to act
  // while a copy is in progress.
  std::function<void(const std::string& name)> on_buffer_control;
  // Register-family state, as a runner keeps it: prepared and committed digests of the dispatcher
  // registry, and what a NATIVE_IMPORT prepare reports as the plugin file's digest.
  std::vector<Digest> prepared, live;
  Digest plugin_sha{};

  size_t count(const std::string& name) {
    std::lock_guard l(mu);
    return static_cast<size_t>(std::count(log.begin(), log.end(), name));
  }
  std::vector<std::string> log_copy() {
    std::lock_guard l(mu);
    return log;
  }
  size_t dispatch_count() {
    std::lock_guard l(mu);
    return dispatches.size();
  }
  // Completes held tasks and stops holding new ones.
  size_t live_imports() {
    std::lock_guard l(mu);
    return imports.size();
  }
  void fail(const std::string& name, int times = 1) {
    std::lock_guard l(mu);
    fail_next[name] = times;
  }
  void release() {
    Waker* w;
    {
      std::lock_guard l(mu);
      hold = false;
      for (uint64_t id : held) done.push_back({id, fail_tasks ? Outcome::TASK_FAILURE : Outcome::SUCCESS, "fake"});
      held.clear();
      w = waker;
    }
    if (w) w->wake();
  }
};

class FakeRemoteEndpoint final : public WorkerEndpoint {
 public:
  FakeRemoteEndpoint(WorkerId id, std::shared_ptr<RemoteBook> book) : book_(std::move(book)) {
    caps_.kind = EndpointKind::REMOTE_L3;
    caps_.role = EndpointRole::NEXT_LEVEL;
    caps_.worker_id = id;
    caps_.level = 3;
    caps_.remote = true;
    caps_.host = "fake";
    caps_.callable_kinds = {CallableKind::NATIVE_INPROC, CallableKind::NATIVE_IMPORT};
    caps_.scopes = {TargetNamespace::LOCAL_NATIVE};
    caps_.address_spaces = {AddressSpace::HOST, AddressSpace::DEVICE};
    caps_.backing_kinds = {BackendKind::REMOTE_SIDECAR};
    caps_.max_inflight = 1;
  }

  const EndpointCaps& caps() const override { return caps_; }
  void attach(Waker* waker) override {
    std::lock_guard l(book_->mu);
    book_->waker = waker;
  }
  void submit(const DispatchRequest& r) override {
    {
      std::lock_guard l(book_->mu);
      RemoteBook::Dispatch d;
      d.dispatch_id = r.dispatch_id;
      d.tensors = *r.tensors;  // copied at hand-off, as every endpoint must
      d.had_remote = r.remote != nullptr;
      if (r.remote) d.remote = *r.remote;
      book_->dispatches.push_back(std::move(d));
      book_->log.push_back("TASK");
      if (book_->hold) book_->held.push_back(r.dispatch_id);
      else book_->done.push_back({r.dispatch_id, book_->fail_tasks ? Outcome::TASK_FAILURE : Outcome::SUCCESS, "fake"});
    }
    book_->waker->wake();
  }
  size_t poll(std::vector<EndpointEvent>& out) override {
    std::lock_guard l(book_->mu);
    const size_t n = book_->done.size();
    for (auto& e : book_->done) out.push_back(std::move(e));
    book_->done.clear();
    return n;
  }
  EndpointHealth health() const override { return {}; }
  ControlReply control(const ControlRequest& r, Deadline) override {
    if (r.name == "register" || r.name == "unregister") return ControlReply{true, {}, {}, false};
    if (book_->on_buffer_control) book_->on_buffer_control(r.name);
    std::lock_guard l(book_->mu);
    book_->log.push_back(r.name);
    if (auto it = book_->fail_next.find(r.name); it != book_->fail_next.end() && it->second > 0) {
      --it->second;
      return ControlReply{false, {}, r.name + " answered " + book_->fail_text, false};
    }
    if (book_->journal) book_->journal->add("w" + std::to_string(caps_.worker_id) + ":" + r.name);
    try {
      return apply(r);
    } catch (const std::exception& e) {
      return ControlReply{false, {}, e.what(), false};
    }
  }
  void request_stop(const std::string&) override {}
  void shutdown(Deadline) override {}

 private:
  ControlReply apply(const ControlRequest& r) {
    ControlReply ok{true, {}, {}, false};
    if (r.name == "PREPARE_REGISTER_CALLABLE") {
      const auto c = wire::decode_register_command(r.payload);
      if (std::find(book_->live.begin(), book_->live.end(), c.digest) == book_->live.end()) book_->prepared.push_back(c.digest);
      if (c.kind == CallableKind::NATIVE_IMPORT) ok.payload.assign(book_->plugin_sha.begin(), book_->plugin_sha.end());
      return ok;
    }
    if (r.name == "COMMIT_REGISTER_CALLABLE" || r.name == "ABORT_REGISTER_CALLABLE" || r.name == "UNREGISTER_CALLABLE" ||
        r.name == "PREPARE_CALLABLE") {
      const Digest d = wire::decode_digest_command(r.payload).digest;
      const bool was_prepared = std::find(book_->prepared.begin(), book_->prepared.end(), d) != book_->prepared.end();
      const bool was_live = std::find(book_->live.begin(), book_->live.end(), d) != book_->live.end();
      if (r.name == "PREPARE_CALLABLE") return was_live ? ok : ControlReply{false, {}, "NOT_FOUND", false};
      std::erase(book_->prepared, d);
      if (r.name == "COMMIT_REGISTER_CALLABLE") {
        if (!was_prepared && !was_live) return ControlReply{false, {}, "COMMIT_REGISTER_CALLABLE answered NOT_FOUND", false};
        if (!was_live) book_->live.push_back(d);
      } else if (r.name == "UNREGISTER_CALLABLE") {
        std::erase(book_->live, d);
      }
      return ok;
    }
    if (r.name == "ALLOC_REMOTE_BUFFER") {
      const auto req = wire::decode_alloc_request(r.payload);
      const uint64_t id = book_->next_buffer++;
      book_->buffers[id].assign(req.nbytes, 0);
      wire::AllocResult res;
      res.worker_id = caps_.worker_id;
      res.buffer_id = id;
      res.generation = 1;
      res.nbytes = req.nbytes;
      ok.payload = wire::encode_alloc_result(res);
      return ok;
    }
    if (r.name == "FREE_REMOTE_BUFFER") {
      book_->buffers.erase(wire::decode_buffer_ref(r.payload).buffer_id);
      return ok;
    }
    const bool to = r.name == "COPY_TO_REMOTE";
    if (to || r.name == "COPY_FROM_REMOTE") {
      const auto req = wire::decode_copy_request(r.payload, to ? wire::CopyDirection::TO_REMOTE : wire::CopyDirection::FROM_REMOTE);
      auto it = book_->buffers.find(req.buffer_id);
      if (it == book_->buffers.end() || req.offset + req.size > it->second.size())
        return ControlReply{false, {}, "NOT_FOUND or range outside entry", false};
      if (to) std::memcpy(it->second.data() + req.offset, req.data.data(), req.size);
      else ok.payload.assign(it->second.begin() + req.offset, it->second.begin() + req.offset + req.size);
      return ok;
    }
    if (r.name == "EXPORT_BUFFER") {
      const auto req = wire::decode_export_request(r.payload);
      auto it = book_->buffers.find(req.buffer_id);
      if (req.owner_worker_id != caps_.worker_id || it == book_->buffers.end() || req.offset + req.nbytes > it->second.size())
        return ControlReply{false, {}, "EXPORT_BUFFER answered NOT_FOUND", false};
      wire::ExportBufferResult res;
      res.owner_worker_id = req.owner_worker_id;
      res.buffer_id = req.buffer_id;
      res.generation = req.generation;
      res.offset = req.offset;
      res.nbytes = req.nbytes;
      res.export_id = book_->next_export++;
      res.rkey_or_token = res.export_id;
      res.access_flags = req.access_flags;
      res.transport_profile = "host_tcp";
      res.transport_descriptor = {1, 2, 3};
      ok.payload = wire::encode_export_result(res);
      return ok;
    }
    if (r.name == "IMPORT_BUFFER") {
      const auto req = wire::decode_import_request(r.payload);
      if (req.importer_worker_id != caps_.worker_id || req.export_desc.owner_worker_id == caps_.worker_id)
        return ControlReply{false, {}, "IMPORT_BUFFER answered REJECTED", false};
      const uint64_t id = book_->next_import++;
      book_->imports[id] = req;
      const auto& e = req.export_desc;
      wire::ImportBufferResult res;
      res.importer_worker_id = caps_.worker_id;
      res.owner_worker_id = e.owner_worker_id;
      res.buffer_id = e.buffer_id;
      res.generation = e.generation;
      res.import_id = id;
      res.offset = e.offset;
      res.nbytes = e.nbytes;
      res.rkey_or_token = id;
      res.access_flags = req.requested_access_flags;
      res.transport_profile = e.transport_profile;
      ok.payload = wire::encode_import_result(res);
      return ok;
    }
    if (r.name == "RELEASE_IMPORT") {
      const auto req = wire::decode_release_import(r.payload);
      auto it = book_->imports.find(req.import_id);
      if (it == book_->imports.end() || it->second.export_desc.buffer_id != req.buffer_id ||
          it->second.export_desc.owner_worker_id != req.owner_worker_id)
        return ControlReply{false, {}, "RELEASE_IMPORT answered NOT_FOUND", false};
      book_->imports.erase(it);
      return ok;
    }
    return ControlReply{false, {}, "UNSUPPORTED control " + r.name, false};
  }

  std::shared_ptr<RemoteBook> book_;
  EndpointCaps caps_;
};

}  // namespace echelon::testing
