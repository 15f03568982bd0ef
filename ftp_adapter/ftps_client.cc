#include "ftp_adapter/ftps_client.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/cleanse.h"
#include "ftp_adapter/control_channel.h"
#include "ftp_adapter/data_channel.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/local_file.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kMaxListing = 256u << 20;  // A longer listing is hostile.

// A refusal of the login itself (rather than, say, "421 too busy").
absl::Status AsLoginFailure(absl::Status status) {
  int code = 0;
  if (IsServerRefusal(status, &code) &&
      (code == 530 || code == 331 || code == 332 || code == 532)) {
    return WithCategory(std::move(status), ErrorCategory::kLogin);
  }
  return status;
}

}  // namespace

bool IsSessionReuseRefusal(const absl::Status& status) {
  return CategoryOf(status) == ErrorCategory::kReuseRequired;
}

bool IsServerRefusal(const absl::Status& status, int* code) {
  std::optional<int> value = RefusalCode(status);
  if (!value) return false;
  if (code) *code = *value;
  return true;
}

FtpsClient::FtpsClient(std::string host, ClientOptions options,
                       std::unique_ptr<TcpStream> plain)
    : options_(std::move(options)),
      control_(std::make_unique<ControlChannel>(std::move(host), options_,
                                                std::move(plain))),
      data_(std::make_unique<DataChannel>(*control_, options_)) {}

FtpsClient::~FtpsClient() = default;

absl::StatusOr<std::unique_ptr<FtpsClient>> FtpsClient::Connect(
    const std::string& host, uint16_t port, ClientOptions options) {
  auto usage = [](absl::string_view why) {
    return WithCategory(absl::InvalidArgumentError(why), ErrorCategory::kUsage);
  };
  if (options.tls_context == nullptr && !options.allow_plaintext) {
    return usage(
        "FTPS needs a TLS context (plaintext FTP only with allow_plaintext)");
  }
  if (options.tls_context != nullptr &&
      options.tls_context->role() != Role::kClient) {
    return usage("FTPS needs a client TLS context");
  }
  if (options.tls_context == nullptr && options.implicit_tls) {
    return usage("implicit FTPS needs a TLS context");
  }
  absl::StatusOr<std::unique_ptr<TcpStream>> plain =
      TcpStream::Connect(host, port, options.timeout);
  if (!plain.ok()) return NetworkError(plain.status());
  std::unique_ptr<FtpsClient> client(
      new FtpsClient(host, std::move(options), *std::move(plain)));
  if (absl::Status s = client->Start(port); !s.ok()) return s;
  return client;
}

absl::Status FtpsClient::Start(uint16_t port) {
  if (options_.implicit_tls) {
    if (absl::Status s = control_->Secure(); !s.ok()) return s;
  }
  absl::StatusOr<Reply> greeting = control_->ReadReply();
  if (!greeting.ok()) return greeting.status();
  if (greeting->code != 220) {
    return ServerRefused(
        absl::StrCat("connecting to ", HostPort(control_->host(), port)),
        *greeting);
  }
  if (options_.implicit_tls) return absl::OkStatus();
  if (options_.tls_context == nullptr) {
    control_->Warn("plaintext FTP: the password and all data travel in clear");
    return absl::OkStatus();
  }
  return NegotiateTls();
}

absl::Status FtpsClient::NegotiateTls() {
  absl::StatusOr<Reply> auth = control_->Command("AUTH TLS");
  if (!auth.ok()) return auth.status();
  if (auth->code != 234) {
    if (options_.allow_plaintext) {
      control_->Warn(absl::StrCat(
          "the server refused AUTH TLS (\"", auth->ToString(),
          "\"); going on in plaintext as allowed: the password and all data "
          "travel in clear"));
      return absl::OkStatus();
    }
    return ServerRefused(
        "AUTH TLS refused; not continuing without TLS (plaintext only with "
        "allow_plaintext)",
        *auth);
  }
  if (control_->HasUnreadBytes()) {
    // Bytes after the 234 before our handshake: a man in the middle could
    // have injected them; RFC 4217 leaves no room for them.
    return ProtocolError(absl::DataLossError(
        "unexpected data after the AUTH TLS reply (possible injection)"));
  }
  return control_->Secure();
}

absl::StatusOr<Reply> FtpsClient::Command(absl::string_view line) {
  return control_->Command(line);
}

absl::Status FtpsClient::Login(const std::string& user,
                               const std::string& password) {
  absl::StatusOr<Reply> r = control_->Expect(absl::StrCat("USER ", user), true);
  if (r.ok() && r->is_intermediate()) {
    std::string pass = absl::StrCat("PASS ", password);
    r = control_->Expect(pass, true);
    CleanseString(&pass);
    if (r.ok() && r->is_intermediate()) {
      return ServerRefused("login needs an ACCT, which is not supported", *r,
                           ErrorCategory::kLogin);
    }
  }
  if (!r.ok()) return AsLoginFailure(r.status());
  return SetUpTransfers();
}

absl::Status FtpsClient::SetUpTransfers() {
  if (control_->tls() != nullptr) {
    // RFC 4217: PBSZ before PROT. Never send data in clear unless asked.
    if (auto s = control_->Expect("PBSZ 0"); !s.ok()) return s.status();
    absl::StatusOr<Reply> prot =
        control_->Command(options_.protect_data ? "PROT P" : "PROT C");
    if (!prot.ok()) return prot.status();
    if (!prot->is_completion()) {
      return ServerRefused(
          options_.protect_data
              ? "PROT P refused; not transferring data in clear"
              : "PROT C",
          *prot);
    }
  }
  if (auto s = control_->Expect("TYPE I"); !s.ok()) return s.status();
  return absl::OkStatus();
}

absl::Status FtpsClient::Retrieve(const std::string& path, const Sink& sink,
                                  uint64_t offset) {
  return data_->Retrieve(absl::StrCat("RETR ", path), offset, sink);
}

absl::Status FtpsClient::Store(const std::string& path, const Source& source,
                               bool append, uint64_t offset) {
  return data_->Store(absl::StrCat(append ? "APPE " : "STOR ", path), offset,
                      source);
}

absl::StatusOr<std::string> FtpsClient::ReadAll(absl::string_view command) {
  std::string out;
  absl::Status s =
      data_->Retrieve(command, 0, [&](absl::string_view chunk) -> absl::Status {
        if (out.size() + chunk.size() > kMaxListing) {
          return ProtocolError(absl::ResourceExhaustedError(
              absl::StrCat(command, ": the listing is larger than 256 MiB")));
        }
        out.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> FtpsClient::List(const std::string& path) {
  return ReadAll(path.empty() ? "LIST" : absl::StrCat("LIST ", path));
}

absl::StatusOr<std::vector<std::string>> FtpsClient::NameList(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadAll(path.empty() ? "NLST" : absl::StrCat("NLST ", path));
  if (!text.ok()) return text.status();
  std::vector<std::string> names;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (!line.empty()) names.emplace_back(line);
  }
  return names;
}

absl::StatusOr<std::vector<MlsdEntry>> FtpsClient::MachineList(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadAll(path.empty() ? "MLSD" : absl::StrCat("MLSD ", path));
  if (!text.ok()) return text.status();
  std::vector<MlsdEntry> entries;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    absl::StatusOr<MlsdEntry> e = ParseMlsdLine(line);
    if (!e.ok()) return ProtocolError(e.status());
    entries.push_back(*std::move(e));
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> FtpsClient::Features() {
  absl::StatusOr<Reply> r = control_->Command("FEAT");
  if (!r.ok()) return r.status();
  std::vector<std::string> features;
  if (!r->is_completion()) return features;  // No FEAT: no features.
  for (size_t i = 1; i + 1 < r->lines.size(); ++i) {
    features.emplace_back(absl::StripAsciiWhitespace(r->lines[i]));
  }
  return features;
}

absl::StatusOr<std::string> FtpsClient::Pwd() {
  absl::StatusOr<Reply> r = control_->Expect("PWD");
  if (!r.ok()) return r.status();
  // 257 "/dir" is the current directory; doubled quotes escape a quote.
  const std::string& line = r->lines.front();
  size_t open = line.find('"');
  if (open == std::string::npos) {
    return ServerRefused("PWD: no quoted path", *r, ErrorCategory::kProtocol);
  }
  std::string path;
  for (size_t i = open + 1; i < line.size(); ++i) {
    if (line[i] == '"') {
      if (i + 1 < line.size() && line[i + 1] == '"') {
        path.push_back('"');
        ++i;
        continue;
      }
      return path;
    }
    path.push_back(line[i]);
  }
  return ServerRefused("PWD: unterminated path", *r, ErrorCategory::kProtocol);
}

absl::Status FtpsClient::Cwd(const std::string& path) {
  return control_->Expect(absl::StrCat("CWD ", path)).status();
}
absl::Status FtpsClient::MakeDir(const std::string& path) {
  return control_->Expect(absl::StrCat("MKD ", path)).status();
}
absl::Status FtpsClient::RemoveDir(const std::string& path) {
  return control_->Expect(absl::StrCat("RMD ", path)).status();
}
absl::Status FtpsClient::Delete(const std::string& path) {
  return control_->Expect(absl::StrCat("DELE ", path)).status();
}

absl::Status FtpsClient::Rename(const std::string& from,
                                const std::string& to) {
  absl::StatusOr<Reply> r = control_->Expect(absl::StrCat("RNFR ", from), true);
  if (!r.ok()) return r.status();
  return control_->Expect(absl::StrCat("RNTO ", to)).status();
}

absl::StatusOr<uint64_t> FtpsClient::Size(const std::string& path) {
  absl::StatusOr<Reply> r = control_->Expect(absl::StrCat("SIZE ", path));
  if (!r.ok()) return r.status();
  uint64_t size = 0;
  absl::string_view text = r->lines.front();
  text.remove_prefix(std::min<size_t>(4, text.size()));
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &size)) {
    return ServerRefused(absl::StrCat("SIZE ", path, ": not a number"), *r,
                         ErrorCategory::kProtocol);
  }
  return size;
}

absl::StatusOr<absl::Time> FtpsClient::ModificationTime(
    const std::string& path) {
  absl::StatusOr<Reply> r = control_->Expect(absl::StrCat("MDTM ", path));
  if (!r.ok()) return r.status();
  absl::string_view text = r->lines.front();
  text.remove_prefix(std::min<size_t>(4, text.size()));
  absl::StatusOr<absl::Time> time =
      ParseFtpTime(absl::StripAsciiWhitespace(text));
  if (!time.ok()) return ProtocolError(time.status());
  return time;
}

absl::Status FtpsClient::DownloadFile(const std::string& remote,
                                      const std::string& local, bool resume) {
  absl::StatusOr<PartFile> part = PartFile::Open(
      local, resume ? PartFile::Start::kResume : PartFile::Start::kFresh);
  if (!part.ok()) return part.status();
  std::optional<uint64_t> remote_size;
  if (part->size() > 0) {
    // Resuming trusts the part file only if the remote file is at least as
    // long; it is also checked against the remote size at the end, so a
    // file replaced meanwhile never yields a complete-looking mix.
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) remote_size = *size;
    if (remote_size && *remote_size < part->size()) {
      control_->Trace(absl::StrCat("'", part->part_path(), "' is longer than '",
                                   remote,
                                   "' now: downloading again from the start"));
      if (absl::Status s = part->Restart(); !s.ok()) return s;
    }
  }
  // The part file is created on the first byte: a refused or missing file
  // leaves nothing behind, an interrupted one keeps what arrived for a
  // later resume.
  absl::Status s = Retrieve(
      remote, [&](absl::string_view chunk) { return part->Write(chunk); },
      part->size());
  if (!s.ok()) return s;
  if (remote_size && part->size() != *remote_size) {
    return ProtocolError(absl::DataLossError(
        absl::StrCat("resumed download of '", remote, "' has ", part->size(),
                     " bytes but the server says ", *remote_size, "; '",
                     part->part_path(), "' kept, '", local, "' not written")));
  }
  if (options_.sync_downloads && options_.deferred_renames != nullptr) {
    return part->CommitLater(options_.download_mode, options_.deferred_renames);
  }
  return part->Commit(options_.sync_downloads ? PartFile::Sync::kToDisk
                                              : PartFile::Sync::kPageCache,
                      options_.download_mode);
}

absl::Status FtpsClient::UploadFile(const std::string& local,
                                    const std::string& remote, bool resume) {
  absl::StatusOr<SourceFile> file = SourceFile::Open(local);
  if (!file.ok()) return file.status();
  uint64_t offset = 0;
  if (resume) {
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) offset = *size;
    if (offset > file->size()) {
      return WithCategory(
          absl::FailedPreconditionError(absl::StrCat(
              "cannot resume the upload of '", local, "': '", remote,
              "' is already longer (", offset, " bytes) than the local file (",
              file->size(), " bytes)")),
          ErrorCategory::kLocalFile);
    }
    if (offset > 0) {
      if (absl::Status s = file->Seek(offset); !s.ok()) return s;
    }
  }
  return Store(
      remote, [&](char* buf, size_t len) { return file->Read(buf, len); },
      /*append=*/false, offset);
}

absl::Status FtpsClient::Quit() {
  absl::StatusOr<Reply> r = control_->Command("QUIT");
  absl::Status shut = control_->Close(/*goodbye=*/r.ok() && r->code == 221);
  if (!r.ok()) return r.status();
  if (!r->is_completion()) return ServerRefused("QUIT", *r);
  // vsftpd closes after 221 without close_notify, on every session: after
  // the goodbye that is harmless, and not worth a line even with -v.
  (void)shut;
  return absl::OkStatus();
}

bool FtpsClient::control_session_reused() const {
  return control_->tls() != nullptr && control_->tls()->session_reused();
}

std::string FtpsClient::control_tls_version() const {
  return control_->tls() != nullptr ? control_->tls()->version_name() : "";
}

const Session& FtpsClient::control_session() const {
  return control_->lease().session();
}

const std::vector<DataConnectionInfo>& FtpsClient::data_connections() const {
  return data_->connections();
}

const std::vector<std::string>& FtpsClient::commands_sent() const {
  return control_->commands_sent();
}

}  // namespace tlsession::ftp
