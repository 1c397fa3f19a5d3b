// A small, honest HTTP/1.1 app for tests and the standalone demo: it echoes what it
// received (method, path, the identity headers the sidecar set, body size) as JSON, and
// has a few endpoints that exercise streaming:
//   GET  .../sse?events=N&interval_ms=M&delay_ms=D  text/event-stream: head at once,
//                                        N events after D ms, chunked
//   GET  .../bytes?n=N                   N bytes of body, chunked, produced as it is sent
//   GET  .../slow?ms=N                   answers after N ms
// (routed by the last path segment, so a policy can put them under any prefix)
//   any  other path                    200 JSON echo; request bodies are counted, not kept
// Thread-safety: start/stop from one thread; the request log is guarded by a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace warden::tools {

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names; repeated names joined by ", "
  std::uint64_t body_bytes = 0;
};

class EchoApp {
 public:
  EchoApp();
  ~EchoApp();
  // Listens on host:port (0 = any free port) and serves on a background thread.
  bool start(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  void stop();
  std::uint16_t port() const;

  std::vector<SeenRequest> requests() const;
  std::size_t requestCount() const;
  void clear();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::tools
