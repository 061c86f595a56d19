//! Each query written once for both back-ends.
//!
//! SQL is written with SQLite's `?` placeholders; [`numbered`] turns them into PostgreSQL's
//! `$1, $2, …` (a `?` inside a quoted string or identifier is text, and stays). A statement
//! on the pool goes through [`on_pool!`], which binds the same arguments on either back-end;
//! a transaction through [`in_tx!`] (or `audit::in_chain_tx!`, which also takes the audit
//! chain's lock), whose body is written once and given the back-end's placeholder style.
//!
//! Where the back-ends really differ (row locks, `COPY`, how a write transaction starts, the
//! key inserts of an import) the code says so at the place, with a `match` on the pool.

use std::borrow::Cow;

/// Byte offsets of the `?` placeholders of `sql`: every `?` outside single-quoted strings
/// (`'it''s?'`) and double-quoted identifiers.
fn placeholder_offsets(sql: &str) -> impl Iterator<Item = usize> + '_ {
    let mut quote: Option<u8> = None;
    sql.bytes().enumerate().filter_map(move |(i, b)| {
        match (quote, b) {
            // A doubled quote closes and reopens: still inside.
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'?') => return Some(i),
            (None, _) => {}
        }
        None
    })
}

/// How many `?` placeholders `sql` has (the number of arguments it binds).
pub(crate) fn placeholders(sql: &str) -> usize {
    placeholder_offsets(sql).count()
}

/// `?` placeholders → `$1, $2, …` (PostgreSQL).
pub(crate) fn numbered(sql: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut from = 0;
    for (n, at) in placeholder_offsets(sql).enumerate() {
        out.push_str(&sql[from..at]);
        out.push('$');
        out.push_str(&(n + 1).to_string());
        from = at + 1;
    }
    if from == 0 {
        return Cow::Borrowed(sql);
    }
    out.push_str(&sql[from..]);
    Cow::Owned(out)
}

/// SQL unchanged (SQLite): the counterpart of [`numbered`] where the back-end is a parameter.
pub(crate) fn plain(sql: &str) -> Cow<'_, str> {
    Cow::Borrowed(sql)
}

/// Runs one statement on whichever back-end `$pool` (a `&Pool`) is:
/// `on_pool!(&self.pool, query_as(SQL, a, b).fetch_all)` builds it with sqlx's `query`,
/// `query_as` or `query_scalar`, binds the arguments in order and awaits the method on the
/// pool. `SQL` is written with `?` placeholders (numbered for PostgreSQL; a debug build checks
/// that there is one per argument). Evaluates to sqlx's `Result`; `query(…).execute` to the
/// number of rows affected.
macro_rules! on_pool {
    ($pool:expr, query($sql:expr $(, $arg:expr)* $(,)?).execute) => {
        match $pool {
            $crate::Pool::Sqlite(p) => {
                sqlx::query($crate::sql::checked($sql, &[$(stringify!($arg)),*]))
                    $(.bind($arg))*
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            }
            $crate::Pool::Postgres(p) => {
                sqlx::query(&$crate::sql::numbered($crate::sql::checked($sql, &[$(stringify!($arg)),*])))
                    $(.bind($arg))*
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            }
        }
    };
    ($pool:expr, $make:ident($sql:expr $(, $arg:expr)* $(,)?).$run:ident) => {
        match $pool {
            $crate::Pool::Sqlite(p) => {
                sqlx::$make($crate::sql::checked($sql, &[$(stringify!($arg)),*]))
                    $(.bind($arg))*
                    .$run(p)
                    .await
            }
            $crate::Pool::Postgres(p) => {
                sqlx::$make(&$crate::sql::numbered($crate::sql::checked($sql, &[$(stringify!($arg)),*])))
                    $(.bind($arg))*
                    .$run(p)
                    .await
            }
        }
    };
}

/// Runs `$body` in a transaction on whichever back-end `$pool` (a `&Pool`) is, with `$tx` the
/// open transaction and `$q` the back-end's placeholder style ([`plain`] or [`numbered`]), so
/// the body's SQL is written once: `in_tx!(&self.pool, |tx, q| { … sqlx::query(&q("… ?"))
/// … .execute(&mut *tx) … tx.commit().await?; … })`. The body commits.
macro_rules! in_tx {
    ($pool:expr, |$tx:ident, $q:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite(p) => {
                let mut $tx = p.begin().await?;
                let $q = $crate::sql::plain;
                $body
            }
            $crate::Pool::Postgres(p) => {
                let mut $tx = p.begin().await?;
                let $q = $crate::sql::numbered;
                $body
            }
        }
    };
}

/// Reads a row into a struct by column name, on either back-end: `from_row!(Row { a, b })`
/// implements `sqlx::FromRow` for SQLite's and PostgreSQL's rows (what `#[derive(FromRow)]`
/// would write, without compiling sqlx's proc-macro crate and its second copy of the drivers).
macro_rules! from_row {
    ($t:ident { $($field:ident),* $(,)? }) => {
        $crate::sql::from_row!(@on $t, sqlx::sqlite::SqliteRow, $($field),*);
        $crate::sql::from_row!(@on $t, sqlx::postgres::PgRow, $($field),*);
    };
    (@on $t:ident, $row:ty, $($field:ident),*) => {
        impl<'r> sqlx::FromRow<'r, $row> for $t {
            fn from_row(row: &'r $row) -> std::result::Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

pub(crate) use {from_row, in_tx, on_pool};

/// `sql`, after checking (in debug builds) that it has one placeholder per argument of
/// `args` (the arguments as written, for the message).
pub(crate) fn checked<'a>(sql: &'a str, args: &[&str]) -> &'a str {
    debug_assert_eq!(
        placeholders(sql),
        args.len(),
        "placeholders of {sql:?} for the arguments {args:?}"
    );
    sql
}

#[cfg(test)]
mod tests {
    use super::{numbered, placeholders};

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(
            numbered("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(numbered("?"), "$1");
        assert_eq!(numbered("??"), "$1$2");
        let many = ["?"; 12].join(",");
        assert_eq!(numbered(&many), "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12");
    }

    #[test]
    fn a_question_mark_in_quotes_is_text() {
        assert_eq!(
            numbered("SELECT 'why?', x FROM t WHERE a = ? AND b = '?'"),
            "SELECT 'why?', x FROM t WHERE a = $1 AND b = '?'"
        );
        // A doubled quote inside a string does not end it.
        assert_eq!(
            numbered("SELECT 'it''s ?' WHERE a = ? AND b = 'x''?'' y' AND c = ?"),
            "SELECT 'it''s ?' WHERE a = $1 AND b = 'x''?'' y' AND c = $2"
        );
        // Quoted identifiers likewise.
        assert_eq!(
            numbered(r#"SELECT "odd?name" FROM t WHERE a = ?"#),
            r#"SELECT "odd?name" FROM t WHERE a = $1"#
        );
        // Each kind of quote ends only with its own.
        assert_eq!(
            numbered(r#"'a"?' = ? AND "b'?" = ?"#),
            r#"'a"?' = $1 AND "b'?" = $2"#
        );
        // Text outside ASCII around the placeholders is kept.
        assert_eq!(numbered("'é?' = ? AND ü = ?"), "'é?' = $1 AND ü = $2");
    }

    #[test]
    fn placeholders_are_counted_outside_quotes() {
        assert_eq!(placeholders(""), 0);
        assert_eq!(placeholders("SELECT 1"), 0);
        assert_eq!(placeholders("a = ? AND b IN (?, ?)"), 3);
        assert_eq!(placeholders("a = '?' AND b = ?"), 1);
        assert_eq!(placeholders("a = 'it''s?' AND b = \"?\" AND c = ?"), 1);
        // An unclosed quote hides everything after it.
        assert_eq!(placeholders("a = ? AND b = 'x ?"), 1);
    }

    #[test]
    fn a_wrong_argument_count_is_caught_in_debug_builds() {
        let r = std::panic::catch_unwind(|| super::checked("a = ? AND b = ?", &["a"]));
        assert_eq!(r.is_err(), cfg!(debug_assertions));
        assert_eq!(super::checked("a = ?", &["a"]), "a = ?");
    }
}
