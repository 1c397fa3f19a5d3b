// Internal to `warden`'s admin commands (admin_*.cc): the shared connection options, the
// table of parsed subcommands and their actions, and small output helpers.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/api_client.h"

namespace warden::cli {

struct CommandContext {
  ConnectionOptions connection;
  bool json = false;  // --json: the server's JSON instead of a table

  std::unique_ptr<ApiClient> client(ApiClient::Identity identity = ApiClient::Identity::kRequired) const {
    return ApiClient::connect(connection, identity);
  }
};

// Leaf subcommands and what to run when one of them was parsed.
class CommandRegistry {
 public:
  void add(CLI::App* leaf, std::function<int()> run) { leaves_.emplace_back(leaf, std::move(run)); }
  // The chosen leaf's exit code (CliFailure printed as one line), or nullopt if none of
  // the registered leaves was parsed.
  std::optional<int> run() const;

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> leaves_;
};

// --server, --cert, --key, --bundle, --server-id, --token, --timeout and --json on an
// area subcommand (agents, policy, ...); its subcommands hand options they do not know to
// it (fallthrough), so they may be given anywhere after the area's name.
void addConnectionOptions(CLI::App* area, CommandContext& context);

void addAgentCommands(CLI::App& app, CommandContext& context, CommandRegistry& registry);
// policy (validate, get, diff, apply, history, rollback, explain) and governance (the same
// but explain).
void addDocumentCommands(CLI::App& app, CommandContext& context, CommandRegistry& registry);
void addAuditCommands(CLI::App& app, CommandContext& context, CommandRegistry& registry);
// users (list, add, delete): local users and their roles.
void addUserCommands(CLI::App& app, CommandContext& context, CommandRegistry& registry);

// Whole file, or CliFailure naming it.
std::string readTextFile(const std::string& path);
// Pretty JSON on stdout.
void printJson(const nlohmann::json& value);
// Unix seconds as "2026-11-24 13:59:25Z"; "" for 0.
std::string formatUnixTime(std::int64_t unix_seconds);
// A member as text: strings as they are, other values as JSON, absent as "".
std::string textOf(const nlohmann::json& object, const char* key);
// The answer as JSON, or CliFailure("<what>: the server's answer is not JSON").
nlohmann::json jsonOf(std::string_view what, const ApiResponse& response);

}  // namespace warden::cli
