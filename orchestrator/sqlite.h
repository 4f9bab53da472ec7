// The orchestrator's one SQLite wrapper, used by the store (store.h) and the extension services
// (extensions.h): opening a connection, running SQL, prepared statements, and one mapping of
// SQLite result codes to absl status codes.
//
//   ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path, SQLITE_OPEN_NOMUTEX, absl::Seconds(5)));
//   RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v BLOB)"));
//   ASSIGN_OR_RETURN(SqliteStatement s, SqliteStatement::Prepare(db.get(), "SELECT v FROM t"));
//   for (;;) {
//     ASSIGN_OR_RETURN(bool row, s.Step());
//     if (!row) break;
//     Use(s.ColumnBytes(0));
//   }
//
// Errors (SqliteError): Unavailable for what may pass on a later try (busy or locked database,
// I/O error, full disk, a file that cannot be opened, out of memory), DataLoss for a corrupt
// file, Internal for everything else (bad SQL, misuse). The message names the operation and
// carries SQLite's own text.
//
// Thread safety: a connection and its statements are used by one thread at a time; callers
// serialise (the store gives each connection one thread or a mutex, the extensions a mutex).
#ifndef CMIG_ORCHESTRATOR_SQLITE_H_
#define CMIG_ORCHESTRATOR_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cmig::orchestrator {

// The status for SQLite result code `rc` from an operation on `db` (may be null); OK for
// SQLITE_OK, SQLITE_ROW and SQLITE_DONE. `what` names the operation ("open x.db", "write").
absl::Status SqliteError(int rc, sqlite3* db, absl::string_view what);

// An open connection; closes it when destroyed. Movable, not copyable.
class SqliteDb {
 public:
  // Opens (creating if absent) the database at `path` for reading and writing, with
  // `extra_flags` (SQLITE_OPEN_NOMUTEX or SQLITE_OPEN_FULLMUTEX) and a busy timeout.
  static absl::StatusOr<SqliteDb> Open(const std::string& path, int extra_flags,
                                       absl::Duration busy_timeout);
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Borrowed; valid while this object lives. Null for a default-constructed one.
  sqlite3* get() const { return db_; }
  // Runs one or more statements without results.
  absl::Status Exec(const char* sql);
  // Runs `body` in one write transaction (BEGIN IMMEDIATE, so it waits for other writers up
  // front): committed when `body` returns OK; rolled back when it returns an error or the commit
  // fails, and that error is returned.
  absl::Status InWriteTransaction(absl::FunctionRef<absl::Status()> body);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A prepared statement; finalizes it when destroyed. Movable, not copyable. Borrows the
// connection, which must outlive it.
class SqliteStatement {
 public:
  static absl::StatusOr<SqliteStatement> Prepare(sqlite3* db, absl::string_view sql);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are numbered from 1. Text and blobs are copied unless `copy` is false; then
  // `v` must stay unchanged until the statement is reset or destroyed.
  void BindText(int i, absl::string_view v, bool copy = true);
  void BindBlob(int i, absl::string_view v, bool copy = true);
  void BindInt64(int i, int64_t v);

  // True when a row is ready, false when the statement is done; SqliteError otherwise.
  absl::StatusOr<bool> Step();
  // Ready to step again from the start; bindings are cleared.
  void Reset();

  // Columns of the current row, numbered from 0; a NULL column reads as empty / 0.
  std::string ColumnBytes(int i) const;
  // The same bytes without a copy: valid until the next Step, Reset or destruction.
  absl::string_view ColumnView(int i) const;
  int64_t ColumnInt64(int i) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SQLITE_H_
