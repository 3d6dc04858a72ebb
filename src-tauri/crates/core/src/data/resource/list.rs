//! Listing a container a page at a time.
//!
//! A page is found by keyset: it starts after the last entry of the page
//! before (its path, the `after` cursor) and walks the `resources` primary
//! key in path order. A sub-container is one entry however many resources
//! live under it: once its first (visible) member is found, the walk jumps
//! past the sub-container's whole range with one indexed seek, so a page
//! costs about one row per entry it returns, never a walk through the
//! members of the sub-containers it names.
//!
//! The member count the person's own listing shows beside a sub-container
//! is one row of the counts kept beside the resources (`super::counts`),
//! so a page costs the same whatever lies under the sub-containers it
//! names. A company's view
//! ([`Store::list_page_where`]) counts nothing (its answer carries no
//! counts): it only needs to know that a sub-container holds one resource
//! it may see, and it skips a sub-container it may not list without reading
//! a row of it. A sub-container holding only resources it may not see costs
//! a walk through them (each row is checked), and is not listed.
//!
//! That walk is bounded: a company's page examines at most
//! [`EXAMINE_MAX`] rows (`Store::examine_max`). When the budget runs out
//! before the page is full, the page ends early, short or even empty, with
//! a `next` cursor.
//!
//! A company's cursors are always sealed (`cursor`): where its page
//! stopped, bound to the container and the company, padded to one length,
//! so the cursor names no row and the company cannot choose where a page
//! starts. A plain path as `after` is taken from a company only when it
//! names a live resource the company sees; any other is refused exactly
//! like a bad cursor, so neither the refusal nor the page after it depends
//! on what the company cannot see around that path. What a company can
//! learn is an amount: how many rows it may not see lie between the points
//! where the pod chose to stop (by the budget), never what they are called.
//! The person's own listing has no budget and never seals.

use rusqlite::params;

use crate::data::path::PodPath;
use crate::vault::store::Store;
use crate::{Error, Result};

use super::cursor::{self, Start};
use super::*;

/// The most entries one page holds, whatever the caller asks.
pub const LIST_MAX: usize = 5_000;
/// The page size doors use when the caller names none.
pub const LIST_DEFAULT: usize = 1_000;
/// The most rows one page of a restricted listing (a company's view)
/// examines, visible or not; twice [`LIST_MAX`], so a full page of the
/// largest size always fits.
pub const EXAMINE_MAX: usize = 10_000;

/// One page of a container's members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListPage {
    /// The members, sorted by path.
    pub entries: Vec<ListEntry>,
    /// When more members follow: the `after` value of the next page (the
    /// last entry's path in the person's own listing; in a company's, a
    /// sealed cursor, see `cursor`).
    pub next: Option<String>,
}

/// What a restricted listing shows (a company's view under its grant).
pub trait ListView {
    /// Whether a sub-container may be named at all. One that may not is
    /// skipped without reading its members.
    fn shows_container(&self, path: &PodPath) -> bool;
    /// Whether a resource is visible. A sub-container is listed only when
    /// it holds a visible resource.
    fn shows_resource(&self, meta: &ResourceMeta) -> bool;
    /// Who is looking (a company's client id): its sealed cursors are
    /// bound to it.
    fn viewer(&self) -> &str;
}

/// The exclusive upper bound of every path inside `container` (a path
/// ending in `/`): the same text with the `/` raised to `0`, the next byte.
/// SQLite compares text bytewise, so `[container, upper)` is exactly the
/// paths that start with `container`.
pub(super) fn upper_bound(container: &str) -> String {
    debug_assert!(container.ends_with('/'));
    format!("{}0", &container[..container.len() - 1])
}

/// Where the page after `after` starts: past the resource `after` names,
/// or past the whole sub-container it names or lies in (a cursor inside a
/// sub-container stands for the sub-container, listed already). `after`
/// need not be a member any more (it may have been deleted meanwhile);
/// it must lie inside `prefix`.
fn start_after(prefix: &str, after: Option<&str>) -> Result<Start> {
    let Some(after) = after else {
        return Ok(Start {
            from: prefix.to_string(),
            inclusive: true,
        });
    };
    let rest = match after.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => rest,
        _ => {
            return Err(Error::InvalidRequest(format!(
                "{after} is not inside {prefix}; a page starts after one of its members"
            )))
        }
    };
    Ok(match rest.find('/') {
        Some(i) => Start {
            from: upper_bound(&format!("{prefix}{}", &rest[..=i])),
            inclusive: true,
        },
        None => Start {
            from: after.to_string(),
            inclusive: false,
        },
    })
}

/// The direct child of `prefix` that `path` lies in, when it lies deeper.
fn child_container(prefix: &str, path: &str) -> Option<String> {
    let rest = &path[prefix.len()..];
    rest.find('/').map(|i| format!("{prefix}{}", &rest[..=i]))
}

/// What a walk found: its entries, the rows it examined, and, when its
/// budget ran out first, where it would go on (just past the last row it
/// examined).
#[derive(Default)]
struct Walked {
    entries: Vec<ListEntry>,
    examined: usize,
    stopped: Option<Start>,
}

/// Clamps a requested page size to `1..=LIST_MAX`.
pub fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, LIST_MAX)
}

impl Store {
    /// The direct members of a container, all of them: its resources and
    /// sub-containers, sorted by path. For small callers and tests; doors
    /// list a page at a time ([`Store::list_page`]).
    pub fn list(&self, container: &PodPath) -> Result<Vec<ListEntry>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_page(container, after.as_deref(), LIST_MAX)?;
            out.extend(page.entries);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// One page of a container's direct members, sorted by path: at most
    /// `limit` (clamped to `1..=LIST_MAX`) entries after the path `after`
    /// (the `next` of the page before; `None` for the first page). A
    /// sub-container appears once, with the number of live resources under
    /// it at any depth. A container exists while something lives under it
    /// (the root always exists); a missing one is `NotFound`, whatever
    /// `after` says.
    pub fn list_page(
        &self,
        container: &PodPath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        self.page(container, after, limit, None)
    }

    /// [`Store::list_page`] as seen by someone who may see only what
    /// `view` shows: a sub-container is listed only when `view` may name
    /// it and it holds a resource `view` shows, resources only when `view`
    /// shows them, and a container holding nothing visible is not found,
    /// exactly like an empty one (a company's listing tells nothing of what
    /// it cannot read, not even through the `next` cursor). Sub-containers
    /// carry no member count.
    pub fn list_page_where(
        &self,
        container: &PodPath,
        after: Option<&str>,
        limit: usize,
        view: &dyn ListView,
    ) -> Result<ListPage> {
        self.page(container, after, limit, Some(view))
    }

    fn page(
        &self,
        container: &PodPath,
        after: Option<&str>,
        limit: usize,
        view: Option<&dyn ListView>,
    ) -> Result<ListPage> {
        match view {
            // The person's own page: its entries and the counts beside
            // them from one snapshot, so a write between the two cannot
            // make the page disagree with itself.
            None => self.read_snapshot(|store| store.own_page(container, after, limit))?,
            Some(_) => self
                .page_counted(container, after, limit, view)
                .map(|(page, _)| page),
        }
    }

    /// The person's own page, each sub-container with its member count
    /// (the caller holds one snapshot for both).
    fn own_page(&self, container: &PodPath, after: Option<&str>, limit: usize) -> Result<ListPage> {
        let (mut page, _) = self.page_counted(container, after, limit, None)?;
        #[cfg(test)]
        tests::between_walk_and_counts();
        for entry in &mut page.entries {
            if let ListEntry::Container { path, members } = entry {
                *members = Some(self.count_under(path.as_str())?);
            }
        }
        Ok(page)
    }

    /// [`Store::page`], and the most rows one of its walks examined (the
    /// page's, and the check that the container is there, each with its
    /// own budget).
    fn page_counted(
        &self,
        container: &PodPath,
        after: Option<&str>,
        limit: usize,
        view: Option<&dyn ListView>,
    ) -> Result<(ListPage, usize)> {
        if !container.is_container() {
            return Err(Error::InvalidContent {
                path: container.to_string(),
                reason: "a container path ends in / (to read a resource, use get)".into(),
            });
        }
        let limit = clamp_limit(limit);
        let prefix = container.as_str();
        let start = match (after, view) {
            (Some(sealed), Some(v)) if cursor::is_sealed(sealed) => {
                cursor::open(&self.cursor_key, prefix, v.viewer(), sealed)?
            }
            (Some(plain), Some(v)) => self.start_after_visible(prefix, plain, v)?,
            _ => start_after(prefix, after)?,
        };
        // A company's page examines a bounded number of rows; the person's
        // is not bounded.
        let budget = view.map(|_| self.examine_max.max(limit + 1));
        // One entry past the page tells whether another page follows.
        let walked = self.walk(prefix, start, limit + 1, view, budget)?;
        let mut examined = walked.examined;
        let mut entries = walked.entries;
        let resume = if entries.len() > limit {
            entries.truncate(limit);
            match entries.last() {
                Some(last) => Some(start_after(prefix, Some(last.path().as_str()))?),
                None => None,
            }
        } else {
            walked.stopped
        };
        let next = match (resume, view) {
            (None, _) => None,
            (Some(resume), Some(v)) => {
                Some(cursor::seal(&self.cursor_key, prefix, v.viewer(), &resume)?)
            }
            // Only a company's walk has a budget, so the person's page
            // goes on after its last entry, named plainly.
            (Some(_), None) => entries.last().map(|e| e.path().to_string()),
        };
        // A plain `after` from a company names a resource it sees there:
        // the container is there.
        let seen_there = view.is_some() && after.is_some_and(|a| !cursor::is_sealed(a));
        if entries.is_empty() && next.is_none() && container.parent().is_some() && !seen_there {
            // An empty last page after a cursor still says whether the
            // container is there at all. For a company that look has its
            // own budget, the same for every cursor (the first page's
            // answer, no more); a walk that runs out before it finds out
            // counts as there.
            let exists = after.is_some() && {
                let first = self.walk(prefix, start_after(prefix, None)?, 1, view, budget)?;
                examined = examined.max(first.examined);
                !first.entries.is_empty() || first.stopped.is_some()
            };
            if !exists {
                return Err(Error::NotFound {
                    path: container.to_string(),
                });
            }
        }
        Ok((ListPage { entries, next }, examined))
    }

    /// Where a company's page starts after the plain path `after`: only
    /// when it names a live resource inside `prefix` that `view` shows.
    /// Anything else, absent or hidden alike, is refused with the words of
    /// a bad cursor, so the answer tells nothing of what `view` hides.
    fn start_after_visible(&self, prefix: &str, after: &str, view: &dyn ListView) -> Result<Start> {
        let visible = match PodPath::parse(after) {
            Ok(path) if path.as_str() == after && !path.is_container() => self
                .live_meta(&path)?
                .is_some_and(|meta| view.shows_resource(&meta)),
            _ => false,
        };
        if !visible {
            return Err(cursor::refused());
        }
        start_after(prefix, Some(after)).map_err(|_| cursor::refused())
    }

    /// Up to `want` entries of `prefix` from `start`, in path order,
    /// examining at most `budget` rows when there is one.
    fn walk(
        &self,
        prefix: &str,
        mut start: Start,
        want: usize,
        view: Option<&dyn ListView>,
        budget: Option<usize>,
    ) -> Result<Walked> {
        let upper = upper_bound(prefix);
        let mut walked = Walked::default();
        // Just past the last row examined.
        let mut resume = start.clone();
        'seek: while walked.entries.len() < want {
            let sql = format!(
                "SELECT {META_COLUMNS} FROM resources r
                 JOIN resource_versions v ON v.path = r.path AND v.version = r.version
                 WHERE r.path {} ?1 AND r.path < ?2 ORDER BY r.path",
                if start.inclusive { ">=" } else { ">" }
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![start.from, upper])?;
            loop {
                if budget.is_some_and(|b| walked.examined >= b) {
                    walked.stopped = Some(resume);
                    break 'seek;
                }
                let Some(row) = rows.next()? else {
                    break 'seek;
                };
                walked.examined += 1;
                let meta = meta_from_row(row)?.parse()?;
                let Some(child) = child_container(prefix, meta.path.as_str()) else {
                    resume = Start {
                        from: meta.path.to_string(),
                        inclusive: false,
                    };
                    if view.is_none_or(|v| v.shows_resource(&meta)) {
                        walked.entries.push(ListEntry::Resource(meta));
                        if walked.entries.len() >= want {
                            break 'seek;
                        }
                    }
                    continue;
                };
                let path = PodPath::from_stored(&child)
                    .map_err(|_| Error::Internal(format!("bad stored path {child}")))?;
                let shown = match view {
                    None => true,
                    Some(v) if !v.shows_container(&path) => false,
                    // Walks on through the sub-container until one of its
                    // resources is visible.
                    Some(v) if !v.shows_resource(&meta) => {
                        resume = Start {
                            from: meta.path.to_string(),
                            inclusive: false,
                        };
                        continue;
                    }
                    Some(_) => true,
                };
                if shown {
                    walked.entries.push(ListEntry::Container {
                        path,
                        members: None,
                    });
                }
                // Past the sub-container's whole range, with one seek.
                start = Start {
                    from: upper_bound(&child),
                    inclusive: true,
                };
                resume = start.clone();
                continue 'seek;
            }
        }
        Ok(walked)
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "list_budget_tests.rs"]
mod budget_tests;
