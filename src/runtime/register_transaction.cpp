#include "runtime/register_transaction.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "echelon/errors.h"
#include "endpoint/remote_register_controls.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace echelon {
namespace {

class Transaction {
 public:
  Transaction(ControlPort& port, const RemoteCallable& callable, const RegisterTxnConfig& config)
      : port_(port), callable_(callable), config_(config), digest_(callable.identity().digest) {}

  RegisterTxnResult run(const std::vector<WorkerId>& workers, const std::function<void()>& publish) {
    if (!prepare_all(workers) || !plugins_agree()) return fail();
    if (!commit_all(workers)) return fail();
    try {
      publish();
    } catch (const std::exception& e) {
      failures_.push_back(fmt::format("publishing on the parent failed: {}", e.what()));
      return fail();
    }
    return RegisterTxnResult{true, {}, {}};
  }

 private:
  Deadline deadline() const {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config_.control_timeout_s));
  }

  // Row 7: a worker whose endpoint failed for any reason gets nothing more, and its pair is
  // recorded as uncertain for diagnostics.
  bool endpoint_gone(WorkerId w, const char* phase) {
    if (!port_.failed(w)) return false;
    failures_.push_back(fmt::format("worker {}: endpoint FAILED before {}", w, phase));
    uncertain_.emplace_back(w, fmt::format("endpoint failed during the registration ({})", phase));
    return true;
  }

  bool prepare_all(const std::vector<WorkerId>& workers) {
    const ControlRequest request = remote_controls::prepare_register(config_.registry, callable_);
    // Prepares go out one worker at a time, and stop at the first failure (callables.md 6).
    for (WorkerId w : workers) {
      if (endpoint_gone(w, "PREPARE")) return false;
      const ControlReply reply = port_.control(w, request, deadline());
      if (reply.uncertain) {  // row 2: the lane is failed, the runner may hold a prepared entry
        failures_.push_back(fmt::format("worker {}: PREPARE_REGISTER_CALLABLE unanswered: {}", w, reply.error));
        uncertain_.emplace_back(w, fmt::format("PREPARE_REGISTER_CALLABLE unanswered: {}", reply.error));
        return false;
      }
      if (!reply.ok) {  // row 1
        failures_.push_back(fmt::format("worker {}: {}", w, reply.error));
        return false;
      }
      prepared_.push_back(w);
      try {
        if (auto sha = remote_controls::prepare_register_result(reply, callable_.kind())) plugin_sha_.emplace_back(w, *sha);
      } catch (const ControlError& e) {  // prepared, but the reply cannot be trusted: abort it too
        failures_.push_back(fmt::format("worker {}: {}", w, e.what()));
        return false;
      }
    }
    return true;
  }

  // CALL-9: every worker must have resolved the same plugin file content, or at least be told.
  bool plugins_agree() {
    if (plugin_sha_.size() < 2) return true;
    const bool same = std::all_of(plugin_sha_.begin(), plugin_sha_.end(),
                                  [&](const auto& p) { return p.second == plugin_sha_.front().second; });
    if (same) return true;
    std::string list;
    for (const auto& [w, sha] : plugin_sha_) list += fmt::format("{}worker {}: {}", list.empty() ? "" : ", ", w, to_hex(sha));
    if (!config_.require_identical_plugins) {
      spdlog::warn("callable {} ('{}'): the workers resolved different plugin files ({}); identity is the name, so "
                   "they will run different code",
                   callable_.hashid(), callable_.target(), list);
      return true;
    }
    mismatch_ = true;
    failures_.push_back(fmt::format("HASHID_DESCRIPTOR_MISMATCH: the resolved plugin files differ ({}) and "
                                    "require_identical_plugins is set", list));
    return false;
  }

  bool commit_all(const std::vector<WorkerId>& workers) {
    const ControlRequest request =
        remote_controls::commit_register(config_.registry, callable_.kind(), digest_);
    for (WorkerId w : workers) {
      if (endpoint_gone(w, "COMMIT")) {
        std::erase(prepared_, w);
        return false;
      }
      const ControlReply reply = port_.control(w, request, deadline());
      if (reply.uncertain) {  // row 4: it may have published
        failures_.push_back(fmt::format("worker {}: COMMIT_REGISTER_CALLABLE unanswered: {}", w, reply.error));
        uncertain_.emplace_back(w, fmt::format("COMMIT_REGISTER_CALLABLE unanswered: {}", reply.error));
        std::erase(prepared_, w);
        return false;
      }
      if (!reply.ok) {  // row 3: still prepared there, so it is aborted with the others
        failures_.push_back(fmt::format("worker {}: {}", w, reply.error));
        return false;
      }
      std::erase(prepared_, w);
      committed_.push_back(w);
    }
    return true;
  }

  // Rows 1, 3, 5, 6: abort what is prepared, unregister what is committed; an unconfirmed cleanup
  // makes only that pair uncertain.
  void clean_up() {
    auto undo = [&](WorkerId w, const ControlRequest& request) {
      if (std::any_of(uncertain_.begin(), uncertain_.end(), [&](const auto& u) { return u.first == w; })) return;
      if (port_.failed(w)) {
        uncertain_.emplace_back(w, fmt::format("endpoint FAILED before its {} could be sent", request.name));
        cleanups_.push_back(fmt::format("worker {}: {} not sent (endpoint FAILED)", w, request.name));
        return;
      }
      const ControlReply reply = port_.control(w, request, deadline());
      if (reply.ok) return;
      uncertain_.emplace_back(w, fmt::format("{} failed: {}", request.name, reply.error));
      cleanups_.push_back(fmt::format("worker {}: {} failed: {}", w, request.name, reply.error));
    };
    const ControlRequest abort = remote_controls::abort_register(config_.registry, callable_.kind(), digest_);
    const ControlRequest unregister = remote_controls::unregister_callable(config_.registry, callable_.kind(), digest_);
    for (WorkerId w : prepared_) undo(w, abort);
    for (WorkerId w : committed_) undo(w, unregister);
  }

  RegisterTxnResult fail() {
    clean_up();
    RegisterTxnResult r;
    r.uncertain = uncertain_;
    std::string details;
    for (const auto& f : failures_) details += (details.empty() ? "" : "; ") + f;
    std::string cleanup;
    for (const auto& c : cleanups_) cleanup += (cleanup.empty() ? "" : "; ") + c;
    r.error = fmt::format("{}: {} {} ('{}') was not registered: {}{}",
                          mismatch_ ? "HASHID_DESCRIPTOR_MISMATCH" : "REGISTER_PARTIAL_FAILURE",
                          to_string(config_.registry), callable_.hashid(),
                          callable_.kind() == CallableKind::NATIVE_IMPORT ? callable_.target() : to_string(callable_.kind()),
                          details, cleanup.empty() ? "" : fmt::format("; cleanup: {}", cleanup));
    return r;
  }

  ControlPort& port_;
  const RemoteCallable& callable_;
  const RegisterTxnConfig& config_;
  const Digest digest_;
  std::vector<WorkerId> prepared_;   // prepared, not committed: owed an ABORT on failure
  std::vector<WorkerId> committed_;  // owed an UNREGISTER on failure
  std::vector<std::pair<WorkerId, Digest>> plugin_sha_;
  std::vector<std::pair<WorkerId, std::string>> uncertain_;
  std::vector<std::string> failures_;
  std::vector<std::string> cleanups_;
  bool mismatch_ = false;
};

}  // namespace

RegisterTxnResult run_register_transaction(ControlPort& port, const RemoteCallable& callable,
                                           const std::vector<WorkerId>& workers, const RegisterTxnConfig& config,
                                           const std::function<void()>& publish) {
  Transaction txn(port, callable, config);
  return txn.run(workers, publish);
}

}  // namespace echelon
