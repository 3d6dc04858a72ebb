//! Pod paths: the one normalizer every door uses.
//!
//! A pod path is Solid-style: `/contact/email` names a resource,
//! `/contact/` (ending in `/`) a container. Input may be percent-encoded (as
//! it arrives over HTTP); it is decoded segment by segment and checked once,
//! here. The CLI, the server and the app all call [`PodPath::parse`]; none
//! re-implements a rule.

use std::fmt;

/// Longest accepted path, in bytes, after decoding.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted segment, in bytes, after decoding.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The rule a rejected path broke. Its `Display` is the user-facing sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// Paths are absolute.
    MustStartWithSlash,
    /// `//` or a path made only of slashes beyond the root.
    EmptySegment,
    /// `.` or `..` segments, plain or encoded.
    DotSegment,
    /// `%2F` (an encoded `/`) or `%5C` (an encoded `\`).
    EncodedSlash,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    BadPercentEncoding,
    /// NUL or any other control character.
    ControlCharacter,
    /// A backslash, `?` or `#`.
    ReservedCharacter,
    /// Longer than [`MAX_PATH_BYTES`] or a segment longer than [`MAX_SEGMENT_BYTES`].
    TooLong,
}

impl PathRule {
    /// A short stable name, for JSON errors.
    pub fn name(self) -> &'static str {
        match self {
            PathRule::MustStartWithSlash => "must-start-with-slash",
            PathRule::EmptySegment => "empty-segment",
            PathRule::DotSegment => "dot-segment",
            PathRule::EncodedSlash => "encoded-slash",
            PathRule::BadPercentEncoding => "bad-percent-encoding",
            PathRule::ControlCharacter => "control-character",
            PathRule::ReservedCharacter => "reserved-character",
            PathRule::TooLong => "too-long",
        }
    }
}

impl fmt::Display for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            PathRule::MustStartWithSlash => "a path must start with /",
            PathRule::EmptySegment => "empty segments (//) are not allowed",
            PathRule::DotSegment => "'.' and '..' segments are not allowed",
            PathRule::EncodedSlash => "encoded slashes (%2F, %5C) are not allowed",
            PathRule::BadPercentEncoding => {
                "bad percent-encoding (% must be followed by two hex digits and decode to UTF-8)"
            }
            PathRule::ControlCharacter => "control characters (including NUL) are not allowed",
            PathRule::ReservedCharacter => "the characters \\ ? # are not allowed in a path",
            PathRule::TooLong => "too long (at most 1024 bytes, 255 per segment)",
        };
        f.write_str(text)
    }
}

/// A validated, normalized pod path.
///
/// The inner string is the decoded form, always starts with `/`, never has
/// empty, `.` or `..` segments; it ends with `/` exactly when it names a
/// container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodPath(String);

impl PodPath {
    /// The root container, `/`.
    pub fn root() -> Self {
        PodPath("/".to_string())
    }

    /// Parses and normalizes a path, decoding percent-encoding once.
    pub fn parse(raw: &str) -> Result<Self, PathRule> {
        if !raw.starts_with('/') {
            return Err(PathRule::MustStartWithSlash);
        }
        if raw.len() > MAX_PATH_BYTES * 3 {
            // Even fully encoded, this cannot decode to an acceptable length.
            return Err(PathRule::TooLong);
        }
        if raw == "/" {
            return Ok(Self::root());
        }
        let body = &raw[1..];
        let is_container = body.ends_with('/');
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut out = String::with_capacity(raw.len());
        for segment in body.split('/') {
            let decoded = decode_segment(segment)?;
            out.push('/');
            out.push_str(&decoded);
        }
        if is_container {
            out.push('/');
        }
        if out.len() > MAX_PATH_BYTES {
            return Err(PathRule::TooLong);
        }
        Ok(PodPath(out))
    }

    /// A path read back from the database, where only normalized paths are
    /// ever written: checked again, but not percent-decoded a second time.
    pub(crate) fn from_stored(text: &str) -> Result<Self, PathRule> {
        PodPath::parse(&text.replace('%', "%25"))
    }

    /// The resource named `name` inside this container. `name` is one
    /// literal segment, taken as it is: a `%` in it stays a `%` (it is never
    /// decoded again), and the usual rules apply.
    pub fn child(&self, name: &str) -> Result<PodPath, PathRule> {
        if !self.is_container() {
            return Err(PathRule::ReservedCharacter);
        }
        if name.is_empty() || name.contains('/') {
            return Err(PathRule::EmptySegment);
        }
        PodPath::parse(&format!("{}{}", self.0, name).replace('%', "%25"))
    }

    /// The normalized path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for containers (paths ending in `/`).
    pub fn is_container(&self) -> bool {
        self.0.ends_with('/')
    }

    /// Whether `self` is `scope` itself or, when `scope` is a container,
    /// anything under it. `/contact/` covers `/contact/email` but never
    /// `/contactx`; `/health` covers exactly `/health`.
    pub fn is_within(&self, scope: &PodPath) -> bool {
        if scope.is_container() {
            self.0.starts_with(&scope.0)
        } else {
            self.0 == scope.0
        }
    }

    /// The first segment, without slashes (`contact` for `/contact/email`);
    /// `None` for the root.
    pub fn first_segment(&self) -> Option<&str> {
        self.0[1..].split('/').next().filter(|s| !s.is_empty())
    }

    /// The container holding this path (`/contact/` for `/contact/email`);
    /// `None` for the root.
    pub fn parent(&self) -> Option<PodPath> {
        if self.0 == "/" {
            return None;
        }
        let trimmed = self.0.strip_suffix('/').unwrap_or(&self.0);
        let cut = trimmed.rfind('/').map(|i| i + 1).unwrap_or(1);
        Some(PodPath(trimmed[..cut].to_string()))
    }

    /// The last segment (`email` for `/contact/email`, `contact` for `/contact/`).
    pub fn name(&self) -> &str {
        let trimmed = self.0.strip_suffix('/').unwrap_or(&self.0);
        trimmed.rsplit('/').next().unwrap_or("")
    }
}

impl fmt::Display for PodPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serialized in the form [`PodPath::parse`] reads back: the decoded text,
/// with a literal `%` written `%25` (so `/100%` survives a round trip).
impl serde::Serialize for PodPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.contains('%') {
            s.serialize_str(&self.0.replace('%', "%25"))
        } else {
            s.serialize_str(&self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for PodPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PodPath::parse(&raw)
            .map_err(|rule| serde::de::Error::custom(format!("path {raw:?} rejected: {rule}")))
    }
}

impl AsRef<str> for PodPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Parses a path and turns a broken rule into the core's error.
pub fn parse_path(raw: &str) -> crate::Result<PodPath> {
    PodPath::parse(raw).map_err(|rule| crate::Error::PathRejected {
        path: raw.to_string(),
        rule,
    })
}

/// The name a new resource gets from a `Slug` header (RFC 5023 §9.7: the
/// value is percent-encoded UTF-8, decoded once here): letters, digits and
/// `-_.` kept, at most 64 of them; `None` when nothing usable is left.
pub fn slug_name(slug: &str) -> Option<String> {
    let decoded = percent_decode_lossy(slug);
    let name: String = decoded
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(64)
        .collect();
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// Percent-decodes once; a `%` not followed by two hex digits stays as it is.
fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_segment(segment: &str) -> Result<String, PathRule> {
    if segment.is_empty() {
        return Err(PathRule::EmptySegment);
    }
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(PathRule::BadPercentEncoding)?;
            let value = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(PathRule::BadPercentEncoding)?;
            if value == b'/' || value == b'\\' {
                return Err(PathRule::EncodedSlash);
            }
            decoded.push(value);
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| PathRule::BadPercentEncoding)?;
    if text.chars().any(char::is_control) {
        return Err(PathRule::ControlCharacter);
    }
    if text.contains(['\\', '?', '#']) {
        return Err(PathRule::ReservedCharacter);
    }
    if text == "." || text == ".." {
        return Err(PathRule::DotSegment);
    }
    if text.len() > MAX_SEGMENT_BYTES {
        return Err(PathRule::TooLong);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        PodPath::parse(raw).unwrap().as_str().to_string()
    }

    fn rule(raw: &str) -> PathRule {
        PodPath::parse(raw).unwrap_err()
    }

    #[test]
    fn a_child_and_a_slug_are_decoded_exactly_once() {
        // A container whose name holds a literal `%41` keeps it.
        let odd = PodPath::parse("/notes%2541/").unwrap();
        assert_eq!(odd.as_str(), "/notes%41/");
        assert_eq!(odd.child("x").unwrap().as_str(), "/notes%41/x");
        assert_eq!(
            PodPath::parse("/a/")
                .unwrap()
                .child("b%41")
                .unwrap()
                .as_str(),
            "/a/b%41"
        );
        assert!(PodPath::parse("/a/").unwrap().child("..").is_err());
        assert!(PodPath::parse("/a").unwrap().child("b").is_err());
        // RFC 5023: the Slug is percent-encoded once.
        assert_eq!(slug_name("a%2541b").as_deref(), Some("a41b"));
        assert_eq!(slug_name("order%201").as_deref(), Some("order1"));
        assert_eq!(slug_name("caf%C3%A9").as_deref(), Some("caf"));
        assert_eq!(slug_name("%2e%2e"), None);
        assert_eq!(slug_name("100%"), Some("100".into()));
        assert_eq!(slug_name(&"x".repeat(300)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn serde_round_trips_every_path() {
        for raw in ["/", "/contact/email", "/100%25", "/my%20notes/", "/a%2525b"] {
            let p = PodPath::parse(raw).unwrap();
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<PodPath>(&json).unwrap(), p, "{raw}");
        }
    }

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/contact/email"), "/contact/email");
        assert_eq!(ok("/contact/"), "/contact/");
        assert_eq!(ok("/my%20notes/x"), "/my notes/x");
        assert_eq!(ok("/caf%C3%A9"), "/café");
        assert_eq!(ok("/100%25"), "/100%");
    }

    #[test]
    fn rejects_each_rule() {
        assert_eq!(rule("contact"), PathRule::MustStartWithSlash);
        assert_eq!(rule(""), PathRule::MustStartWithSlash);
        assert_eq!(rule("//"), PathRule::EmptySegment);
        assert_eq!(rule("/a//b"), PathRule::EmptySegment);
        assert_eq!(rule("/a/./b"), PathRule::DotSegment);
        assert_eq!(rule("/a/../b"), PathRule::DotSegment);
        assert_eq!(rule("/a/%2e%2e/b"), PathRule::DotSegment);
        assert_eq!(rule("/a/%2E/b"), PathRule::DotSegment);
        assert_eq!(rule("/a/.."), PathRule::DotSegment);
        assert_eq!(rule("/a%2Fb"), PathRule::EncodedSlash);
        assert_eq!(rule("/a%2fb"), PathRule::EncodedSlash);
        assert_eq!(rule("/a%5Cb"), PathRule::EncodedSlash);
        assert_eq!(rule("/a%2"), PathRule::BadPercentEncoding);
        assert_eq!(rule("/a%zz"), PathRule::BadPercentEncoding);
        assert_eq!(rule("/a%ff"), PathRule::BadPercentEncoding);
        assert_eq!(rule("/a%00"), PathRule::ControlCharacter);
        assert_eq!(rule("/a\0b"), PathRule::ControlCharacter);
        assert_eq!(rule("/a\nb"), PathRule::ControlCharacter);
        assert_eq!(rule("/a\\b"), PathRule::ReservedCharacter);
        assert_eq!(rule("/a?b"), PathRule::ReservedCharacter);
        assert_eq!(rule(&format!("/{}", "a".repeat(256))), PathRule::TooLong);
        let long = "/abcdefghij".repeat(103);
        assert_eq!(rule(&long), PathRule::TooLong);
    }

    #[test]
    fn double_encoding_is_decoded_once_only() {
        // %252e decodes to the literal text "%2e", a harmless name.
        assert_eq!(ok("/a/%252e%252e/b"), "/a/%2e%2e/b");
    }

    #[test]
    fn containment_respects_segment_boundaries() {
        let p = |s| PodPath::parse(s).unwrap();
        assert!(p("/contact/email").is_within(&p("/contact/")));
        assert!(p("/contact/").is_within(&p("/contact/")));
        assert!(p("/contact/a/b").is_within(&p("/contact/")));
        assert!(!p("/contactx").is_within(&p("/contact/")));
        assert!(!p("/contact").is_within(&p("/contact/")));
        assert!(p("/health").is_within(&p("/health")));
        assert!(!p("/health/x").is_within(&p("/health")));
        assert!(!p("/healthy").is_within(&p("/health")));
        assert!(p("/anything").is_within(&PodPath::root()));
    }

    #[test]
    fn parent_name_and_first_segment() {
        let p = |s| PodPath::parse(s).unwrap();
        assert_eq!(p("/contact/email").parent(), Some(p("/contact/")));
        assert_eq!(p("/contact/").parent(), Some(p("/")));
        assert_eq!(p("/x").parent(), Some(p("/")));
        assert_eq!(PodPath::root().parent(), None);
        assert_eq!(p("/contact/email").name(), "email");
        assert_eq!(p("/contact/").name(), "contact");
        assert_eq!(p("/contact/email").first_segment(), Some("contact"));
        assert_eq!(PodPath::root().first_segment(), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever arrives, parsing never panics; what it accepts is
            /// canonical (parsing its percent-encoded form gives it back) and
            /// has no segment that could climb out of a container.
            #[test]
            fn accepted_paths_are_canonical_and_safe(raw in "(/([a-z.%/\\\\]|%2[eEfF]|%00|%5[cC]){0,6}){1,5}/?") {
                if let Ok(p) = PodPath::parse(&raw) {
                    let s = p.as_str();
                    prop_assert!(s.starts_with('/'));
                    prop_assert!(!s.contains("//"));
                    for seg in s.split('/') {
                        prop_assert!(seg != "." && seg != "..", "{s}");
                    }
                    prop_assert!(!s.contains('\\') && !s.contains('\0'));
                    let reencoded = s.replace('%', "%25");
                    let again = PodPath::parse(&reencoded);
                    prop_assert_eq!(again, Ok(p.clone()));
                }
            }

            /// Arbitrary text never panics the parser.
            #[test]
            fn arbitrary_text_never_panics(raw in any::<String>()) {
                let _ = PodPath::parse(&raw);
                let _ = PodPath::parse(&format!("/{raw}"));
            }

            /// A resource is within a container exactly when its text starts
            /// with the container's text.
            #[test]
            fn containment_is_prefix_on_segment_boundary(a in "[a-c]{1,3}", b in "[a-c]{1,3}", c in "[a-c]{1,3}") {
                let container = PodPath::parse(&format!("/{a}/")).unwrap();
                let inside = PodPath::parse(&format!("/{a}/{b}")).unwrap();
                let beside = PodPath::parse(&format!("/{a}{c}")).unwrap();
                prop_assert!(inside.is_within(&container));
                prop_assert!(!beside.is_within(&container));
            }
        }
    }
}
