#include "runtime/child_services.h"

#include <fstream>
#include <iterator>

#include "chip/chip_runtime.h"
#include "chip/device_arena.h"
#include "echelon/errors.h"
#include "echelon/worker.h"
#include "endpoint/entry_table.h"
#include "fmt/format.h"

namespace echelon {
namespace {

// A forked SUB child: runs sub entries on the arguments decoded from its mailbox.
class SubService final : public ChildService {
 public:
  void run(const DecodedTask& task) override {
    const LocalEntry* e = entries_.find(task.digest);
    if (!e) throw Error(fmt::format("callable {} is not installed on this SUB child", to_hashid(task.digest)));
    e->sub(SubCall(task.args));
  }
  ControlReply control(const std::string& name, std::span<const uint8_t> payload) override {
    return entries_.handle(name, payload);
  }

 private:
  EntryTable entries_{EntryKind::SUB};
};

// A forked nested-Worker child: initialises the inner Worker (its own subtree) in the child, then
// runs each task as a run of the inner Worker (RT-103).
class NestedWorkerService final : public ChildService {
 public:
  NestedWorkerService(std::shared_ptr<Worker> inner, std::function<void()> child_init)
      : inner_(std::move(inner)), child_init_(std::move(child_init)) {}
  void start() override {
    if (child_init_) child_init_();
    inner_->init();
  }
  void run(const DecodedTask& task) override {
    const LocalEntry* e = entries_.find(task.digest);
    if (!e) throw Error(fmt::format("callable {} is not installed on this child", to_hashid(task.digest)));
    inner_->run(e->orch, task.args, task.config);
  }
  ControlReply control(const std::string& name, std::span<const uint8_t> payload) override {
    return entries_.handle(name, payload);
  }
  void stop() override { inner_->close(); }

 private:
  std::shared_ptr<Worker> inner_;
  std::function<void()> child_init_;
  EntryTable entries_{EntryKind::ORCHESTRATION};
};


class ChipService final : public ChildService {
 public:
  explicit ChipService(const chip::DeviceArena* arena) : arena_(arena) {}
  void start() override { runtime_ = std::make_unique<chip::ChipRuntime>(); }
  void run(const DecodedTask& task) override {
    auto resolve = [this](const Tensor& t) -> void* {
      return t.buffer.backend_kind == BackendKind::DEVICE_MALLOC ? arena_->resolve(t) : chip::tensor_data_address(t);
    };
    const chip::KernelOutcome r = runtime_->run(task.digest, task.args.tensors(), task.args.scalars(), task.config, resolve);
    if (!r.ok) throw Error(r.message);
  }
  ControlReply control(const std::string& name, std::span<const uint8_t> payload) override {
    ControlReply r;
    if (name == "echo") {
      r.ok = true;
      r.payload.assign(payload.begin(), payload.end());
    } else if (name == "register_chip") {
      if (payload.size() <= 2 * CALLABLE_HASH_DIGEST_SIZE) {
        r.error = "register_chip: payload too short";
        return r;
      }
      Digest digest, sha;
      std::memcpy(digest.data(), payload.data(), 32);
      std::memcpy(sha.data(), payload.data() + 32, 32);
      const std::string path(reinterpret_cast<const char*>(payload.data() + 64), payload.size() - 64);
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        r.error = fmt::format("register_chip: cannot read staged blob {}", path);
        return r;
      }
      const std::vector<uint8_t> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      runtime_->install(digest, blob, sha);  // throws ChipError naming the failed check
      r.ok = true;
    } else if (name == "unregister_chip" && payload.size() == CALLABLE_HASH_DIGEST_SIZE) {
      Digest digest;
      std::memcpy(digest.data(), payload.data(), 32);
      runtime_->uninstall(digest);
      r.ok = true;
    } else {
      r.error = fmt::format("unknown control '{}'", name);
    }
    return r;
  }
  void stop() override { runtime_.reset(); }

 private:
  const chip::DeviceArena* arena_;
  std::unique_ptr<chip::ChipRuntime> runtime_;
};

}  // namespace

std::unique_ptr<ChildService> make_sub_service() { return std::make_unique<SubService>(); }

std::unique_ptr<ChildService> make_nested_worker_service(std::shared_ptr<Worker> inner, std::function<void()> child_init) {
  return std::make_unique<NestedWorkerService>(std::move(inner), std::move(child_init));
}

std::unique_ptr<ChildService> make_chip_service(const chip::DeviceArena* arena) { return std::make_unique<ChipService>(arena); }

std::vector<uint8_t> encode_chip_registration(const Digest& digest, const Digest& blob_sha256, const std::string& path) {
  std::vector<uint8_t> out(digest.begin(), digest.end());
  out.insert(out.end(), blob_sha256.begin(), blob_sha256.end());
  out.insert(out.end(), path.begin(), path.end());
  return out;
}

}  // namespace echelon
