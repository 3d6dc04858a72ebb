//! Reads with a range, large content left for the door to stream, and
//! writes whose body is a stream: through [`decide`], [`decide_streamed`]
//! and [`decide_read`] on a real store.

use std::io::{self, Cursor, Read};

use super::rules::INSUFFICIENT_SCOPE;
use super::tests::{grant, path, put, refused, request};
use super::*;
use crate::audit::Outcome;
use crate::data::resource::{NewResource, INLINE_MAX};
use crate::sharing::grant::{Access, TokenRejected};
use crate::sharing::token::{self, TokenHash};
use crate::testing::{memory_store, Meanwhile};
use crate::{Mark, Store};

/// A real grant of `actions` on `paths` in `store`, with its token (as the
/// server holds it) and the access it authenticates to: `(grant id, token,
/// access)`.
fn real_grant(store: &Store, paths: &[&str], actions: &[&str]) -> (String, TokenHash, Access) {
    let details = serde_json::json!([{"type": "pod_access", "paths": paths,
                                       "actions": actions, "purpose": "tests"}]);
    let (id, token) = crate::testing::granted_token_for(store, &details.to_string());
    let hash = token::check_access(&token).unwrap();
    let access = store.authenticate(&hash).unwrap().unwrap();
    (id, hash, access)
}

fn text(content: &[u8]) -> NewResource {
    NewResource {
        content: content.to_vec(),
        content_type: "text/plain".into(),
        category: None,
        mark: Mark::Keep,
    }
}

fn ranged(p: &str, range: &str, if_range: Option<&str>) -> PodRequest {
    PodRequest {
        range: RangeRequest::from_headers(Some(range), if_range),
        ..request(Method::Get, p)
    }
}

/// The decision's range and body, for an answer with content.
fn content(d: &Decision) -> (Option<ByteRange>, &Body, u64) {
    match &d.result {
        Ok(Answer::Content {
            range, body, size, ..
        }) => (*range, body, *size),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_range_is_answered_after_scope_and_if_none_match() {
    let (_d, store) = memory_store();
    put(&store, "/notes/a", text(b"0123456789"));
    let a = grant(&["/notes/"], &["read"]);
    let d = decide(&store, &a, ranged("/notes/a", "bytes=2-4", None));
    let (range, body, size) = content(&d);
    assert_eq!(range, Some(ByteRange { start: 2, end: 4 }));
    assert_eq!(body, &Body::Inline(b"0123456789".to_vec()));
    assert_eq!(size, 10);
    assert_eq!(d.entry.outcome, Outcome::Allowed);

    // Past the end: 416 with the size, logged as refused.
    let past = decide(&store, &a, ranged("/notes/a", "bytes=10-", None));
    assert_eq!(
        refused(&past),
        ("range_not_satisfiable", Some("range_not_satisfiable"))
    );
    assert!(matches!(
        past.result,
        Err(Refusal::RangeNotSatisfiable { size: 10 })
    ));

    // Scope first: outside the grant the size is never told.
    put(&store, "/health/weight", text(b"70"));
    let outside = decide(&store, &a, ranged("/health/weight", "bytes=10-", None));
    assert_eq!(refused(&outside).0, "insufficient_scope");
    let marked = NewResource {
        mark: Mark::Sensitive,
        ..text(b"secret")
    };
    put(&store, "/notes/private", marked);
    let hidden = decide(&store, &a, ranged("/notes/private", "bytes=10-", None));
    assert_eq!(refused(&hidden).0, "not_found");

    // The company already holds this version: 304 whatever the range.
    let etag = match &d.result {
        Ok(Answer::Content { etag, .. }) => etag.clone(),
        _ => unreachable!(),
    };
    let held = PodRequest {
        if_none_match: Some(format!("\"{etag}\"")),
        ..ranged("/notes/a", "bytes=10-", None)
    };
    assert!(matches!(
        decide(&store, &a, held).result,
        Ok(Answer::NotModified { .. })
    ));

    // If-Range: the same version keeps the range, another sends it all.
    let same = decide(
        &store,
        &a,
        ranged("/notes/a", "bytes=-3", Some(&format!("\"{etag}\""))),
    );
    assert_eq!(content(&same).0, Some(ByteRange { start: 7, end: 9 }));
    let stale = decide(&store, &a, ranged("/notes/a", "bytes=-3", Some("\"old\"")));
    assert_eq!(content(&stale).0, None);
}

/// Content over the inline size stays in the vault: the answer names the
/// version for the door to stream, and neither the decision nor the pod's
/// memory loads it.
#[test]
fn large_content_is_left_in_the_vault_for_the_door_to_stream() {
    let (_d, store) = memory_store();
    let big = vec![7u8; INLINE_MAX + 1];
    put(&store, "/notes/big", text(&big));
    put(&store, "/notes/small", text(&big[..INLINE_MAX]));
    let a = grant(&["/notes/"], &["read"]);
    let d = decide(&store, &a, ranged("/notes/big", "bytes=-10", None));
    let (range, body, size) = content(&d);
    assert_eq!(size, INLINE_MAX as u64 + 1);
    assert_eq!(
        range,
        Some(ByteRange {
            start: INLINE_MAX as u64 - 9,
            end: INLINE_MAX as u64
        })
    );
    assert_eq!(
        body,
        &Body::Stored {
            path: path("/notes/big"),
            version: 1
        }
    );
    let live = read_live(&store, &path("/notes/big")).unwrap().unwrap();
    assert!(
        live.content.is_empty(),
        "a large resource's bytes were read"
    );
    let d = decide(&store, &a, request(Method::Get, "/notes/small"));
    assert!(matches!(content(&d).1, Body::Inline(b) if b.len() == INLINE_MAX));

    let (_grant, token) = crate::testing::granted_token(&store);
    let token = crate::sharing::token::check_access(&token).unwrap();
    let cache = crate::sharing::read_cache::ReadCache::default();
    let hit = cache.load(&store, &token, &path("/notes/big")).unwrap();
    let held = hit.resource.expect("its metadata");
    assert!(held.content.is_empty(), "the pod's memory holds its bytes");
    assert_eq!(held.meta.size, INLINE_MAX as u64 + 1);
}

/// A reader that notes whether anything read it.
struct Watched<R> {
    inner: R,
    read: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read = true;
        self.inner.read(buf)
    }
}

#[test]
fn a_streamed_body_is_read_only_once_the_write_is_allowed() {
    let (_d, store) = memory_store();
    let (_, t, a) = real_grant(&store, &["/notes/"], &["write"]);
    let put_req = |p: &str| PodRequest {
        content_type: Some("text/plain".into()),
        ..request(Method::Put, p)
    };
    let mut body = Watched {
        inner: Cursor::new(b"outside".to_vec()),
        read: false,
    };
    let d = decide_streamed(&store, &t, &a, put_req("/health/x"), &mut body, Some(7));
    assert_eq!(refused(&d).0, "insufficient_scope");
    assert!(!body.read, "a refused write's body was read");

    let mut body = Watched {
        inner: Cursor::new(b"inside".to_vec()),
        read: false,
    };
    let d = decide_streamed(&store, &t, &a, put_req("/notes/x"), &mut body, Some(6));
    assert!(
        matches!(d.result, Ok(Answer::Written { created: true, .. })),
        "{d:?}"
    );
    assert_eq!(
        store.get(&path("/notes/x"), None).unwrap().content,
        b"inside"
    );
    let post = PodRequest {
        slug: Some("y".into()),
        content_type: Some("text/plain".into()),
        ..request(Method::Post, "/notes/")
    };
    let d = decide_streamed(&store, &t, &a, post, &mut Cursor::new(b"posted"), None);
    assert_eq!(d.entry.path.as_deref(), Some("/notes/y"));
    assert_eq!(
        store.get(&path("/notes/y"), None).unwrap().content,
        b"posted"
    );
}

/// A body that breaks off midway stores nothing, and the refusal is
/// logged.
struct BreaksOff(usize);

impl Read for BreaksOff {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the company hung up",
            ));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(1);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_body_that_breaks_off_stores_nothing() {
    let (_d, store) = memory_store();
    let (_, t, a) = real_grant(&store, &["/notes/"], &["write"]);
    let req = PodRequest {
        content_type: Some("text/plain".into()),
        ..request(Method::Put, "/notes/cut")
    };
    let mut body = BreaksOff(3 * INLINE_MAX);
    let d = decide_streamed(&store, &t, &a, req, &mut body, Some(4 * INLINE_MAX as u64));
    assert_eq!(refused(&d).0, "invalid", "{d:?}");
    assert_eq!(d.entry.outcome, Outcome::Denied);
    assert!(store.live_meta(&path("/notes/cut")).unwrap().is_none());
    assert!(matches!(
        store.history(&path("/notes/cut")),
        Err(crate::Error::NotFound { .. })
    ));
}

/// A large upload during which `hook` runs, midway through its chunks.
fn upload_meanwhile(
    store: &Store,
    token: &TokenHash,
    access: &Access,
    req: PodRequest,
    hook: impl FnMut(),
) -> Decision {
    let total = 2 * crate::data::resource::CHUNK + 3;
    let mut body = Meanwhile::new(total, crate::data::resource::CHUNK + 7, hook);
    decide_streamed(store, token, access, req, &mut body, Some(total as u64))
}

fn blobs(store: &Store) -> i64 {
    store
        .conn
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_grant_revoked_during_an_upload_stores_nothing_and_is_logged() {
    let (_d, store) = memory_store();
    let (id, t, a) = real_grant(&store, &["/notes/"], &["write"]);
    let req = PodRequest {
        content_type: Some("text/plain".into()),
        ..request(Method::Put, "/notes/big")
    };
    let d = upload_meanwhile(&store, &t, &a, req, || {
        store.revoke_grant(&id).unwrap();
    });
    assert!(
        matches!(
            d.result,
            Err(Refusal::TokenRejected(TokenRejected::Revoked(_)))
        ),
        "{d:?}"
    );
    assert_eq!(d.entry.outcome, Outcome::Denied);
    assert!(
        d.entry
            .reason
            .as_deref()
            .unwrap()
            .starts_with("invalid_token"),
        "{:?}",
        d.entry.reason
    );
    assert_eq!(d.entry.grant_id.as_deref(), Some(id.as_str()));
    assert!(store.live_meta(&path("/notes/big")).unwrap().is_none());
    assert_eq!(blobs(&store), 0, "the staged content is removed");
}

#[test]
fn a_target_marked_sensitive_during_an_upload_is_refused() {
    let (_d, store) = memory_store();
    let (_, t, a) = real_grant(&store, &["/notes/"], &["write"]);
    put(&store, "/notes/s", text(b"before"));
    let req = PodRequest {
        content_type: Some("text/plain".into()),
        ..request(Method::Put, "/notes/s")
    };
    let d = upload_meanwhile(&store, &t, &a, req, || {
        store.set_sensitive(&path("/notes/s"), true).unwrap();
    });
    assert_eq!(
        refused(&d),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE)),
        "{d:?}"
    );
    assert_eq!(
        store.get(&path("/notes/s"), None).unwrap().content,
        b"before"
    );
    assert_eq!(blobs(&store), 0);
}

#[test]
fn a_post_whose_target_appeared_during_the_upload_is_a_conflict() {
    let (_d, store) = memory_store();
    let (_, t, a) = real_grant(&store, &["/notes/"], &["write"]);
    let req = PodRequest {
        slug: Some("y".into()),
        content_type: Some("text/plain".into()),
        ..request(Method::Post, "/notes/")
    };
    let d = upload_meanwhile(&store, &t, &a, req, || {
        put(&store, "/notes/y", text(b"first"));
    });
    assert_eq!(refused(&d), ("conflict", Some("conflict")), "{d:?}");
    assert_eq!(d.entry.path.as_deref(), Some("/notes/y"));
    assert_eq!(
        store.get(&path("/notes/y"), None).unwrap().content,
        b"first"
    );
    assert_eq!(blobs(&store), 0);
}
