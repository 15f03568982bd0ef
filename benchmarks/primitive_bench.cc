// The primitives a handshake and a transfer spend their time in, for
// BoringSSL as linked into tlsession, beside OpenSSL 3 (`openssl speed`) and
// beside another build of this binary, all measured in the same run.
//
// primitive/this/OP      this binary's BoringSSL
// primitive/small/OP     --small_bench=PATH: another build of this binary
//                        (run.sh: the same BoringSSL source built with
//                        -DOPENSSL_SMALL, as Debian's android-libboringssl is)
// primitive/openssl/ALG  /usr/bin/openssl speed -mr -seconds N ALG
//
// OP: ecdsa_p256_sign, ecdsa_p256_verify, ecdh_p256, ecdhe_p256, x25519,
// x25519_base, aes128gcm_16k (see kPrimitives). Each repetition of a cell is
// one child process (this binary with --measure=OP, the small build with the
// same flag, or openssl) that measures for --measure_seconds of CPU time, so
// that the three are measured alike, and Google Benchmark's random
// interleaving spreads a busy moment of the shared machine over all of them.
// The counters carry the rates (operations per CPU second); Google
// Benchmark's own times are those of whole child processes.
//
// Flags besides Google Benchmark's: --report_dir=DIR writes primitive.md
// there; --smoke measures each cell once, briefly; --measure=OP measures one
// operation in this process and prints its rate (what the cells run).
#include <openssl/aead.h>
#include <openssl/curve25519.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdh.h>
#include <openssl/ecdsa.h>
#include <openssl/nid.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "benchmarks/report.h"

namespace tlsession::bench {
namespace {

// One operation of the library as linked.
struct Primitive {
  const char* name;   // The OP in cell names and --measure.
  const char* label;  // For the report.
  // The openssl speed cell and counter measuring the same thing, or null.
  const char* openssl_alg;
  const char* openssl_counter;
};

constexpr Primitive kPrimitives[] = {
    {"ecdsa_p256_sign", "ECDSA P-256 sign", "ecdsap256", "sign_per_s"},
    {"ecdsa_p256_verify", "ECDSA P-256 verify", "ecdsap256", "verify_per_s"},
    {"ecdh_p256", "ECDH P-256, shared secret", "ecdhp256", "per_s"},
    {"ecdhe_p256", "ECDHE P-256, key pair + shared secret", nullptr, nullptr},
    {"x25519", "X25519, shared secret", "ecdhx25519", "per_s"},
    {"x25519_base", "X25519, key pair", nullptr, nullptr},
    {"aes128gcm_16k", "AES-128-GCM seal, 16 KiB", "aes-128-gcm", "per_s"},
};

constexpr size_t kAeadBytes = 16384;

// Everything the operations use, made once per measurement.
struct Material {
  bssl::UniquePtr<EC_KEY> p256_key;
  bssl::UniquePtr<EC_KEY> p256_peer;
  uint8_t digest[32];
  std::vector<uint8_t> signature;
  std::vector<uint8_t> sign_buffer;  // ECDSA_size() bytes.
  uint8_t x25519_private[32];
  uint8_t x25519_peer_public[32];
  bssl::ScopedEVP_AEAD_CTX aead;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> sealed;
};

// Fresh keys, a signature to verify and an AES-128-GCM context; null when
// BoringSSL refuses one of them.
std::unique_ptr<Material> MakeMaterial() {
  auto m = std::make_unique<Material>();
  m->p256_key.reset(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  m->p256_peer.reset(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!m->p256_key || !m->p256_peer ||
      !EC_KEY_generate_key(m->p256_key.get()) ||
      !EC_KEY_generate_key(m->p256_peer.get())) {
    return nullptr;
  }
  for (size_t i = 0; i < sizeof(m->digest); ++i) m->digest[i] = i * 7 + 1;
  m->signature.resize(ECDSA_size(m->p256_key.get()));
  m->sign_buffer.resize(m->signature.size());
  unsigned sig_len = 0;
  if (!ECDSA_sign(0, m->digest, sizeof(m->digest), m->signature.data(),
                  &sig_len, m->p256_key.get())) {
    return nullptr;
  }
  m->signature.resize(sig_len);
  uint8_t unused_public[32], unused_private[32];
  X25519_keypair(unused_public, m->x25519_private);
  X25519_keypair(m->x25519_peer_public, unused_private);
  static const uint8_t kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  if (!EVP_AEAD_CTX_init(m->aead.get(), EVP_aead_aes_128_gcm(), kKey,
                         sizeof(kKey), EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
    return nullptr;
  }
  m->plaintext.assign(kAeadBytes, 0x5a);
  m->sealed.resize(kAeadBytes + EVP_AEAD_max_overhead(EVP_aead_aes_128_gcm()));
  return m;
}

// One call of operation |name| on |m|; false on failure.
bool RunOnce(const std::string& name, Material& m) {
  if (name == "ecdsa_p256_sign") {
    unsigned len = 0;
    return ECDSA_sign(0, m.digest, sizeof(m.digest), m.sign_buffer.data(), &len,
                      m.p256_key.get()) == 1;
  }
  if (name == "ecdsa_p256_verify") {
    return ECDSA_verify(0, m.digest, sizeof(m.digest), m.signature.data(),
                        m.signature.size(), m.p256_key.get()) == 1;
  }
  if (name == "ecdh_p256") {
    uint8_t secret[32];
    return ECDH_compute_key(secret, sizeof(secret),
                            EC_KEY_get0_public_key(m.p256_peer.get()),
                            m.p256_key.get(), nullptr) == sizeof(secret);
  }
  if (name == "ecdhe_p256") {
    // What one side of a TLS key exchange on P-256 computes.
    bssl::UniquePtr<EC_KEY> key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    uint8_t secret[32];
    return key && EC_KEY_generate_key(key.get()) &&
           ECDH_compute_key(secret, sizeof(secret),
                            EC_KEY_get0_public_key(m.p256_peer.get()),
                            key.get(), nullptr) == sizeof(secret);
  }
  if (name == "x25519") {
    uint8_t secret[32];
    return X25519(secret, m.x25519_private, m.x25519_peer_public) == 1;
  }
  if (name == "x25519_base") {
    uint8_t public_key[32], private_key[32];
    X25519_keypair(public_key, private_key);
    return true;
  }
  if (name == "aes128gcm_16k") {
    static const uint8_t kNonce[12] = {0};
    static const uint8_t kAd[13] = {0};  // A TLS 1.2 record header's worth.
    size_t out_len = 0;
    return EVP_AEAD_CTX_seal(m.aead.get(), m.sealed.data(), &out_len,
                             m.sealed.size(), kNonce, sizeof(kNonce),
                             m.plaintext.data(), m.plaintext.size(), kAd,
                             sizeof(kAd)) == 1;
  }
  return false;
}

// --measure=OP: this process's rate for |name|.
absl::StatusOr<double> MeasureHere(const std::string& name, double seconds) {
  bool known = false;
  for (const Primitive& p : kPrimitives) known |= name == p.name;
  if (!known) return absl::InvalidArgumentError("unknown operation " + name);
  std::unique_ptr<Material> m = MakeMaterial();
  if (!m) return absl::InternalError("cannot set up the keys");
  return MeasureRate([&] { return RunOnce(name, *m); }, seconds);
}

// The SuiteFlags of this run, for the cells.
const SuiteFlags* flags = nullptr;

// primitive/{this|small}/OP: |binary| --measure=OP, once per repetition.
void BM_Build(benchmark::State& state, const std::string& binary,
              const std::string& name) {
  double rate = 0;
  for (auto _ : state) {
    absl::StatusOr<double> r =
        MeasureInChild(binary, name, flags->measure_seconds);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    rate = *r;
  }
  state.counters["per_s"] = rate;
}

// Parses `openssl speed -mr` output into counters: ECDSA lines
// "+F4:i:bits:sign/s:verify/s", ECDH lines "+F5:i:bits:op/s:s/op", cipher
// lines "+F:i:NAME:bytes/s" (one per -bytes size; here 16 KiB messages).
absl::StatusOr<std::map<std::string, double>> ParseOpensslSpeed(
    const std::string& out) {
  std::map<std::string, double> counters;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    std::vector<std::string> f = absl::StrSplit(line, ':');
    double a = 0, b = 0;
    if (f.size() == 5 && f[0] == "+F4" && absl::SimpleAtod(f[3], &a) &&
        absl::SimpleAtod(f[4], &b)) {
      counters["sign_per_s"] = a;
      counters["verify_per_s"] = b;
    } else if (f.size() == 5 && f[0] == "+F5" && absl::SimpleAtod(f[3], &a)) {
      counters["per_s"] = a;
    } else if (f.size() == 4 && f[0] == "+F" && absl::SimpleAtod(f[3], &a)) {
      counters["per_s"] = a / kAeadBytes;
    }
  }
  if (counters.empty()) {
    return absl::InternalError("no figures in openssl speed's output: " + out);
  }
  return counters;
}

// primitive/openssl/ALG: `openssl speed` on ALG, once per repetition, for
// about as long as the other cells measure (whole seconds, at least 1).
void BM_Openssl(benchmark::State& state, const std::string& alg) {
  const int seconds =
      std::max(1, static_cast<int>(std::lround(flags->measure_seconds)));
  std::vector<std::string> argv = {"/usr/bin/openssl", "speed", "-mr",
                                   "-seconds", std::to_string(seconds)};
  if (alg == "aes-128-gcm") {
    // TLS-like: a fresh IV, associated data and a tag per 16 KiB message.
    for (const char* a : {"-aead", "-evp", "aes-128-gcm", "-bytes"}) {
      argv.push_back(a);
    }
    argv.push_back(std::to_string(kAeadBytes));
  } else {
    argv.push_back(alg);
  }
  std::map<std::string, double> counters;
  for (auto _ : state) {
    absl::StatusOr<std::string> out = RunForOutput(argv, absl::Minutes(2));
    absl::StatusOr<std::map<std::string, double>> parsed =
        out.ok() ? ParseOpensslSpeed(*out)
                 : absl::StatusOr<std::map<std::string, double>>(out.status());
    if (!parsed.ok()) {
      state.SkipWithError(std::string(parsed.status().message()).c_str());
      return;
    }
    counters = *parsed;
  }
  for (const auto& [k, v] : counters) state.counters[k] = v;
}

// Registers every cell, the small build's when --small_bench names one.
void RegisterAll() {
  std::vector<benchmark::internal::Benchmark*> all;
  const std::string self = SelfPath();
  for (const Primitive& p : kPrimitives) {
    const std::string name = p.name;
    all.push_back(benchmark::RegisterBenchmark(
        ("primitive/this/" + name).c_str(),
        [self, name](benchmark::State& st) { BM_Build(st, self, name); }));
    if (!flags->small_bench.empty()) {
      const std::string small = flags->small_bench;
      all.push_back(benchmark::RegisterBenchmark(
          ("primitive/small/" + name).c_str(),
          [small, name](benchmark::State& st) { BM_Build(st, small, name); }));
    }
  }
  for (const char* alg :
       {"ecdsap256", "ecdhp256", "ecdhx25519", "aes-128-gcm"}) {
    const std::string a = alg;
    all.push_back(benchmark::RegisterBenchmark(
        ("primitive/openssl/" + a).c_str(),
        [a](benchmark::State& st) { BM_Openssl(st, a); }));
  }
  for (auto* b : all) b->Iterations(1)->Unit(benchmark::kMillisecond);
}

// "63.4k/s", or "4.80 GB/s" for the AEAD.
std::string Rate(const Primitive& p, double per_s) {
  if (std::string(p.name) == "aes128gcm_16k") {
    return absl::StrCat(Fmt(per_s * kAeadBytes / 1e9), " GB/s");
  }
  return per_s >= 1000 ? absl::StrCat(Fmt(per_s / 1000), "k/s")
                       : absl::StrCat(Fmt(per_s), "/s");
}

// Writes primitive.md into |dir|: a row per operation with the three
// builds' rates, the ratios and the floors (P-256 sign and verify at least
// 1.1x OpenSSL 3's).
void WriteReport(const std::map<std::string, Cell>& cells,
                 const std::string& dir) {
  auto counter = [&](const std::string& cell,
                     const std::string& name) -> double {
    auto it = cells.find(cell);
    if (it == cells.end() || it->second.error) return 0;
    auto c = it->second.counters.find(name);
    return c == it->second.counters.end() ? 0 : c->second;
  };
  absl::StatusOr<std::string> version =
      RunForOutput({"/usr/bin/openssl", "version"}, absl::Seconds(30));
  const std::string openssl =
      version.ok() ? std::string(absl::StripAsciiWhitespace(*version))
                   : "OpenSSL (version unknown)";
  const bool small = !flags->small_bench.empty();
  std::string md = absl::StrCat(
      "# Primitives: BoringSSL as linked, beside OpenSSL 3\n\n",
      "Machine: ", MachineDescription(), ". Medians of ",
      cells.empty() ? 0 : cells.begin()->second.repetitions,
      " interleaved repetitions, each a process of its own measuring for ",
      flags->measure_seconds,
      " s of CPU time (operations per CPU second, as `openssl speed` "
      "counts). \"this build\": BoringSSL from source as tlsession links it "
      "(run.sh builds with `-c opt`); \"OPENSSL_SMALL\": the same source with "
      "-DOPENSSL_SMALL, "
      "as Debian builds android-libboringssl; OpenSSL: ",
      openssl, ", `openssl speed -mr`.\n\n",
      "| operation | this build | OPENSSL_SMALL | OpenSSL 3 | this / OpenSSL "
      "3 | floor | this / OPENSSL_SMALL |\n",
      "|---|---|---|---|---|---|---|\n");
  for (const Primitive& p : kPrimitives) {
    const double mine =
        counter(absl::StrCat("primitive/this/", p.name), "per_s");
    const double small_rate =
        small ? counter(absl::StrCat("primitive/small/", p.name), "per_s") : 0;
    const double theirs =
        p.openssl_alg
            ? counter(absl::StrCat("primitive/openssl/", p.openssl_alg),
                      p.openssl_counter)
            : 0;
    const bool has_floor = std::string(p.name) == "ecdsa_p256_sign" ||
                           std::string(p.name) == "ecdsa_p256_verify";
    const double vs = theirs > 0 ? mine / theirs : 0;
    absl::StrAppend(
        &md, "| ", p.label, " | ", mine > 0 ? Rate(p, mine) : "failed", " | ",
        small_rate > 0 ? Rate(p, small_rate) : "-", " | ",
        theirs > 0 ? Rate(p, theirs) : "-", " | ",
        theirs > 0 ? absl::StrCat(Fmt(vs), "x") : "-",
        has_floor ? (vs >= 1.1 ? " ✓" : " ✗") : "", " | ",
        has_floor ? "1.1x" : "", " | ",
        small_rate > 0 ? absl::StrCat(Fmt(mine / small_rate), "x") : "-",
        " |\n");
  }
  absl::StrAppend(
      &md,
      "\nECDH P-256 and X25519 \"shared secret\" are what `openssl speed "
      "ecdhp256 ecdhx25519` time (the peer's point given); \"key pair + "
      "shared secret\" is one side of a TLS key exchange (what `bssl speed` "
      "calls ECDH). AES-128-GCM: 13 bytes of associated data, 12-byte "
      "nonce, 16-byte tag per 16 KiB message (`openssl speed -aead`).\n");
  for (const auto& [n, c] : cells) {
    if (c.error) absl::StrAppend(&md, "\nFAILED: ", n, ": ", c.error_message);
  }
  WriteText(dir + "/primitive.md", md);
}

}  // namespace
}  // namespace tlsession::bench

int main(int argc, char** argv) {
  static tlsession::bench::SuiteFlags suite_flags;
  if (!tlsession::bench::ParseSuiteFlags(&argc, argv, &suite_flags)) return 2;
  if (!suite_flags.measure.empty()) {
    return tlsession::bench::PrintMeasurement(tlsession::bench::MeasureHere(
        suite_flags.measure, suite_flags.measure_seconds));
  }
  if (suite_flags.smoke) suite_flags.measure_seconds = 0.01;
  tlsession::bench::flags = &suite_flags;
  tlsession::bench::RegisterAll();
  return tlsession::bench::RunSuite(suite_flags, tlsession::bench::WriteReport);
}
