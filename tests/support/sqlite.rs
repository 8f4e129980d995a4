//! The analytics store's SQL port over SQLite itself (rusqlite, bundled), so native tests and
//! benches run the very statements the Durable Object's SQL storage runs.

use rusqlite::types::{Value as V, ValueRef};
use veilgate::analytics::store::{Sql, SqlVal};

pub struct Sqlite(pub rusqlite::Connection);

impl Sqlite {
    pub fn memory() -> Sqlite {
        Sqlite(rusqlite::Connection::open_in_memory().expect("sqlite in memory"))
    }
}

impl Sql for Sqlite {
    fn exec(&self, sql: &str, args: &[SqlVal]) -> Result<Vec<Vec<SqlVal>>, String> {
        let mut st = self.0.prepare_cached(sql).map_err(|e| e.to_string())?;
        let params: Vec<V> = args
            .iter()
            .map(|a| match a {
                SqlVal::Null => V::Null,
                SqlVal::Int(i) => V::Integer(*i),
                SqlVal::Real(f) => V::Real(*f),
                SqlVal::Text(s) => V::Text(s.clone()),
            })
            .collect();
        let n = st.column_count();
        let mut rows = st
            .query(rusqlite::params_from_iter(params))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i).map_err(|e| e.to_string())? {
                    ValueRef::Null => SqlVal::Null,
                    ValueRef::Integer(i) => SqlVal::Int(i),
                    ValueRef::Real(f) => SqlVal::Real(f),
                    ValueRef::Text(t) => SqlVal::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => SqlVal::Null,
                });
            }
            out.push(row);
        }
        Ok(out)
    }
}
