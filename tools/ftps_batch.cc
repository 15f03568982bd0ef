#include "tools/ftps_batch.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ftp_adapter/error_category.h"

namespace tlsession::ftp {
namespace {

// Attempts to log in while no other connection of the batch is up.
constexpr int kMaxConnectAttempts = 5;

// A 421 reply: the server is busy, limits connections, or is closing.
bool IsBusy(const absl::Status& s) {
  int code = 0;
  return IsServerRefusal(s, &code) && code == 421;
}

// A full local disk or quota: nothing more can be downloaded.
bool IsDiskFull(const absl::Status& s) {
  return absl::IsResourceExhausted(s) &&
         CategoryOf(s) == ErrorCategory::kLocalFile;
}

// The state the workers of one batch share, under |mu_|.
class BatchRun {
 public:
  BatchRun(const std::vector<BatchJob>& jobs, const BatchOptions& options)
      : jobs_(jobs), options_(options) {
    for (size_t i = 0; i < jobs.size(); ++i) queue_.push_back(i);
  }

  // One worker: logs in (or takes |client|) and runs jobs until none is
  // left or the batch stops.
  void Work(std::unique_ptr<FtpsClient> client) {
    if (client) Joined();
    for (;;) {
      if (!client) {
        client = Connect();
        if (!client) return;
      }
      std::optional<size_t> job = Next();
      if (!job) break;
      absl::Status s = jobs_[*job].run(*client);
      if (IsBusy(s)) {
        Requeue(*job, s);
        client.reset();  // The server is closing it.
        Left();
        continue;
      }
      Done(*job, s);
      if (!s.ok() && CategoryOf(s) == ErrorCategory::kConnection) {
        client.reset();  // Broken: the next job gets a new connection.
        Left();
      }
    }
    (void)client->Quit();
    Left();
  }

  BatchResult Result() {
    std::lock_guard<std::mutex> lock(mu_);
    result_.untried = queue_.size();
    if (result_.status.ok() && result_.untried > 0) {
      result_.status = connect_error_.ok()
                           ? absl::AbortedError(absl::StrCat(
                                 result_.untried, " transfers not tried"))
                           : connect_error_;
    }
    return result_;
  }

 private:
  // Logs a worker in. Null when the worker should leave: refused while
  // another connection is up (it carries the batch), the batch stopped, or
  // logging in failed for good.
  std::unique_ptr<FtpsClient> Connect() {
    for (int attempt = 1;; ++attempt) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_ || queue_.empty()) return nullptr;
      }
      absl::StatusOr<std::unique_ptr<FtpsClient>> c = options_.connect();
      if (c.ok()) {
        Joined();
        return *std::move(c);
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (alive_ > 0) {
        Report(absl::StrCat("connection ", attempt > 1 ? "again " : "",
                            "refused (", c.status().message(),
                            "): going on with ", alive_, " connection",
                            alive_ == 1 ? "" : "s"));
        return nullptr;
      }
      const bool transient =
          IsBusy(c.status()) || absl::IsUnavailable(c.status());
      if (!transient || attempt >= kMaxConnectAttempts) {
        connect_error_ = c.status();
        stop_ = true;
        return nullptr;
      }
      lock.unlock();
      absl::SleepFor(absl::Milliseconds(250) * (1 << attempt));
    }
  }

  std::optional<size_t> Next() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.empty()) return std::nullopt;
    const size_t i = queue_.front();
    queue_.pop_front();
    return i;
  }

  void Requeue(size_t job, const absl::Status& why) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_front(job);
    Report(absl::StrCat(jobs_[job].label, ": ", why.message(),
                        "; trying it again on another connection"));
  }

  void Done(size_t job, const absl::Status& s) {
    if (options_.job_done) options_.job_done(jobs_[job], s);
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok()) {
      ++result_.ok;
      return;
    }
    ++result_.failed;
    const bool disk_full = IsDiskFull(s);
    // After a full disk, the jobs still running fail the same way: the
    // first says it.
    if (!(disk_full && IsDiskFull(result_.status))) {
      Report(absl::StrCat(jobs_[job].label, ": ", s.message()));
    }
    if (result_.status.ok() || (disk_full && !IsDiskFull(result_.status)) ||
        (IsSessionReuseRefusal(s) && !IsSessionReuseRefusal(result_.status) &&
         !IsDiskFull(result_.status))) {
      result_.status =
          WithMessage(s, absl::StrCat(jobs_[job].label, ": ", s.message()));
    }
    if (disk_full || options_.fail_fast) stop_ = true;
  }

  void Joined() {
    std::lock_guard<std::mutex> lock(mu_);
    ++alive_;
    ++result_.connections;
  }

  void Left() {
    std::lock_guard<std::mutex> lock(mu_);
    --alive_;
  }

  // Under |mu_|.
  void Report(absl::string_view line) {
    if (options_.report) options_.report(line);
  }

  const std::vector<BatchJob>& jobs_;
  const BatchOptions& options_;
  std::mutex mu_;
  std::deque<size_t> queue_;
  int alive_ = 0;
  bool stop_ = false;
  absl::Status connect_error_;
  BatchResult result_;
};

}  // namespace

BatchResult RunBatch(const std::vector<BatchJob>& jobs,
                     const BatchOptions& options,
                     std::unique_ptr<FtpsClient> first) {
  BatchRun run(jobs, options);
  const int workers = std::max(
      1, std::min<int>(options.parallel, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) {
    threads.emplace_back([&run] { run.Work(nullptr); });
  }
  run.Work(std::move(first));
  for (std::thread& t : threads) t.join();
  BatchResult result = run.Result();
  if (options.renames != nullptr) {
    for (const DeferredRenames::Failure& f : options.renames->Commit()) {
      if (result.ok > 0) --result.ok;
      ++result.failed;
      if (options.report) {
        options.report(absl::StrCat(f.path, ": ", f.status.message()));
      }
      if (result.status.ok()) result.status = f.status;
    }
  }
  return result;
}

std::string BatchSummary(const BatchResult& result) {
  std::string line = absl::StrCat(result.ok, " ok, ", result.failed, " failed");
  if (result.untried > 0)
    absl::StrAppend(&line, ", ", result.untried, " not tried");
  return line;
}

}  // namespace tlsession::ftp
