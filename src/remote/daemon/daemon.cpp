#include "remote/daemon/daemon.h"

#include "remote/session_shm_names.h"

#include <algorithm>
#include <chrono>
#include <csignal>

#include <unistd.h>

#include "remote/session_shm_names.h"
#include "spdlog/spdlog.h"
#include "transport/deadline.h"
#include "transport/ucx_module.h"

namespace echelon::remote::daemon {
namespace {

// The main loop wakes at least this often even when idle, so no wait of it is unbounded.
constexpr std::chrono::milliseconds MAIN_LOOP_TICK{1000};

SessionConfig session_config_of(const DaemonOptions& o) {
  SessionConfig c;
  c.secret = o.auth_secret ? &*o.auth_secret : nullptr;
  c.session_binary = o.session_binary;
  c.bind_ip = o.listen.host;
  c.plugin_dirs = o.plugin_dirs;
  c.proof_timeout_s = o.proof_timeout_s;
  // The profile is served where the module is installed beside the binaries; whether libucp itself
  // loads is the runner's to find out (its startup error names the missing library). The daemon
  // never loads UCX: it forks runners.
  c.policy.ucx_available = ::access(transport::ucx_module_path().c_str(), R_OK) == 0;
  return c;
}

}  // namespace

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      session_config_(session_config_of(options_)),
      listener_(transport::TcpListener::listen(options_.listen)),
      address_(listener_.local_address()),
      slots_(options_.max_sessions) {
  reactor_.add(signals_.fd(), transport::Reactor::READABLE, [this](uint32_t) {
    if (const int sig = signals_.take()) stop_signal_ = sig;
  });
  reactor_.add(listener_.fd(), transport::Reactor::READABLE, [this](uint32_t) { accept_ready(); });
  spdlog::info("event=listening address={} auth={} max_sessions={} session_binary={}", address_.to_string(),
               options_.auth_secret ? "hmac-sha256" : "off", options_.max_sessions, options_.session_binary);
}

Daemon::~Daemon() { shutdown(); }

int Daemon::run() {
  while (stop_signal_ == 0) {
    reactor_.run_once(MAIN_LOOP_TICK);
    join_finished_sessions();
    adopt_handed_off_runners();
  }
  spdlog::info("event=shutdown_requested signal={}", stop_signal_);
  shutdown();
  return stop_signal_;
}

void Daemon::accept_ready() {
  while (true) {
    std::optional<transport::TcpSocket> socket;
    try {
      socket = listener_.try_accept();
    } catch (const std::exception& e) {
      // Out of descriptors or a similar local shortage: refuse this round, keep the daemon.
      spdlog::error("event=accept_failed reason=\"{}\"", e.what());
      return;
    }
    if (!socket) return;
    start_session(std::move(*socket));
  }
}

void Daemon::start_session(transport::TcpSocket socket) {
  const uint64_t id = next_connection_++;
  // Session threads are bounded like sessions: a flood of idle connections cannot make threads.
  if (connections_.size() >= options_.max_sessions) {
    spdlog::warn("conn={} event=busy reason=\"{} connections in bootstrap\"", id, connections_.size());
    refuse_busy_connection(socket);
    return;
  }
  Connection& c = connections_.emplace_back();
  c.thread = std::thread([this, id, socket = std::move(socket), cancel = c.cancel, finished = c.finished]() mutable {
    std::optional<OwnedRunner> owned = serve_session(std::move(socket), id, session_config_, slots_, *cancel);
    if (owned) {
      std::lock_guard lock(handoff_mutex_);
      handed_off_.push_back(std::move(*owned));
    }
    finished->store(true);
    reactor_.wake();
  });
}

void Daemon::join_finished_sessions() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->finished->load()) {
      ++it;
      continue;
    }
    it->thread.join();
    it = connections_.erase(it);
  }
}

void Daemon::adopt_handed_off_runners() {
  std::vector<OwnedRunner> adopted;
  {
    std::lock_guard lock(handoff_mutex_);
    adopted.swap(handed_off_);
  }
  for (OwnedRunner& r : adopted) {
    const int pidfd = r.runner.pidfd();
    owned_.emplace(pidfd, std::move(r));
    // Level-triggered: a runner that exited before it got here is reaped on the next turn.
    reactor_.add(pidfd, transport::Reactor::READABLE, [this, pidfd](uint32_t) { runner_exited(pidfd); });
  }
}

// A runner frees its own buffers and removes its private directory when it ends normally; one
// killed by a signal leaves them (and its children's scratch directories, which live inside it).
void Daemon::sweep_shm(uint64_t session_id) {
  const size_t removed = sweep_session_shm(session_id);
  if (removed > 0)
    spdlog::warn("event=shm_swept session_id={} objects={} reason=\"the runner left shared memory behind\"", session_id,
                 removed);
  if (sweep_session_private_dir(session_id) > 0)
    spdlog::warn("event=dir_swept session_id={} reason=\"the runner left its private directory behind\"", session_id);
}

void Daemon::runner_exited(int pidfd) {
  auto it = owned_.find(pidfd);
  if (it == owned_.end()) return;
  std::string how;
  if (!it->second.runner.exited(&how)) return;
  spdlog::info("event=runner_exited session_id={} runner_pid={} how=\"{}\"", it->second.session_id,
               it->second.runner.pid(), how);
  reactor_.remove(pidfd);
  // Kill what the leader left behind in its group; the destructor then closes the pidfd and
  // the slot is given back.
  it->second.runner.terminate(std::chrono::duration<double>(0));
  sweep_shm(it->second.session_id);
  owned_.erase(it);
}

void Daemon::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (reactor_.contains(listener_.fd())) reactor_.remove(listener_.fd());
  listener_.close();
  for (Connection& c : connections_) c.cancel->cancel();
  for (Connection& c : connections_) c.thread.join();
  connections_.clear();
  adopt_handed_off_runners();

  // SIGTERM every group first, so all runners wind down in parallel, then give them one common
  // grace period before SIGKILL (RT-908).
  for (auto& [pidfd, r] : owned_) r.runner.kill_group(SIGTERM);
  const transport::Deadline grace_end = transport::Clock::now() + RUNNER_KILL_GRACE;
  for (auto& [pidfd, r] : owned_) {
    reactor_.remove(pidfd);
    r.runner.terminate(std::max(transport::Clock::duration::zero(), grace_end - transport::Clock::now()));
    spdlog::info("event=runner_stopped session_id={} runner_pid={}", r.session_id, r.runner.pid());
    sweep_shm(r.session_id);
  }
  owned_.clear();
  spdlog::info("event=stopped");
}

}  // namespace echelon::remote::daemon
