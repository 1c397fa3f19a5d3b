// The plugin's one exported symbol (transport.h). Everything else in the plugin is hidden
// (CXX_VISIBILITY_PRESET hidden), so its copies of inline library code never interpose on
// the binary's.
#include "workload/grpc_transport.h"

extern "C" __attribute__((visibility("default"))) const warden::workload::wire::Factory*
warden_workload_transport() {
  return &warden::workload::grpcTransportFactory();
}
