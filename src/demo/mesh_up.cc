#include "demo/mesh_up.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "demo/local_http.h"
#include "issuer/key_store.h"
#include "demo/local_port.h"
#include "demo/local_web_pki.h"
#include "demo/mesh_config.h"
#include "demo/mesh_layout.h"
#include "demo/process_group.h"
#include "demo/sidecar_status.h"
#include "workload/endpoint_address.h"
#include "workload/workload_client.h"

namespace warden::demo {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(60);

std::string clockText() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

void say(const std::string& line) { std::cout << "[" << clockText() << "] " << line << std::endl; }

// A termination signal arrived (the caller blocked them): stop waiting.
bool interrupted(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  timespec ts{static_cast<time_t>(wait.count() / 1000), static_cast<long>((wait.count() % 1000) * 1000000)};
  return ::sigtimedwait(&set, nullptr, &ts) > 0;
}

struct Component {
  std::string name;
  std::size_t child = 0;
  std::function<bool()> ready;  // polled until true
  std::uint16_t admin_port = 0;  // sidecars: polled for status lines
  bool was_ready = false;
};

class MeshRun {
 public:
  MeshRun(MeshConfig config, MeshLayout layout, std::string binary)
      : c_(std::move(config)), l_(std::move(layout)), binary_(std::move(binary)) {}

  int run() {
    if (!startAll()) {
      say("stopping what was started");
      group_.stopAll(std::chrono::seconds(10));
      return 1;
    }
    printBanner();
    monitor();
    say("stopping the mesh");
    group_.stopAll(std::chrono::seconds(10));
    say("stopped; logs kept in " + l_.log_dir);
    return 0;
  }

 private:
  bool logSays(std::size_t child, const std::string& text) const {
    return readLogFrom(group_.child(child).log_path).find(text) != std::string::npos;
  }

  // Sidecars run as `warden-proxy` when it sits beside this binary (as the build and an
  // install put it): what runs beside each agent in a real deployment, and a third of the
  // memory. Otherwise `warden proxy`, which is the same sidecar.
  std::vector<std::string> sidecarCommand(const std::string& config_path) const {
    const auto proxy = fs::path(binary_).parent_path() / "warden-proxy";
    if (::access(proxy.c_str(), X_OK) == 0) return {proxy.string(), "--config", config_path};
    return {binary_, "proxy", "--config", config_path};
  }

  bool start(const std::string& name, std::vector<std::string> args, std::function<bool(std::size_t)> ready) {
    args.insert(args.begin(), binary_);
    return startCommand(name, std::move(args), std::move(ready));
  }

  bool startCommand(const std::string& name, std::vector<std::string> args,
                    std::function<bool(std::size_t)> ready) {
    auto started = group_.start(name, std::move(args), l_.log_dir + "/" + name + ".log");
    if (!started) {
      say(name + ": " + started.error().message);
      return false;
    }
    const std::size_t index = *started;
    components_.push_back(Component{name, index, [ready, index] { return ready(index); }, 0, false});
    return true;
  }

  // Waits until every component started so far is ready; a child that exits or a
  // deadline is a failure that quotes the end of its log.
  bool awaitReady() {
    const auto deadline = Clock::now() + kStartTimeout;
    for (;;) {
      for (auto i : group_.reap()) {
        const auto& child = group_.child(i);
        say(child.name + " exited with status " + std::to_string(*child.exit_status) + " during start-up; its log (" +
            child.log_path + ") ends with:");
        std::cout << tail(readLogFrom(child.log_path)) << std::endl;
        return false;
      }
      bool all = true;
      for (auto& comp : components_) {
        if (comp.was_ready) continue;
        if (comp.ready()) {
          comp.was_ready = true;
          say(comp.name + ": ready");
        } else {
          all = false;
        }
      }
      if (all) return true;
      if (Clock::now() > deadline) {
        for (const auto& comp : components_) {
          if (!comp.was_ready) {
            say(comp.name + ": not ready after " + std::to_string(kStartTimeout.count()) + " s; its log (" +
                group_.child(comp.child).log_path + ") ends with:");
            std::cout << tail(readLogFrom(group_.child(comp.child).log_path)) << std::endl;
          }
        }
        return false;
      }
      if (interrupted(std::chrono::milliseconds(100))) {
        say("interrupted during start-up");
        return false;
      }
    }
  }

  static std::string tail(const std::string& log) {
    std::size_t at = log.size();
    for (int lines = 0; lines < 12 && at > 0; ++lines) {
      at = log.rfind('\n', at - 1);
      if (at == std::string::npos) {
        at = 0;
        break;
      }
    }
    return log.substr(at);
  }

  // The home trust domain's X.509 bundle as PEM, for people's `warden login --bundle`
  // (the matrix fetches its own). Any entry's socket serves it; bundles are public.
  Status writeHomeBundle() const {
    auto address = workload::parseEndpointAddress("unix://" + l_.socketPath("warden-matrix"));
    if (!address) return Error{address.error().message};
    workload::WorkloadClient client(*address);
    auto bundles = client.fetchX509Bundles();
    if (!bundles) return Error{"reading the trust bundle: " + bundles.error().message};
    std::string pem;
    for (const auto& [td, certs] : *bundles) {
      if (td != c_.home_trust_domain && td != "spiffe://" + c_.home_trust_domain) continue;
      for (const auto& cert : certs) {
        pem += issuer::certificatePem(cert.get());
      }
    }
    if (pem.empty()) return Error{"the Workload API sent no bundle for " + c_.home_trust_domain};
    std::ofstream out(l_.run_dir + "/" + c_.home_trust_domain + "/bundle.pem", std::ios::trunc);
    out << pem;
    return out ? Status{} : Status{Error{"cannot write the bundle file"}};
  }

  bool sidecarReady(std::uint16_t admin_port) const { return sidecarStatus(admin_port, c_.trust_domains).ready; }

  bool startAll() {
    const auto port = [&](std::uint16_t p) { return c_.host + ":" + std::to_string(p); };
    if (c_.external_oidc) {
      const bool ok = start(c_.external_oidc->name + "-oidc",
                            {"oidc-standin", "--listen", port(l_.oidc_port), "--cert", l_.pki_dir + "/server.pem",
                             "--key", l_.pki_dir + "/server.key", "--subject", c_.external_oidc->subject,
                             "--audience", c_.external_oidc->audience, "--token-file", l_.oidcTokenFile(),
                             "--request-token-file", l_.oidcRequestTokenFile()},
                            [this](std::size_t i) { return logSays(i, "oidc stand-in: issuer"); });
      if (!ok || !awaitReady()) return false;
    }
    // Federated domains first: the home server's token service and sidecars find their
    // bundles already published.
    for (auto it = c_.trust_domains.rbegin(); it != c_.trust_domains.rend(); ++it) {
      const auto& td = *it;
      const bool home = td == c_.home_trust_domain;
      const std::string marker = home ? "control plane API" : "workload api: listening";
      if (!start("server-" + td, {"server", "--config", l_.serverConfigPath(td)},
                 [this, marker](std::size_t i) { return logSays(i, marker); })) {
        return false;
      }
    }
    if (!awaitReady()) return false;
    if (auto st = writeHomeBundle(); !st) say("warning: " + st.message());
    const auto server_log = readLogFrom(group_.child(components_.back().child).log_path);
    std::smatch m;
    if (std::regex_search(server_log, m, std::regex("bootstrap admin: user (\\S+) password (\\S+)"))) {
      admin_user_ = m[1];
      admin_password_ = m[2];
    }
    for (std::size_t i = 0; i < c_.agents.size(); ++i) {
      const auto& a = c_.agents[i];
      if (a.app == AppKind::kNone) continue;
      std::vector<std::string> args{"sample-agent", "--name", a.name, "--role",
                                    a.app == AppKind::kBackend ? "backend" : "agent", "--listen",
                                    port(l_.agents[i].app)};
      if (!a.routes.empty()) {
        args.push_back("--egress");
        args.push_back(port(l_.agents[i].egress));
      }
      const std::string marker = "sample agent " + a.name + " listening";
      if (!start("app-" + a.name, args, [this, marker](std::size_t k) { return logSays(k, marker); })) return false;
    }
    for (std::size_t i = 0; i < c_.agents.size(); ++i) {
      const auto& a = c_.agents[i];
      const auto admin = l_.agents[i].admin;
      if (!startCommand("sidecar-" + a.name, sidecarCommand(l_.sidecarConfigPath(a.name)),
                        [this, admin](std::size_t) { return sidecarReady(admin); })) {
        return false;
      }
      components_.back().admin_port = admin;
    }
    return awaitReady();
  }

  void printBanner() const {
    const auto port = [&](std::uint16_t p) { return c_.host + ":" + std::to_string(p); };
    std::cout << "\n"
              << "Warden demo mesh \"" << c_.name << "\" is up (" << c_.source_path << ")\n"
              << "  control plane API  " << l_.apiUrl(c_) << "   (server identity " << l_.serverSpiffeId(c_) << ")\n"
              << "  portal             "
              << (l_.portal_dir.empty() ? "not built (npm run build --prefix portal), so not served"
                                        : l_.portalUrl() + "/   (sign in as admin; the browser must trust " + l_.run_dir + "/" +
                                              c_.home_trust_domain + "/bundle.pem)")
              << "\n";
    if (!admin_password_.empty()) {
      std::cout << "  admin sign-in      user " << admin_user_ << ", password " << admin_password_
                << "   (shown once; also in " << l_.log_dir << "/server-" << c_.home_trust_domain << ".log)\n";
    } else {
      std::cout << "  admin sign-in      the bootstrap password was printed on the first start of this store "
                   "(use --keep-state only if you kept it)\n";
    }
    std::cout << "  token service      " << l_.tokenIssuer(c_) << "\n";
    if (c_.external_oidc) std::cout << "  " << c_.external_oidc->name << " stand-in  " << l_.oidcIssuer(c_) << "\n";
    std::cout << "\n  agent                  SPIFFE ID                                        app     ingress  egress  admin\n";
    for (std::size_t i = 0; i < c_.agents.size(); ++i) {
      const auto& a = c_.agents[i];
      const auto& p = l_.agents[i];
      char line[256];
      std::snprintf(line, sizeof(line), "  %-22s %-48s %-7s %-8s %-7s %u\n", a.name.c_str(), a.spiffe_id.c_str(),
                    a.app == AppKind::kNone ? "-" : std::to_string(p.app).c_str(),
                    a.ingress ? std::to_string(p.ingress).c_str() : "-",
                    a.routes.empty() ? "-" : std::to_string(p.egress).c_str(), static_cast<unsigned>(p.admin));
      std::cout << line;
    }
    std::cout << "\n  run directory      " << l_.run_dir << " (generated configs, logs, state)\n"
              << "  try                curl -s 'http://" << port(l_.agents[0].app)
              << "/health'   or   warden matrix --run-dir " << l_.run_dir << "\n"
              << "  admin CLI          warden login --server " << l_.apiUrl(c_) << " --bundle "
              << l_.run_dir << "/" << c_.home_trust_domain << "/bundle.pem --server-id " << l_.serverSpiffeId(c_)
              << "\n\n";
    say("mesh ready; Ctrl-C stops everything");
  }

  // Reports what changes until a termination signal arrives.
  void monitor() {
    auto last_poll = Clock::now();
    for (;;) {
      if (interrupted(std::chrono::milliseconds(500))) return;
      for (auto i : group_.reap()) {
        const auto& child = group_.child(i);
        say(child.name + " exited with status " + std::to_string(*child.exit_status) + " (log: " + child.log_path + ")");
      }
      if (Clock::now() - last_poll < std::chrono::seconds(2)) continue;
      last_poll = Clock::now();
      for (auto& comp : components_) {
        if (comp.admin_port == 0 || !group_.running(comp.child)) continue;
        const auto status = sidecarStatus(comp.admin_port, c_.trust_domains);
        if (status.ready != comp.was_ready) {
          comp.was_ready = status.ready;
          say(comp.name + (status.ready ? ": ready again"
                                        : ": NOT ready, waiting for " + status.waiting_for + " (http://" + c_.host +
                                              ":" + std::to_string(comp.admin_port) + "/readyz)"));
        }
      }
    }
  }

  MeshConfig c_;
  MeshLayout l_;
  std::string binary_;
  ProcessGroup group_;
  std::vector<Component> components_;
  std::string admin_user_;
  std::string admin_password_;
};

}  // namespace

std::string defaultRunDir(const std::string& mesh_name) {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  const std::string base = runtime != nullptr && *runtime == '/' ? runtime : "/tmp";
  return base + "/warden-" + mesh_name + "-" + std::to_string(::getuid());
}

int runMeshUp(const UpOptions& o) {
  auto config = loadMeshConfig(o.mesh_file);
  if (!config) {
    std::cerr << "warden up: " << config.error().message << "\n";
    return 1;
  }
  config->source_path = fs::absolute(o.mesh_file).lexically_normal().string();
  if (o.base_port) config->base_port = *o.base_port;
  auto layout = planMesh(*config, o.run_dir.empty() ? defaultRunDir(config->name) : o.run_dir);
  if (!layout) {
    std::cerr << "warden up: " << layout.error().message << "\n";
    return 1;
  }
  if (!o.portal_dir.empty() && fs::exists(o.portal_dir + "/index.html")) {
    layout->portal_dir = fs::absolute(o.portal_dir).lexically_normal().string();
  }
  for (const auto& p : layout->ports(*config)) {
    if (!portIsFree(config->host, p.port)) {
      std::cerr << "warden up: " << config->host << ":" << p.port << " (" << p.what
                << ") is already in use; stop what holds it (another `warden up`?) or pass --base-port\n";
      return 1;
    }
  }
  std::error_code ec;
  if (!o.keep_state) {
    // Everything but the local CA: a fresh store, fresh issuers and fresh logs each time.
    for (const auto& entry : fs::directory_iterator(layout->run_dir, ec)) {
      if (entry.path().filename() != "pki") fs::remove_all(entry.path(), ec);
    }
  }
  for (const auto& d : {layout->run_dir, layout->socket_dir, layout->log_dir, layout->run_dir + "/oidc"}) {
    fs::create_directories(d, ec);
    fs::permissions(d, fs::perms::owner_all, ec);
  }
  for (const auto& a : config->agents) fs::create_directories(layout->run_dir + "/agents/" + a.name + "/state", ec);
  auto pki = makeLocalWebPki(layout->pki_dir);
  if (!pki) {
    std::cerr << "warden up: local Web PKI: " << pki.error().message << "\n";
    return 1;
  }
  if (auto st = writeMeshFiles(*config, *layout); !st) {
    std::cerr << "warden up: " << st.message() << "\n";
    return 1;
  }
  std::string binary = o.warden_binary;
  if (binary.empty()) binary = fs::read_symlink("/proc/self/exe", ec).string();
  say("starting mesh \"" + config->name + "\" in " + layout->run_dir + " (logs in " + layout->log_dir + ")");
  MeshRun run(std::move(*config), std::move(*layout), binary);
  return run.run();
}

}  // namespace warden::demo
