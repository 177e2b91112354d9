// Puts INNER_L3_WORKER entries on the runner's inner Worker and takes them off again
// (callables.md 6 step 3, 7, 8): a chip kernel is registered on the inner chips, a NATIVE_IMPORT sub
// entry is published in this process's callable table and registered on the inner SUB workers.
// Before the inner init() the children receive it at init (forked SUB children inherit the loaded
// plugin); after it, every child confirms before install() returns, SUB children opening the file
// named on the ImportBoard themselves.
#pragma once
#include "echelon/worker.h"
#include "session/callable_tables.h"
#include "session/import_board.h"

namespace echelon::session {

class InnerInstaller {
 public:
  InnerInstaller(Worker& inner, const ImportBoard& board) : inner_(inner), board_(board) {}

  // Sets entry.inner_handle (and the announcement of a native entry). Throws naming the failure;
  // nothing stays installed then.
  void install(const Digest& digest, RegistryEntry& entry) const;
  // Unpublishes the inner handle and unregisters it from the inner Worker. Never throws: a child
  // that fails to unregister is logged by the Worker and cannot run the entry without a handle.
  void uninstall(const Digest& digest, RegistryEntry& entry) const;

 private:
  Worker& inner_;
  const ImportBoard& board_;
};

}  // namespace echelon::session
