//! A table's row as one typed record: [`TableRecord`] names the table and
//! its columns once, reads a row by column name and writes it with one
//! INSERT built from the same list. A name is read at its place in that
//! list, which the query selects first, in order ([`select_list`]); every
//! debug build (so every test) checks the statement's own name there. The records themselves live beside
//! their domain ([`crate::data::records`], [`crate::sharing::records`],
//! [`crate::audit::records`]); the domain's queries, the bundle's export
//! and its import all go through them.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, Row};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Result;

/// One table's row.
pub(crate) trait TableRecord: Sized {
    /// The table's name.
    const TABLE: &'static str;
    /// The columns the record holds, in the order [`TableRecord::values`]
    /// gives them.
    const COLUMNS: &'static [&'static str];

    /// Reads a row selected with (at least) [`TableRecord::COLUMNS`], by name.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;

    /// The values to write, one per column of [`TableRecord::COLUMNS`].
    fn values(&self) -> Vec<&dyn ToSql>;
}

/// Reads column `name` of a row whose query selects `columns` first, in
/// that order (as [`select_list`] and the resource reads' constant lists
/// do): the name is found in the list and read by position; a name the
/// list lacks is read by name. rusqlite's lookup by name asks SQLite for
/// column names until it finds the one wanted, a measurable part of a
/// resource read (docs/BENCHMARKS.md, storage, issue 13). Debug builds (every
/// test) check that the statement's column at that position has that name.
pub(crate) fn column<T: FromSql>(
    row: &Row<'_>,
    columns: &[&str],
    name: &str,
) -> rusqlite::Result<T> {
    match columns.iter().position(|c| *c == name) {
        Some(index) => {
            debug_assert_eq!(
                row.as_ref().column_name(index).ok(),
                Some(name),
                "the query does not select {columns:?} first, in order"
            );
            row.get(index)
        }
        None => row.get(name),
    }
}

/// How an INSERT treats a row whose key is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Fail (a restore, a new row).
    Fail,
    /// Keep the row that is there (a merge).
    Ignore,
}

/// `t.a AS a, t.b AS b, …` (or `a, b, …` without a table alias), to select a
/// record's columns under their own names, also in a join.
pub(crate) fn select_list<T: TableRecord>(alias: Option<&str>) -> String {
    T::COLUMNS
        .iter()
        .map(|c| match alias {
            Some(a) => format!("{a}.{c} AS {c}"),
            None => (*c).to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO table (columns…, extra…) VALUES (?1, …)`.
pub(crate) fn insert_sql<T: TableRecord>(extra: &[&str], on_conflict: OnConflict) -> String {
    let verb = match on_conflict {
        OnConflict::Fail => "INSERT",
        OnConflict::Ignore => "INSERT OR IGNORE",
    };
    let columns: Vec<&str> = T::COLUMNS.iter().chain(extra).copied().collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    format!(
        "{verb} INTO {} ({}) VALUES ({})",
        T::TABLE,
        columns.join(", "),
        marks.join(", ")
    )
}

/// Writes `record`, plus `extra` columns the record does not carry (a
/// request's device code hash); returns the rows inserted (0 or 1).
pub(crate) fn insert<T: TableRecord>(
    conn: &Connection,
    record: &T,
    extra: &[(&str, &dyn ToSql)],
    on_conflict: OnConflict,
) -> Result<usize> {
    let names: Vec<&str> = extra.iter().map(|(n, _)| *n).collect();
    let mut values = record.values();
    values.extend(extra.iter().map(|(_, v)| *v));
    let mut stmt = conn.prepare_cached(&insert_sql::<T>(&names, on_conflict))?;
    Ok(stmt.execute(rusqlite::params_from_iter(values))?)
}

/// A column that holds JSON as text (a client's contacts, the
/// authorization details), kept as the text stored. In a bundle it is the
/// JSON value itself; the text is parsed only when the record is written
/// out, so a damaged column fails an export but not a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredJson(String);

impl StoredJson {
    /// The JSON text of `value`.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<StoredJson> {
        serde_json::to_string(value)
            .map(StoredJson)
            .map_err(|e| crate::Error::Internal(e.to_string()))
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed value.
    pub fn value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_str(&self.0)
    }
}

impl Serialize for StoredJson {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.value()
            .map_err(|e| serde::ser::Error::custom(format!("stored JSON: {e}")))?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for StoredJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(StoredJson(serde_json::Value::deserialize(d)?.to_string()))
    }
}

impl ToSql for StoredJson {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl FromSql for StoredJson {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        String::column_result(value).map(StoredJson)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Listed columns are read by position, others by name; a query that
    /// does not select the list first, in order, is caught in every test.
    #[test]
    fn columns_are_read_by_name() {
        let conn = Connection::open_in_memory().unwrap();
        let listed: &[&str] = &["a", "b"];
        let read = |sql: &str| {
            conn.query_row(sql, [], |r| {
                Ok((
                    column::<i64>(r, listed, "a")?,
                    column::<i64>(r, listed, "b")?,
                    column::<i64>(r, listed, "c")?,
                ))
            })
        };
        assert_eq!(read("SELECT 1 AS a, 2 AS b, 3 AS c").unwrap(), (1, 2, 3));
        assert_eq!(
            read("SELECT 1 AS a, 2 AS b, 0 AS x, 3 AS c").unwrap(),
            (1, 2, 3)
        );
        let out_of_order = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read("SELECT 2 AS b, 1 AS a, 3 AS c")
        }));
        assert!(out_of_order.is_err(), "{out_of_order:?}");
    }

    /// Writes `record` into `conn`, reads it back by its key, and checks
    /// the two are equal.
    pub(crate) fn round_trip<T: TableRecord + PartialEq + std::fmt::Debug>(
        conn: &Connection,
        record: &T,
        extra: &[(&str, &dyn ToSql)],
        key: (&str, &dyn ToSql),
    ) {
        assert_eq!(insert(conn, record, extra, OnConflict::Fail).unwrap(), 1);
        let sql = format!(
            "SELECT {} FROM {} t WHERE t.{} = ?1",
            select_list::<T>(Some("t")),
            T::TABLE,
            key.0
        );
        let back = conn.query_row(&sql, [key.1], T::from_row).unwrap();
        assert_eq!(&back, record);
        // The same row again is refused, or ignored on request.
        assert!(insert(conn, record, extra, OnConflict::Fail).is_err());
        assert_eq!(insert(conn, record, extra, OnConflict::Ignore).unwrap(), 0);
    }

    #[test]
    fn stored_json_is_the_value_in_a_bundle_and_the_text_in_the_vault() {
        let j: StoredJson = serde_json::from_str(r#"{"b": [1, 2], "a": "x"}"#).unwrap();
        assert_eq!(j.as_str(), r#"{"a":"x","b":[1,2]}"#);
        assert_eq!(serde_json::to_string(&j).unwrap(), r#"{"a":"x","b":[1,2]}"#);
        let damaged = StoredJson("{not json".into());
        assert!(serde_json::to_string(&damaged).is_err());
    }

    #[test]
    fn the_insert_names_each_column_once() {
        struct T;
        impl TableRecord for T {
            const TABLE: &'static str = "t";
            const COLUMNS: &'static [&'static str] = &["a", "b"];
            fn from_row(_: &Row<'_>) -> rusqlite::Result<Self> {
                Ok(T)
            }
            fn values(&self) -> Vec<&dyn ToSql> {
                Vec::new()
            }
        }
        assert_eq!(
            insert_sql::<T>(&["c"], OnConflict::Ignore),
            "INSERT OR IGNORE INTO t (a, b, c) VALUES (?1, ?2, ?3)"
        );
        assert_eq!(select_list::<T>(Some("x")), "x.a AS a, x.b AS b");
        assert_eq!(select_list::<T>(None), "a, b");
    }
}
