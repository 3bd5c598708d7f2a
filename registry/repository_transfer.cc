#include "registry/repository_transfer.h"

#include "registry/auth.h"

namespace bld::registry {

RepositoryTransfer::RepositoryTransfer(store::Store& store, const Reference& reference,
                                       const RegistryOptions& registry, const TransferEvents& events,
                                       std::string_view actions)
    : store_(store),
      reference_(reference),
      session_(registry, reference.domain()),
      repository_(reference.path()),
      scopes_{RepositoryScope(repository_, actions)},
      events_(events) {}

void RepositoryTransfer::Emit(const TransferEvent& event) {
  if (!events_) return;
  std::lock_guard lock(events_mutex_);
  events_(event);
}

}  // namespace bld::registry
