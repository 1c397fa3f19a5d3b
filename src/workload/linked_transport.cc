// transportFactory() for binaries that link gRPC anyway (transport.h): the gRPC transport
// compiled in. Such a binary must not load the plugin: the plugin's copy of the generated
// workload.proto code would register the same descriptors a second time.
#include "workload/grpc_transport.h"

namespace warden::workload {

Result<const wire::Factory*> transportFactory() { return &grpcTransportFactory(); }

}  // namespace warden::workload
