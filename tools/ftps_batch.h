// Batches of the ftps tool: many transfers (or other jobs) over a few
// control connections, each logged in once, every job's failure reported,
// one summary at the end. `get --output-dir`, globs, `--input-file`, `put`
// of many files and `mirror` all run through RunBatch.
//
// - Jobs are taken in order from one queue by min(parallel, jobs) workers,
//   each with its own FtpsClient (its data connections resume its control
//   session).
// - Every failure is reported as it happens ("URL: why"); the batch goes
//   on unless fail_fast, or unless the local disk is full (a
//   ResourceExhausted local-file error): then no further job starts, so no
//   part file is made for a file not yet tried.
// - A 421 ("too many connections", vsftpd's max_per_ip) is answered by
//   backing off: a worker refused while another is connected leaves the
//   batch to the others; a job refused with 421 goes back to the queue. A
//   batch whose jobs all succeeded is a success, whatever connections were
//   refused on the way.
#ifndef TLSESSION_TOOLS_FTPS_BATCH_H_
#define TLSESSION_TOOLS_FTPS_BATCH_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/ftps_client.h"
#include "ftp_adapter/local_file.h"

namespace tlsession::ftp {

// One job of a batch: what it is called in reports (a redacted URL or a
// path) and what it does on a logged-in client.
struct BatchJob {
  std::string label;
  std::function<absl::Status(FtpsClient&)> run;
};

struct BatchOptions {
  int parallel = 1;        // At most this many control connections.
  bool fail_fast = false;  // Start no job after the first failure.
  // Makes a new logged-in client; called from the workers' threads.
  std::function<absl::StatusOr<std::unique_ptr<FtpsClient>>()> connect;
  // Receives each report line ("LABEL: why", warnings about backing off);
  // called from the workers' threads, one call at a time.
  std::function<void(absl::string_view)> report;
  // Called after each job ends (for overall progress); may be null.
  std::function<void(const BatchJob&, const absl::Status&)> job_done;
  // The downloads' deferred renames (ClientOptions::deferred_renames), made
  // durable and committed once every job ended; a rename that fails turns
  // its job into a failure. Null: none. Not owned.
  DeferredRenames* renames = nullptr;
};

// What a batch did.
struct BatchResult {
  size_t ok = 0;        // Jobs that succeeded.
  size_t failed = 0;    // Jobs that failed (each reported).
  size_t untried = 0;   // Jobs never started (fail-fast, a full disk, no
                        // connection).
  int connections = 0;  // Control connections that logged in.
  // The error that decides the exit code: a full disk or a reuse refusal
  // before any other, else the first failure; OK when every job succeeded.
  absl::Status status;
};

// Runs |jobs| as |options| say. |first|, when not null, is an already
// logged-in client the first worker uses (say, the one that listed a
// tree); it is quit with the others.
BatchResult RunBatch(const std::vector<BatchJob>& jobs,
                     const BatchOptions& options,
                     std::unique_ptr<FtpsClient> first = nullptr);

// The summary line: "198 ok, 2 failed" (", 5 not tried" when some were
// not).
std::string BatchSummary(const BatchResult& result);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_BATCH_H_
