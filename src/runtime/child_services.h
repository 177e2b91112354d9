// What runs inside each kind of local child process (the ChildService behind a
// LocalMailboxEndpoint): SUB workers, nested Workers and simulated chips.
#pragma once

#include <functional>
#include <memory>

#include "endpoint/local_mailbox_endpoint.h"

namespace echelon {

class Worker;
namespace chip {
class DeviceArena;
}

// Runs sub entries on the arguments decoded from its mailbox.
std::unique_ptr<ChildService> make_sub_service();
// Initialises `inner` (its own subtree) in the child, then runs each task as a run of it (RT-103).
std::unique_ptr<ChildService> make_nested_worker_service(std::shared_ptr<Worker> inner, std::function<void()> child_init);
// A simulated L2 chip: loads kernels into a private directory and runs them; device tensors
// resolve into `arena`, which its node mapped before fork (RT-1004).
std::unique_ptr<ChildService> make_chip_service(const chip::DeviceArena* arena);

// Control payload of "register_chip": digest, blob SHA-256, then the path of the staged blob.
std::vector<uint8_t> encode_chip_registration(const Digest& digest, const Digest& blob_sha256, const std::string& path);

}  // namespace echelon
