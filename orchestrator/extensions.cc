#include "orchestrator/extensions.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/grpc_status.h"
#include "base/status_macros.h"
#include "cmig/v1/extensions.grpc.pb.h"

namespace cmig::orchestrator {
namespace {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

// Chunk size for GetBlob when the caller does not ask for one: well under gRPC's 4 MB default.
constexpr int64_t kDefaultChunk = 1 << 20;
constexpr int64_t kMaxChunk = 16 << 20;

std::string Sha256Hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
}

bool IsDigest(const std::string& d) {
  if (d.size() != 64) return false;
  for (char c : d) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

// A statement parameter: text (SQLite converts it for INTEGER columns) or a blob.
struct Param {
  Param(std::string v) : value(std::move(v)) {}  // NOLINT: implicit for brevity at call sites
  Param(const char* v) : value(v) {}             // NOLINT
  std::string value;
  bool blob = false;
};
Param Blob(std::string v) {
  Param p(std::move(v));
  p.blob = true;
  return p;
}

// One SQLite connection, serialised by a mutex: these calls are rare and small next to the
// engine's traffic.
class ExtensionDb {
 public:
  static absl::StatusOr<std::shared_ptr<ExtensionDb>> Open(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", msg));
    }
    auto out = std::shared_ptr<ExtensionDb>(new ExtensionDb(db));
    sqlite3_busy_timeout(db, 10000);
    RETURN_IF_ERROR(out->Exec(
        "CREATE TABLE IF NOT EXISTS cmig_environments(id TEXT PRIMARY KEY, data BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL,"
        " data BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_blob_chunks(digest TEXT NOT NULL, off INTEGER NOT NULL,"
        " data BLOB NOT NULL, PRIMARY KEY(digest, off));"));
    return out;
  }
  ~ExtensionDb() { sqlite3_close(db_); }
  ExtensionDb(const ExtensionDb&) = delete;
  ExtensionDb& operator=(const ExtensionDb&) = delete;

  // Runs `sql` with text/blob parameters; calls `row` for each result row.
  absl::Status Run(const char* sql, const std::vector<Param>& params,
                   const std::function<void(sqlite3_stmt*)>& row = nullptr) {
    absl::MutexLock lock(&mu_);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
      return absl::InternalError(absl::StrCat("extension store: ", sqlite3_errmsg(db_)));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string& v = params[i].value;
      if (params[i].blob) {
        sqlite3_bind_blob(s, static_cast<int>(i + 1), v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_text(s, static_cast<int>(i + 1), v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
      }
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (row) row(s);
    }
    absl::Status st =
        rc == SQLITE_DONE
            ? absl::OkStatus()
            : absl::UnavailableError(absl::StrCat("extension store: ", sqlite3_errmsg(db_)));
    sqlite3_finalize(s);
    return st;
  }
  absl::Status Exec(const char* sql) {
    absl::MutexLock lock(&mu_);
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      return absl::UnavailableError(absl::StrCat("extension store: ", msg));
    }
    return absl::OkStatus();
  }

 private:
  explicit ExtensionDb(sqlite3* db) : db_(db) {}
  absl::Mutex mu_;
  sqlite3* const db_;
};

std::string Column(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

ServerUnaryReactor* Done(CallbackServerContext* ctx, const absl::Status& s) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(s));
  return r;
}

#define CMIG_EXT_AUTH(ctx)                                 \
  do {                                                     \
    if (absl::Status s_ = auth_.Check(*(ctx)); !s_.ok()) { \
      return Done((ctx), s_);                              \
    }                                                      \
  } while (false)

class EnvironmentsImpl final : public v1::Environments::CallbackService {
 public:
  EnvironmentsImpl(std::shared_ptr<ExtensionDb> db, const Authenticator& auth)
      : db_(std::move(db)), auth_(auth) {}

  ServerUnaryReactor* PutEnvironment(CallbackServerContext* ctx,
                                     const v1::PutEnvironmentRequest* req,
                                     v1::PutEnvironmentResponse*) override {
    CMIG_EXT_AUTH(ctx);
    const v1::Environment& e = req->environment();
    if (e.id().empty() || e.address().empty()) {
      return Done(ctx, absl::InvalidArgumentError("an environment needs an id and an address"));
    }
    return Done(ctx, db_->Run("INSERT OR REPLACE INTO cmig_environments(id, data) VALUES(?,?)",
                              {e.id(), Blob(e.SerializeAsString())}));
  }
  ServerUnaryReactor* GetEnvironment(CallbackServerContext* ctx,
                                     const v1::GetEnvironmentRequest* req,
                                     v1::GetEnvironmentResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    bool found = false;
    absl::Status s = db_->Run("SELECT data FROM cmig_environments WHERE id = ?", {req->id()},
                              [&](sqlite3_stmt* st) {
                                found = resp->mutable_environment()->ParseFromString(Column(st, 0));
                              });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no environment '", req->id(), "'"));
    return Done(ctx, s);
  }
  ServerUnaryReactor* ListEnvironments(CallbackServerContext* ctx,
                                       const v1::ListEnvironmentsRequest*,
                                       v1::ListEnvironmentsResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    return Done(
        ctx, db_->Run("SELECT data FROM cmig_environments ORDER BY id", {}, [&](sqlite3_stmt* st) {
          resp->add_environments()->ParseFromString(Column(st, 0));
        }));
  }
  ServerUnaryReactor* DeleteEnvironment(CallbackServerContext* ctx,
                                        const v1::DeleteEnvironmentRequest* req,
                                        v1::DeleteEnvironmentResponse*) override {
    CMIG_EXT_AUTH(ctx);
    bool found = false;
    absl::Status s = db_->Run("DELETE FROM cmig_environments WHERE id = ? RETURNING id",
                              {req->id()}, [&](sqlite3_stmt*) { found = true; });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no environment '", req->id(), "'"));
    return Done(ctx, s);
  }

 private:
  const std::shared_ptr<ExtensionDb> db_;
  const Authenticator& auth_;
};

class SecretsImpl final : public v1::Secrets::CallbackService {
 public:
  SecretsImpl(std::shared_ptr<ExtensionDb> db, const Authenticator& auth)
      : db_(std::move(db)), auth_(auth) {}

  ServerUnaryReactor* PutSecret(CallbackServerContext* ctx, const v1::PutSecretRequest* req,
                                v1::PutSecretResponse*) override {
    CMIG_EXT_AUTH(ctx);
    if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("secret name is empty"));
    return Done(ctx, db_->Run("INSERT OR REPLACE INTO cmig_secrets(name, value) VALUES(?,?)",
                              {req->name(), Blob(req->value())}));
  }
  ServerUnaryReactor* GetSecret(CallbackServerContext* ctx, const v1::GetSecretRequest* req,
                                v1::GetSecretResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    bool found = false;
    absl::Status s = db_->Run("SELECT value FROM cmig_secrets WHERE name = ?", {req->name()},
                              [&](sqlite3_stmt* st) {
                                found = true;
                                resp->set_value(Column(st, 0));
                              });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no secret '", req->name(), "'"));
    return Done(ctx, s);
  }
  ServerUnaryReactor* ListSecrets(CallbackServerContext* ctx, const v1::ListSecretsRequest*,
                                  v1::ListSecretsResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    return Done(ctx, db_->Run("SELECT name FROM cmig_secrets ORDER BY name", {},
                              [&](sqlite3_stmt* st) { resp->add_names(Column(st, 0)); }));
  }
  ServerUnaryReactor* DeleteSecret(CallbackServerContext* ctx, const v1::DeleteSecretRequest* req,
                                   v1::DeleteSecretResponse*) override {
    CMIG_EXT_AUTH(ctx);
    bool found = false;
    absl::Status s = db_->Run("DELETE FROM cmig_secrets WHERE name = ? RETURNING name",
                              {req->name()}, [&](sqlite3_stmt*) { found = true; });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no secret '", req->name(), "'"));
    return Done(ctx, s);
  }

 private:
  const std::shared_ptr<ExtensionDb> db_;
  const Authenticator& auth_;
};

class BlobStoreImpl final : public v1::BlobStore::CallbackService {
 public:
  BlobStoreImpl(std::shared_ptr<ExtensionDb> db, const Authenticator& auth)
      : db_(std::move(db)), auth_(auth) {}

  ServerUnaryReactor* HasBlob(CallbackServerContext* ctx, const v1::HasBlobRequest* req,
                              v1::HasBlobResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    return Done(ctx, db_->Run("SELECT size FROM cmig_blobs WHERE digest = ?", {req->digest()},
                              [&](sqlite3_stmt* st) {
                                resp->set_exists(true);
                                resp->set_size(sqlite3_column_int64(st, 0));
                              }));
  }
  ServerUnaryReactor* PutBlobChunk(CallbackServerContext* ctx, const v1::PutBlobChunkRequest* req,
                                   v1::PutBlobChunkResponse*) override {
    CMIG_EXT_AUTH(ctx);
    if (!IsDigest(req->digest())) {
      return Done(ctx, absl::InvalidArgumentError("blob digest is not a lower-case hex SHA-256"));
    }
    if (req->offset() < 0) return Done(ctx, absl::InvalidArgumentError("negative chunk offset"));
    return Done(ctx,
                db_->Run("INSERT OR REPLACE INTO cmig_blob_chunks(digest, off, data) VALUES(?,?,?)",
                         {req->digest(), absl::StrCat(req->offset()), Blob(req->data())}));
  }
  ServerUnaryReactor* CommitBlob(CallbackServerContext* ctx, const v1::CommitBlobRequest* req,
                                 v1::CommitBlobResponse*) override {
    CMIG_EXT_AUTH(ctx);
    return Done(ctx, Commit(req->digest(), req->size()));
  }
  ServerUnaryReactor* GetBlob(CallbackServerContext* ctx, const v1::GetBlobRequest* req,
                              v1::GetBlobResponse* resp) override {
    CMIG_EXT_AUTH(ctx);
    int64_t max = req->max_bytes() <= 0 ? kDefaultChunk : std::min(req->max_bytes(), kMaxChunk);
    bool found = false;
    absl::Status s = db_->Run("SELECT size, substr(data, ?, ?) FROM cmig_blobs WHERE digest = ?",
                              {absl::StrCat(req->offset() + 1), absl::StrCat(max), req->digest()},
                              [&](sqlite3_stmt* st) {
                                found = true;
                                resp->set_total_size(sqlite3_column_int64(st, 0));
                                resp->set_data(Column(st, 1));
                              });
    if (s.ok() && !found) {
      s = absl::NotFoundError(absl::StrCat("no blob with digest ", req->digest()));
    }
    return Done(ctx, s);
  }

 private:
  absl::Status Commit(const std::string& digest, int64_t size) {
    bool exists = false;
    RETURN_IF_ERROR(db_->Run("SELECT 1 FROM cmig_blobs WHERE digest = ?", {digest},
                             [&](sqlite3_stmt*) { exists = true; }));
    if (exists) {
      return db_->Run("DELETE FROM cmig_blob_chunks WHERE digest = ?", {digest});
    }
    std::string data;
    bool gap = false;
    RETURN_IF_ERROR(db_->Run("SELECT off, data FROM cmig_blob_chunks WHERE digest = ? ORDER BY off",
                             {digest}, [&](sqlite3_stmt* st) {
                               int64_t off = sqlite3_column_int64(st, 0);
                               if (off != static_cast<int64_t>(data.size())) gap = true;
                               if (!gap) data += Column(st, 1);
                             }));
    absl::Status bad;
    if (gap || static_cast<int64_t>(data.size()) != size) {
      bad = absl::InvalidArgumentError(absl::StrCat("blob ", digest, ": the chunks hold ",
                                                    data.size(), " contiguous bytes, expected ",
                                                    size));
    } else if (Sha256Hex(data) != digest) {
      bad = absl::InvalidArgumentError(
          absl::StrCat("blob ", digest, ": the uploaded bytes hash to a different digest"));
    }
    if (!bad.ok()) {
      db_->Run("DELETE FROM cmig_blob_chunks WHERE digest = ?", {digest}).IgnoreError();
      return bad;
    }
    RETURN_IF_ERROR(db_->Run("INSERT OR IGNORE INTO cmig_blobs(digest, size, data) VALUES(?,?,?)",
                             {digest, absl::StrCat(size), Blob(data)}));
    return db_->Run("DELETE FROM cmig_blob_chunks WHERE digest = ?", {digest});
  }

  const std::shared_ptr<ExtensionDb> db_;
  const Authenticator& auth_;
};

class DefinitionAdminImpl final : public v1::DefinitionAdmin::CallbackService {
 public:
  DefinitionAdminImpl(Engine& engine, const Authenticator& auth) : engine_(engine), auth_(auth) {}

  ServerUnaryReactor* DeleteWorkflowDef(CallbackServerContext* ctx,
                                        const v1::DeleteWorkflowDefRequest* req,
                                        v1::DeleteWorkflowDefResponse*) override {
    CMIG_EXT_AUTH(ctx);
    ServerUnaryReactor* r = ctx->DefaultReactor();
    engine_.DeleteWorkflowDef(req->name(), req->version(),
                              [r](absl::Status s) { r->Finish(ToGrpc(s)); });
    return r;
  }

 private:
  Engine& engine_;
  const Authenticator& auth_;
};

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<::grpc::Service>>> MakeExtensionServices(
    const std::string& db_path, Engine& engine, const Authenticator& auth) {
  ASSIGN_OR_RETURN(std::shared_ptr<ExtensionDb> db, ExtensionDb::Open(db_path));
  std::vector<std::unique_ptr<::grpc::Service>> out;
  out.push_back(std::make_unique<EnvironmentsImpl>(db, auth));
  out.push_back(std::make_unique<SecretsImpl>(db, auth));
  out.push_back(std::make_unique<BlobStoreImpl>(db, auth));
  out.push_back(std::make_unique<DefinitionAdminImpl>(engine, auth));
  return out;
}

}  // namespace cmig::orchestrator
