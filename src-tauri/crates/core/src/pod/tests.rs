//! Every pod rule, one case each: through [`decide`] and [`decide_read`]
//! on a real store, or on the pure rule itself.

use chrono::{Duration, Utc};

use super::rules::{GrantView, INSUFFICIENT_SCOPE, SENSITIVE_NOT_GRANTED};
use super::*;
use crate::audit::{Action, Outcome};
use crate::data::resource::{ListView, NewResource};
use crate::sharing::grant::{Access, Grant, GrantStatus};
use crate::sharing::scope::PodAccess;
use crate::testing::memory_store;
use crate::{Category, Mark, Store};

/// A grant to `cli_a` with these details (JSON, as granted).
pub(super) fn access(details: &str) -> Access {
    let details: Vec<PodAccess> = serde_json::from_str(details).expect("details");
    let now = Utc::now();
    Access {
        client_id: "cli_a".into(),
        grant: Grant {
            id: "grt_a".into(),
            client_id: "cli_a".into(),
            client_name: "Acme".into(),
            request_id: None,
            details,
            created_at: now,
            expires_at: now + Duration::hours(1),
            revoked_at: None,
            status: GrantStatus::Active,
            damage: None,
        },
    }
}

/// A grant of `actions` on `paths`.
pub(super) fn grant(paths: &[&str], actions: &[&str]) -> Access {
    access(
        &serde_json::json!([{"type": "pod_access", "paths": paths, "actions": actions,
                              "purpose": "tests"}])
        .to_string(),
    )
}

pub(super) fn path(p: &str) -> PodPath {
    crate::parse_path(p).expect("path")
}

pub(super) fn request(method: Method, p: &str) -> PodRequest {
    PodRequest {
        method,
        path: path(p),
        if_none_match: None,
        content_type: None,
        slug: None,
        range: None,
        page: PageAsk::default(),
        body: Vec::new(),
    }
}

pub(super) fn put(store: &Store, p: &str, new: NewResource) {
    store.put(&path(p), new).expect("put");
}

fn json(value: serde_json::Value) -> NewResource {
    NewResource::json(&value)
}

/// The decision's HTTP-free shape: which refusal, and the logged reason.
pub(super) fn refused(d: &Decision) -> (&'static str, Option<&str>) {
    let kind = match &d.result {
        Ok(_) => "answered",
        Err(Refusal::InsufficientScope { .. }) => "insufficient_scope",
        Err(Refusal::NotFound(_)) => "not_found",
        Err(Refusal::Conflict { .. }) => "conflict",
        Err(Refusal::MethodNotAllowed) => "method_not_allowed",
        Err(Refusal::RangeNotSatisfiable { .. }) => "range_not_satisfiable",
        Err(Refusal::Invalid(_)) => "invalid",
        Err(Refusal::TokenRejected(_)) => "invalid_token",
    };
    (kind, d.entry.reason.as_deref())
}

#[test]
fn nothing_there_is_404_inside_the_grant_and_403_outside() {
    let (_d, store) = memory_store();
    let a = grant(&["/contact/"], &["read"]);
    let inside = decide(&store, &a, request(Method::Get, "/contact/nothing"));
    assert_eq!(refused(&inside), ("not_found", Some("not_found")));
    assert_eq!(inside.entry.outcome, Outcome::Denied);
    assert_eq!(inside.entry.path.as_deref(), Some("/contact/nothing"));
    let outside = decide(&store, &a, request(Method::Get, "/health/nothing"));
    assert_eq!(
        refused(&outside),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE))
    );
    assert_eq!(
        outside.result.unwrap_err().to_string(),
        "your grant does not allow GET /health/nothing"
    );
}

/// A resource outside the grant answers exactly as nothing there would:
/// 403 outside the granted paths, 404 inside them (another category under
/// a granted path); the log keeps the real reason.
#[test]
fn a_resource_the_grant_does_not_reach_answers_as_if_absent() {
    let (_d, store) = memory_store();
    put(&store, "/health/weight", json(serde_json::json!(70)));
    let other = NewResource {
        category: Some(Category::Other),
        ..json(serde_json::json!("a note"))
    };
    put(&store, "/contact/note", other);
    let a = access(
        r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],
             "datatypes":["contact"],"purpose":"tests"}]"#,
    );
    let outside = decide(&store, &a, request(Method::Get, "/health/weight"));
    assert_eq!(
        refused(&outside),
        ("insufficient_scope", Some(SENSITIVE_NOT_GRANTED))
    );
    let hidden = decide(&store, &a, request(Method::Get, "/contact/note"));
    assert_eq!(refused(&hidden), ("not_found", Some(INSUFFICIENT_SCOPE)));
    let absent = decide(&store, &a, request(Method::Get, "/contact/nothing"));
    assert_eq!(
        hidden.result.unwrap_err().to_string(),
        absent
            .result
            .unwrap_err()
            .to_string()
            .replace("nothing", "note")
    );
}

#[test]
fn a_sensitive_resource_needs_its_category_ticked() {
    let (_d, store) = memory_store();
    let marked = NewResource {
        mark: Mark::Sensitive,
        ..json(serde_json::json!({"email": "private@example.org"}))
    };
    put(&store, "/contact/private", marked);
    let broad = grant(&["/contact/"], &["read"]);
    let d = decide(&store, &broad, request(Method::Get, "/contact/private"));
    assert_eq!(refused(&d), ("not_found", Some(SENSITIVE_NOT_GRANTED)));
    let ticked = access(
        r#"[{"type":"pod_access","paths":["/contact/"],"actions":["read"],
             "sensitive":["contact"],"purpose":"tests"}]"#,
    );
    let d = decide(&store, &ticked, request(Method::Get, "/contact/private"));
    assert!(matches!(d.result, Ok(Answer::Content { .. })), "{d:?}");
    assert_eq!(d.entry.outcome, Outcome::Allowed);
    assert_eq!(d.entry.action, Action::Read);
}

#[test]
fn a_listing_shows_only_what_the_grant_reaches() {
    let (_d, store) = memory_store();
    put(
        &store,
        "/contact/email",
        json(serde_json::json!("a@example.org")),
    );
    let marked = NewResource {
        mark: Mark::Sensitive,
        ..json(serde_json::json!("secret"))
    };
    put(&store, "/contact/private", marked);
    put(
        &store,
        "/contact/work/phone",
        json(serde_json::json!("123")),
    );
    let a = grant(&["/contact/"], &["read"]);
    let d = decide(&store, &a, request(Method::Get, "/contact/"));
    let Ok(Answer::Listing(l)) = d.result else {
        panic!("{d:?}")
    };
    let shown: Vec<&str> = l.members.iter().map(|e| e.path().as_str()).collect();
    assert_eq!(shown, ["/contact/email", "/contact/work/"]);
    // Listing a container needs read on a granted container around it.
    let one = grant(&["/contact/email"], &["read"]);
    let d = decide(&store, &one, request(Method::Head, "/contact/"));
    assert_eq!(
        refused(&d),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE))
    );

    // The view: a sub-container only when the grant covers listing it, a
    // resource only when readable.
    let meta = store.live_meta(&path("/contact/email")).unwrap().unwrap();
    let work = grant(&["/contact/work/"], &["read"]);
    let view = GrantView(&work.grant.details, "");
    assert!(view.shows_container(&path("/contact/work/")));
    assert!(!view.shows_container(&path("/contact/home/")));
    assert!(!view.shows_resource(&meta));
    assert!(GrantView(&a.grant.details, "").shows_resource(&meta));
}

#[test]
fn a_listing_comes_a_page_at_a_time() {
    let (_d, store) = memory_store();
    for p in ["/contact/a", "/contact/b", "/contact/c/d", "/contact/e"] {
        put(&store, p, json(serde_json::json!(p)));
    }
    let a = grant(&["/contact/"], &["read"]);
    let page = |after: Option<&str>| {
        let mut req = request(Method::Get, "/contact/");
        req.page = PageAsk {
            after: after.map(str::to_string),
            limit: Some(2),
        };
        match decide(&store, &a, req).result {
            Ok(Answer::Listing(l)) => (
                l.members
                    .iter()
                    .map(|e| e.path().to_string())
                    .collect::<Vec<_>>(),
                l.next,
            ),
            other => panic!("{other:?}"),
        }
    };
    // A company's cursor is sealed; it leads on all the same.
    let (first, next) = page(None);
    assert_eq!(first, ["/contact/a", "/contact/b"]);
    let next = next.expect("a next page");
    assert!(next.starts_with('~') && !next.contains("contact"), "{next}");
    let rest = (vec!["/contact/c/".into(), "/contact/e".into()], None);
    assert_eq!(page(Some(&next)), rest);
    // A plain path it sees is taken as well.
    assert_eq!(page(Some("/contact/b")), rest);
    // A cursor outside the container is the company's mistake.
    let mut req = request(Method::Get, "/contact/");
    req.page.after = Some("/other".into());
    assert!(matches!(
        decide(&store, &a, req).result,
        Err(Refusal::Invalid(crate::Error::InvalidRequest(_)))
    ));
}

#[test]
fn a_slug_is_cleaned_and_a_bad_one_gets_a_fresh_name() {
    let notes = path("/notes/");
    let fresh = || "fresh".to_string();
    let target = |slug| post_target(&notes, slug, fresh).unwrap().to_string();
    assert_eq!(target(Some("My%20Note!.txt")), "/notes/MyNote.txt");
    assert_eq!(target(Some("../../etc")), "/notes/....etc");
    assert_eq!(target(Some("!!!")), "/notes/fresh");
    assert_eq!(target(Some("..")), "/notes/fresh");
    assert_eq!(target(None), "/notes/fresh");
    // A POST to a resource path creates exactly there.
    let exact = post_target(&path("/notes/a"), Some("b"), fresh).unwrap();
    assert_eq!(exact.as_str(), "/notes/a");
    // A name the path rules refuse is an invalid request.
    let bad = post_target(&notes, None, || "a?b".to_string());
    assert!(
        matches!(bad, Err(crate::Error::PathRejected { .. })),
        "{bad:?}"
    );
}

#[test]
fn a_post_creates_once_then_conflicts_logged_where_it_aimed() {
    let (_d, store) = memory_store();
    let a = grant(&["/notes/"], &["append"]);
    let post = || PodRequest {
        slug: Some("hello world".into()),
        content_type: Some("text/plain".into()),
        body: b"hi".to_vec(),
        ..request(Method::Post, "/notes/")
    };
    let d = decide(&store, &a, post());
    let Ok(Answer::Written {
        created: true,
        location: Some(location),
        ..
    }) = &d.result
    else {
        panic!("{d:?}")
    };
    assert_eq!(location, "/pod/notes/helloworld");
    assert_eq!(d.entry.path.as_deref(), Some("/notes/helloworld"));
    assert_eq!(d.entry.action, Action::Write);
    let again = decide(&store, &a, post());
    assert_eq!(refused(&again), ("conflict", Some("conflict")));
    assert_eq!(again.entry.path.as_deref(), Some("/notes/helloworld"));
    assert_eq!(
        again.result.unwrap_err().to_string(),
        "/notes/helloworld exists; POST only creates (use PUT to replace)"
    );
    // Scope before existence: outside the grant, no conflict is told.
    put(
        &store,
        "/contact/email",
        json(serde_json::json!("a@example.org")),
    );
    let d = decide(&store, &a, request(Method::Post, "/contact/email"));
    assert_eq!(
        refused(&d),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE))
    );
}

#[test]
fn an_append_grant_may_post_but_not_put() {
    let (_d, store) = memory_store();
    let a = grant(&["/notes/"], &["append"]);
    let d = decide(&store, &a, request(Method::Post, "/notes/a"));
    assert!(matches!(
        d.result,
        Ok(Answer::Written { created: true, .. })
    ));
    for p in ["/notes/a", "/notes/b"] {
        let d = decide(&store, &a, request(Method::Put, p));
        assert_eq!(
            refused(&d),
            ("insufficient_scope", Some(INSUFFICIENT_SCOPE)),
            "{p}"
        );
    }
    let w = grant(&["/notes/"], &["write"]);
    let d = decide(&store, &w, request(Method::Put, "/notes/a"));
    assert!(matches!(
        d.result,
        Ok(Answer::Written {
            created: false,
            location: None,
            ..
        })
    ));
    let d = decide(&store, &w, request(Method::Put, "/notes/b"));
    assert!(matches!(
        d.result,
        Ok(Answer::Written { created: true, .. })
    ));
}

#[test]
fn a_put_on_a_container_is_invalid() {
    let (_d, store) = memory_store();
    let a = grant(&["/notes/"], &["write"]);
    let d = decide(&store, &a, request(Method::Put, "/notes/"));
    assert_eq!(refused(&d), ("invalid", Some("invalid_request")));
    assert!(matches!(
        d.result,
        Err(Refusal::Invalid(crate::Error::IsContainer { .. }))
    ));
    // Judged before scope: the same answer to a grant that may not write.
    let r = grant(&["/notes/"], &["read"]);
    let d = decide(&store, &r, request(Method::Put, "/notes/"));
    assert_eq!(refused(&d), ("invalid", Some("invalid_request")));
}

#[test]
fn a_delete_the_grant_does_not_cover_answers_as_if_absent() {
    let (_d, store) = memory_store();
    put(
        &store,
        "/contact/email",
        json(serde_json::json!("a@example.org")),
    );
    let other = NewResource {
        category: Some(Category::Other),
        ..json(serde_json::json!("x"))
    };
    put(&store, "/contact/note", other);
    let a = access(
        r#"[{"type":"pod_access","paths":["/contact/"],"actions":["write"],
             "datatypes":["contact"],"purpose":"tests"}]"#,
    );
    // Outside the granted paths: 403, whether or not something is there.
    put(&store, "/notes/a", json(serde_json::json!("x")));
    let d = decide(&store, &a, request(Method::Delete, "/notes/a"));
    assert_eq!(
        refused(&d),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE))
    );
    let d = decide(&store, &a, request(Method::Delete, "/notes/b"));
    assert_eq!(
        refused(&d),
        ("insufficient_scope", Some(INSUFFICIENT_SCOPE))
    );
    // Inside them: 404 for nothing there and for what it cannot touch.
    let d = decide(&store, &a, request(Method::Delete, "/contact/nothing"));
    assert_eq!(refused(&d), ("not_found", Some("not_found")));
    let d = decide(&store, &a, request(Method::Delete, "/contact/note"));
    assert_eq!(refused(&d), ("not_found", Some(INSUFFICIENT_SCOPE)));
    assert!(store.live_meta(&path("/contact/note")).unwrap().is_some());
    let d = decide(&store, &a, request(Method::Delete, "/contact/email"));
    assert!(matches!(d.result, Ok(Answer::Deleted)));
    assert_eq!(d.entry.action, Action::Delete);
    assert!(store.live_meta(&path("/contact/email")).unwrap().is_none());
}

#[test]
fn if_none_match_takes_a_star_a_list_or_the_exact_tag() {
    assert!(not_modified(Some("*"), "abc"));
    assert!(not_modified(Some("\"abc\""), "abc"));
    assert!(not_modified(Some("\"x\", \"abc\""), "abc"));
    assert!(!not_modified(Some("abc"), "abc"), "unquoted");
    assert!(!not_modified(Some("W/\"abc\""), "abc"), "weak");
    assert!(!not_modified(Some("\"x\""), "abc"));
    assert!(!not_modified(None, "abc"));

    let (_d, store) = memory_store();
    put(
        &store,
        "/contact/email",
        json(serde_json::json!("a@example.org")),
    );
    let etag = store
        .live_meta(&path("/contact/email"))
        .unwrap()
        .unwrap()
        .etag;
    let a = grant(&["/contact/"], &["read"]);
    let held = PodRequest {
        if_none_match: Some(format!("\"old\", \"{etag}\"")),
        ..request(Method::Get, "/contact/email")
    };
    let d = decide(&store, &a, held);
    assert_eq!(d.result.unwrap(), Answer::NotModified { etag });
    assert_eq!(d.entry.outcome, Outcome::Allowed);
}

#[test]
fn other_methods_are_not_allowed() {
    let (_d, store) = memory_store();
    let a = grant(&["/"], &["read", "write"]);
    let d = decide(&store, &a, request(Method::from_text("PATCH"), "/notes/a"));
    assert_eq!(
        refused(&d),
        ("method_not_allowed", Some("method_not_allowed"))
    );
    assert_eq!(d.entry.method, Some(Method::Patch));
    assert_eq!(d.entry.action, Action::Write);
    assert_eq!(
        (d.entry.actor.as_str(), d.entry.grant_id.as_deref()),
        ("cli_a", Some("grt_a"))
    );
}

/// The memory's answer is the database's: `decide_read` given nothing
/// there, or a resource, decides as `decide` does.
#[test]
fn a_read_from_memory_is_decided_by_the_same_rule() {
    let (_d, store) = memory_store();
    put(
        &store,
        "/contact/email",
        json(serde_json::json!("a@example.org")),
    );
    let a = grant(&["/contact/"], &["read"]);
    let r = store.get(&path("/contact/email"), None).unwrap();
    let req = request(Method::Get, "/contact/email");
    let from_memory = decide_read(&a, &req, Some(&r));
    let from_db = decide(&store, &a, req.clone());
    assert_eq!(from_memory.result.unwrap(), from_db.result.unwrap());
    let none = decide_read(&a, &request(Method::Get, "/contact/gone"), None);
    assert_eq!(refused(&none), ("not_found", Some("not_found")));
}
