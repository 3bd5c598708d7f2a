// Relaying one stream connection both ways, as a proxy does: what one side
// sends the other receives, and each side's end of data (a half-close) is
// passed on, so that a protocol that reads to EOF still ends. Used by the
// published ports' TCP proxy (port_forwarder.h) and the ssh agent socket of
// RUN --mount=type=ssh (socket_relay.h).
//
// Thread safety: RelayStream blocks its thread until both directions ended;
// it keeps no state.
#pragma once

namespace bld::runner {

// Copies between `a` and `b` until both directions reached their end or one
// side failed. The caller owns and closes both descriptors.
void RelayStream(int a, int b);

}  // namespace bld::runner
