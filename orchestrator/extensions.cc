#include "orchestrator/extensions.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/grpc_status.h"
#include "base/status_macros.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "definitions/canonical.h"
#include "orchestrator/sqlite.h"

namespace cmig::orchestrator {
namespace {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

// Chunk size for GetBlob when the caller does not ask for one: well under gRPC's 4 MB default.
constexpr int64_t kDefaultChunk = 1 << 20;
constexpr int64_t kMaxChunk = 16 << 20;

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
    ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path, SQLITE_OPEN_FULLMUTEX, absl::Seconds(10)));
    auto out = std::shared_ptr<ExtensionDb>(new ExtensionDb(std::move(db)));
    RETURN_IF_ERROR(out->Exec(
        "CREATE TABLE IF NOT EXISTS cmig_environments(id TEXT PRIMARY KEY, data BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL,"
        " data BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cmig_blob_chunks(digest TEXT NOT NULL, off INTEGER NOT NULL,"
        " data BLOB NOT NULL, PRIMARY KEY(digest, off));"));
    return out;
  }
  ExtensionDb(const ExtensionDb&) = delete;
  ExtensionDb& operator=(const ExtensionDb&) = delete;

  // Runs `sql` with text/blob parameters; calls `row` for each result row.
  absl::Status Run(const char* sql, const std::vector<Param>& params,
                   const std::function<void(const SqliteStatement&)>& row = nullptr) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SqliteStatement s, SqliteStatement::Prepare(db_.get(), sql));
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].blob) {
        s.BindBlob(static_cast<int>(i + 1), params[i].value);
      } else {
        s.BindText(static_cast<int>(i + 1), params[i].value);
      }
    }
    for (;;) {
      ASSIGN_OR_RETURN(bool has_row, s.Step());
      if (!has_row) return absl::OkStatus();
      if (row) row(s);
    }
  }
  absl::Status Exec(const char* sql) {
    absl::MutexLock lock(&mu_);
    return db_.Exec(sql);
  }

  // Up to `max` bytes of blob `digest` from `offset`, read incrementally: only those bytes
  // leave the file, however large the blob. NotFound when there is no such blob.
  absl::Status ReadBlobRange(const std::string& digest, int64_t offset, int64_t max,
                             int64_t* total_size, std::string* data) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(SqliteStatement s,
                     SqliteStatement::Prepare(db_.get(),
                                              "SELECT rowid, size FROM cmig_blobs "
                                              "WHERE digest = ?"));
    s.BindText(1, digest);
    ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) return absl::NotFoundError(absl::StrCat("no blob with digest ", digest));
    const int64_t rowid = s.ColumnInt64(0);
    *total_size = s.ColumnInt64(1);
    const int64_t n = std::clamp<int64_t>(*total_size - offset, 0, max);
    data->clear();
    if (n == 0) return absl::OkStatus();
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(db_.get(), "main", "cmig_blobs", "data", rowid, 0, &blob);
    if (rc == SQLITE_OK) {
      data->resize(static_cast<size_t>(n));
      rc = sqlite3_blob_read(blob, data->data(), static_cast<int>(n), static_cast<int>(offset));
    }
    absl::Status status = SqliteError(rc, db_.get(), "read blob");
    sqlite3_blob_close(blob);
    return status;
  }

 private:
  explicit ExtensionDb(SqliteDb db) : db_(std::move(db)) {}
  absl::Mutex mu_;
  SqliteDb db_ ABSL_GUARDED_BY(mu_);
};

ServerUnaryReactor* Done(CallbackServerContext* ctx, const absl::Status& s) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(s));
  return r;
}

class EnvironmentsImpl final : public v1::Environments::CallbackService {
 public:
  explicit EnvironmentsImpl(std::shared_ptr<ExtensionDb> db) : db_(std::move(db)) {}

  ServerUnaryReactor* PutEnvironment(CallbackServerContext* ctx,
                                     const v1::PutEnvironmentRequest* req,
                                     v1::PutEnvironmentResponse*) override {
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
    bool found = false;
    absl::Status s = db_->Run("SELECT data FROM cmig_environments WHERE id = ?", {req->id()},
                              [&](const SqliteStatement& st) {
                                found =
                                    resp->mutable_environment()->ParseFromString(st.ColumnBytes(0));
                              });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no environment '", req->id(), "'"));
    return Done(ctx, s);
  }
  ServerUnaryReactor* ListEnvironments(CallbackServerContext* ctx,
                                       const v1::ListEnvironmentsRequest*,
                                       v1::ListEnvironmentsResponse* resp) override {
    return Done(ctx, db_->Run("SELECT data FROM cmig_environments ORDER BY id", {},
                              [&](const SqliteStatement& st) {
                                resp->add_environments()->ParseFromString(st.ColumnBytes(0));
                              }));
  }
  ServerUnaryReactor* DeleteEnvironment(CallbackServerContext* ctx,
                                        const v1::DeleteEnvironmentRequest* req,
                                        v1::DeleteEnvironmentResponse*) override {
    bool found = false;
    absl::Status s = db_->Run("DELETE FROM cmig_environments WHERE id = ? RETURNING id",
                              {req->id()}, [&](const SqliteStatement&) { found = true; });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no environment '", req->id(), "'"));
    return Done(ctx, s);
  }

 private:
  const std::shared_ptr<ExtensionDb> db_;
};

class SecretsImpl final : public v1::Secrets::CallbackService {
 public:
  explicit SecretsImpl(std::shared_ptr<ExtensionDb> db) : db_(std::move(db)) {}

  ServerUnaryReactor* PutSecret(CallbackServerContext* ctx, const v1::PutSecretRequest* req,
                                v1::PutSecretResponse*) override {
    if (req->name().empty()) return Done(ctx, absl::InvalidArgumentError("secret name is empty"));
    return Done(ctx, db_->Run("INSERT OR REPLACE INTO cmig_secrets(name, value) VALUES(?,?)",
                              {req->name(), Blob(req->value())}));
  }
  ServerUnaryReactor* GetSecret(CallbackServerContext* ctx, const v1::GetSecretRequest* req,
                                v1::GetSecretResponse* resp) override {
    bool found = false;
    absl::Status s = db_->Run("SELECT value FROM cmig_secrets WHERE name = ?", {req->name()},
                              [&](const SqliteStatement& st) {
                                found = true;
                                resp->set_value(st.ColumnBytes(0));
                              });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no secret '", req->name(), "'"));
    return Done(ctx, s);
  }
  ServerUnaryReactor* ListSecrets(CallbackServerContext* ctx, const v1::ListSecretsRequest*,
                                  v1::ListSecretsResponse* resp) override {
    return Done(ctx,
                db_->Run("SELECT name FROM cmig_secrets ORDER BY name", {},
                         [&](const SqliteStatement& st) { resp->add_names(st.ColumnBytes(0)); }));
  }
  ServerUnaryReactor* DeleteSecret(CallbackServerContext* ctx, const v1::DeleteSecretRequest* req,
                                   v1::DeleteSecretResponse*) override {
    bool found = false;
    absl::Status s = db_->Run("DELETE FROM cmig_secrets WHERE name = ? RETURNING name",
                              {req->name()}, [&](const SqliteStatement&) { found = true; });
    if (s.ok() && !found) s = absl::NotFoundError(absl::StrCat("no secret '", req->name(), "'"));
    return Done(ctx, s);
  }

 private:
  const std::shared_ptr<ExtensionDb> db_;
};

class BlobStoreImpl final : public v1::BlobStore::CallbackService {
 public:
  BlobStoreImpl(std::shared_ptr<ExtensionDb> db, int64_t max_bytes)
      : db_(std::move(db)), max_bytes_(max_bytes) {}

  ServerUnaryReactor* HasBlob(CallbackServerContext* ctx, const v1::HasBlobRequest* req,
                              v1::HasBlobResponse* resp) override {
    return Done(ctx, db_->Run("SELECT size FROM cmig_blobs WHERE digest = ?", {req->digest()},
                              [&](const SqliteStatement& st) {
                                resp->set_exists(true);
                                resp->set_size(st.ColumnInt64(0));
                              }));
  }
  ServerUnaryReactor* PutBlobChunk(CallbackServerContext* ctx, const v1::PutBlobChunkRequest* req,
                                   v1::PutBlobChunkResponse*) override {
    if (!IsDigest(req->digest())) {
      return Done(ctx, absl::InvalidArgumentError("blob digest is not a lower-case hex SHA-256"));
    }
    if (req->offset() < 0) return Done(ctx, absl::InvalidArgumentError("negative chunk offset"));
    if (req->offset() > max_bytes_ - static_cast<int64_t>(req->data().size())) {
      db_->Run("DELETE FROM cmig_blob_chunks WHERE digest = ?", {req->digest()}).IgnoreError();
      return Done(ctx, TooLarge());
    }
    return Done(ctx,
                db_->Run("INSERT OR REPLACE INTO cmig_blob_chunks(digest, off, data) VALUES(?,?,?)",
                         {req->digest(), absl::StrCat(req->offset()), Blob(req->data())}));
  }
  ServerUnaryReactor* CommitBlob(CallbackServerContext* ctx, const v1::CommitBlobRequest* req,
                                 v1::CommitBlobResponse*) override {
    if (req->size() > max_bytes_) return Done(ctx, TooLarge());
    return Done(ctx, Commit(req->digest(), req->size()));
  }
  ServerUnaryReactor* GetBlob(CallbackServerContext* ctx, const v1::GetBlobRequest* req,
                              v1::GetBlobResponse* resp) override {
    int64_t max = req->max_bytes() <= 0 ? kDefaultChunk : std::min(req->max_bytes(), kMaxChunk);
    if (req->offset() < 0) return Done(ctx, absl::InvalidArgumentError("negative blob offset"));
    int64_t total = 0;
    absl::Status s =
        db_->ReadBlobRange(req->digest(), req->offset(), max, &total, resp->mutable_data());
    resp->set_total_size(total);
    return Done(ctx, s);
  }

 private:
  absl::Status TooLarge() const {
    return absl::ResourceExhaustedError(
        absl::StrCat("the package is larger than this orchestrator accepts: at most ", max_bytes_,
                     " bytes (", max_bytes_ >> 20, " MiB; its --max_package_bytes)"));
  }

  absl::Status Commit(const std::string& digest, int64_t size) {
    bool exists = false;
    RETURN_IF_ERROR(db_->Run("SELECT 1 FROM cmig_blobs WHERE digest = ?", {digest},
                             [&](const SqliteStatement&) { exists = true; }));
    if (exists) {
      return db_->Run("DELETE FROM cmig_blob_chunks WHERE digest = ?", {digest});
    }
    std::string data;
    bool gap = false;
    RETURN_IF_ERROR(db_->Run("SELECT off, data FROM cmig_blob_chunks WHERE digest = ? ORDER BY off",
                             {digest}, [&](const SqliteStatement& st) {
                               int64_t off = st.ColumnInt64(0);
                               if (off != static_cast<int64_t>(data.size())) gap = true;
                               if (!gap) data += st.ColumnBytes(1);
                             }));
    absl::Status bad;
    if (gap || static_cast<int64_t>(data.size()) != size) {
      bad = absl::InvalidArgumentError(absl::StrCat("blob ", digest, ": the chunks hold ",
                                                    data.size(), " contiguous bytes, expected ",
                                                    size));
    } else if (cmig::Sha256Hex(data) != digest) {
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
  const int64_t max_bytes_;
};

class DefinitionAdminImpl final : public v1::DefinitionAdmin::CallbackService {
 public:
  explicit DefinitionAdminImpl(Engine& engine) : engine_(engine) {}

  ServerUnaryReactor* DeleteWorkflowDef(CallbackServerContext* ctx,
                                        const v1::DeleteWorkflowDefRequest* req,
                                        v1::DeleteWorkflowDefResponse*) override {
    ServerUnaryReactor* r = ctx->DefaultReactor();
    engine_.DeleteWorkflowDef(req->name(), req->version(),
                              [r](const absl::Status& s) { r->Finish(ToGrpc(s)); });
    return r;
  }

 private:
  Engine& engine_;
};

}  // namespace

absl::StatusOr<std::vector<NamedService>> MakeExtensionServices(const std::string& db_path,
                                                                Engine& engine,
                                                                int64_t max_package_bytes) {
  ASSIGN_OR_RETURN(std::shared_ptr<ExtensionDb> db, ExtensionDb::Open(db_path));
  std::vector<NamedService> out;
  out.push_back({v1::Environments::service_full_name(), std::make_unique<EnvironmentsImpl>(db)});
  out.push_back({v1::Secrets::service_full_name(), std::make_unique<SecretsImpl>(db)});
  out.push_back(
      {v1::BlobStore::service_full_name(), std::make_unique<BlobStoreImpl>(db, max_package_bytes)});
  out.push_back(
      {v1::DefinitionAdmin::service_full_name(), std::make_unique<DefinitionAdminImpl>(engine)});
  return out;
}

}  // namespace cmig::orchestrator
