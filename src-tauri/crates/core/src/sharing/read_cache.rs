//! What the pod API remembers between reads, and how it knows it is still
//! true.
//!
//! A company reading the same resource again and again should not cost a
//! database read each time: every read would decrypt and verify the same
//! pages, because each access-log commit makes SQLite drop its page cache.
//! So the tokens and resources a read needs are kept in memory, tagged with
//! the vault's *change counter* (bumped by triggers, in the same transaction,
//! by every change to resources, grants, tokens and clients, whichever
//! process makes it).
//!
//! An answer taken from memory is only given once its log entry is committed
//! by [`Store::append_audit_if_current`] (beside the log's other writers in
//! [`crate::audit::append`]), which reads the counter inside the
//! same write transaction: if anything changed since the answer's data was
//! read (a revocation from the CLI, a new version of the resource), the entry
//! is not written, the caller forgets what it remembered and answers from the
//! database instead. A revocation therefore takes effect on the very next
//! request, as it does without the cache.
//!
//! Content is remembered up to 64 KiB a resource (32 MiB in all); a
//! resource too large to travel inline in an answer
//! ([`crate::pod::is_inline`]) is read and remembered as its metadata
//! alone, and its bytes are streamed from the vault at each read.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rusqlite::OptionalExtension;

use crate::clock::{Clock, SystemClock};
use crate::data::path::PodPath;
use crate::data::resource::Resource;
use crate::sharing::grant::{Access, GrantStatus, Holder, TokenRejected};
use crate::sharing::scope::{self, Action, Target};
use crate::sharing::token::TokenHash;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Most tokens remembered (unknown tokens are never remembered).
const MAX_TOKENS: usize = 10_000;
/// Most resource paths remembered, present or absent.
const MAX_RESOURCES: usize = 10_000;
/// Larger resources are always read from the database.
const MAX_CACHED_RESOURCE_BYTES: usize = 64 * 1024;
/// Most content bytes remembered in all.
const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// What the vault said about a known token at some generation.
#[derive(Debug, Clone)]
enum KnownToken {
    /// The token was revoked itself (its grant may still be active).
    Revoked(Holder),
    /// The token's grant; whether it is active depends on the time of use.
    Grant(Arc<Access>),
}

/// An answer to "who is this and what may they read here", and the
/// generation of the vault it was true at.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub generation: u64,
    pub access: Result<Arc<Access>, TokenRejected>,
    /// The live resource at the path, or `None` when there is none.
    pub resource: Option<Arc<Resource>>,
}

/// What is remembered at a path.
#[derive(Clone)]
enum Held {
    /// Nothing is stored there.
    Absent,
    /// The resource with its content (its metadata alone, content empty,
    /// when it is too large to be inline).
    Whole(Arc<Resource>),
    /// Its metadata only (empty content): a resource the token that read
    /// it could not read. Enough to refuse again from memory, as fast as
    /// a path where nothing is; a token that may read it loads the content.
    Bare(Arc<Resource>),
}

#[derive(Default)]
struct Remembered {
    generation: u64,
    tokens: HashMap<TokenHash, KnownToken>,
    resources: HashMap<PodPath, Held>,
    content_bytes: usize,
}

impl Remembered {
    /// Moves to `generation`, forgetting everything if it is newer. False
    /// when `generation` is older than what is already remembered.
    fn advance(&mut self, generation: u64) -> bool {
        if generation > self.generation {
            *self = Remembered {
                generation,
                ..Remembered::default()
            };
        }
        generation == self.generation
    }
}

/// The pod's memory of tokens and resources. Cheap to share between threads.
pub struct ReadCache {
    remembered: RwLock<Remembered>,
    clock: Arc<dyn Clock>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache::new(Arc::new(SystemClock))
    }
}

/// Whether `access` may read the resource `bare` describes.
fn readable(access: &Access, bare: &Resource) -> bool {
    scope::allows(&access.grant.details, &Target::of(&bare.meta), Action::Read)
}

impl ReadCache {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        ReadCache {
            remembered: RwLock::new(Remembered::default()),
            clock,
        }
    }

    /// The answer from memory alone, or `None` when the token or the path is
    /// not remembered. Expiry is judged now, not when it was remembered.
    pub fn lookup(&self, token: &TokenHash, path: &PodPath) -> Option<Lookup> {
        let r = self.remembered.read().unwrap_or_else(|p| p.into_inner());
        let known = r.tokens.get(token)?;
        let access = self.judge(known);
        let resource = match (r.resources.get(path), &access) {
            (Some(Held::Absent), _) => None,
            (Some(Held::Whole(resource)), _) => Some(resource.clone()),
            // Its content is needed only by a token that may read it.
            (Some(Held::Bare(bare)), Ok(a)) if readable(a, bare) => return None,
            (Some(Held::Bare(bare)), _) => Some(bare.clone()),
            // A refused token is answered without the resource.
            (None, Err(_)) => None,
            (None, Ok(_)) => return None,
        };
        Some(Lookup {
            generation: r.generation,
            access,
            resource,
        })
    }

    /// Reads what a read of `path` with `token` needs from `store`, in
    /// one snapshot, and remembers it for the next time. The content of a
    /// resource the token's grant cannot read is never read at all (its
    /// metadata alone decides the refusal), so a large one answers as fast
    /// as nothing there, and it is not remembered.
    pub fn load(&self, store: &Store, token: &TokenHash, path: &PodPath) -> Result<Lookup> {
        let (generation, known, resource, hidden) = store.read_snapshot(|s| -> Result<_> {
            let generation = s.generation()?;
            let known = known_token(s, token)?;
            let Some(meta) = s.live_meta(path)? else {
                return Ok((generation, known, None, false));
            };
            let may_read = matches!(&known, Ok(KnownToken::Grant(a))
                if scope::allows(&a.grant.details, &Target::of(&meta), Action::Read));
            if !may_read {
                let bare = Resource {
                    meta,
                    content: Vec::new(),
                };
                return Ok((generation, known, Some(Arc::new(bare)), true));
            }
            // Content too large to travel inline is streamed by the door
            // from the vault: only its metadata is read (and remembered).
            if !crate::pod::is_inline(meta.size) {
                let large = Resource {
                    meta,
                    content: Vec::new(),
                };
                return Ok((generation, known, Some(Arc::new(large)), false));
            }
            let resource = match s.get(path, Some(meta.version)) {
                Ok(r) => Some(Arc::new(r)),
                Err(Error::NotFound { .. } | Error::Deleted { .. }) => None,
                Err(e) => return Err(e),
            };
            Ok((generation, known, resource, false))
        })??;
        let access = match &known {
            Ok(k) => self.judge(k),
            Err(rejected) => Err(rejected.clone()),
        };
        let held = match (&resource, hidden) {
            (None, _) => Held::Absent,
            (Some(r), false) => Held::Whole(r.clone()),
            (Some(r), true) => Held::Bare(r.clone()),
        };
        self.remember(generation, token, known.ok(), path, held);
        Ok(Lookup {
            generation,
            access,
            resource,
        })
    }

    /// Forgets everything older than `generation` (a committed log entry
    /// found that the vault has moved on).
    pub fn saw_generation(&self, generation: u64) {
        self.remembered
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .advance(generation);
    }

    fn judge(&self, known: &KnownToken) -> Result<Arc<Access>, TokenRejected> {
        match known {
            KnownToken::Revoked(h) => Err(TokenRejected::Revoked(h.clone())),
            KnownToken::Grant(access) => access
                .grant
                .usable_at(self.clock.now())
                .map(|()| Arc::clone(access)),
        }
    }

    fn remember(
        &self,
        generation: u64,
        token: &TokenHash,
        known: Option<KnownToken>,
        path: &PodPath,
        held: Held,
    ) {
        let mut r = self.remembered.write().unwrap_or_else(|p| p.into_inner());
        if !r.advance(generation) {
            return;
        }
        if let Some(known) = known {
            if r.tokens.len() < MAX_TOKENS || r.tokens.contains_key(token) {
                r.tokens.insert(token.clone(), known);
            }
        }
        let size = match &held {
            Held::Whole(res) => res.content.len(),
            Held::Absent | Held::Bare(_) => 0,
        };
        // Whole content replaces a bare entry; nothing else is replaced.
        let replaces = matches!(
            (r.resources.get(path), &held),
            (Some(Held::Bare(_)), Held::Whole(_))
        );
        let fits = size <= MAX_CACHED_RESOURCE_BYTES
            && r.content_bytes + size <= MAX_CACHED_BYTES
            && (replaces || r.resources.len() < MAX_RESOURCES);
        if fits && (replaces || !r.resources.contains_key(path)) {
            r.content_bytes += size;
            r.resources.insert(path.clone(), held);
        }
    }
}

/// What the vault says about a token: `Err` for one it does not know (never
/// remembered, so guessing cannot fill the memory).
fn known_token(store: &Store, token: &TokenHash) -> Result<Result<KnownToken, TokenRejected>> {
    Ok(match store.authenticate(token)? {
        Ok(access) => Ok(KnownToken::Grant(Arc::new(access))),
        // Revoked (the token or its grant) stays revoked: only a write could
        // change that, and every write moves the counter.
        Err(TokenRejected::Revoked(h)) => Ok(KnownToken::Revoked(h)),
        // Expiry is judged at each use, so remember the grant itself.
        Err(TokenRejected::Expired(h)) => match store.grant(&h.grant_id) {
            Ok(grant) if grant.status == GrantStatus::Expired => {
                Ok(KnownToken::Grant(Arc::new(Access {
                    client_id: h.client_id,
                    grant,
                })))
            }
            _ => Err(TokenRejected::Expired(h)),
        },
        Err(other) => Err(other),
    })
}

impl Store {
    /// The vault's change counter (see the module documentation).
    pub fn generation(&self) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .prepare_cached("SELECT n FROM change_counter WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{self, NewEntry};
    use crate::clock::ManualClock;
    use crate::data::resource::NewResource;
    use crate::sharing::token;
    use crate::testing::memory_store;
    use secrecy::ExposeSecret;

    /// A granted token as the door hands it on: parsed.
    fn granted(store: &Store) -> (String, TokenHash) {
        let (grant, text) = crate::testing::granted_token(store);
        (grant, token::check_access(&text).unwrap())
    }

    fn put(store: &Store, path: &str, json: serde_json::Value) {
        store
            .put(&crate::parse_path(path).unwrap(), NewResource::json(&json))
            .unwrap();
    }

    fn put_email(store: &Store) {
        put(
            store,
            "/contact/email",
            serde_json::json!({"email": "a@example.org"}),
        );
    }

    #[test]
    fn writes_to_resources_move_the_counter_and_log_entries_do_not() {
        let (_dir, store) = memory_store();
        let g0 = store.generation().unwrap();
        put_email(&store);
        let g1 = store.generation().unwrap();
        assert!(g1 > g0);
        store
            .append_audit(&[NewEntry::owner(audit::Action::Other("test".into()))])
            .unwrap();
        assert_eq!(store.generation().unwrap(), g1);
    }

    /// A resource the grant cannot read (here one marked sensitive under the
    /// granted `/contact/`) is decided from its metadata: its content is
    /// never read, and it is not remembered for anyone.
    #[test]
    fn the_content_of_a_resource_the_grant_cannot_read_is_never_loaded() {
        let (_dir, store) = memory_store();
        let path = crate::parse_path("/contact/secret").unwrap();
        let marked = crate::NewResource {
            mark: crate::Mark::Sensitive,
            ..crate::NewResource::json(&serde_json::json!("x".repeat(10_000)))
        };
        store.put(&path, marked).unwrap();
        let (_grant, token) = granted(&store);
        let cache = ReadCache::default();
        let hit = cache.load(&store, &token, &path).unwrap();
        assert!(hit.access.is_ok());
        let resource = hit.resource.expect("its metadata");
        assert!(resource.content.is_empty(), "the content was not read");
        // The next probe is answered from memory, as fast as an empty path.
        let again = cache.lookup(&token, &path).expect("refused from memory");
        assert!(again.resource.unwrap().content.is_empty());
        let nothing = crate::parse_path("/contact/nothing").unwrap();
        cache.load(&store, &token, &nothing).unwrap();
        assert!(cache.lookup(&token, &nothing).unwrap().resource.is_none());
        // A readable one is read and remembered as before.
        put_email(&store);
        let email = crate::parse_path("/contact/email").unwrap();
        let hit = cache.load(&store, &token, &email).unwrap();
        assert!(!hit.resource.unwrap().content.is_empty());
        assert!(cache.lookup(&token, &email).is_some());
    }

    #[test]
    fn a_known_token_and_its_resource_are_answered_from_memory_until_a_change() {
        let (_dir, store) = memory_store();
        put_email(&store);
        let (grant, token) = granted(&store);
        let cache = ReadCache::default();
        let path = crate::parse_path("/contact/email").unwrap();
        assert!(
            cache.lookup(&token, &path).is_none(),
            "nothing remembered yet"
        );

        let loaded = cache.load(&store, &token, &path).unwrap();
        let hit = cache.lookup(&token, &path).expect("remembered");
        assert_eq!(hit.generation, loaded.generation);
        assert_eq!(hit.access.unwrap().grant.id, grant);
        assert_eq!(
            hit.resource.unwrap().content,
            br#"{"email":"a@example.org"}"#.to_vec()
        );

        // A revocation (here through another connection's code path: the
        // store) moves the counter; the entry decided on memory is refused.
        store.revoke_grant(&grant).unwrap();
        let entry = (NewEntry::owner(audit::Action::Read), Some(hit.generation));
        let (now, written) = store.append_audit_if_current(&[entry]).unwrap();
        assert_eq!(written, vec![false]);
        cache.saw_generation(now);
        assert!(cache.lookup(&token, &path).is_none(), "forgotten");
        let reloaded = cache.load(&store, &token, &path).unwrap();
        assert!(matches!(reloaded.access, Err(TokenRejected::Revoked(_))));
        // The revoked token is remembered as revoked.
        let hit = cache.lookup(&token, &path).expect("remembered");
        assert!(matches!(hit.access, Err(TokenRejected::Revoked(_))));
    }

    #[test]
    fn unknown_and_malformed_tokens_are_never_remembered() {
        let (_dir, store) = memory_store();
        put_email(&store);
        let (_grant, token) = granted(&store);
        let cache = ReadCache::default();
        let path = crate::parse_path("/contact/email").unwrap();
        // A malformed token never gets this far: it has no hash to look
        // up or to remember by.
        assert!(token::check_access("cst_not-a-real-token").is_err());
        // A well-formed one the vault never issued.
        let (unissued, _) = token::generate(token::ACCESS_TOKEN_PREFIX).unwrap();
        let guess = token::check_access(unissued.expose_secret()).unwrap();
        let first = cache.load(&store, &guess, &path).unwrap();
        assert!(first.access.is_err());
        assert!(first.resource.is_some());
        assert!(cache.lookup(&guess, &path).is_none(), "a guess remembered");
        // The resource was remembered meanwhile, for real tokens.
        cache.load(&store, &token, &path).unwrap();
        assert!(cache.lookup(&token, &path).is_some());
    }

    #[test]
    fn older_loads_do_not_overwrite_newer_memory() {
        let mut r = Remembered::default();
        assert!(r.advance(5));
        assert!(!r.advance(4));
        assert_eq!(r.generation, 5);
    }

    #[test]
    fn expiry_is_judged_at_the_time_of_use() {
        let start = chrono::Utc::now();
        let clock = ManualClock::new(start);
        let cache = ReadCache::new(Arc::new(clock.clone()));
        let access = Arc::new(Access {
            client_id: "c".into(),
            grant: crate::sharing::grant::Grant {
                id: "g".into(),
                client_id: "c".into(),
                client_name: "C".into(),
                request_id: None,
                details: vec![],
                created_at: start,
                expires_at: start + chrono::Duration::seconds(10),
                revoked_at: None,
                status: GrantStatus::Active,
                damage: None,
            },
        });
        let known = KnownToken::Grant(access);
        assert!(cache.judge(&known).is_ok());
        clock.advance(chrono::Duration::seconds(10));
        assert!(matches!(
            cache.judge(&known),
            Err(TokenRejected::Expired(_))
        ));
    }
}
