#include "governance/agent_facts.h"

#include <array>
#include <utility>

namespace warden::governance {
namespace {

constexpr std::array<std::pair<std::string_view, AgentState>, 3> kStates{{
    {"enabled", AgentState::kEnabled},
    {"disabled", AgentState::kDisabled},
    {"quarantined", AgentState::kQuarantined},
}};
constexpr std::array<std::pair<std::string_view, RiskLevel>, 4> kRisks{{
    {"none", RiskLevel::kNone},
    {"low", RiskLevel::kLow},
    {"medium", RiskLevel::kMedium},
    {"high", RiskLevel::kHigh},
}};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view agentStateName(AgentState state) {
  for (const auto& [name, value] : kStates) {
    if (value == state) return name;
  }
  return "unknown";
}

std::optional<AgentState> agentStateFromName(std::string_view name) {
  for (const auto& [n, value] : kStates) {
    if (n == name) return value;
  }
  return std::nullopt;
}

std::string_view riskLevelName(RiskLevel risk) {
  for (const auto& [name, value] : kRisks) {
    if (value == risk) return name;
  }
  return "unknown";
}

std::optional<RiskLevel> riskLevelFromName(std::string_view name) {
  for (const auto& [n, value] : kRisks) {
    if (n == name) return value;
  }
  return std::nullopt;
}

bool validTagKey(std::string_view key) {
  if (key.empty() || key.size() > 63) return false;
  for (char c : key) {
    const char l = lower(c);
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' ||
                    l == '-';
    if (!ok) return false;
  }
  return true;
}

bool validTagValue(std::string_view value) {
  if (value.size() > 255) return false;
  for (char c : value) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string normalizeTagKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) c = lower(c);
  return out;
}

bool tagValuesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace warden::governance
