//! Refused tokens, and how much of the access log they may take.
//!
//! Every refused request is logged, but a flood of them must not cost the
//! vault bytes per request: the first few refusals in a minute are logged
//! one by one, the rest only counted, and when the minute ends one summary
//! entry says how many there were. Refusals are counted per peer (unknown
//! tokens: guesses), per token and per company (a real token that expired
//! or was revoked); past a limit the pod answers 429 without looking
//! further. Only refusals are counted: a valid token is never slowed down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::clock::{format_time, Clock};
use crate::limits::peer::Peer;
use crate::limits::rate::MAX_KEYS;
use crate::sharing::token::TokenHash;

/// Refusals logged one by one per company (or, for unknown tokens, per
/// peer) in a minute; the rest go into one summary entry.
pub const LOGGED_PER_MINUTE: u32 = 5;
/// Refusals of one token per minute before it is answered 429 at once.
pub const PER_TOKEN_PER_MINUTE: u32 = 10;
/// Refusals of one company's stale tokens per minute before 429.
pub const PER_COMPANY_PER_MINUTE: u32 = 60;
/// Unknown or malformed tokens from one peer per minute before 429.
pub const PER_PEER_PER_MINUTE: u32 = 60;

/// How many refusals are allowed and logged.
#[derive(Debug, Clone, Copy)]
pub struct RefusalLimits {
    pub logged: u32,
    pub per_token: u32,
    pub per_company: u32,
    pub per_peer: u32,
}

impl Default for RefusalLimits {
    fn default() -> Self {
        RefusalLimits {
            logged: LOGGED_PER_MINUTE,
            per_token: PER_TOKEN_PER_MINUTE,
            per_company: PER_COMPANY_PER_MINUTE,
            per_peer: PER_PEER_PER_MINUTE,
        }
    }
}

/// What is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Peer(Peer),
    /// A token, by its hash (never the token itself).
    Token(String),
    Company(String),
}

#[derive(Debug, Clone)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
    /// The company a refused token belongs to (token keys only).
    holder: Option<String>,
    /// Refusals counted but not logged one by one, and when.
    unlogged: u64,
    first_unlogged: Option<DateTime<Utc>>,
    last_unlogged: Option<DateTime<Utc>>,
}

impl Window {
    fn new(start: DateTime<Utc>) -> Self {
        Window {
            start,
            count: 0,
            holder: None,
            unlogged: 0,
            first_unlogged: None,
            last_unlogged: None,
        }
    }
}

/// One refused request, as the door knows it.
#[derive(Debug, Clone, Copy)]
pub struct Refused<'a> {
    pub peer: Peer,
    /// The token's hash, when it was well-formed.
    pub token: Option<&'a TokenHash>,
    /// The company behind a real (expired or revoked) token.
    pub company: Option<&'a str>,
}

/// What to do with a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Write it to the log on its own (else it is counted for the summary).
    pub log: bool,
    /// Answer 429: this token, company or peer has been refused too often.
    pub throttle: bool,
}

/// The refusal counters of a running pod.
pub struct Refusals {
    limits: RefusalLimits,
    window: Duration,
    clock: Arc<dyn Clock>,
    windows: Mutex<HashMap<Key, Window>>,
    /// Summaries of windows that ended and were replaced, waiting to be
    /// written.
    ended: Mutex<Vec<NewEntry>>,
}

impl Refusals {
    pub fn new(limits: RefusalLimits, clock: Arc<dyn Clock>) -> Self {
        Refusals {
            limits,
            window: Duration::minutes(1),
            clock,
            windows: Mutex::new(HashMap::new()),
            ended: Mutex::new(Vec::new()),
        }
    }

    /// True when unknown tokens from `peer` have passed their limit: the
    /// door checks that the token is not valid, then answers 429.
    pub fn peer_throttled(&self, peer: Peer) -> bool {
        self.over(&Key::Peer(peer), self.limits.per_peer)
    }

    /// True when this token (by hash) has been refused too often this
    /// minute. A refused token never becomes valid again (expiry and
    /// revocation are final; an unknown token stays unknown), so the door
    /// may answer 429 without reading the vault.
    pub fn token_throttled(&self, token: &TokenHash) -> bool {
        self.over(
            &Key::Token(token.as_str().to_string()),
            self.limits.per_token,
        )
    }

    fn over(&self, key: &Key, limit: u32) -> bool {
        let now = self.clock.now();
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .is_some_and(|w| now < w.start + self.window && w.count >= limit)
    }

    /// Counts one refusal and decides whether it is logged and whether it
    /// is answered 429.
    pub fn note(&self, refused: Refused<'_>) -> Decision {
        let now = self.clock.now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut throttle = false;
        // A token throttled earlier is answered without reading the vault;
        // its holder, remembered from an earlier refusal, is still counted.
        // Only a company's (expired or revoked) token gets a window of its
        // own: a guess is counted per peer, so guesses never fill the map,
        // and a holder is only ever read back from the token's own window
        // (never from a shared overflow window, which would pin one
        // company's name on strangers' guesses).
        let mut company = refused.company.map(str::to_string);
        if let Some(hash) = refused.token {
            let key = Key::Token(hash.as_str().to_string());
            let known = map.contains_key(&key);
            if company.is_some() || known {
                let w = self.window_for(&mut map, key, now);
                w.count = w.count.saturating_add(1);
                if company.is_some() {
                    w.holder.clone_from(&company);
                } else {
                    company.clone_from(&w.holder);
                }
                throttle |= w.count > self.limits.per_token;
            }
        }
        let peer = self.window_for(&mut map, Key::Peer(refused.peer), now);
        peer.count = peer.count.saturating_add(1);
        if company.is_none() {
            throttle |= peer.count > self.limits.per_peer;
        }
        // The summary is kept per company when the token has a holder, and
        // per peer for unknown tokens.
        let summary_key = match company {
            Some(c) => {
                let w = self.window_for(&mut map, Key::Company(c.clone()), now);
                w.count = w.count.saturating_add(1);
                throttle |= w.count > self.limits.per_company;
                Key::Company(c)
            }
            None => Key::Peer(refused.peer),
        };
        let w = self.window_for(&mut map, summary_key, now);
        let log = w.count <= self.limits.logged;
        if !log {
            w.unlogged += 1;
            w.first_unlogged.get_or_insert(now);
            w.last_unlogged = Some(now);
        }
        Decision { log, throttle }
    }

    /// The window of `key` as of `now`; an ended window is replaced, and
    /// its summary kept for [`Refusals::due_summaries`].
    fn window_for<'m>(
        &self,
        map: &'m mut HashMap<Key, Window>,
        key: Key,
        now: DateTime<Utc>,
    ) -> &'m mut Window {
        if !map.contains_key(&key) && map.len() >= MAX_KEYS {
            let ended = self.take_ended(map, now);
            self.ended
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(ended);
            if map.len() >= MAX_KEYS {
                // Full of live windows: the new key shares one overflow
                // window per kind, so counting (and the summary) goes on.
                return map
                    .entry(overflow(&key))
                    .or_insert_with(|| Window::new(now));
            }
        }
        let window = self.window;
        let w = map.entry(key.clone()).or_insert_with(|| Window::new(now));
        if now >= w.start + window {
            if let Some(s) = summary(&key, w) {
                self.ended.lock().unwrap_or_else(|p| p.into_inner()).push(s);
            }
            let holder = w.holder.take();
            *w = Window::new(now);
            w.holder = holder;
        }
        w
    }

    /// Removes the windows that have ended and returns their summaries.
    fn take_ended(&self, map: &mut HashMap<Key, Window>, now: DateTime<Utc>) -> Vec<NewEntry> {
        let mut out = Vec::new();
        map.retain(|key, w| {
            if now < w.start + self.window {
                return true;
            }
            out.extend(summary(key, w));
            false
        });
        out
    }

    /// The summary entries of every window that has ended, to be written
    /// to the log now; each is returned once.
    pub fn due_summaries(&self) -> Vec<NewEntry> {
        let now = self.clock.now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::mem::take(&mut *self.ended.lock().unwrap_or_else(|p| p.into_inner()));
        out.extend(self.take_ended(&mut map, now));
        out
    }

    /// Every summary, ended or not (when the pod stops).
    pub fn all_summaries(&self) -> Vec<NewEntry> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::mem::take(&mut *self.ended.lock().unwrap_or_else(|p| p.into_inner()));
        out.extend(map.iter().filter_map(|(k, w)| summary(k, w)));
        map.clear();
        out
    }
}

/// The shared window for keys that found the map full.
fn overflow(key: &Key) -> Key {
    match key {
        Key::Peer(_) => Key::Peer(Peer::V6Net(0)),
        Key::Token(_) => Key::Token(String::new()),
        Key::Company(_) => Key::Company(String::new()),
    }
}

/// How many refused requests a summary entry (action [`Action::Refusals`])
/// stands for, read back from the reason `summary` wrote.
pub fn summary_count(reason: &str) -> Option<u64> {
    reason
        .strip_prefix("invalid_token: ")?
        .split_once(" more requests ")?
        .0
        .parse()
        .ok()
}

/// One log entry standing for the refusals of `w` that were not logged.
fn summary(key: &Key, w: &Window) -> Option<NewEntry> {
    let (first, last) = (w.first_unlogged?, w.last_unlogged?);
    if w.unlogged == 0 {
        return None;
    }
    let (actor, client_id, whose) = match key {
        Key::Company(c) if !c.is_empty() => (
            Actor::Client(c.clone()),
            Some(c.clone()),
            "expired or revoked tokens".to_string(),
        ),
        Key::Peer(p) => (Actor::Anonymous, None, format!("unknown tokens from {p}")),
        _ => (Actor::Anonymous, None, "unknown tokens".to_string()),
    };
    Some(NewEntry {
        client_id,
        outcome: Outcome::Denied,
        reason: Some(format!(
            "invalid_token: {} more requests with {whose} refused from {} to {}, not logged one by one",
            w.unlogged,
            format_time(first),
            format_time(last)
        )),
        ..NewEntry::new(actor, Action::Refusals)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn setup() -> (ManualClock, Refusals) {
        let clock = ManualClock::new(Utc::now());
        let r = Refusals::new(RefusalLimits::default(), Arc::new(clock.clone()));
        (clock, r)
    }

    /// Guesses (tokens the vault does not know) are counted per peer, never
    /// per token: however many distinct ones arrive, they take no room in
    /// the map and never borrow a company's name from a shared window.
    #[test]
    fn guesses_take_no_room_and_never_count_as_a_company() {
        let (_clock, r) = setup();
        r.note(Refused {
            peer: Peer::Loopback,
            token: Some(&TokenHash::for_tests("stale")),
            company: Some("cli_a"),
        });
        let guesses: Vec<TokenHash> = (0..20_000)
            .map(|i| TokenHash::for_tests(&format!("guess-{i}")))
            .collect();
        for g in &guesses {
            r.note(Refused {
                peer: Peer::Loopback,
                token: Some(g),
                company: None,
            });
        }
        let map = r.windows.lock().unwrap();
        assert!(map.len() < 10, "{} windows", map.len());
        let company = map.get(&Key::Company("cli_a".into())).unwrap();
        assert_eq!(company.count, 1, "no guess counted as cli_a's");
    }

    #[test]
    fn a_flood_of_a_stale_token_is_logged_a_few_times_then_summarised() {
        let (clock, r) = setup();
        let (a, b) = (
            TokenHash::for_tests("hash-a"),
            TokenHash::for_tests("hash-b"),
        );
        let stale = Refused {
            peer: Peer::Loopback,
            token: Some(&a),
            company: Some("cli_a"),
        };
        let decisions: Vec<Decision> = (0..1_000).map(|_| r.note(stale)).collect();
        let logged = decisions.iter().filter(|d| d.log).count();
        assert_eq!(logged, LOGGED_PER_MINUTE as usize);
        assert!(!decisions[PER_TOKEN_PER_MINUTE as usize - 1].throttle);
        assert!(decisions[PER_TOKEN_PER_MINUTE as usize].throttle);
        assert!(r.token_throttled(&a));
        assert!(!r.token_throttled(&b));
        assert!(r.due_summaries().is_empty(), "the minute is not over");

        clock.advance(Duration::seconds(60));
        let summaries = r.due_summaries();
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        let s = &summaries[0];
        assert_eq!(s.client_id.as_deref(), Some("cli_a"));
        assert_eq!(s.action, Action::Refusals);
        assert!(
            s.reason.as_deref().unwrap().contains("995 more requests"),
            "{s:?}"
        );
        assert_eq!(s.reason.as_deref().and_then(summary_count), Some(995));
        assert!(r.due_summaries().is_empty(), "each summary is given once");
        assert!(!r.token_throttled(&a), "a new minute");
    }

    #[test]
    fn a_company_rotating_stale_tokens_is_counted_as_one() {
        let (_clock, r) = setup();
        let mut logged = 0;
        let mut throttled = 0;
        for n in 0..200 {
            let hash = TokenHash::for_tests(&format!("hash-{n}"));
            let d = r.note(Refused {
                peer: Peer::Loopback,
                token: Some(&hash),
                company: Some("cli_a"),
            });
            logged += usize::from(d.log);
            throttled += usize::from(d.throttle);
        }
        assert_eq!(logged, LOGGED_PER_MINUTE as usize);
        assert_eq!(throttled, 200 - PER_COMPANY_PER_MINUTE as usize);
        // A token throttled without reading the vault is still the company's.
        let summaries = r.all_summaries();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].client_id.as_deref(), Some("cli_a"));
    }

    #[test]
    fn unknown_tokens_are_counted_per_peer_whatever_the_loopback_address() {
        let (clock, r) = setup();
        let from = |ip: &str, n: usize| {
            let hash = TokenHash::for_tests(&format!("guess-{n}"));
            r.note(Refused {
                peer: Peer::of(ip.parse().unwrap()),
                token: Some(&hash),
                company: None,
            })
        };
        let mut decisions = Vec::new();
        for n in 0..100 {
            decisions.push(from(&format!("127.0.0.{}", n % 250 + 1), n));
        }
        assert_eq!(
            decisions.iter().filter(|d| d.log).count(),
            LOGGED_PER_MINUTE as usize
        );
        assert!(r.peer_throttled(Peer::Loopback));
        assert!(decisions[PER_PEER_PER_MINUTE as usize].throttle);
        assert!(!decisions[PER_PEER_PER_MINUTE as usize - 1].throttle);
        assert!(!r.peer_throttled(Peer::of("192.0.2.1".parse().unwrap())));
        clock.advance(Duration::minutes(1));
        let summaries = r.due_summaries();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].client_id, None);
        assert!(summaries[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("95 more requests with unknown tokens from this machine (loopback)"));
    }

    #[test]
    fn a_quiet_minute_leaves_no_summary() {
        let (clock, r) = setup();
        for _ in 0..LOGGED_PER_MINUTE {
            assert!(
                r.note(Refused {
                    peer: Peer::Loopback,
                    token: None,
                    company: None
                })
                .log
            );
        }
        clock.advance(Duration::minutes(5));
        assert!(r.due_summaries().is_empty());
        assert!(r.all_summaries().is_empty());
    }
}
