#include "audit/audit_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <random>
#include <string_view>

#include "audit/spool_record.h"

namespace warden::audit {
namespace {

constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kSegmentSuffix = ".jsonl";
constexpr std::size_t kSeqDigits = 20;  // fixed width: name order is seq order
constexpr std::size_t kReadChunk = 64 * 1024;

std::string errnoText(std::string_view what, const std::string& path) {
  return fmt::format("audit spool: {} {}: {}", what, path, std::strerror(errno));
}

std::string segmentName(std::uint64_t first_seq) {
  return fmt::format("{}{:0{}}{}", kSegmentPrefix, first_seq, kSeqDigits, kSegmentSuffix);
}

std::optional<std::uint64_t> parseSegmentName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSeqDigits + kSegmentSuffix.size() ||
      !name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kSegmentPrefix.size(), kSeqDigits);
  std::uint64_t seq = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || seq == 0) return std::nullopt;
  return seq;
}

std::int64_t nowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Closes on scope exit; the spool opens a segment for each read, which keeps the
// deletion of acknowledged segments free of any "is someone reading it" bookkeeping.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{errnoText("cannot write", path)};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// A rename or a new file is durable only once its directory is synced.
Status syncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Error{errnoText("cannot open directory", dir)};
  if (::fsync(fd.get()) != 0) return Error{errnoText("cannot sync directory", dir)};
  return {};
}

struct Line {
  std::string_view text;  // without '\n'
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // just after '\n' (or after the text if incomplete)
  bool complete = true;   // false: the region ended without a '\n'
};

// Reads [offset, end) of a file line by line, in chunks (a segment may be megabytes).
class LineReader {
 public:
  LineReader(int fd, std::uint64_t offset, std::uint64_t end, const std::string& path)
      : fd_(fd), file_pos_(offset), buf_start_(offset), end_(end), path_(path) {}

  // False at the end of the region or on error (then error() is set).
  bool next(Line& line) {
    for (;;) {
      const auto newline = buf_.find('\n', pos_);
      if (newline != std::string::npos) {
        line = {std::string_view(buf_).substr(pos_, newline - pos_), buf_start_ + pos_,
                buf_start_ + newline + 1, true};
        pos_ = newline + 1;
        return true;
      }
      if (file_pos_ >= end_) {
        if (pos_ == buf_.size()) return false;
        line = {std::string_view(buf_).substr(pos_), buf_start_ + pos_, buf_start_ + buf_.size(),
                false};
        pos_ = buf_.size();
        return true;
      }
      if (!fill()) return false;
    }
  }
  const Status& error() const { return error_; }

 private:
  bool fill() {
    buf_.erase(0, pos_);
    buf_start_ += pos_;
    pos_ = 0;
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, end_ - file_pos_));
    const std::size_t old_size = buf_.size();
    buf_.resize(old_size + want);
    ssize_t n = 0;
    do {
      n = ::pread(fd_, buf_.data() + old_size, want, static_cast<off_t>(file_pos_));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      // n == 0: the file is shorter than the index says (changed behind our back).
      error_ = Error{n < 0 ? errnoText("cannot read", path_)
                           : fmt::format("audit spool: {} is shorter than expected", path_)};
      buf_.resize(old_size);
      return false;
    }
    buf_.resize(old_size + static_cast<std::size_t>(n));
    file_pos_ += static_cast<std::uint64_t>(n);
    return true;
  }

  int fd_;
  std::uint64_t file_pos_;   // next byte to read from the file
  std::uint64_t buf_start_;  // file offset of buf_[0]
  std::uint64_t end_;
  const std::string& path_;
  std::string buf_;
  std::size_t pos_ = 0;
  Status error_;
};

// A line is a readable record if it parses, its checksum holds, and its seq belongs to the
// segment and follows the previous record: anything else is damage, never shipped.
std::optional<SpoolRecordView> readableRecord(const Line& line, std::uint64_t first_seq,
                                              std::uint64_t previous_seq) {
  if (!line.complete) return std::nullopt;
  auto record = parseSpoolRecord(line.text);
  if (!record || record->seq < first_seq || record->seq <= previous_seq) return std::nullopt;
  return record;
}

Status writeFileDurably(const std::string& dir, const std::string& name, std::string_view text) {
  const std::string tmp = dir + "/" + name + ".tmp";
  const std::string path = dir + "/" + name;
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Error{errnoText("cannot create", tmp)};
    if (Status w = writeAll(fd.get(), text, tmp); !w) return w;
    if (::fsync(fd.get()) != 0) return Error{errnoText("cannot sync", tmp)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error{errnoText("cannot rename", tmp)};
  return syncDir(dir);
}

Result<std::uint64_t> readAcked(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::uint64_t{0};
    return Error{errnoText("cannot open", path)};
  }
  char buf[64];
  ssize_t n = 0;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error{errnoText("cannot read", path)};
  const std::string_view text(buf, static_cast<std::size_t>(n));
  std::uint64_t seq = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
  // It is replaced atomically, so damage means a failing disk or a person: refuse to guess,
  // since a lower value could hand out sequence numbers the server has already stored.
  const std::string_view after = text.substr(static_cast<std::size_t>(ptr - text.data()));
  if (ec != std::errc{} || after != "\n") {
    return Error{
        fmt::format("audit spool: {} is damaged (expected \"<seq>\\n\"); refusing to guess "
                    "the acknowledged sequence number. Removing the whole directory starts "
                    "a new spool (new id); events it still holds are then not shipped (they "
                    "are in the local audit log)",
                    path)};
  }
  return seq;
}

}  // namespace

Result<std::unique_ptr<AuditSpool>> AuditSpool::open(const std::string& dir,
                                                     const AuditSpoolOptions& options) {
  if (dir.empty()) return Error{"audit spool: directory is empty"};
  if (options.max_segment_bytes == 0 || options.max_total_bytes == 0) {
    return Error{"audit spool: max_segment_bytes and max_total_bytes must be positive"};
  }
  std::error_code ec;
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"audit spool: cannot create " + dir + ": " + ec.message()};
  if (created) {
    // Audit events name callers and paths: only the sidecar's user needs them.
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    if (ec) return Error{"audit spool: cannot restrict " + dir + ": " + ec.message()};
  }

  // Two processes appending to one directory would interleave numbering: refuse.
  const std::string lock_path = dir + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Error{errnoText("cannot open", lock_path)};
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd);
    errno = err;
    if (err == EWOULDBLOCK) {
      return Error{"audit spool: " + dir + " is in use by another spool (" + lock_path +
                   " is locked)"};
    }
    return Error{errnoText("cannot lock", lock_path)};
  }
  std::unique_ptr<AuditSpool> spool(new AuditSpool(dir, options, lock_fd));
  if (Status recovered = spool->recover(); !recovered) return recovered.error();
  return spool;
}

AuditSpool::AuditSpool(std::string dir, AuditSpoolOptions options, int lock_fd)
    : dir_(std::move(dir)), options_(options), lock_fd_(lock_fd) {}

AuditSpool::~AuditSpool() {
  closeActive();
  ::close(lock_fd_);  // releases the flock
}

void AuditSpool::closeActive() {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
}

// Runs once, before the spool is shared: no lock needed.
Status AuditSpool::recover() {
  // A leftover from a crash during persistAcked(); `acked` itself is intact.
  std::error_code ec;
  std::filesystem::remove(dir_ + "/acked.tmp", ec);
  std::filesystem::remove(dir_ + "/id.tmp", ec);
  if (Status id = loadOrCreateId(); !id) return id;

  auto acked = readAcked(dir_ + "/acked");
  if (!acked) return acked.error();
  acked_seq_ = *acked;
  last_seq_ = acked_seq_;

  // increment(ec), not a range-for: operator++ throws, and nothing may escape the library.
  std::vector<std::uint64_t> firsts;
  std::filesystem::directory_iterator it(dir_, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (auto first = parseSegmentName(it->path().filename().string())) firsts.push_back(*first);
  }
  if (ec) return Error{"audit spool: cannot list " + dir_ + ": " + ec.message()};
  std::sort(firsts.begin(), firsts.end());

  for (const std::uint64_t first : firsts) {
    const std::string path = dir_ + "/" + segmentName(first);
    Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) return Error{errnoText("cannot open", path)};
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error{errnoText("cannot stat", path)};

    Segment segment{first, first - 1, 0, 0};
    LineReader reader(fd.get(), 0, static_cast<std::uint64_t>(st.st_size), path);
    Line line;
    while (reader.next(line)) {
      if (!line.complete) {
        // A crash in the middle of append(): that append never reported success, so no
        // reader has seen these bytes. Cut them, so the file ends with a whole line again.
        if (::ftruncate(fd.get(), static_cast<off_t>(line.start)) != 0 || ::fsync(fd.get()) != 0) {
          return Error{errnoText("cannot truncate the torn tail of", path)};
        }
        ++stats_.torn_tails;
        break;
      }
      segment.bytes = line.end;
      if (auto record = readableRecord(line, first, segment.last_seq)) {
        segment.last_seq = record->seq;
        ++segment.records;
      } else {
        ++stats_.corrupted;
      }
    }
    if (!reader.error().ok()) return reader.error().error();
    // The name counts as used even if the file is empty, so a new segment can never get
    // the same name (see append()).
    last_seq_ = std::max({last_seq_, segment.last_seq, first});

    if (segment.last_seq <= acked_seq_) {
      // Fully acknowledged: a crash interrupted ack() between persisting and deleting.
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Error{errnoText("cannot remove acknowledged segment", path)};
      }
      continue;
    }
    stats_.total_bytes += segment.bytes;
    segments_.push_back(segment);
  }

  if (!segments_.empty()) {
    auto front = locate(segments_.front(), acked_seq_);
    if (!front) return front.error();
    front_acked_bytes_ = front->offset;
    front_acked_records_ = front->records_before;
  }
  stats_.segments = segments_.size();
  // The recovered last segment is not appended to: the first append() starts a new one,
  // so this process only ever appends to files it created.
  return {};
}

Result<AuditSpool::Position> AuditSpool::locate(const Segment& segment, std::uint64_t after_seq) {
  if (after_seq < segment.first_seq) return Position{after_seq, segment.first_seq, 0, 0};
  if (after_seq >= segment.last_seq) {
    return Position{after_seq, segment.first_seq, segment.bytes, segment.records};
  }
  // The shipper reads where it last stopped and acknowledges what it last read, so this
  // is almost always the cursor; otherwise count from the start of the segment.
  if (read_cursor_ && read_cursor_->seq == after_seq &&
      read_cursor_->first_seq == segment.first_seq) {
    return *read_cursor_;
  }
  const std::string path = dir_ + "/" + segmentName(segment.first_seq);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Error{errnoText("cannot open", path)};
  Position position{after_seq, segment.first_seq, 0, 0};
  std::uint64_t previous = segment.first_seq - 1;
  LineReader reader(fd.get(), 0, segment.bytes, path);
  Line line;
  while (reader.next(line)) {
    if (auto record = readableRecord(line, segment.first_seq, previous)) {
      if (record->seq > after_seq) return position;
      previous = record->seq;
      ++position.records_before;
    }
    position.offset = line.end;
  }
  if (!reader.error().ok()) return reader.error().error();
  return position;
}

Status AuditSpool::append(std::span<const std::string> json_lines) {
  if (json_lines.empty()) return {};
  {
    std::lock_guard lock(mutex_);
    // The batch's numbers are used up whatever happens: a refused batch leaves a gap in
    // the sequence, which tells the server that events were not shipped (they are in the
    // local audit log), and a failed write may have left records on disk that the next
    // open() finds, and must ship under numbers nothing else has.
    const std::uint64_t batch_last = last_seq_ + json_lines.size();
    const auto refuse = [&](std::string message) {
      stats_.dropped += json_lines.size();
      last_seq_ = batch_last;
      return Error{std::move(message)};
    };
    for (const auto& line : json_lines) {
      if (line.empty() || line.find('\n') != std::string::npos) {
        return refuse("audit spool: refusing a batch with an empty line or a newline in a line");
      }
    }
    const std::int64_t now = nowUnixMs();
    std::string buffer;
    std::uint64_t seq = last_seq_;
    for (const auto& line : json_lines) appendSpoolRecord(buffer, ++seq, now, line);

    if (stats_.total_bytes + buffer.size() > options_.max_total_bytes) {
      return refuse(fmt::format(
          "audit spool: {} is full ({} of {} bytes; the server has not acknowledged events "
          "since seq {}); {} events not spooled (they are in the local audit log)",
          dir_, stats_.total_bytes, options_.max_total_bytes, acked_seq_, json_lines.size()));
    }
    // Roll before the batch rather than splitting it: one write per append. A segment
    // exceeds the bound only when a single batch does.
    if (active_fd_ >= 0 && segments_.back().bytes > 0 &&
        segments_.back().bytes + buffer.size() > options_.max_segment_bytes) {
      closeActive();
    }
    if (active_fd_ < 0) {
      // last_seq_ is at least every existing segment's first seq, so the name is new.
      const std::uint64_t first = last_seq_ + 1;
      const std::string path = dir_ + "/" + segmentName(first);
      active_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
      if (active_fd_ < 0) return refuse(errnoText("cannot create", path));
      segments_.push_back(Segment{first, first - 1, 0, 0});
      stats_.segments = segments_.size();
      if (options_.sync == SpoolSync::kEveryAppend) {
        if (Status synced = syncDir(dir_); !synced) {
          closeActive();  // the next append creates a new segment, named above batch_last
          return refuse(synced.message());
        }
      }
    }

    Segment& active = segments_.back();
    const std::string path = dir_ + "/" + segmentName(active.first_seq);
    Status written = writeAll(active_fd_, buffer, path);
    if (written && options_.sync == SpoolSync::kEveryAppend && ::fdatasync(active_fd_) != 0) {
      written = Error{errnoText("cannot sync", path)};
    }
    if (!written) {
      // Try to cut the partial batch; whether or not that works, stop appending to this
      // file: its state is unknown after a failed write or fdatasync. Whatever is left in
      // it, recovery reads it as it reads any file.
      if (::ftruncate(active_fd_, static_cast<off_t>(active.bytes)) != 0) {
        // Nothing more to do here: a torn tail is cut by open(), whole records are kept.
      }
      closeActive();
      return refuse(written.message());
    }
    active.bytes += buffer.size();
    active.records += json_lines.size();
    active.last_seq = batch_last;
    last_seq_ = batch_last;
    stats_.total_bytes += buffer.size();
    stats_.appended += json_lines.size();
  }
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_();
  return {};
}

Result<std::vector<SpooledEvent>> AuditSpool::readFrom(std::uint64_t after_seq,
                                                       std::size_t max_events,
                                                       std::size_t max_bytes) {
  std::lock_guard lock(mutex_);
  std::vector<SpooledEvent> out;
  std::size_t bytes = 0;
  std::uint64_t previous = after_seq;
  for (const Segment& segment : segments_) {
    if (out.size() >= max_events) break;
    if (segment.records == 0 || segment.last_seq <= previous) continue;
    auto start = locate(segment, previous);
    if (!start) return start.error();
    Position cursor = *start;

    const std::string path = dir_ + "/" + segmentName(segment.first_seq);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Error{errnoText("cannot open", path)};
    LineReader reader(fd.get(), cursor.offset, segment.bytes, path);
    Line line;
    bool full = false;
    while (!full && reader.next(line)) {
      auto record = readableRecord(line, segment.first_seq, previous);
      if (!record) continue;  // damage, counted by open()
      if (!out.empty() && bytes + record->json.size() > max_bytes) {
        full = true;
        break;
      }
      out.push_back({record->seq, std::string(record->json), record->appended_unix_ms});
      bytes += record->json.size();
      previous = record->seq;
      cursor = {record->seq, segment.first_seq, line.end, cursor.records_before + 1};
      full = out.size() >= max_events;
    }
    if (!reader.error().ok()) return reader.error().error();
    if (!out.empty()) read_cursor_ = cursor;
    if (full) break;
  }
  return out;
}

Status AuditSpool::persistAcked(std::uint64_t seq) {
  // Always synced, whatever options_.sync says: it is one small file per acknowledged
  // batch, and a lower value after a power loss could hand out numbers the server stored.
  return writeFileDurably(dir_, "acked", fmt::format("{}\n", seq));
}

Status AuditSpool::loadOrCreateId() {
  const std::string path = dir_ + "/id";
  std::string text;
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 && errno != ENOENT) return Error{errnoText("cannot open", path)};
    if (fd.get() >= 0) {
      char buf[64];
      ssize_t n = 0;
      do {
        n = ::read(fd.get(), buf, sizeof buf);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return Error{errnoText("cannot read", path)};
      text.assign(buf, static_cast<std::size_t>(n));
    }
  }
  if (text.size() == 33 && text.back() == '\n' &&
      text.find_first_not_of("0123456789abcdef") == 32) {
    spool_id_ = text.substr(0, 32);
    return {};
  }
  // Missing (a new directory) or damaged: a new id makes the server see a new stream. The
  // worst this can do is store unacknowledged events twice; it can never lose one.
  spool_id_.clear();
  try {
    std::random_device entropy;
    for (int i = 0; i < 4; ++i) spool_id_ += fmt::format("{:08x}", entropy());
  } catch (const std::exception& e) {  // no entropy source: an error, not an exception
    return Error{std::string("audit spool: cannot generate an id: ") + e.what()};
  }
  return writeFileDurably(dir_, "id", spool_id_ + "\n");
}

Status AuditSpool::ack(std::uint64_t up_to_seq) {
  std::lock_guard lock(mutex_);
  if (up_to_seq <= acked_seq_) return {};
  if (up_to_seq > last_seq_) {
    return Error{fmt::format("audit spool: cannot acknowledge seq {}: the last seq is {}",
                             up_to_seq, last_seq_)};
  }
  // Persist first, delete second: a crash in between leaves segments that open() deletes,
  // never a spool whose highest number went backwards.
  if (Status persisted = persistAcked(up_to_seq); !persisted) return persisted;
  acked_seq_ = up_to_seq;

  Status result;
  std::size_t removed = 0;
  while (removed < segments_.size() && segments_[removed].last_seq <= up_to_seq) {
    const Segment& segment = segments_[removed];
    if (removed + 1 == segments_.size()) closeActive();  // the next append starts a new one
    const std::string path = dir_ + "/" + segmentName(segment.first_seq);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && result.ok()) {
      // Already acknowledged: the next open() retries the removal.
      result = Error{errnoText("acknowledged, but cannot remove", path)};
    }
    stats_.total_bytes -= segment.bytes;
    ++removed;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(removed));
  stats_.segments = segments_.size();

  front_acked_bytes_ = 0;
  front_acked_records_ = 0;
  if (!segments_.empty()) {
    auto front = locate(segments_.front(), up_to_seq);
    if (!front) return front.error();  // only the pending counters stay conservative
    front_acked_bytes_ = front->offset;
    front_acked_records_ = front->records_before;
  }
  return result;
}

void AuditSpool::setAppendListener(std::function<void()> listener) {
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(listener);
}

std::uint64_t AuditSpool::ackedSeq() const {
  std::lock_guard lock(mutex_);
  return acked_seq_;
}

std::uint64_t AuditSpool::lastSeq() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

std::uint64_t AuditSpool::pendingEvents() const {
  std::lock_guard lock(mutex_);
  std::uint64_t records = 0;
  for (const Segment& segment : segments_) records += segment.records;
  return records - front_acked_records_;
}

std::uint64_t AuditSpool::pendingBytes() const {
  std::lock_guard lock(mutex_);
  return stats_.total_bytes - front_acked_bytes_;
}

AuditSpoolStats AuditSpool::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace warden::audit
