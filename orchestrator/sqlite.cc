// The orchestrator's SQLite wrapper (sqlite.h).
#include "orchestrator/sqlite.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace cmig::orchestrator {

absl::Status SqliteError(int rc, sqlite3* db, absl::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return absl::OkStatus();
  // The connection's message is more specific than the code's when it belongs to this error.
  const char* text =
      db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = absl::StrCat("SQLite ", what, ": ", text);
  switch (rc & 0xff) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<SqliteDb> SqliteDb::Open(const std::string& path, int extra_flags,
                                        absl::Duration busy_timeout) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | extra_flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteError(rc, db, absl::StrCat("open ", path));
    sqlite3_close(db);
    // Whatever the reason, a database that cannot be opened is not there to serve.
    return absl::UnavailableError(s.message());
  }
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  return SqliteDb(db);
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

absl::Status SqliteDb::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // the connection keeps the same message for SqliteError
  return SqliteError(rc, db_, "exec");
}

absl::Status SqliteDb::InWriteTransaction(absl::FunctionRef<absl::Status()> body) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Status s = body();
  if (s.ok()) s = Exec("COMMIT");
  // A COMMIT that failed (a busy database, say) leaves the transaction open.
  if (!s.ok()) Exec("ROLLBACK").IgnoreError();
  return s;
}

absl::StatusOr<SqliteStatement> SqliteStatement::Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, db, "prepare");
  }
  return SqliteStatement(db, stmt);
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void SqliteStatement::BindText(int i, absl::string_view v, bool copy) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                    copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

void SqliteStatement::BindBlob(int i, absl::string_view v, bool copy) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()),
                    copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

void SqliteStatement::BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

absl::StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db_, "step");
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStatement::ColumnBytes(int i) const { return std::string(ColumnView(i)); }

absl::string_view SqliteStatement::ColumnView(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? absl::string_view(static_cast<const char*>(p), n) : absl::string_view();
}

int64_t SqliteStatement::ColumnInt64(int i) const { return sqlite3_column_int64(stmt_, i); }

}  // namespace cmig::orchestrator
