#include "orchestrator/extensions.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/grpc_status.h"
#include "base/status_macros.h"
#include "client/conductor_environment.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "definitions/canonical.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"
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

}  // namespace

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
        " data BLOB NOT NULL, PRIMARY KEY(digest, off));"
        "CREATE TABLE IF NOT EXISTS cmig_access_keys(id TEXT PRIMARY KEY, salt BLOB NOT NULL,"
        " secret_hash BLOB NOT NULL, created INTEGER NOT NULL);"));
    return out;
  }
  ExtensionDb(const ExtensionDb&) = delete;
  ExtensionDb& operator=(const ExtensionDb&) = delete;

  // Runs `sql` with text/blob parameters; calls `row` for each result row.
  absl::Status Run(const char* sql, const std::vector<Param>& params,
                   const std::function<void(const SqliteStatement&)>& row = nullptr) {
    absl::MutexLock lock(&mu_);
    return RunLocked(sql, params, row);
  }
  absl::Status RunLocked(const char* sql, const std::vector<Param>& params,
                         const std::function<void(const SqliteStatement&)>& row = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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

  // Removes blob `digest` with its chunks (and any uncommitted chunks of it). NotFound when there
  // is no such blob.
  absl::Status DeleteBlob(const std::string& digest) {
    absl::MutexLock lock(&mu_);
    int deleted = 0;
    for (const char* sql : {"DELETE FROM cmig_blob_chunks WHERE digest = ?",
                            "DELETE FROM cmig_blobs WHERE digest = ?"}) {
      ASSIGN_OR_RETURN(SqliteStatement st, SqliteStatement::Prepare(db_.get(), sql));
      st.BindText(1, digest);
      RETURN_IF_ERROR(st.Step().status());
      deleted = sqlite3_changes(db_.get());
    }
    if (deleted == 0) {
      return absl::NotFoundError(absl::StrCat("no blob with digest ", digest));
    }
    return absl::OkStatus();
  }

  // Stores one uploaded chunk of blob `digest` at `offset` (replacing a chunk at that offset).
  // Nothing changes for a blob already committed: its chunks are its content.
  absl::Status PutChunk(const std::string& digest, int64_t offset, std::string data) {
    return Run(
        "INSERT OR REPLACE INTO cmig_blob_chunks(digest, off, data) SELECT ?1, ?2, ?3 "
        "WHERE NOT EXISTS (SELECT 1 FROM cmig_blobs WHERE digest = ?1)",
        {digest, absl::StrCat(offset), Blob(std::move(data))});
  }

  // Drops the uploaded chunks of blob `digest` unless it is committed.
  absl::Status DropUncommittedChunks(const std::string& digest) {
    absl::MutexLock lock(&mu_);
    return DropUncommittedChunksLocked(digest);
  }

  // Commits the uploaded chunks of blob `digest` as the blob, which must be `size` bytes hashing
  // to `digest`. The chunks stay where they are and become the blob's content (so its bytes are
  // written once, and a read of any range touches only the chunks that hold it); one chunk at a
  // time is in memory while they are hashed. InvalidArgument, with the chunks dropped and nothing
  // stored, when the chunks leave a gap, hold another size or hash to another digest. A blob
  // already stored is kept as it is.
  absl::Status CommitChunks(const std::string& digest, int64_t size) {
    absl::MutexLock lock(&mu_);
    absl::Status s = db_.InWriteTransaction(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return CommitChunksLocked(digest, size); });
    if (absl::IsInvalidArgument(s)) {
      // Chunks that cannot make the blob are of no further use.
      DropUncommittedChunksLocked(digest).IgnoreError();
    }
    return s;
  }

  // Stores `bytes` as blob `digest` (already checked to hash to it), in chunks of kDefaultChunk
  // bytes. A blob already stored is kept as it is.
  absl::Status PutWhole(const std::string& digest, const std::string& bytes) {
    absl::MutexLock lock(&mu_);
    return db_.InWriteTransaction(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return PutWholeLocked(digest, bytes); });
  }

  // Up to `max` bytes of blob `digest` from `offset`: only the chunks that hold them are read.
  // NotFound when there is no such blob.
  absl::Status ReadBlobRange(const std::string& digest, int64_t offset, int64_t max,
                             int64_t* total_size, std::string* data) {
    absl::MutexLock lock(&mu_);
    bool found = false;
    int64_t rowid = 0;
    int64_t inline_size = 0;
    RETURN_IF_ERROR(RunLocked("SELECT rowid, size, length(data) FROM cmig_blobs WHERE digest = ?",
                              {digest}, [&](const SqliteStatement& st) {
                                found = true;
                                rowid = st.ColumnInt64(0);
                                *total_size = st.ColumnInt64(1);
                                inline_size = st.ColumnInt64(2);
                              }));
    if (!found) return absl::NotFoundError(absl::StrCat("no blob with digest ", digest));
    const int64_t n = std::clamp<int64_t>(*total_size - offset, 0, max);
    data->clear();
    if (n == 0) return absl::OkStatus();
    if (inline_size > 0) return ReadInlineLocked(rowid, offset, n, data);
    // The chunk that holds `offset` and those after it, up to offset + n.
    data->reserve(static_cast<size_t>(n));
    const int64_t end = offset + n;
    RETURN_IF_ERROR(RunLocked(
        "SELECT off, data FROM cmig_blob_chunks WHERE digest = ?1 AND off < ?3 AND off >= "
        "coalesce((SELECT max(off) FROM cmig_blob_chunks WHERE digest = ?1 AND off <= ?2), 0) "
        "ORDER BY off",
        {digest, absl::StrCat(offset), absl::StrCat(end)}, [&](const SqliteStatement& st) {
          const int64_t off = st.ColumnInt64(0);
          absl::string_view chunk = st.ColumnView(1);
          const int64_t from = std::max(offset, off);
          const int64_t to = std::min(end, off + static_cast<int64_t>(chunk.size()));
          if (to > from) data->append(chunk.data() + (from - off), static_cast<size_t>(to - from));
        }));
    if (static_cast<int64_t>(data->size()) != n) {
      return absl::DataLossError(absl::StrCat("blob ", digest, ": ", n, " bytes from offset ",
                                              offset, " expected, its chunks hold ", data->size()));
    }
    return absl::OkStatus();
  }

 private:
  explicit ExtensionDb(SqliteDb db) : db_(std::move(db)) {}

  absl::Status DropUncommittedChunksLocked(const std::string& digest)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return RunLocked(
        "DELETE FROM cmig_blob_chunks WHERE digest = ?1 "
        "AND NOT EXISTS (SELECT 1 FROM cmig_blobs WHERE digest = ?1)",
        {digest});
  }

  absl::StatusOr<bool> BlobExistsLocked(const std::string& digest)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool exists = false;
    RETURN_IF_ERROR(RunLocked("SELECT 1 FROM cmig_blobs WHERE digest = ?", {digest},
                              [&](const SqliteStatement&) { exists = true; }));
    return exists;
  }

  // The blob's row; its content is in its chunks (data is empty).
  absl::Status InsertBlobRowLocked(const std::string& digest, int64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return RunLocked("INSERT INTO cmig_blobs(digest, size, data) VALUES(?, ?, X'')",
                     {digest, absl::StrCat(size)});
  }

  absl::Status CommitChunksLocked(const std::string& digest, int64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(bool exists, BlobExistsLocked(digest));
    if (exists) return absl::OkStatus();
    // The chunks' offsets and lengths first: they must tile 0..size exactly.
    int64_t contiguous = 0;
    bool gap = false;
    RETURN_IF_ERROR(
        RunLocked("SELECT off, length(data) FROM cmig_blob_chunks WHERE digest = ? ORDER BY off",
                  {digest}, [&](const SqliteStatement& st) {
                    if (st.ColumnInt64(0) != contiguous) gap = true;
                    if (!gap) contiguous += st.ColumnInt64(1);
                  }));
    if (gap || contiguous != size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "blob ", digest, ": the chunks hold ", contiguous, " contiguous bytes, expected ", size));
    }
    Sha256Hasher hasher;
    RETURN_IF_ERROR(RunLocked("SELECT data FROM cmig_blob_chunks WHERE digest = ? ORDER BY off",
                              {digest},
                              [&](const SqliteStatement& st) { hasher.Update(st.ColumnView(0)); }));
    if (hasher.HexDigest() != digest) {
      return absl::InvalidArgumentError(
          absl::StrCat("blob ", digest, ": the uploaded bytes hash to a different digest"));
    }
    return InsertBlobRowLocked(digest, size);
  }

  absl::Status PutWholeLocked(const std::string& digest, const std::string& bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(bool exists, BlobExistsLocked(digest));
    if (exists) return absl::OkStatus();
    RETURN_IF_ERROR(DropUncommittedChunksLocked(digest));
    const absl::string_view all(bytes);
    for (size_t off = 0; off < all.size(); off += kDefaultChunk) {
      RETURN_IF_ERROR(RunLocked(
          "INSERT INTO cmig_blob_chunks(digest, off, data) VALUES(?, ?, ?)",
          {digest, absl::StrCat(off), Blob(std::string(all.substr(off, kDefaultChunk)))}));
    }
    return InsertBlobRowLocked(digest, static_cast<int64_t>(bytes.size()));
  }

  // A blob stored whole in its row (as versions before chunked storage kept every blob).
  absl::Status ReadInlineLocked(int64_t rowid, int64_t offset, int64_t n, std::string* data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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

  absl::Mutex mu_;
  SqliteDb db_ ABSL_GUARDED_BY(mu_);
};

namespace {

ServerUnaryReactor* Done(CallbackServerContext* ctx, const absl::Status& s) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(s));
  return r;
}

class EnvironmentsImpl final : public v1::Environments::CallbackService {
 public:
  explicit EnvironmentsImpl(std::shared_ptr<ExtensionStore> store) : store_(std::move(store)) {}

  ServerUnaryReactor* PutEnvironment(CallbackServerContext* ctx,
                                     const v1::PutEnvironmentRequest* req,
                                     v1::PutEnvironmentResponse*) override {
    return Done(ctx, store_->PutEnvironment(req->environment()));
  }
  ServerUnaryReactor* GetEnvironment(CallbackServerContext* ctx,
                                     const v1::GetEnvironmentRequest* req,
                                     v1::GetEnvironmentResponse* resp) override {
    absl::StatusOr<v1::Environment> e = store_->GetEnvironment(req->id());
    if (!e.ok()) return Done(ctx, e.status());
    *resp->mutable_environment() = *std::move(e);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* ListEnvironments(CallbackServerContext* ctx,
                                       const v1::ListEnvironmentsRequest*,
                                       v1::ListEnvironmentsResponse* resp) override {
    absl::StatusOr<std::vector<v1::Environment>> list = store_->ListEnvironments();
    if (!list.ok()) return Done(ctx, list.status());
    for (auto& e : *list) *resp->add_environments() = std::move(e);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* DeleteEnvironment(CallbackServerContext* ctx,
                                        const v1::DeleteEnvironmentRequest* req,
                                        v1::DeleteEnvironmentResponse*) override {
    return Done(ctx, store_->DeleteEnvironment(req->id()));
  }

 private:
  const std::shared_ptr<ExtensionStore> store_;
};

class SecretsImpl final : public v1::Secrets::CallbackService {
 public:
  explicit SecretsImpl(std::shared_ptr<ExtensionStore> store) : store_(std::move(store)) {}

  ServerUnaryReactor* PutSecret(CallbackServerContext* ctx, const v1::PutSecretRequest* req,
                                v1::PutSecretResponse*) override {
    return Done(ctx, store_->PutSecret(req->name(), req->value()));
  }
  ServerUnaryReactor* GetSecret(CallbackServerContext* ctx, const v1::GetSecretRequest* req,
                                v1::GetSecretResponse* resp) override {
    absl::StatusOr<std::string> value = store_->GetSecret(req->name());
    if (!value.ok()) return Done(ctx, value.status());
    resp->set_value(*std::move(value));
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* ListSecrets(CallbackServerContext* ctx, const v1::ListSecretsRequest*,
                                  v1::ListSecretsResponse* resp) override {
    absl::StatusOr<std::vector<std::string>> names = store_->ListSecretNames();
    if (names.ok()) {
      for (std::string& n : *names) resp->add_names(std::move(n));
    }
    return Done(ctx, names.status());
  }
  ServerUnaryReactor* DeleteSecret(CallbackServerContext* ctx, const v1::DeleteSecretRequest* req,
                                   v1::DeleteSecretResponse*) override {
    return Done(ctx, store_->DeleteSecret(req->name()));
  }

 private:
  const std::shared_ptr<ExtensionStore> store_;
};

class AccessKeysImpl final : public v1::AccessKeys::CallbackService {
 public:
  explicit AccessKeysImpl(std::shared_ptr<ExtensionStore> store) : store_(std::move(store)) {}

  ServerUnaryReactor* CreateAccessKey(CallbackServerContext* ctx, const v1::CreateAccessKeyRequest*,
                                      v1::CreateAccessKeyResponse* resp) override {
    absl::StatusOr<ExtensionStore::NewAccessKey> key = store_->CreateAccessKey();
    if (key.ok()) {
      resp->set_key_id(key->id);
      resp->set_key_secret(key->secret);
    }
    return Done(ctx, key.status());
  }
  ServerUnaryReactor* ListAccessKeys(CallbackServerContext* ctx, const v1::ListAccessKeysRequest*,
                                     v1::ListAccessKeysResponse* resp) override {
    absl::StatusOr<std::vector<ExtensionStore::AccessKey>> keys = store_->ListAccessKeys();
    if (keys.ok()) {
      for (const auto& k : *keys) {
        v1::AccessKeyInfo* info = resp->add_keys();
        info->set_key_id(k.id);
        info->set_created_time(k.created_ms);
      }
    }
    return Done(ctx, keys.status());
  }
  ServerUnaryReactor* RevokeAccessKey(CallbackServerContext* ctx,
                                      const v1::RevokeAccessKeyRequest* req,
                                      v1::RevokeAccessKeyResponse*) override {
    return Done(ctx, store_->RevokeAccessKey(req->key_id()));
  }

 private:
  const std::shared_ptr<ExtensionStore> store_;
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
      db_->DropUncommittedChunks(req->digest()).IgnoreError();
      return Done(ctx, TooLarge());
    }
    return Done(ctx, db_->PutChunk(req->digest(), req->offset(), req->data()));
  }
  ServerUnaryReactor* CommitBlob(CallbackServerContext* ctx, const v1::CommitBlobRequest* req,
                                 v1::CommitBlobResponse*) override {
    if (req->size() > max_bytes_) return Done(ctx, TooLarge());
    return Done(ctx, db_->CommitChunks(req->digest(), req->size()));
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
  ServerUnaryReactor* DeleteBlob(CallbackServerContext* ctx, const v1::DeleteBlobRequest* req,
                                 v1::DeleteBlobResponse*) override {
    return Done(ctx, db_->DeleteBlob(req->digest()));
  }

 private:
  absl::Status TooLarge() const {
    return absl::ResourceExhaustedError(
        absl::StrCat("the package is larger than this orchestrator accepts: at most ", max_bytes_,
                     " bytes (", max_bytes_ >> 20, " MiB; its --max_package_bytes)"));
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

ExtensionStore::ExtensionStore(std::shared_ptr<ExtensionDb> db) : db_(std::move(db)) {}
ExtensionStore::~ExtensionStore() = default;

absl::StatusOr<std::shared_ptr<ExtensionStore>> ExtensionStore::Open(const std::string& db_path) {
  ASSIGN_OR_RETURN(std::shared_ptr<ExtensionDb> db, ExtensionDb::Open(db_path));
  return std::shared_ptr<ExtensionStore>(new ExtensionStore(std::move(db)));
}

absl::Status ExtensionStore::PutEnvironment(const v1::Environment& e) {
  if (e.id().empty() || e.address().empty()) {
    return absl::InvalidArgumentError("an environment needs an id and an address");
  }
  RETURN_IF_ERROR(client::ParseEnvironmentAddress(e).status());
  return db_->Run("INSERT OR REPLACE INTO cmig_environments(id, data) VALUES(?,?)",
                  {e.id(), Blob(e.SerializeAsString())});
}

absl::StatusOr<v1::Environment> ExtensionStore::GetEnvironment(const std::string& id) {
  std::optional<v1::Environment> found;
  absl::Status parsed = absl::OkStatus();
  RETURN_IF_ERROR(db_->Run(
      "SELECT data FROM cmig_environments WHERE id = ?", {id}, [&](const SqliteStatement& st) {
        found.emplace();
        if (!found->ParseFromString(st.ColumnBytes(0))) {
          parsed = absl::DataLossError(absl::StrCat("environment '", id, "' is unreadable"));
        }
      }));
  RETURN_IF_ERROR(parsed);
  if (!found.has_value()) return absl::NotFoundError(absl::StrCat("no environment '", id, "'"));
  return *std::move(found);
}

absl::StatusOr<std::vector<v1::Environment>> ExtensionStore::ListEnvironments() {
  std::vector<v1::Environment> out;
  RETURN_IF_ERROR(db_->Run(
      "SELECT data FROM cmig_environments ORDER BY id", {},
      [&](const SqliteStatement& st) { out.emplace_back().ParseFromString(st.ColumnBytes(0)); }));
  return out;
}

absl::Status ExtensionStore::DeleteEnvironment(const std::string& id) {
  bool found = false;
  RETURN_IF_ERROR(db_->Run("DELETE FROM cmig_environments WHERE id = ? RETURNING id", {id},
                           [&](const SqliteStatement&) { found = true; }));
  if (!found) return absl::NotFoundError(absl::StrCat("no environment '", id, "'"));
  return absl::OkStatus();
}

absl::Status ExtensionStore::PutPackage(const std::string& digest, const std::string& bytes,
                                        int64_t max_bytes) {
  if (!IsDigest(digest)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", digest, "' is not a package digest (64 lower-case hex digits)"));
  }
  if (static_cast<int64_t>(bytes.size()) > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the package is ", bytes.size(), " bytes, more than the store's limit of ", max_bytes));
  }
  if (cmig::Sha256Hex(bytes) != digest) {
    return absl::InvalidArgumentError(absl::StrCat("the package's bytes do not hash to ", digest));
  }
  return db_->PutWhole(digest, bytes);
}

absl::StatusOr<std::string> ExtensionStore::GetPackage(const std::string& digest) {
  int64_t total = 0;
  std::string data;
  RETURN_IF_ERROR(
      db_->ReadBlobRange(digest, 0, std::numeric_limits<int64_t>::max(), &total, &data));
  return data;
}

absl::Status ExtensionStore::DeletePackage(const std::string& digest) {
  return db_->DeleteBlob(digest);
}

absl::Status ExtensionStore::PutSecret(const std::string& name, const std::string& value) {
  if (name.empty()) return absl::InvalidArgumentError("secret name is empty");
  return db_->Run("INSERT OR REPLACE INTO cmig_secrets(name, value) VALUES(?,?)",
                  {name, Blob(value)});
}

absl::StatusOr<std::string> ExtensionStore::GetSecret(const std::string& name) {
  std::optional<std::string> value;
  RETURN_IF_ERROR(db_->Run("SELECT value FROM cmig_secrets WHERE name = ?", {name},
                           [&](const SqliteStatement& st) { value = st.ColumnBytes(0); }));
  if (!value.has_value()) return absl::NotFoundError(absl::StrCat("no secret '", name, "'"));
  return *std::move(value);
}

absl::StatusOr<std::vector<std::string>> ExtensionStore::ListSecretNames() {
  std::vector<std::string> names;
  RETURN_IF_ERROR(db_->Run("SELECT name FROM cmig_secrets ORDER BY name", {},
                           [&](const SqliteStatement& st) { names.push_back(st.ColumnBytes(0)); }));
  return names;
}

absl::Status ExtensionStore::DeleteSecret(const std::string& name) {
  bool found = false;
  RETURN_IF_ERROR(db_->Run("DELETE FROM cmig_secrets WHERE name = ? RETURNING name", {name},
                           [&](const SqliteStatement&) { found = true; }));
  if (!found) return absl::NotFoundError(absl::StrCat("no secret '", name, "'"));
  return absl::OkStatus();
}

namespace {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return "";
  }
  return absl::BytesToHexString(raw);
}

// A key secret is 32 random bytes, so one salted SHA-256 is enough to keep the stored form
// useless to a reader of the database (a slow password hash protects low-entropy secrets).
std::string HashKeySecret(const std::string& salt, const std::string& secret) {
  return Sha256Hex(absl::StrCat(salt, ":", secret));
}

}  // namespace

absl::StatusOr<ExtensionStore::NewAccessKey> ExtensionStore::CreateAccessKey() {
  NewAccessKey key{RandomHex(16), RandomHex(32)};
  std::string salt = RandomHex(16);
  if (key.id.empty() || key.secret.empty() || salt.empty()) {
    return absl::InternalError("no random bytes for a new access key");
  }
  const int64_t now = absl::ToUnixMillis(absl::Now());
  RETURN_IF_ERROR(
      db_->Run("INSERT INTO cmig_access_keys(id, salt, secret_hash, created) VALUES(?,?,?,?)",
               {key.id, Blob(salt), Blob(HashKeySecret(salt, key.secret)), absl::StrCat(now)}));
  return key;
}

absl::StatusOr<std::vector<ExtensionStore::AccessKey>> ExtensionStore::ListAccessKeys() {
  std::vector<AccessKey> keys;
  RETURN_IF_ERROR(db_->Run("SELECT id, created FROM cmig_access_keys ORDER BY created, id", {},
                           [&](const SqliteStatement& st) {
                             keys.push_back({st.ColumnBytes(0), st.ColumnInt64(1)});
                           }));
  return keys;
}

absl::Status ExtensionStore::RevokeAccessKey(const std::string& id) {
  bool found = false;
  RETURN_IF_ERROR(db_->Run("DELETE FROM cmig_access_keys WHERE id = ? RETURNING id", {id},
                           [&](const SqliteStatement&) { found = true; }));
  if (!found) return absl::NotFoundError(absl::StrCat("no access key '", id, "'"));
  return absl::OkStatus();
}

absl::Status ExtensionStore::CheckAccessKey(const std::string& id, const std::string& secret) {
  std::optional<std::pair<std::string, std::string>> stored;
  RETURN_IF_ERROR(db_->Run(
      "SELECT salt, secret_hash FROM cmig_access_keys WHERE id = ?", {id},
      [&](const SqliteStatement& st) { stored.emplace(st.ColumnBytes(0), st.ColumnBytes(1)); }));
  // One message for an unknown key and a wrong secret: the answer does not confirm key ids.
  absl::Status refused = absl::UnauthenticatedError("invalid access key id or secret");
  if (!stored.has_value()) return refused;
  const std::string presented = HashKeySecret(stored->first, secret);
  if (presented.size() != stored->second.size() ||
      CRYPTO_memcmp(presented.data(), stored->second.data(), presented.size()) != 0) {
    return refused;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NamedService>> MakeExtensionServices(
    const std::shared_ptr<ExtensionStore>& store, Engine& engine, int64_t max_package_bytes) {
  std::shared_ptr<ExtensionDb> db = store->db_;
  std::vector<NamedService> out;
  out.push_back({v1::Environments::service_full_name(), std::make_unique<EnvironmentsImpl>(store)});
  out.push_back({v1::Secrets::service_full_name(), std::make_unique<SecretsImpl>(store)});
  out.push_back({v1::AccessKeys::service_full_name(), std::make_unique<AccessKeysImpl>(store)});
  out.push_back(
      {v1::BlobStore::service_full_name(), std::make_unique<BlobStoreImpl>(db, max_package_bytes)});
  out.push_back(
      {v1::DefinitionAdmin::service_full_name(), std::make_unique<DefinitionAdminImpl>(engine)});
  return out;
}

}  // namespace cmig::orchestrator
