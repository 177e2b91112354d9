#include "session/session_runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <optional>

#include "chip/private_dir.h"
#include "remote/handoff_io.h"
#include "remote/manifest.h"
#include "remote/session_shm_names.h"
#include "session/buffer_registry.h"
#include "session/command_loop.h"
#include "session/host_token.h"
#include "session/fault_injection.h"
#include "session/feature_grant.h"
#include "session/import_board.h"
#include "session/inner_handles.h"
#include "session/manifest_registrations.h"
#include "session/register_control_handler.h"
#include "session/health_lane.h"
#include "session/inner_worker.h"
#include "session/lane_attach.h"
#include "session/runner_lanes.h"
#include "session/runner_error_text.h"
#include "session/startup_failure.h"
#include "session/task_dispatcher.h"
#include "transport/fd.h"
#include "transport/host_tcp_channel.h"
#include "transport/secret.h"
#include "remote/strict_json.h"
#include "transport/ucx_data_plane.h"
#include "transport/ucx_module.h"

namespace echelon::session {

namespace {

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

void log(const std::string& line) { std::fprintf(stderr, "echelon-l3-session: %s\n", line.c_str()); }

// What prestart produced: everything the attach and the session need.
struct Prestart {
  remote::BootstrapManifest manifest;
  std::optional<transport::Secret> session_key;
  uint64_t features = 0;
  std::optional<ControlFault> fault;
  PrepareContext registration;
  // The session's private directory (chip blobs staged by the inner worker's children, import
  // announcements): created before the inner worker forks, removed at the end. Declared before the
  // registries, so their announcement files go first.
  std::unique_ptr<chip::PrivateDir> private_dir;
  std::unique_ptr<ImportBoard> board;
  std::unique_ptr<RunnerRegistries> registries;
  std::unique_ptr<Worker> inner;
  std::unique_ptr<TaskDispatcher> dispatcher;
  // ucx: the data thread (RMA for version-2 copies and imports). Before `buffers`, which use it.
  std::unique_ptr<transport::UcxDataPlane> data_plane;
  // Declared after `inner`: destroyed first, so every buffer is released before the inner worker
  // closes, on every path out of run().
  std::unique_ptr<BufferRegistry> buffers;
  std::optional<RunnerLanes> lanes;
};

void read_manifest(const remote::RunnerArgs& args, Prestart& p) {
  remote::RunnerHandoff handoff;
  try {
    transport::Fd handoff_fd(args.handoff_fd);  // closed once read: the daemon's end sees it
    handoff = remote::read_handoff(handoff_fd.get(), args.deadline);
  } catch (const remote::HandoffError& e) {
    throw StartupFailure(e.timed_out() ? remote::ReplyErrorType::TimeoutError : remote::ReplyErrorType::StartupError,
                         fmt::format("reading the handoff: {}", e.what()));
  }
  try {
    // The daemon admitted the profile; opening the lanes says if this host cannot load UCX.
    p.manifest = remote::parse_manifest(handoff.manifest_json, remote::ManifestPolicy{.ucx_available = true});
  } catch (const remote::ManifestError& e) {
    throw StartupFailure(e.type() == remote::ManifestError::Type::REGISTRY ? remote::ReplyErrorType::RegistryError
                                                                          : remote::ReplyErrorType::ManifestError,
                         e.what());
  }
  if (!handoff.session_key.empty()) p.session_key.emplace(std::move(handoff.session_key));
  p.features = grant_features(p.manifest, p.session_key.has_value());
}

void open_lanes(const remote::RunnerArgs& args, Prestart& p) {
  try {
    p.lanes.emplace(RunnerLanes::open(p.manifest, args.bind_ip, p.session_key.has_value(), args.deadline));
  } catch (const std::exception& e) {
    fail_startup(p.manifest.transport_profile == remote::TransportProfile::UCX ? "opening the ucx lanes"
                                                                               : "opening the lane listeners",
                 e.what());
  }
}

// Step 4: empty until the parent allocates; the host token is read now so exports and imports
// never fail on it later.
void open_buffer_registry(Prestart& p) {
  BufferRegistryConfig config;
  config.session_id = p.manifest.session_id;
  config.worker_id = static_cast<int32_t>(p.manifest.worker_id);
  config.transport_profile = remote::to_string(p.manifest.transport_profile);
  try {
    config.host_token = local_host_token();
  } catch (const std::exception& e) {
    fail_startup("buffer registry", e.what());
  }
  if (p.manifest.transport_profile == remote::TransportProfile::UCX) {
    // Starts UCX threads: the inner worker has forked already (RT-904).
    try {
      p.data_plane = transport::UcxDataPlane::create(transport::load_ucx_module(),
                                                     fmt::format("runner-data w{}", p.manifest.worker_id));
      config.data_plane = p.data_plane.get();
      config.parent_command_worker =
          remote::from_lower_hex(p.manifest.ucx_parent_command_worker_addr, "manifest.ucx_parent_command_worker_addr");
    } catch (const std::exception& e) {
      fail_startup("ucx data plane", e.what());
    }
  }
  p.buffers = std::make_unique<BufferRegistry>(std::move(config));
}

// A malformed ECHELON_TEST_FAULT fails the startup: a test that armed a fault must not silently
// run without it.
void arm_test_fault(Prestart& p) {
  try {
    p.fault = control_fault_from_env();
  } catch (const std::exception& e) {
    fail_startup("test fault injection", e.what());
  }
  if (p.fault) log(fmt::format("WARNING: test fault armed: {}", p.fault->describe()));
}

// The registries and what registrations need from this session, before anything forks: the private
// directory and the import loader must be inherited by the inner worker's children.
void open_registries(const remote::RunnerArgs& args, Prestart& p) {
  p.registration = PrepareContext{args.plugin_dirs, p.manifest.num_chips, p.manifest.num_sub_workers};
  try {
    p.private_dir = std::make_unique<chip::PrivateDir>(remote::session_private_dir_prefix(p.manifest.session_id));
  } catch (const std::exception& e) {
    fail_startup("session private directory", e.what());
  }
  // Scratch directories of everything forked from here on (chip children's kernel files) go inside
  // the session's, so the daemon's sweep of a killed runner takes them too. Single-threaded still.
  ::setenv("TMPDIR", p.private_dir->path().c_str(), 1);
  p.board = std::make_unique<ImportBoard>(p.private_dir->path());
  p.board->install_loader();
  p.registries = std::make_unique<RunnerRegistries>();
}

// RT-904 in order. No thread exists in this process until start_inner_worker() has forked.
Prestart prestart(const remote::RunnerArgs& args) {
  Prestart p;
  read_manifest(args, p);
  arm_test_fault(p);
  open_registries(args, p);
  p.inner = start_inner_worker(p.manifest, args.deadline, p.registration, *p.board, p.registries->inner);
  install_dispatcher_manifest(p.manifest.remote_task_dispatcher, p.registration, p.registries->dispatcher);
  p.dispatcher = std::make_unique<TaskDispatcher>(
      RunnerIdentity{local_host_name(), static_cast<int32_t>(p.manifest.worker_id)}, p.registries->dispatcher);
  open_buffer_registry(p);
  open_lanes(args, p);
  return p;
}

void report(const remote::RunnerArgs& args, const remote::RunnerStatus& status) {
  transport::Fd status_fd(args.status_fd);  // one message, then closed (RT-911)
  try {
    remote::write_status(status_fd.get(), status, args.deadline);
  } catch (const std::exception& e) {
    log(fmt::format("could not report status: {}", e.what()));
  }
}

wire::HelloPayload ready_hello(const Prestart& p) {
  wire::HelloPayload hello;
  hello.session_id = p.manifest.session_id;
  hello.worker_id = static_cast<int32_t>(p.manifest.worker_id);
  hello.comm_profile = remote::to_string(p.manifest.transport_profile);
  hello.feature_flags = p.features;
  hello.ready_state = wire::ReadyState::READY;
  if (p.features != 0) hello.ext = wire::HelloExt{};
  return hello;
}

int exit_status(const SessionOutcome& outcome) {
  return outcome.end == SessionEnd::SHUTDOWN ? EXIT_CLEAN_SHUTDOWN : EXIT_SESSION_FAILED;
}

}  // namespace

int SessionRunner::run() {
  Prestart p;
  try {
    p = prestart(args_);
  } catch (const StartupFailure& e) {
    log(e.reply_error().text());
    report(args_, remote::RunnerStatus{e.reply_error()});
    return EXIT_STARTUP_FAILED;
  } catch (const std::exception& e) {
    const auto error = remote::make_reply_error(remote::ReplyErrorType::StartupError, e.what());
    log(error.text());
    report(args_, remote::RunnerStatus{error});
    return EXIT_STARTUP_FAILED;
  }
  report(args_, remote::RunnerStatus{p.lanes->addresses()});

  const int32_t worker_id = static_cast<int32_t>(p.manifest.worker_id);
  const transport::Secret* key = p.session_key ? &*p.session_key : nullptr;
  const AttachLimits limits{args_.deadline, seconds(args_.proof_timeout_s)};
  std::unique_ptr<transport::FrameChannel> command;
  std::unique_ptr<HealthLane> health;
  try {
    HeldLanes held = p.lanes->attach(ready_hello(p), key, limits);
    command = std::move(held.command);
    health = std::make_unique<HealthLane>(
        std::move(held.health),
        HealthSchedule{p.manifest.session_id, worker_id, seconds(p.manifest.health_interval_s),
                       seconds(p.manifest.health_expiry_s), 1});
  } catch (const std::exception& e) {
    log(fmt::format("attach failed: {}", e.what()));
    clear_inner_handles();
    p.inner->close();
    return EXIT_SESSION_FAILED;
  }
  health->start();

  RegisterControlHandler registrations(*p.registries, *p.inner, *p.board, p.registration);
  FaultInjector faults(p.fault);
  CommandLoop loop(*command, *health, *p.dispatcher, *p.inner, *p.buffers, registrations, faults,
                   CommandLoopConfig{p.manifest.session_id, RunnerIdentity{local_host_name(), worker_id},
                                     seconds(p.manifest.health_expiry_s)});
  const SessionOutcome outcome = loop.run();
  if (outcome.end != SessionEnd::SHUTDOWN) log(fmt::format("session ends ({}): {}", to_string(outcome.end), outcome.reason));
  // Stop taking frames first, then tear down in RT-907 order.
  health->stop();
  // buffers.md 5: imports, then owner allocations, then the inner worker - whatever ended the
  // session, no shared-memory object of it survives.
  p.buffers->release_all();
  clear_inner_handles();  // callables.md 11: nothing is looked up after the session
  p.inner->close();
  // The parent's close() returns once this lane closes, and whoever then stops the daemon stops
  // this runner too: remove the private directory (chip scratch files included) first, so a normal
  // end leaves nothing for the daemon's sweep. Announcement files unlinked later just fail.
  p.private_dir.reset();
  command->close();
  return exit_status(outcome);
}

}  // namespace echelon::session
