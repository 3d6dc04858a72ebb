//! Request objects (RFC 9101) as a company signs them, and spoiled on
//! purpose in each way the pod must refuse.

use serde_json::{json, Value};

use super::{jose, now, unique, Company};

/// What is wrong with a request object, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// `exp` in the past.
    Expired,
    /// `iat` five minutes ahead.
    NotYetValid,
    /// `exp - iat` over 600 s.
    LongLifetime,
    /// Signed by a key that is not in the JWK Set (same `kid`).
    WrongKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// The signature's last bytes changed.
    BadSignature,
    /// `alg: EdDSA` and no signature at all (`header.claims.`).
    MissingSignature,
    /// `aud` is not `custodian`.
    WrongAudience,
    /// `iss` is another company.
    IssuerNotClientId,
    /// A `kid` the JWK Set does not have.
    UnknownKid,
}

/// A request object to publish.
#[derive(Debug, Clone)]
pub struct Ask {
    pub details: Value,
    pub state: String,
    pub grant_lifetime: u64,
    pub jti: String,
    pub flaw: Flaw,
}

impl Ask {
    /// A good request for `details`, fresh `state` and `jti`, 30 days.
    pub fn new(details: Value) -> Self {
        Ask {
            details,
            state: unique("state"),
            grant_lifetime: 30 * 24 * 3600,
            jti: unique("jti"),
            flaw: Flaw::None,
        }
    }
    pub fn flaw(mut self, flaw: Flaw) -> Self {
        self.flaw = flaw;
        self
    }
    pub fn lifetime(mut self, seconds: u64) -> Self {
        self.grant_lifetime = seconds;
        self
    }
    pub fn jti(mut self, jti: &str) -> Self {
        self.jti = jti.to_string();
        self
    }
}

pub(super) fn request_object(c: &Company, client_id: &str, another: &str, ask: &Ask) -> String {
    let iat = now();
    let (iat, exp) = match ask.flaw {
        // Past any verifier's clock tolerance (jwt-simple's is 15 minutes).
        Flaw::Expired => (iat - 2000, iat - 1700),
        Flaw::NotYetValid => (iat + 300, iat + 600),
        Flaw::LongLifetime => (iat, iat + 3600),
        _ => (iat, iat + 300),
    };
    let iss = if ask.flaw == Flaw::IssuerNotClientId {
        another
    } else {
        client_id
    };
    let aud = if ask.flaw == Flaw::WrongAudience {
        "someone-else"
    } else {
        "custodian"
    };
    let claims = json!({
        "iss": iss, "aud": aud, "iat": iat, "exp": exp, "jti": ask.jti,
        "authorization_details": ask.details, "grant_lifetime": ask.grant_lifetime,
        "state": ask.state,
    });
    let kid = if ask.flaw == Flaw::UnknownKid {
        "a-key-nobody-has"
    } else {
        &c.kid
    };
    let header = json!({"alg": "EdDSA", "typ": jose::REQUEST_TYP, "kid": kid});
    match ask.flaw {
        Flaw::AlgNone => jose::unsigned(&claims),
        Flaw::WrongKey => jose::sign(&c.stranger, &header, &claims),
        Flaw::BadSignature => {
            let mut jws = jose::sign(&c.key, &header, &claims);
            // Flip a bit inside the signature (not in its last character,
            // whose low bits base64url leaves unused).
            let at = jws.len() - 5;
            let flipped = if &jws[at..at + 1] == "A" { "B" } else { "A" };
            jws.replace_range(at..at + 1, flipped);
            jws
        }
        Flaw::MissingSignature => {
            let jws = jose::sign(&c.key, &header, &claims);
            let cut = jws.rfind('.').map_or(jws.len(), |i| i + 1);
            jws[..cut].to_string()
        }
        _ => jose::sign(&c.key, &header, &claims),
    }
}
