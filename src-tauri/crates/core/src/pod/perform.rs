//! [`decide`], the way in for every request under `/pod/`: per method, it
//! reads what the rules need from the [`Store`], asks the rules, and either
//! refuses (403, 404, 409, 405, 416 as the rules say) or writes, deletes or
//! lists. [`decide_streamed`] is the same for a write whose body is a
//! stream: it is read only once the grant allows the write, and the token,
//! the grant, the sensitive mark and (for `POST`) the target's absence are
//! checked again in the transaction that writes it (an upload may take
//! hours).

use std::io::Read;

use crate::data::resource::{Author, NewMeta, NewResource, Resource, LIST_DEFAULT, OCTET_STREAM};
use crate::sharing::grant::Access;
use crate::sharing::scope::Action;
use crate::sharing::token::TokenHash;
use crate::{Error, Mark, PodPath, Store};

use super::rules::{self, Verdict, INSUFFICIENT_SCOPE};
use super::{Answer, Decision, Method, PodRequest};

/// A write's body: held in memory, or a stream read only once the write
/// is allowed.
enum Upload<'a> {
    Bytes(Vec<u8>),
    Stream {
        reader: &'a mut dyn Read,
        len: Option<u64>,
        /// The token that authenticated the request, checked again at
        /// the end.
        token: &'a TokenHash,
    },
}

/// Authorizes and performs one request under `access`, a write's body in
/// `req.body`. Returns the answer or refusal and the log entry that must be
/// committed before it is sent.
pub fn decide(store: &Store, access: &Access, mut req: PodRequest) -> Decision {
    let body = std::mem::take(&mut req.body);
    decide_with(store, access, req, Upload::Bytes(body))
}

/// The same for a `PUT` or `POST` whose body is `body` (`len` bytes when
/// known up front), streamed into the vault ([`Store::put_stream`]): it is
/// not read at all unless the grant allows the write, and a body that
/// breaks off, or passes the largest size, stores nothing. `access` is
/// what `token` authenticated at the start; in the transaction that writes
/// the version, `token` is authenticated again and the write judged again
/// against the vault then ([`recheck`]): a refusal then stores nothing and
/// is answered and logged as it would have been at the start. `req.body`
/// is not used.
pub fn decide_streamed(
    store: &Store,
    token: &TokenHash,
    access: &Access,
    req: PodRequest,
    body: &mut dyn Read,
    len: Option<u64>,
) -> Decision {
    decide_with(
        store,
        access,
        req,
        Upload::Stream {
            reader: body,
            len,
            token,
        },
    )
}

/// The checks a streamed write passed at its start, made again against the
/// vault as it is now (inside the write transaction): the token, the
/// grant's scope and the sensitive mark (`may_put`/`may_post`), and for
/// `POST` that nothing lives at `target`. `Some` is the refusal.
fn recheck(
    store: &Store,
    token: &TokenHash,
    req: &PodRequest,
    target: &PodPath,
) -> Result<Option<Decision>, Error> {
    let access = match store.authenticate(token)? {
        Ok(access) => access,
        Err(rejected) => {
            let entry = super::token_refused(&req.method, req.path.as_str(), Some(&rejected));
            return Ok(Some(Decision {
                result: Err(super::Refusal::TokenRejected(rejected)),
                entry,
            }));
        }
    };
    let v = Verdict::new(&access, &req.method, &req.path);
    let details = v.details();
    let existing = store.live_meta(target)?;
    Ok(match req.method {
        Method::Post if !rules::may_post(details, target) => Some(v.deny(INSUFFICIENT_SCOPE)),
        Method::Post if existing.is_some() => Some(v.conflict(target)),
        Method::Put if !rules::may_put(details, target, existing.as_ref()) => {
            Some(v.deny(INSUFFICIENT_SCOPE))
        }
        _ => None,
    })
}

/// The live resource at `path` as a read needs it: its content loaded
/// only when it travels inline ([`super::is_inline`]; empty above), `None`
/// when there is none.
pub fn read_live(store: &Store, path: &PodPath) -> Result<Option<Resource>, Error> {
    let Some(meta) = store.live_meta(path)? else {
        return Ok(None);
    };
    if !rules::is_inline(meta.size) {
        return Ok(Some(Resource {
            meta,
            content: Vec::new(),
        }));
    }
    // That very version, so the content matches the size just judged.
    match store.get(path, Some(meta.version)) {
        Ok(r) => Ok(Some(r)),
        Err(Error::NotFound { .. } | Error::Deleted { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn decide_with(store: &Store, access: &Access, req: PodRequest, body: Upload<'_>) -> Decision {
    let v = Verdict::new(access, &req.method, &req.path);
    let details = v.details();
    let author = Author::Client(access.client_id.clone());
    match req.method {
        Method::Get | Method::Head if req.path.is_container() => {
            if !rules::may_list(details, &req.path) {
                return v.deny(INSUFFICIENT_SCOPE);
            }
            let view = rules::GrantView(details, &access.client_id);
            let limit = req.page.limit.unwrap_or(LIST_DEFAULT);
            match store.list_page_where(&req.path, req.page.after.as_deref(), limit, &view) {
                Ok(page) => v.allowed(Answer::Listing(rules::listing(&req.path, page))),
                Err(e) => v.fail(e),
            }
        }
        Method::Get | Method::Head => match read_live(store, &req.path) {
            Ok(live) => rules::decide_read(access, &req, live.as_ref()),
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
            write(
                store,
                &v,
                &req,
                &req.path,
                existing.is_none(),
                &author,
                body,
            )
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
                Ok(None) => write(store, &v, &req, &target, true, &author, body),
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
    body: Upload<'_>,
) -> Decision {
    let content_type = req
        .content_type
        .clone()
        .unwrap_or_else(|| OCTET_STREAM.to_string());
    let written = match body {
        // In memory: joins a write transaction the caller holds (a feed
        // item and its log entry).
        Upload::Bytes(content) => store.put_as(
            target,
            NewResource {
                content,
                content_type,
                category: None,
                mark: Mark::Keep,
            },
            author,
        ),
        Upload::Stream { reader, len, token } => {
            let mut refused = None;
            let written = store.put_stream_if(
                target,
                NewMeta {
                    content_type,
                    category: None,
                    mark: Mark::Keep,
                },
                reader,
                len,
                author,
                &mut |_| {},
                &mut |now| {
                    refused = recheck(now, token, req, target)?;
                    Ok(refused.is_none())
                },
            );
            match written {
                Ok(Some(meta)) => Ok(meta),
                Ok(None) => {
                    return refused.unwrap_or_else(|| {
                        v.fail(Error::Internal("a write refused for no reason".into()))
                    })
                }
                Err(e) => Err(e),
            }
        }
    };
    match written {
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
