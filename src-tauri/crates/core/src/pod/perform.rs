//! [`decide`], the way in for every request under `/pod/`: per method, it
//! reads what the rules need from the [`Store`], asks the rules, and either
//! refuses (403, 404, 409, 405 as the rules say) or writes, deletes or
//! lists.

use crate::data::resource::{Author, NewResource, LIST_DEFAULT, OCTET_STREAM};
use crate::sharing::grant::Access;
use crate::sharing::scope::Action;
use crate::{Error, Mark, PodPath, Store};

use super::rules::{self, Verdict, INSUFFICIENT_SCOPE};
use super::{Answer, Decision, Method, PodRequest};

/// Authorizes and performs one request under `access`. Returns the answer
/// or refusal and the log entry that must be committed before it is sent.
pub fn decide(store: &Store, access: &Access, req: PodRequest) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = v.details();
    let author = Author::Client(access.client_id.clone());
    match req.method {
        Method::Get | Method::Head if req.path.is_container() => {
            if !rules::may_list(details, &req.path) {
                return v.deny(INSUFFICIENT_SCOPE);
            }
            let view = rules::GrantView(details);
            let limit = req.page.limit.unwrap_or(LIST_DEFAULT);
            match store.list_page_where(&req.path, req.page.after.as_deref(), limit, &view) {
                Ok(page) => v.allowed(Answer::Listing(rules::listing(&req.path, page))),
                Err(e) => v.fail(e),
            }
        }
        Method::Get | Method::Head => match store.get(&req.path, None) {
            Ok(r) => rules::decide_read(access, &req, Some(&r)),
            Err(Error::NotFound { .. } | Error::Deleted { .. }) => {
                rules::decide_read(access, &req, None)
            }
            Err(e) => v.fail(e),
        },
        Method::Put => {
            if req.path.is_container() {
                return v.fail(Error::IsContainer {
                    path: req.path.to_string(),
                    what: "PUT a resource path",
                });
            }
            let existing = match store.live_meta(&req.path) {
                Ok(m) => m,
                Err(e) => return v.fail(e),
            };
            if !rules::may_put(details, &req.path, existing.as_ref()) {
                return v.deny(INSUFFICIENT_SCOPE);
            }
            write(store, &v, &req, &req.path, existing.is_none(), &author)
        }
        Method::Post => {
            let target = match rules::post_target(&req.path, req.slug.as_deref(), || {
                uuid::Uuid::new_v4().to_string()
            }) {
                Ok(t) => t,
                Err(e) => return v.fail(e),
            };
            // Scope first: outside the grant the answer is the same whether
            // or not something is there.
            if !rules::may_post(details, &target) {
                return v.deny(INSUFFICIENT_SCOPE);
            }
            match store.live_meta(&target) {
                Ok(Some(_)) => v.conflict(&target),
                Ok(None) => write(store, &v, &req, &target, true, &author),
                Err(e) => v.fail(e),
            }
        }
        Method::Delete => {
            let meta = match store.live_meta(&req.path) {
                Ok(Some(m)) => m,
                Ok(None) => return v.nothing_there(Action::Write),
                Err(e) => return v.fail(e),
            };
            if !rules::may_delete(details, &meta) {
                return v.as_if_absent(Action::Write, Some(INSUFFICIENT_SCOPE));
            }
            match store.delete_as(&req.path, &author) {
                Ok(_) => v.allowed(Answer::Deleted),
                Err(e) => v.fail(e),
            }
        }
        Method::Patch | Method::Other(_) => v.method_not_allowed(),
    }
}

/// Writes the request's body at `target` as the company, and logs it there.
fn write(
    store: &Store,
    v: &Verdict<'_>,
    req: &PodRequest,
    target: &PodPath,
    created: bool,
    author: &Author,
) -> Decision {
    let new = NewResource {
        content: req.body.clone(),
        content_type: req
            .content_type
            .clone()
            .unwrap_or_else(|| OCTET_STREAM.to_string()),
        category: None,
        mark: Mark::Keep,
    };
    match store.put_as(target, new, author) {
        Ok(meta) => v.allowed_at(
            Answer::Written {
                created,
                etag: meta.etag,
                location: created.then(|| format!("/pod{}", meta.path)),
            },
            target,
        ),
        Err(e) => v.fail(e),
    }
}
