// transportFactory() for `warden-proxy` (transport.h): the gRPC transport is loaded from
// warden-workload-grpc.so in the binary's own directory, once, on first use. The path is
// derived from /proc/self/exe, not from the environment or the search path, so what runs
// in the sidecar is what was installed beside it.
#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <string>

#include "workload/transport.h"

namespace warden::workload {
namespace {

constexpr const char* kPluginFile = "warden-workload-grpc.so";
constexpr const char* kEntryPoint = "warden_workload_transport";

Result<std::string> pluginPath() {
  std::array<char, 4096> exe{};
  const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return Error{"cannot find this binary's directory (/proc/self/exe)"};
  std::string path(exe.data(), static_cast<std::size_t>(n));
  path.resize(path.rfind('/') + 1);
  return path + kPluginFile;
}

Result<const wire::Factory*> load() {
  auto path = pluginPath();
  if (!path.ok()) return Error{"the Workload API transport cannot be loaded: " + path.error().message};
  const std::string prefix = "the Workload API transport " + *path + " cannot be loaded: ";
  // RTLD_LOCAL: the plugin's symbols stay its own; it is never unloaded, since its gRPC
  // threads live as long as the process.
  void* handle = ::dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Error{prefix + (why != nullptr ? why : "dlopen failed")};
  }
  using Entry = const wire::Factory* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, kEntryPoint));
  if (entry == nullptr) return Error{prefix + "it has no " + kEntryPoint};
  const wire::Factory* factory = entry();
  if (factory == nullptr || factory->abiVersion() != kTransportAbiVersion) {
    return Error{prefix + "it was built from another version of Warden"};
  }
  return factory;
}

}  // namespace

Result<const wire::Factory*> transportFactory() {
  static const Result<const wire::Factory*> factory = load();
  return factory;
}

}  // namespace warden::workload
