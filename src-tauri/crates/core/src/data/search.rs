//! Finding resources by path, for the app's search box.

use crate::data::resource::{meta_from_row, ResourceMeta, META_COLUMNS};
use crate::vault::store::Store;
use crate::Result;

/// Most results a search returns, whatever the caller asks.
pub const MAX_RESULTS: usize = 1000;

impl Store {
    /// Live resources whose path contains `query` (ASCII case-insensitive),
    /// sorted by path, at most `limit` (capped at [`MAX_RESULTS`]). An empty
    /// query finds nothing.
    pub fn search_resources(&self, query: &str, limit: usize) -> Result<Vec<ResourceMeta>> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.min(MAX_RESULTS) as i64;
        let sql = format!(
            "SELECT {META_COLUMNS} FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             WHERE instr(lower(r.path), lower(?1)) > 0 ORDER BY r.path LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params![query, limit], meta_from_row)?;
        rows.map(|row| row?.parse()).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::memory_store;
    use crate::{NewResource, PodPath};
    use serde_json::json;

    #[test]
    fn finds_live_resources_by_part_of_their_path() {
        let (_dir, store) = memory_store();
        for path in ["/contact/email", "/contact/phone", "/profile/card"] {
            store
                .put(
                    &PodPath::parse(path).unwrap(),
                    NewResource::json(&json!({"x": 1})),
                )
                .unwrap();
        }
        store
            .delete(&PodPath::parse("/contact/phone").unwrap())
            .unwrap();
        let found: Vec<String> = store
            .search_resources("CONTACT", 10)
            .unwrap()
            .into_iter()
            .map(|m| m.path.to_string())
            .collect();
        assert_eq!(found, vec!["/contact/email"]);
        assert_eq!(store.search_resources("card", 10).unwrap().len(), 1);
        assert!(store.search_resources("  ", 10).unwrap().is_empty());
        assert_eq!(store.search_resources("/", 1).unwrap().len(), 1);
    }
}
