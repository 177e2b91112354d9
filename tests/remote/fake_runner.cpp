// Test stand-in for echelon-l3-session. It takes the real RT-911 handoff exactly as a runner must
// (arguments, then the manifest, before any thread), re-validates the manifest, and writes what it
// observed to the report file named by ECHELON_FAKE_RUNNER_REPORT, or to <pid>.json in the
// directory ECHELON_FAKE_RUNNER_REPORT_DIR (the daemon tests, where every runner of one daemon
// inherits the same environment: one file per runner doubles as a spawn marker).
// ECHELON_FAKE_RUNNER_MODE:
//   ready (default)  report, status ok (ports 1 and 2), exit 0
//   fail             report, status "StartupError: fake prestart failed", exit 1
//   silent           report, no status, exit 3
//   hang             report, status ok, then wait for a signal
//   hang_with_child  like hang, after forking a grandchild that also waits (same process group)
//   hang_no_status   report, no status, wait for a signal
//   no_read          never read the handoff; wait for a signal
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "nlohmann/json.hpp"
#include "remote/handoff_io.h"
#include "remote/manifest.h"
#include "remote/runner_args.h"
#include "remote/runner_handoff.h"

using namespace echelon;
using namespace echelon::remote;

namespace {

nlohmann::json open_fds() {
  nlohmann::json fds = nlohmann::json::array();
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != dirfd(d)) fds.push_back(std::atoi(e->d_name));
  closedir(d);
  return fds;
}

[[noreturn]] void wait_for_signal() {
  while (true) pause();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads_at_start = process_thread_count();
  const std::string mode = getenv("ECHELON_FAKE_RUNNER_MODE") ? getenv("ECHELON_FAKE_RUNNER_MODE") : "ready";
  std::string report_path = getenv("ECHELON_FAKE_RUNNER_REPORT") ? getenv("ECHELON_FAKE_RUNNER_REPORT") : "";
  if (const char* dir = getenv("ECHELON_FAKE_RUNNER_REPORT_DIR"))
    report_path = std::string(dir) + "/" + std::to_string(getpid()) + ".json";
  RunnerArgs args;
  try {
    args = parse_runner_args(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "fake runner: %s\n", e.what());
    return 2;
  }
  if (mode == "no_read") wait_for_signal();

  nlohmann::json report;
  report["threads_at_start"] = threads_at_start;
  report["fds_at_start"] = open_fds();
  try {
    const RunnerHandoff h = read_handoff(args.handoff_fd, args.deadline);
    report["threads_at_read"] = process_thread_count();
    close(args.handoff_fd);
    report["manifest_sha256"] = to_hex(sha256({reinterpret_cast<const uint8_t*>(h.manifest_json.data()), h.manifest_json.size()}));
    report["session_key_hex"] = to_hex(h.session_key);
    report["manifest_session_id"] = std::to_string(parse_manifest(h.manifest_json).session_id);
  } catch (const std::exception& e) {
    report["error"] = e.what();
  }
  report["pid"] = getpid();
  report["pgid"] = getpgrp();
  report["bind_ip"] = args.bind_ip;
  report["deadline_ns"] = to_monotonic_ns(args.deadline);
  report["plugin_dirs"] = args.plugin_dirs;
  nlohmann::json argv_json = nlohmann::json::array();
  for (int i = 0; i < argc; ++i) argv_json.push_back(argv[i]);
  report["argv"] = argv_json;
  if (mode == "hang_with_child") {
    const pid_t child = fork();
    if (child == 0) wait_for_signal();
    report["grandchild"] = child;
  }
  if (!report_path.empty()) {
    const std::string tmp = report_path + ".tmp";
    std::ofstream(tmp) << report.dump();
    rename(tmp.c_str(), report_path.c_str());  // the test never sees a half-written report
  }

  const bool send_ok = mode == "ready" || mode == "hang" || mode == "hang_with_child";
  if (send_ok || mode == "fail") {
    const RunnerStatus status = send_ok ? RunnerStatus{LaneAddresses{TransportProfile::HOST_TCP, 1, 2, {}, {}}}
                                        : RunnerStatus{make_reply_error(ReplyErrorType::StartupError, "fake prestart failed")};
    write_status(args.status_fd, status, args.deadline);
    close(args.status_fd);
  }
  if (mode.starts_with("hang")) wait_for_signal();
  if (mode == "fail") return 1;
  if (mode == "silent") return 3;
  return 0;
}
