// warden-echo-app: the sample app behind the standalone demo's sidecar.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "echo_app.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: warden-echo-app PORT   (listens on 127.0.0.1:PORT)\n";
    return 2;
  }
  const long port = std::strtol(argv[1], nullptr, 10);
  if (port <= 0 || port > 65535) {
    std::cerr << "warden-echo-app: invalid port " << argv[1] << "\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  warden::tools::EchoApp app;
  if (!app.start("127.0.0.1", static_cast<std::uint16_t>(port))) {
    std::cerr << "warden-echo-app: cannot listen on 127.0.0.1:" << port << "\n";
    return 1;
  }
  std::cout << "echo app listening on 127.0.0.1:" << app.port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}
