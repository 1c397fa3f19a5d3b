// A crash-safe, disk-backed FIFO of audit JSON lines, waiting to be shipped to the server.
//
// Every appended line gets a sequence number (`seq`), unique and increasing for the life of
// the directory: after a restart numbering continues above everything the spool ever
// stored or acknowledged, so (spool id, seq) identifies an event for the server's
// deduplication. A gap in the numbers marks events that will not be shipped: every
// append() uses up its batch's numbers even when it refuses the batch, and a damaged line
// is skipped. Layout of the directory:
//
//   seg-<first seq, 20 digits>.jsonl   records, one per line (spool_record.h), rolled at
//                                      max_segment_bytes
//   acked                              "<seq>\n": the highest seq the server acknowledged
//                                      (written to acked.tmp, fsync, rename, fsync dir)
//   lock                               flock()ed while open: one process per directory
//   id                                 random 128-bit id (32 hex) made with the directory
//
// A directory that is lost and recreated (a wiped disk, a Kubernetes emptyDir after a
// reschedule) starts numbering at 1 again, so the server must deduplicate on
// (sidecar, spoolId(), seq): with (sidecar, seq) alone it would discard the new
// directory's events as duplicates of the old one's.
//
// Why it survives a crash: a record becomes readable only after append() wrote it and (by
// default) fdatasync()ed it; `acked` is persisted before any segment is deleted, so the
// highest seq ever used is always max(acked, last record on disk); open() truncates a torn
// last line (a crash mid-write, which append() had not reported as done) and skips lines
// whose checksum fails. See docs/audit.md#shipping-to-the-server.
//
// When the directory would exceed max_total_bytes (the server has been unreachable for a
// long time), append() refuses the whole batch with an error and counts its events as
// dropped instead of deleting unacknowledged events: the newest events are the ones not
// shipped, they stay in the local audit file, and the counter makes the gap visible.
//
// Thread-safety: every method may be called from any thread; one mutex serialises them
// (reads of the files included). Only the audit writer thread (append) and the shipper
// thread (readFrom, ack) call it, never the data plane.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace warden::audit {

enum class SpoolSync : std::uint8_t {
  kEveryAppend,  // fdatasync per append(): survives power loss and kernel crashes
  kNone,         // page cache only: survives a sidecar crash, not a power loss (see docs)
};

struct AuditSpoolOptions {
  std::uint64_t max_segment_bytes = 4 * 1024 * 1024;
  std::uint64_t max_total_bytes = 256 * 1024 * 1024;
  SpoolSync sync = SpoolSync::kEveryAppend;
};

struct SpooledEvent {
  std::uint64_t seq = 0;
  std::string json{};
  std::int64_t appended_unix_ms = 0;  // when append() stored it (for the backlog's age)
};

struct AuditSpoolStats {
  std::uint64_t appended = 0;     // events accepted since open()
  std::uint64_t dropped = 0;      // events append() refused (bound, invalid line, I/O error)
  std::uint64_t torn_tails = 0;   // incomplete last lines truncated by open()
  std::uint64_t corrupted = 0;    // damaged lines open() found and skips
  std::uint64_t segments = 0;     // segment files now
  std::uint64_t total_bytes = 0;  // bytes of all segment files (what the bound applies to)
};

class AuditSpool {
 public:
  // Creates the directory if needed, takes its lock and recovers its state.
  static Result<std::unique_ptr<AuditSpool>> open(const std::string& dir,
                                                  const AuditSpoolOptions& options = {});
  ~AuditSpool();
  AuditSpool(const AuditSpool&) = delete;
  AuditSpool& operator=(const AuditSpool&) = delete;

  // Stores the lines as consecutive records with one write and (kEveryAppend) one
  // fdatasync. On error no line of the batch is readable, all count as dropped and their
  // numbers are used up (if a failed write left whole records on disk, the next open()
  // finds them under those numbers). Lines must not be empty or contain '\n'.
  Status append(std::span<const std::string> json_lines);

  // Up to max_events records with seq > after_seq, oldest first, whose JSON totals at
  // most max_bytes; always at least one record if there is one (a record larger than
  // max_bytes must not block the queue).
  Result<std::vector<SpooledEvent>> readFrom(std::uint64_t after_seq, std::size_t max_events,
                                             std::size_t max_bytes);

  // Records that the server stored every event up to `up_to_seq` (persisted before it
  // returns) and deletes the segments that hold nothing newer. Ignored if not above
  // ackedSeq(); an error if above lastSeq().
  Status ack(std::uint64_t up_to_seq);

  // Called after every successful append(), outside the spool's lock (the shipper wakes
  // up with it). One listener; nullptr removes it. Once this returns, the previous
  // listener is not running and will not be called again.
  void setAppendListener(std::function<void()> listener);

  std::uint64_t ackedSeq() const;
  std::uint64_t lastSeq() const;        // highest seq used, refused batches included
  std::uint64_t pendingEvents() const;  // readable records above ackedSeq()
  std::uint64_t pendingBytes() const;   // segment bytes above the acknowledged position
  AuditSpoolStats stats() const;
  const std::string& dir() const { return dir_; }
  const std::string& spoolId() const { return spool_id_; }  // fixed for the directory's life

 private:
  struct Segment {
    std::uint64_t first_seq = 0;  // from the file name
    std::uint64_t last_seq = 0;   // highest readable record; first_seq - 1 if none
    std::uint64_t bytes = 0;      // file size; every line in it is complete
    std::uint64_t records = 0;    // readable records
  };
  // Just after record `seq` in segment `first_seq`: the next record starts at `offset`,
  // and `records_before` readable records precede it in that segment.
  struct Position {
    std::uint64_t seq = 0;
    std::uint64_t first_seq = 0;
    std::uint64_t offset = 0;
    std::uint64_t records_before = 0;
  };
  AuditSpool(std::string dir, AuditSpoolOptions options, int lock_fd);
  Status recover();
  Status loadOrCreateId();
  Status persistAcked(std::uint64_t seq);
  Result<Position> locate(const Segment& segment, std::uint64_t after_seq);
  void closeActive();

  const std::string dir_;
  const AuditSpoolOptions options_;
  const int lock_fd_;
  std::string spool_id_;  // set by open(), then constant

  mutable std::mutex mutex_;
  std::vector<Segment> segments_;  // ascending first_seq; the last one is appended to
  int active_fd_ = -1;             // open for appending to segments_.back(), or -1
  std::uint64_t acked_seq_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t front_acked_bytes_ = 0;    // bytes of segments_.front() at or below acked
  std::uint64_t front_acked_records_ = 0;  // records of segments_.front() at or below acked
  std::optional<Position> read_cursor_;    // where the last readFrom() ended
  AuditSpoolStats stats_;

  std::mutex listener_mutex_;  // held while the listener runs (see setAppendListener)
  std::function<void()> listener_;
};

}  // namespace warden::audit
