#include "remote_test_support.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "echelon/callable.h"
#include "wire/register_controls.h"

namespace echelon::remote::test {

using json = nlohmann::json;

json native_entry(const std::string& target) {
  const Digest d = sha256(native_import_descriptor(NativeImportTarget::parse(target)));
  return {{"hashid", to_hashid(d)}, {"kind", "NATIVE_IMPORT"}, {"target", target}};
}

json chip_entry(size_t blob_bytes, unsigned char fill) {
  std::vector<uint8_t> blob(blob_bytes, fill);
  const ArgDirection dirs[] = {ArgDirection::IN, ArgDirection::OUT};
  wire::ChipCallablePayload p;
  p.blob_sha256 = sha256(blob);
  p.descriptor = chip_callable_descriptor("x86_64", "sim", "simchip", p.blob_sha256, chip_signature_hash(dirs));
  p.blob_size = blob.size();
  p.inline_blob = std::move(blob);
  return {{"hashid", to_hashid(sha256(p.descriptor))},
          {"kind", "CHIP_CALLABLE"},
          {"payload_hex", to_hex(wire::encode_chip_payload(p))}};
}

json valid_manifest_json() {
  return {{"manifest_version", 1},
          {"session_id", "4611686018427387905"},
          {"worker_id", 7},
          {"parent_worker_level", 4},
          {"remote_worker_level", 3},
          {"transport_profile", "host_tcp"},
          {"startup_budget_s", 30},
          {"remote_task_dispatcher", json::array({native_entry("plug:orch_entry")})},
          {"inner_l3_worker", json::array({native_entry("plug:sub_entry"), chip_entry(64)})}};
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') fds.insert(std::atoi(e->d_name));
  fds.erase(dirfd(d));
  closedir(d);
  return fds;
}

bool has_no_children() { return waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/echelon-remote-test-" + std::to_string(getpid()) + "-" +
         std::to_string(counter++) + "-" + stem;
}

}  // namespace echelon::remote::test
