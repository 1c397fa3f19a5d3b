// Asynchronous audit writer: workers hand events over; one dedicated thread writes them.
//
// Workers never block on I/O: submit() appends to an in-memory queue under a mutex held
// for a push_back only. The writer wakes every `flush_interval` (or as soon as
// `wake_batch` events wait, or on flush()), formats the JSON lines and writes them to a
// file (append, flushed per batch) and/or stdout: events reach the file within one
// interval, and a busy data plane pays no wake-up per request. If the queue exceeds its bound (a stalled disk), new events are counted as
// dropped rather than growing memory without limit; the counter is exported as a metric
// so the loss is visible. With `spool_dir`, the writer also appends each batch to an
// AuditSpool (one append, one fdatasync per batch, on the writer thread: the data plane
// never waits for it). Thread-safety: submit() from any thread; start/stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_event.h"
#include "audit/audit_spool.h"
#include "common/result.h"

namespace warden::audit {

struct AuditSinkOptions {
  std::string file_path{};        // empty: no file
  bool to_stdout = false;
  std::size_t max_queue = 100000;  // events waiting to be written
  std::chrono::milliseconds flush_interval{20};
  std::size_t wake_batch = 512;
  // Also append every batch to a disk spool for shipping to the server (audit_spool.h);
  // "" = off. The file and stdout outputs above are unaffected.
  std::string spool_dir{};
  AuditSpoolOptions spool{};
};

class AuditSink {
 public:
  static Result<std::unique_ptr<AuditSink>> create(const AuditSinkOptions& options);
  ~AuditSink();
  AuditSink(const AuditSink&) = delete;
  AuditSink& operator=(const AuditSink&) = delete;

  void submit(AuditEvent event);
  // Blocks until everything submitted before the call is written (tests, shutdown).
  void flush();
  // Observers (tests) see every event after it is written.
  void addObserver(std::function<void(const AuditEvent&)> observer);
  // The spool the writer appends to (nullptr without spool_dir): the owner builds an
  // AuditShipper on it with its transport, and destroys that shipper before the sink.
  AuditSpool* spool() { return spool_.get(); }

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AuditSink(AuditSinkOptions options, std::FILE* file, std::unique_ptr<AuditSpool> spool);
  void run();

  AuditSinkOptions options_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<AuditSpool> spool_;  // appended to by the writer; a shipper reads it
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::vector<AuditEvent> queue_;
  std::uint64_t submitted_ = 0;       // guarded by mutex_
  std::uint64_t completed_ = 0;       // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
  bool flush_requested_ = false;      // guarded by mutex_
  std::vector<std::function<void(const AuditEvent&)>> observers_;  // guarded by mutex_
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace warden::audit
