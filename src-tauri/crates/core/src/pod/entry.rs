//! The access-log entries of requests under `/pod/`: each one, allowed,
//! refused or a refused token's, is built by [`entry`], so its shape is
//! decided in one place. (Refusal summaries are `limits::refusals`'; the
//! OAuth endpoints' entries are the `sharing` modules'.)

use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::sharing::grant::TokenRejected;

use super::Method;

/// The access-log entry of a request by `client_id` (`None`: a stranger,
/// logged as `anonymous`) under `grant_id`: reads, deletes and writes by
/// method.
pub fn entry(
    client_id: Option<&str>,
    method: &Method,
    path: &str,
    outcome: Outcome,
    reason: Option<String>,
    grant_id: Option<&str>,
) -> NewEntry {
    let action = match method {
        Method::Get | Method::Head => Action::Read,
        Method::Delete => Action::Delete,
        Method::Put | Method::Post | Method::Patch | Method::Other(_) => Action::Write,
    };
    NewEntry {
        actor: client_id.map_or(Actor::Anonymous, |id| Actor::Client(id.to_string())),
        client_id: client_id.map(str::to_string),
        action,
        method: Some(method.clone()),
        path: Some(path.to_string()),
        outcome,
        reason,
        grant_id: grant_id.map(str::to_string),
    }
}

/// The entry of a refused token at `raw_path` (as sent). A stale token is
/// still its company's, so the person sees who keeps knocking after a
/// revocation; `rejected` is `None` when the token was refused from the
/// refusal counts alone.
pub fn token_refused(
    method: &Method,
    raw_path: &str,
    rejected: Option<&TokenRejected>,
) -> NewEntry {
    let reason = format!(
        "invalid_token: {}",
        rejected.map_or_else(|| "refused too often".to_string(), ToString::to_string)
    );
    let holder = rejected.and_then(TokenRejected::holder);
    entry(
        holder.map(|h| h.client_id.as_str()),
        method,
        raw_path,
        Outcome::Denied,
        Some(reason),
        holder.map(|h| h.grant_id.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::grant::Holder;
    use crate::sharing::token::Malformed;

    #[test]
    fn actions_follow_the_method() {
        let action = |m: Method| entry(None, &m, "/a", Outcome::Allowed, None, None).action;
        assert_eq!(action(Method::Get), Action::Read);
        assert_eq!(action(Method::Head), Action::Read);
        assert_eq!(action(Method::Delete), Action::Delete);
        assert_eq!(action(Method::Put), Action::Write);
        assert_eq!(action(Method::Post), Action::Write);
        assert_eq!(action(Method::from_text("PATCH")), Action::Write);
    }

    #[test]
    fn a_refused_token_is_its_holders_or_anonymous() {
        let holder = Holder {
            client_id: "cli_a".into(),
            grant_id: "grt_a".into(),
        };
        let stale = token_refused(
            &Method::Get,
            "/contact/%65mail",
            Some(&TokenRejected::Revoked(holder)),
        );
        assert_eq!(stale.actor, Actor::Client("cli_a".into()));
        assert_eq!(stale.client_id.as_deref(), Some("cli_a"));
        assert_eq!(stale.grant_id.as_deref(), Some("grt_a"));
        assert_eq!(stale.path.as_deref(), Some("/contact/%65mail"));
        assert_eq!(
            stale.reason.as_deref(),
            Some("invalid_token: the token has been revoked")
        );
        assert_eq!(stale.outcome, Outcome::Denied);

        let malformed = TokenRejected::Malformed(Malformed::BadChecksum);
        let guess = token_refused(&Method::Put, "/a", Some(&malformed));
        assert_eq!(guess.actor, Actor::Anonymous);
        assert_eq!((guess.client_id, guess.grant_id), (None, None));
        assert_eq!(
            guess.reason.as_deref(),
            Some("invalid_token: the token's checksum does not match (mistyped?)")
        );
        let counted = token_refused(&Method::Get, "/a", None);
        assert_eq!(
            counted.reason.as_deref(),
            Some("invalid_token: refused too often")
        );
        assert_eq!(counted.method, Some(Method::Get));
    }
}
