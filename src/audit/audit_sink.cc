#include "audit/audit_sink.h"

#include <cerrno>
#include <cstring>

namespace warden::audit {

Result<std::unique_ptr<AuditSink>> AuditSink::create(const AuditSinkOptions& options) {
  std::FILE* file = nullptr;
  if (!options.file_path.empty()) {
    file = std::fopen(options.file_path.c_str(), "ae");
    if (file == nullptr) {
      return Error{"audit.file: cannot open " + options.file_path + ": " + std::strerror(errno)};
    }
  }
  std::unique_ptr<AuditSpool> spool;
  if (!options.spool_dir.empty()) {
    auto opened = AuditSpool::open(options.spool_dir, options.spool);
    if (!opened) {
      if (file != nullptr) std::fclose(file);
      return Error{"audit.spool_dir: " + opened.error().message};
    }
    spool = std::move(opened).value();
  }
  return std::unique_ptr<AuditSink>(new AuditSink(options, file, std::move(spool)));
}

AuditSink::AuditSink(AuditSinkOptions options, std::FILE* file, std::unique_ptr<AuditSpool> spool)
    : options_(std::move(options)), file_(file), spool_(std::move(spool)) {
  thread_ = std::thread([this] { run(); });
}

AuditSink::~AuditSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (file_ != nullptr) std::fclose(file_);
}

void AuditSink::submit(AuditEvent event) {
  bool wake_now = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(event));
    ++submitted_;
    wake_now = queue_.size() == options_.wake_batch;
  }
  // The writer runs on a short tick; waking it per event would cost a futex call and a
  // context switch per request (measured: ~11% of the data plane's samples). Only a
  // burst that fills a batch wakes it early.
  if (wake_now) wake_.notify_one();
}

void AuditSink::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = submitted_;
  flush_requested_ = true;
  wake_.notify_one();
  drained_.wait(lock, [&] { return completed_ >= target; });
}

void AuditSink::addObserver(std::function<void(const AuditEvent&)> observer) {
  std::lock_guard lock(mutex_);
  observers_.push_back(std::move(observer));
}

void AuditSink::run() {
  std::vector<AuditEvent> batch;
  std::string buffer;
  std::vector<std::string> lines;  // the same lines, for the spool
  for (;;) {
    std::vector<std::function<void(const AuditEvent&)>> observers;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.flush_interval, [&] {
        return stopping_ || flush_requested_ || queue_.size() >= options_.wake_batch;
      });
      flush_requested_ = false;
      if (queue_.empty() && stopping_) return;
      if (queue_.empty()) continue;
      batch.swap(queue_);
      observers = observers_;
    }
    buffer.clear();
    lines.clear();
    for (const auto& event : batch) {
      const std::size_t start = buffer.size();
      appendJsonLine(buffer, event);
      if (spool_ != nullptr) lines.emplace_back(buffer, start);
      buffer.push_back('\n');
    }
    if (file_ != nullptr) {
      std::fwrite(buffer.data(), 1, buffer.size(), file_);
      std::fflush(file_);
    }
    if (options_.to_stdout) {
      std::fwrite(buffer.data(), 1, buffer.size(), stdout);
      std::fflush(stdout);
    }
    if (spool_ != nullptr) {
      // One append per batch. A refusal (spool full, disk error) is counted by the spool
      // as dropped; the events are still in the file written above.
      static_cast<void>(spool_->append(lines));
    }
    for (const auto& event : batch) {
      for (const auto& observer : observers) observer(event);
    }
    written_.fetch_add(batch.size(), std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      completed_ += batch.size();
    }
    drained_.notify_all();
    batch.clear();
  }
}

}  // namespace warden::audit
