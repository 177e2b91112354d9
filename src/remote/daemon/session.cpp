#include "remote/daemon/session.h"

#include <chrono>
#include <span>

#include "fmt/format.h"
#include "remote/bootstrap_reply.h"
#include "spdlog/spdlog.h"
#include "transport/auth.h"
#include "transport/bootstrap_auth.h"
#include "transport/bootstrap_message.h"
#include "transport/transport_error.h"

namespace echelon::remote::daemon {
namespace {

using transport::Deadline;

std::span<const uint8_t> as_bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

Deadline seconds_from_now(double seconds) {
  return transport::Clock::now() +
         std::chrono::duration_cast<transport::Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string peer_of(const transport::TcpSocket& socket) {
  try {
    return socket.peer_address().to_string();
  } catch (const std::exception&) {
    return "?";  // reset before we looked; the session fails on its first read anyway
  }
}

ReplyError manifest_reply_error(const ManifestError& e) {
  return make_reply_error(e.type() == ManifestError::Type::REGISTRY ? ReplyErrorType::RegistryError
                                                                    : ReplyErrorType::ManifestError,
                          e.what());
}

// One connection's state. Each step either advances or ends the session with a logged reason.
class Session {
 public:
  Session(transport::TcpSocket socket, uint64_t connection, const SessionConfig& config, SessionSlots& slots,
          SessionCancel& cancel)
      : socket_(std::move(socket)), connection_(connection), peer_(peer_of(socket_)), config_(config), slots_(slots),
        cancel_(cancel) {
    cancel_.attach_socket(socket_.fd());
  }
  ~Session() { cancel_.detach_socket(); }

  std::optional<OwnedRunner> run();

 private:
  std::optional<std::vector<uint8_t>> read_request();
  std::optional<BootstrapManifest> validate(const std::vector<uint8_t>& request);
  std::optional<RunnerProcess> spawn(const BootstrapManifest& manifest, const std::string& request, Deadline startup);
  // Best effort: a parent that cannot be told is logged, never fatal (lessons #1427).
  bool send_reply(const BootstrapReply& reply);
  void fail(ReplyError error);

  template <typename... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    spdlog::log(level, "conn={} peer={} {}", connection_, peer_, fmt::format(format, std::forward<Args>(args)...));
  }

  transport::TcpSocket socket_;
  const uint64_t connection_;
  const std::string peer_;
  const SessionConfig& config_;
  SessionSlots& slots_;
  SessionCancel& cancel_;
  transport::BootstrapNonces nonces_{};
};

std::optional<std::vector<uint8_t>> Session::read_request() {
  const Deadline proof_deadline = seconds_from_now(config_.proof_timeout_s);
  if (config_.secret) {
    try {
      auto admitted = transport::daemon_admit_bootstrap(socket_, *config_.secret, proof_deadline);
      nonces_ = admitted.nonces;
      return std::move(admitted.manifest);
    } catch (const transport::AuthError& e) {
      // The peer got the generic refusal; only the log says which check failed.
      log(spdlog::level::warn, "event=auth_refused reason=\"{}\"", e.reason());
    } catch (const std::exception& e) {
      log(spdlog::level::info, "event=connection_failed stage=auth reason=\"{}\"", e.what());
    }
    return std::nullopt;
  }
  try {
    return transport::read_bootstrap_message(socket_, proof_deadline);
  } catch (const transport::TransportError& e) {
    log(spdlog::level::info, "event=connection_failed stage=request reason=\"{}\"", e.what());
    // A peer that closed has nobody to tell; an oversized or late request gets a reason.
    if (e.code() == transport::TransportErrc::MESSAGE_TOO_LARGE || e.code() == transport::TransportErrc::TIMEOUT)
      fail(make_reply_error(ReplyErrorType::ManifestError, fmt::format("bootstrap request: {}", e.what())));
  }
  return std::nullopt;
}

std::optional<BootstrapManifest> Session::validate(const std::vector<uint8_t>& request) {
  try {
    const std::string_view json(reinterpret_cast<const char*>(request.data()), request.size());
    return parse_manifest(json, config_.policy);
  } catch (const ManifestError& e) {
    log(spdlog::level::info, "event=manifest_rejected reason=\"{}\"", e.what());
    fail(manifest_reply_error(e));
  }
  return std::nullopt;
}

std::optional<RunnerProcess> Session::spawn(const BootstrapManifest& manifest, const std::string& request,
                                            Deadline startup) {
  RunnerLaunch launch;
  launch.bind_ip = config_.bind_ip;
  launch.deadline = startup;
  launch.proof_timeout_s = config_.proof_timeout_s;
  launch.plugin_dirs = config_.plugin_dirs;
  launch.policy = config_.policy;
  if (config_.secret) {
    const transport::Secret key = transport::derive_session_key(*config_.secret, nonces_.daemon_nonce,
                                                                nonces_.client_nonce, manifest.session_id,
                                                                static_cast<int32_t>(manifest.worker_id));
    launch.session_key.assign(key.bytes().begin(), key.bytes().end());
  }
  try {
    RunnerProcess runner = spawn_runner(config_.session_binary, request, launch);
    std::fill(launch.session_key.begin(), launch.session_key.end(), uint8_t{0});
    return runner;
  } catch (const ManifestError& e) {
    fail(manifest_reply_error(e));  // the same validator already passed; kept for completeness
  } catch (const RunnerSpawnError& e) {
    log(spdlog::level::warn, "event=spawn_failed session_id={} reason=\"{}\"", manifest.session_id, e.what());
    fail(make_reply_error(e.timed_out() ? ReplyErrorType::TimeoutError : ReplyErrorType::DaemonError, e.what()));
  } catch (const std::exception& e) {
    log(spdlog::level::warn, "event=spawn_failed session_id={} reason=\"{}\"", manifest.session_id, e.what());
    fail(make_reply_error(ReplyErrorType::DaemonError, e.what()));
  }
  std::fill(launch.session_key.begin(), launch.session_key.end(), uint8_t{0});
  return std::nullopt;
}

bool Session::send_reply(const BootstrapReply& reply) {
  const std::string json = to_json(reply);
  const Deadline deadline = seconds_from_now(config_.proof_timeout_s);
  try {
    if (config_.secret)
      transport::daemon_send_bootstrap_reply(socket_, *config_.secret, nonces_, as_bytes(json), deadline);
    else
      transport::write_bootstrap_message(socket_, as_bytes(json), deadline);
    return true;
  } catch (const std::exception& e) {
    log(spdlog::level::info, "event=reply_failed reason=\"{}\"", e.what());
    return false;
  }
}

void Session::fail(ReplyError error) { send_reply(failure_reply(std::move(error))); }

std::optional<OwnedRunner> Session::run() {
  const auto request = read_request();
  if (!request) return std::nullopt;
  // The startup budget is a duration; it becomes one absolute deadline at receipt (RT-903).
  const Deadline received = transport::Clock::now();
  const auto manifest = validate(*request);
  if (!manifest) return std::nullopt;
  const Deadline startup = received + std::chrono::duration_cast<transport::Clock::duration>(
                                          std::chrono::duration<double>(manifest->startup_budget_s));

  SlotLease slot = slots_.try_reserve();
  if (!slot.held()) {
    log(spdlog::level::warn, "event=busy session_id={} max_sessions={}", manifest->session_id, slots_.capacity());
    fail(make_reply_error(ReplyErrorType::BusyError, fmt::format("{} live sessions already", slots_.capacity())));
    return std::nullopt;
  }
  if (cancel_.cancelled()) return std::nullopt;
  const std::string request_json(request->begin(), request->end());
  std::optional<RunnerProcess> runner = spawn(*manifest, request_json, startup);
  if (!runner) return std::nullopt;
  log(spdlog::level::debug, "event=runner_spawned session_id={} runner_pid={}", manifest->session_id, runner->pid());

  if (!cancel_.attach_runner(runner->pid())) return std::nullopt;  // shutting down: ~RunnerProcess kills it
  const RunnerStatus status = runner->read_status(startup);
  cancel_.detach_runner();

  const BootstrapReply reply = make_reply(status, *manifest);
  if (!status.ok()) {
    const auto& error = std::get<ReplyError>(status.outcome);
    log(spdlog::level::warn, "event=runner_failed session_id={} runner_pid={} error=\"{}\"", manifest->session_id,
        runner->pid(), error.text());
    send_reply(reply);
    runner->terminate();
    return std::nullopt;
  }
  // A runner whose success cannot reach its parent is useless: kill it (RT-903).
  if (!send_reply(reply)) {
    runner->terminate();
    return std::nullopt;
  }
  const auto& lanes = std::get<LaneAddresses>(status.outcome);
  log(spdlog::level::info, "event=session_started session_id={} worker_id={} runner_pid={} command_port={} health_port={}",
      manifest->session_id, manifest->worker_id, runner->pid(), lanes.command_port, lanes.health_port);
  return OwnedRunner{std::move(*runner), std::move(slot), manifest->session_id};
}

}  // namespace

std::optional<OwnedRunner> serve_session(transport::TcpSocket socket, uint64_t connection, const SessionConfig& config,
                                         SessionSlots& slots, SessionCancel& cancel) {
  try {
    Session session(std::move(socket), connection, config, slots, cancel);
    return session.run();
  } catch (const std::exception& e) {
    // Nothing a peer sends may end the daemon: whatever escaped the steps ends this session only.
    spdlog::error("conn={} event=session_error reason=\"{}\"", connection, e.what());
  }
  return std::nullopt;
}

void refuse_busy_connection(transport::TcpSocket& socket) noexcept {
  try {
    const std::string json = to_json(failure_reply(
        make_reply_error(ReplyErrorType::BusyError, "too many connections in bootstrap; retry later")));
    // A fresh socket's send buffer is empty, so this completes at once; the bound is a guard.
    transport::write_bootstrap_message(socket, as_bytes(json),
                                       transport::deadline_in(std::chrono::milliseconds(100)));
  } catch (const std::exception&) {
  }
}

}  // namespace echelon::remote::daemon
