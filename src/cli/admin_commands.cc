#include "cli/admin_commands.h"

#include <CLI/CLI.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <termios.h>
#include <unistd.h>

#include "cli/admin_internal.h"

namespace warden::cli {

using nlohmann::json;

std::optional<int> CommandRegistry::run() const {
  for (const auto& [leaf, action] : leaves_) {
    if (!leaf->parsed()) continue;
    try {
      return action();
    } catch (const CliFailure& e) {
      std::cout.flush();
      std::cerr << "warden: " << e.what() << "\n";
      return e.exitCode();
    } catch (const std::exception& e) {
      std::cout.flush();
      std::cerr << "warden: " << leaf->get_name() << ": unexpected answer or state: " << e.what() << "\n";
      return kExitFailure;
    }
  }
  return std::nullopt;
}

void addConnectionOptions(CLI::App* area, CommandContext& c) {
  auto& o = c.connection;
  area->add_option("--server", o.server, "Control plane URL, https://host:port (env WARDEN_SERVER)");
  area->add_option("--cert", o.cert, "X509-SVID certificate chain (PEM) to authenticate with (env WARDEN_CERT)");
  area->add_option("--key", o.key, "The SVID's private key (PEM) (env WARDEN_KEY)");
  area->add_option("--bundle", o.bundle, "Trust bundle (PEM) that verifies the server (env WARDEN_BUNDLE)");
  area->add_option("--server-id", o.server_id,
                   "The server's SPIFFE ID; its certificate must be an X509-SVID with that ID "
                   "(env WARDEN_SERVER_ID)");
  area->add_option("--token", o.token,
                   "Bearer token instead of an SVID (env WARDEN_TOKEN; default: the token "
                   "`warden login` stored)");
  area->add_option("--timeout", o.timeout_seconds, "Seconds per request")
      ->check(CLI::Range(1, 3600));
  area->add_flag("--json", c.json, "Print the server's JSON instead of a table");
  area->fallthrough();
}

std::string readTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliFailure("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw CliFailure("cannot read " + path);
  return text.str();
}

void printJson(const json& value) {
  std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

std::string formatUnixTime(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return {};
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string textOf(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return {};
  const auto& v = object[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

json jsonOf(std::string_view what, const ApiResponse& response) {
  auto j = response.asJson();
  if (j.is_discarded()) throw CliFailure(std::string(what) + ": the server's answer is not JSON");
  return j;
}

namespace {

// One line from standard input; prompted with echo off when it is a terminal and
// --password-stdin was not given.
std::string readPassword(const std::string& user, bool password_stdin) {
  std::string password;
  const bool prompt = !password_stdin && ::isatty(STDIN_FILENO) == 1;
  if (prompt) {
    std::cerr << "Password for " << user << ": " << std::flush;
    termios saved{};
    const bool have_tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (have_tty) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, password);
    if (have_tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  } else {
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw CliFailure("login: no password on standard input", kExitUsage);
  return password;
}

void addLogin(CLI::App& app, CommandContext& c, CommandRegistry& registry) {
  auto* login = app.add_subcommand(
      "login", "Sign in with a user name and password; stores a bearer token for later commands");
  addConnectionOptions(login, c);
  auto user = std::make_shared<std::string>("admin");
  auto password_stdin = std::make_shared<bool>(false);
  login->add_option("-u,--username", *user, "User name (default admin)");
  login->add_flag("--password-stdin", *password_stdin,
                  "Read the password from standard input without prompting (it is never taken "
                  "from the command line)");
  registry.add(login, [&c, user, password_stdin] {
    auto client = c.client(ApiClient::Identity::kNone);
    const std::string password = readPassword(*user, *password_stdin);
    const std::string what = "logging in as " + *user;
    auto res = client->request(what, "POST", "/api/v1/login",
                               json{{"username", *user}, {"password", password}});
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    const std::string token = textOf(body, "access_token");
    if (token.empty()) throw CliFailure(what + ": the answer holds no access_token");
    storeToken(token);
    std::cout << "logged in to " << client->baseUrl() << " as " << *user << " (role "
              << textOf(body, "role") << ", valid " << textOf(body, "expires_in")
              << " s); token stored in " << tokenFilePath() << "\n";
    return 0;
  });
}

}  // namespace

struct AdminCommands::Impl {
  CommandContext context;
  CommandRegistry registry;
};

AdminCommands::AdminCommands(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  addLogin(app, impl_->context, impl_->registry);
  addAgentCommands(app, impl_->context, impl_->registry);
  addDocumentCommands(app, impl_->context, impl_->registry);
  addAuditCommands(app, impl_->context, impl_->registry);
  addUserCommands(app, impl_->context, impl_->registry);
}

AdminCommands::~AdminCommands() = default;

std::optional<int> AdminCommands::run() { return impl_->registry.run(); }

}  // namespace warden::cli
