#include "controlplane/sidecar_reports.h"

namespace warden::controlplane {

void SidecarReports::record(std::string spiffe_id, std::string agent, SidecarReport report,
                            std::int64_t now) {
  std::lock_guard lock(mutex_);
  dropExpired(now);
  SidecarReportEntry entry{spiffe_id, std::move(agent), now, std::move(report)};
  entries_.insert_or_assign(std::move(spiffe_id), std::move(entry));
}

std::vector<SidecarReportEntry> SidecarReports::list(std::int64_t now) {
  std::lock_guard lock(mutex_);
  dropExpired(now);
  std::vector<SidecarReportEntry> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry);
  return out;
}

void SidecarReports::dropExpired(std::int64_t now) {
  const std::int64_t limit = std::chrono::duration_cast<std::chrono::seconds>(kReportRetention).count();
  std::erase_if(entries_, [&](const auto& item) { return item.second.ageSeconds(now) > limit; });
}

}  // namespace warden::controlplane
