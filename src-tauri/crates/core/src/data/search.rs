//! Finding resources by path, for the app's search box: a bounded number
//! of results, and whether more match.
//!
//! The search walks the live resources in path order on the `resources`
//! primary key, looking at each path (no content is read, and a version's
//! row only for a match), and stops at the first `limit + 1` matches; a
//! rare query in a large vault walks the whole key (about 50 paths to a
//! page) to find it has few matches.

use serde::Serialize;

use crate::data::resource::{meta_from_row, ResourceMeta, META_COLUMNS};
use crate::vault::store::Store;
use crate::Result;

/// Most results a search returns, whatever the caller asks.
pub const MAX_RESULTS: usize = 1000;

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The first matches, sorted by path.
    pub results: Vec<ResourceMeta>,
    /// Whether more resources match than were returned.
    pub more: bool,
}

impl Store {
    /// Live resources whose path contains `query` (ASCII case-insensitive),
    /// sorted by path, at most `limit` (clamped to `1..=MAX_RESULTS`), and
    /// whether more match. An empty query finds nothing.
    pub fn search_resources(&self, query: &str, limit: usize) -> Result<SearchResults> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(SearchResults {
                results: Vec::new(),
                more: false,
            });
        }
        let limit = limit.clamp(1, MAX_RESULTS);
        let sql = format!(
            "SELECT {META_COLUMNS} FROM resources r
             JOIN resource_versions v ON v.path = r.path AND v.version = r.version
             WHERE instr(lower(r.path), lower(?1)) > 0 ORDER BY r.path LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        // One past the limit tells whether more match.
        let rows = stmt.query_map(rusqlite::params![query, limit as i64 + 1], meta_from_row)?;
        let mut results = rows
            .map(|row| row?.parse())
            .collect::<Result<Vec<ResourceMeta>>>()?;
        let more = results.len() > limit;
        results.truncate(limit);
        Ok(SearchResults { results, more })
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
        let found = store.search_resources("CONTACT", 10).unwrap();
        let paths: Vec<String> = found.results.iter().map(|m| m.path.to_string()).collect();
        assert_eq!(paths, vec!["/contact/email"]);
        assert!(!found.more);
        assert_eq!(store.search_resources("card", 10).unwrap().results.len(), 1);
        assert!(store.search_resources("  ", 10).unwrap().results.is_empty());
        // Bounded, and says that more match.
        let one = store.search_resources("/", 1).unwrap();
        assert_eq!((one.results.len(), one.more), (1, true));
        let zero = store.search_resources("/", 0).unwrap();
        assert_eq!((zero.results.len(), zero.more), (1, true));
        let all = store.search_resources("/", 2).unwrap();
        assert_eq!((all.results.len(), all.more), (2, false));
    }
}
