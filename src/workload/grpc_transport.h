// The Workload API over gRPC (identity-standards §4): the only wire::Factory. Compiled into
// the plugin and into binaries that link gRPC anyway; see transport.h.
#pragma once

#include "workload/transport.h"

namespace warden::workload {

const wire::Factory& grpcTransportFactory();

}  // namespace warden::workload
