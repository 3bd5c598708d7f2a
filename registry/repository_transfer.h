// What a pull and a push of one repository share: the store, the reference,
// a session to its registry with the scope the transfer needs, the flag its
// worker threads stop on, and the events it reports, one at a time.
//
// Thread safety: Emit may be called from any number of threads and calls the
// events callback under a lock, as transfer_events.h promises; the members
// are set up before the workers start, and cancel_ is atomic.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "registry/reference.h"
#include "registry/session.h"
#include "registry/transfer_events.h"
#include "store/store.h"

namespace bld::registry {

class RepositoryTransfer {
 protected:
  // `actions` is the scope's ("pull", "pull,push").
  RepositoryTransfer(store::Store& store, const Reference& reference, const RegistryOptions& registry,
                     const TransferEvents& events, std::string_view actions);

  void Emit(const TransferEvent& event);

  store::Store& store_;
  const Reference& reference_;
  Session session_;
  std::string repository_;
  std::vector<std::string> scopes_;
  std::atomic<bool> cancel_{false};

 private:
  const TransferEvents& events_;
  std::mutex events_mutex_;
};

}  // namespace bld::registry
