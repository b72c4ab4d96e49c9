//! A transaction on one connection, and the raw table access of `store::kv` over it: every
//! method is one prepared statement on the table's primary key (a point read or write, or a
//! range of it), so every query the typed store makes is answered from an index. A write
//! transaction locks the rows (and absent keys) it reads, see `raw_get`.

use std::cell::RefCell;
use std::collections::HashMap;

use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;

use super::Failure;
use super::pool::Conn;
use crate::store::StoreError;
use crate::store::kv::tables::{self, Table};
use crate::store::kv::{Raw, RawWrite};

/// The statements of one schema, by table and operation, written once.
pub struct Sql {
    schema: String,
    by_table: HashMap<&'static str, TableSql>,
    last_audit_key: String,
    next_audit_order: String,
}

struct TableSql {
    get: String,
    get_for_update: String,
    scan_all: String,
    scan_after: String,
    range: String,
    from: String,
    count: String,
    put: String,
    take: String,
}

/// A quoted identifier; the names are checked (`valid_schema`, the table list) before they get
/// here.
pub fn ident(name: &str) -> String {
    format!("\"{name}\"")
}

impl Sql {
    pub fn new(schema: &str) -> Sql {
        let s = ident(schema);
        let by_table = tables::ALL
            .into_iter()
            .map(|table| {
                let t = format!("{s}.{}", ident(table.name()));
                let sql = TableSql {
                    get: format!("SELECT v FROM {t} WHERE k = $1"),
                    get_for_update: format!("SELECT v FROM {t} WHERE k = $1 FOR UPDATE"),
                    scan_all: format!("SELECT k, v FROM {t} ORDER BY k LIMIT $1"),
                    scan_after: format!("SELECT k, v FROM {t} WHERE k > $1 ORDER BY k LIMIT $2"),
                    range: format!("SELECT k, v FROM {t} WHERE k >= $1 AND k < $2 ORDER BY k"),
                    from: format!("SELECT k, v FROM {t} WHERE k >= $1 ORDER BY k"),
                    count: format!("SELECT count(*) FROM {t}"),
                    put: format!(
                        "WITH old AS (SELECT v FROM {t} WHERE k = $1), \
                         up AS (INSERT INTO {t} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v) \
                         SELECT v FROM old"
                    ),
                    take: format!("DELETE FROM {t} WHERE k = $1 RETURNING v"),
                };
                (table.name(), sql)
            })
            .collect();
        Sql {
            last_audit_key: format!(
                "SELECT k FROM {s}.{} ORDER BY k DESC LIMIT 1",
                ident(tables::AUDIT.name())
            ),
            next_audit_order: format!("SELECT nextval('{s}.\"audit_order\"')"),
            schema: schema.to_owned(),
            by_table,
        }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn table(&self, table: Table) -> Result<&TableSql, StoreError> {
        self.by_table
            .get(table.name())
            .ok_or_else(|| StoreError::Corrupt(format!("no table `{}`", table.name())))
    }

    /// The advisory-lock key of the row `key` of `table` (present or not) in this schema.
    pub fn row_lock_key(&self, table: Table, key: &str) -> i64 {
        self.lock_key(&format!("row\u{1f}{}\u{1f}{key}", table.name()))
    }

    /// The advisory-lock key of `job` in this schema: nodes on other schemas of the same
    /// database never contend for it.
    pub fn lock_key(&self, job: &str) -> i64 {
        let digest = Sha256::digest(format!("latchkey\u{1f}{}\u{1f}{job}", self.schema).as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }
}

/// The smallest byte string greater than every string that starts with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A transaction's statements. The first failure is kept: PostgreSQL refuses every later
/// statement of the transaction, and the caller must roll back (and may run it again).
pub struct PgTx<'c> {
    conn: &'c Conn,
    sql: &'c Sql,
    failure: RefCell<Option<Failure>>,
    /// A write transaction locks what it reads by key (see [`Raw::raw_get`] below).
    writes: bool,
}

impl<'c> PgTx<'c> {
    /// A read-only snapshot's statements.
    pub fn reading(conn: &'c Conn, sql: &'c Sql) -> PgTx<'c> {
        PgTx {
            conn,
            sql,
            failure: RefCell::new(None),
            writes: false,
        }
    }

    /// A write transaction's statements.
    pub fn writing(conn: &'c Conn, sql: &'c Sql) -> PgTx<'c> {
        PgTx {
            writes: true,
            ..PgTx::reading(conn, sql)
        }
    }

    /// The first statement that failed, if one did.
    pub fn failure(&self) -> Option<Failure> {
        self.failure.borrow().clone()
    }

    fn keep(&self, f: Failure) -> StoreError {
        let mut slot = self.failure.borrow_mut();
        if slot.is_none() {
            *slot = Some(f.clone());
        }
        f.into()
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        if let Some(f) = self.failure() {
            return Err(f.into());
        }
        let statement = self.conn.statement(sql).map_err(|f| self.keep(f))?;
        futures_executor::block_on(self.conn.client().query(&statement, params))
            .map_err(|e| self.keep(self.conn.failure(&e)))
    }

    fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.query(sql, params)?
            .into_iter()
            .map(|row| {
                let k: Vec<u8> = row.try_get(0).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let v: Vec<u8> = row.try_get(1).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let k = String::from_utf8(k).map_err(|_| StoreError::Corrupt("a key is not UTF-8".into()))?;
                Ok((k, v))
            })
            .collect()
    }

    fn value(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.query(sql, params)?.first() {
            Some(row) => Ok(Some(
                row.try_get(0).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    fn one_bool(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<bool, StoreError> {
        let rows = self.query(sql, params)?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Db("a lock query answered no row".into()))?;
        row.try_get(0).map_err(|e| StoreError::Db(e.to_string()))
    }
}

/// A `LIMIT` for PostgreSQL's `bigint`.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Raw for PgTx<'_> {
    /// In a write transaction, the row is locked (`FOR UPDATE`) until the commit, so that a
    /// write that decides on what it read (redeeming a code, rotating a refresh token) runs after
    /// any other transaction that holds the row, and then reads its committed version. A key with
    /// no row is locked too (an advisory lock on the key, then read again), so that two nodes
    /// creating the same key (a username) decide one after the other.
    fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = self.sql.table(table)?;
        if !self.writes {
            return self.value(&sql.get, &[&key.as_bytes()]);
        }
        if let Some(found) = self.value(&sql.get_for_update, &[&key.as_bytes()])? {
            return Ok(Some(found));
        }
        self.query(
            "SELECT pg_advisory_xact_lock($1)",
            &[&self.sql.row_lock_key(table, key)],
        )?;
        self.value(&sql.get_for_update, &[&key.as_bytes()])
    }

    fn raw_scan(
        &self,
        table: Table,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let sql = self.sql.table(table)?;
        match after {
            Some(after) => self.rows(&sql.scan_after, &[&after.as_bytes(), &limit(n)]),
            None => self.rows(&sql.scan_all, &[&limit(n)]),
        }
    }

    fn raw_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let sql = self.sql.table(table)?;
        match prefix_end(prefix.as_bytes()) {
            Some(end) => self.rows(&sql.range, &[&prefix.as_bytes(), &end]),
            None => self.rows(&sql.from, &[&prefix.as_bytes()]),
        }
    }

    fn count(&self, table: Table) -> Result<u64, StoreError> {
        let rows = self.query(&self.sql.table(table)?.count, &[])?;
        let n: i64 = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| StoreError::Db(e.to_string()))?
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl RawWrite for PgTx<'_> {
    fn raw_put(&self, table: Table, key: &str, value: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.value(&self.sql.table(table)?.put, &[&key.as_bytes(), &value])
    }

    fn take(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.value(&self.sql.table(table)?.take, &[&key.as_bytes()])
    }

    fn claim(&self, job: &str) -> Result<bool, StoreError> {
        self.one_bool("SELECT pg_try_advisory_xact_lock($1)", &[&self.sql.lock_key(job)])
    }

    /// Under the audit lock (held to the commit, so audit writes of all nodes commit one at a
    /// time): the second is never before the newest entry's, and the sequence part is the
    /// database's, so the feed is in commit order and a reader paging with `after` never skips an
    /// entry committed later.
    fn audit_key(&self, key: &str) -> Result<String, StoreError> {
        self.query("SELECT pg_advisory_xact_lock($1)", &[&self.sql.lock_key("audit")])?;
        let given = key.get(..20).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        let last = self
            .query(&self.sql.last_audit_key, &[])?
            .first()
            .and_then(|row| row.try_get::<_, Vec<u8>>(0).ok())
            .and_then(|k| String::from_utf8(k).ok())
            .and_then(|k| k.get(..20).and_then(|s| s.parse::<u64>().ok()))
            .unwrap_or(0);
        let order: i64 = self
            .query(&self.sql.next_audit_order, &[])?
            .first()
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(|e| StoreError::Db(e.to_string()))?
            .unwrap_or(0);
        let random = key.rsplit('-').next().unwrap_or_default();
        Ok(format!("{:020}-{order:016x}-{random}", given.max(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_before_the_next_byte_string() {
        assert_eq!(prefix_end(b"ab\x1f"), Some(b"ab\x20".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn lock_keys_differ_by_schema_and_job() {
        let a = Sql::new("a");
        let b = Sql::new("b");
        assert_ne!(a.lock_key("purge"), b.lock_key("purge"));
        assert_ne!(a.lock_key("purge"), a.lock_key("key-rotation"));
        assert_eq!(a.lock_key("purge"), Sql::new("a").lock_key("purge"));
    }
}
