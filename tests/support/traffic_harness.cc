#include "support/traffic_harness.h"

namespace warden::testing {

TrafficDriver::TrafficDriver(std::uint16_t port, std::string path)
    : port_(port), path_(std::move(path)) {
  threads_.emplace_back([this] {
    auto c = TestConnection::plain(port_);
    while (!stop_.load()) {
      if (!c || !c->send(makeRequest("GET", path_))) {
        record(std::nullopt, "keep-alive send");
        c = TestConnection::plain(port_);
        continue;
      }
      auto r = c->read();
      record(r, "keep-alive");
      if (!r) c = TestConnection::plain(port_);
    }
  });
  threads_.emplace_back([this] {
    while (!stop_.load()) {
      auto c = TestConnection::plain(port_);
      record(c && c->send(makeRequest("GET", path_, "Connection: close\r\n")) ? c->read()
                                                                              : std::nullopt,
             "fresh connection");
    }
  });
}

TrafficDriver::~TrafficDriver() { stop(); }

void TrafficDriver::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string TrafficDriver::firstFailure() const {
  std::lock_guard lock(mutex_);
  return first_failure_;
}

void TrafficDriver::record(const std::optional<HttpResponse>& r, const char* what) {
  if (r && r->status == 200) {
    ++ok_;
    return;
  }
  ++failed_;
  std::lock_guard lock(mutex_);
  if (first_failure_.empty()) {
    first_failure_ = std::string(what) + ": " +
                     (r ? std::to_string(r->status) + " " + r->body : "no response");
  }
}

}  // namespace warden::testing
