//! `Range` and `If-Range` for one resource of a known size (RFC 9110 §14,
//! §13.1.5), as pure functions: which bytes a read sends.
//!
//! One range of bytes is served (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
//! Several ranges, another unit, or a header that does not parse are
//! ignored and the whole content is sent, as the RFC allows a server to do.
//! A range that starts at or past the end (or a suffix of zero bytes) is
//! unsatisfiable: 416 with the size. `If-Range` with the current entity tag
//! (strong comparison) keeps the range; anything else in it (another tag, a
//! weak one, a date: the pod sends no `Last-Modified`) sends the whole
//! content. The door parses the headers ([`RangeRequest::from_headers`]);
//! the read decides against the version it found ([`select`]).

/// What a `Range` header asks for, before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=a-b`: from `a` to `b`, both included (`a <= b`).
    FromTo(u64, u64),
    /// `bytes=a-`: from `a` to the end.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// A read's range, as the door found it in the request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    pub spec: RangeSpec,
    /// The `If-Range` precondition, as sent.
    pub if_range: Option<String>,
}

impl RangeRequest {
    /// The range a read asks for in its `Range` and `If-Range` headers, or
    /// `None` when there is none or it is to be ignored (see [`parse_range`]).
    pub fn from_headers(range: Option<&str>, if_range: Option<&str>) -> Option<RangeRequest> {
        Some(RangeRequest {
            spec: parse_range(range?)?,
            if_range: if_range.map(str::to_string),
        })
    }
}

/// Bytes `start..=end` of a resource's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// The last byte sent (included), as `Content-Range` writes it.
    pub end: u64,
}

impl ByteRange {
    /// How many bytes the range holds (never zero).
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What a read of a resource sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The whole content (200).
    Whole,
    /// One part of it (206 with `Content-Range`).
    Part(ByteRange),
    /// Nothing: the range lies past the end (416 with the size).
    Unsatisfiable,
}

/// Parses a `Range` header's value: one byte range, or `None` when the
/// header is to be ignored (another unit, several ranges, bad syntax, or a
/// `bytes=a-b` with `b < a`). Numbers too large for 64 bits count as the
/// largest one (a start that large is past any end).
pub fn parse_range(header: &str) -> Option<RangeSpec> {
    let (unit, set) = header.trim().split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    // The list may carry empty elements (RFC 9110 §5.6.1); one range only.
    let mut ranges = set.split(',').map(str::trim).filter(|r| !r.is_empty());
    let one = ranges.next()?;
    if ranges.next().is_some() {
        return None;
    }
    let (first, last) = one.split_once('-')?;
    match (first, last) {
        ("", n) => Some(RangeSpec::Suffix(number(n)?)),
        (a, "") => Some(RangeSpec::From(number(a)?)),
        (a, b) => {
            let (a, b) = (number(a)?, number(b)?);
            (a <= b).then_some(RangeSpec::FromTo(a, b))
        }
    }
}

/// A run of ASCII digits, saturating at `u64::MAX`.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Whether an `If-Range` value lets the range through for the version whose
/// entity tag is `etag`: only that tag, strongly compared (a weak tag or a
/// date never matches).
pub fn if_range_holds(if_range: &str, etag: &str) -> bool {
    if_range.trim() == format!("\"{etag}\"")
}

/// What a read sends of content of `size` bytes whose entity tag is `etag`,
/// given the range it asked for.
pub fn select(range: Option<&RangeRequest>, etag: &str, size: u64) -> Selection {
    let Some(range) = range else {
        return Selection::Whole;
    };
    if let Some(condition) = &range.if_range {
        if !if_range_holds(condition, etag) {
            return Selection::Whole;
        }
    }
    let (start, end) = match range.spec {
        RangeSpec::FromTo(a, b) => (a, b),
        RangeSpec::From(a) => (a, u64::MAX),
        RangeSpec::Suffix(0) => return Selection::Unsatisfiable,
        // Empty content has no last bytes to send: all of it (nothing).
        RangeSpec::Suffix(_) if size == 0 => return Selection::Whole,
        RangeSpec::Suffix(n) => (size - n.min(size), u64::MAX),
    };
    if start >= size {
        return Selection::Unsatisfiable;
    }
    Selection::Part(ByteRange {
        start,
        end: end.min(size - 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn part(start: u64, end: u64) -> Selection {
        Selection::Part(ByteRange { start, end })
    }

    /// The selection of a bare `Range` header over `size` bytes.
    fn of(header: &str, size: u64) -> Selection {
        select(
            RangeRequest::from_headers(Some(header), None).as_ref(),
            "e1",
            size,
        )
    }

    #[test]
    fn the_three_forms_of_one_byte_range() {
        assert_eq!(parse_range("bytes=0-99"), Some(RangeSpec::FromTo(0, 99)));
        assert_eq!(parse_range("bytes=100-"), Some(RangeSpec::From(100)));
        assert_eq!(parse_range("bytes=-5"), Some(RangeSpec::Suffix(5)));
        assert_eq!(of("bytes=0-99", 1000), part(0, 99));
        assert_eq!(of("bytes=100-", 1000), part(100, 999));
        assert_eq!(of("bytes=-5", 1000), part(995, 999));
        // The unit is case-insensitive; spaces around the range are allowed.
        assert_eq!(of("Bytes= 2-3 ", 10), part(2, 3));
        assert_eq!(of("bytes=5-5", 10), part(5, 5));
    }

    #[test]
    fn ranges_past_the_end_are_cut_to_it() {
        assert_eq!(of("bytes=5-1000", 10), part(5, 9));
        assert_eq!(of("bytes=-1000", 10), part(0, 9));
        assert_eq!(of("bytes=9-", 10), part(9, 9));
        // Past 64 bits: the largest number, so still the end.
        assert_eq!(of("bytes=0-99999999999999999999999", 10), part(0, 9));
    }

    #[test]
    fn a_range_starting_at_or_past_the_end_is_unsatisfiable() {
        assert_eq!(of("bytes=10-", 10), Selection::Unsatisfiable);
        assert_eq!(of("bytes=10-20", 10), Selection::Unsatisfiable);
        assert_eq!(
            of("bytes=99999999999999999999999-", 10),
            Selection::Unsatisfiable
        );
        assert_eq!(of("bytes=-0", 10), Selection::Unsatisfiable);
        assert_eq!(of("bytes=0-", 0), Selection::Unsatisfiable);
        // Empty content has no last bytes: the whole (empty) answer.
        assert_eq!(of("bytes=-5", 0), Selection::Whole);
    }

    #[test]
    fn several_ranges_or_another_unit_send_the_whole_content() {
        for header in [
            "bytes=0-1,5-6",
            "bytes=0-1, -2",
            "items=0-1",
            "bytes 0-1",
            "none",
        ] {
            assert_eq!(parse_range(header), None, "{header}");
            assert_eq!(of(header, 10), Selection::Whole, "{header}");
        }
        // Empty list elements are not ranges.
        assert_eq!(parse_range("bytes=,0-1,"), Some(RangeSpec::FromTo(0, 1)));
    }

    #[test]
    fn a_malformed_range_is_ignored() {
        for header in [
            "bytes=",
            "bytes=-",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=1 - 2",
            "bytes=0x10-",
            "bytes=--1",
            "",
        ] {
            assert_eq!(parse_range(header), None, "{header:?}");
            assert_eq!(of(header, 10), Selection::Whole, "{header:?}");
        }
        assert_eq!(RangeRequest::from_headers(None, Some("\"e1\"")), None);
    }

    #[test]
    fn if_range_keeps_the_range_only_for_the_same_strong_tag() {
        let with = |if_range: &str| {
            let r = RangeRequest::from_headers(Some("bytes=0-1"), Some(if_range));
            select(r.as_ref(), "e1", 10)
        };
        assert_eq!(with("\"e1\""), part(0, 1));
        assert_eq!(with(" \"e1\" "), part(0, 1));
        assert_eq!(with("\"e0\""), Selection::Whole);
        assert_eq!(with("W/\"e1\""), Selection::Whole, "weak never matches");
        assert_eq!(with("e1"), Selection::Whole, "unquoted is not a tag");
        assert_eq!(with("Sat, 28 Nov 2026 10:00:00 GMT"), Selection::Whole);
        // A mismatch sends the whole content even for an unsatisfiable range.
        let past = RangeRequest::from_headers(Some("bytes=50-"), Some("\"e0\""));
        assert_eq!(select(past.as_ref(), "e1", 10), Selection::Whole);
    }

    proptest! {
        /// Any range the pod sends lies inside the content, and is exactly
        /// the bytes asked for where they exist.
        #[test]
        fn a_satisfiable_range_lies_inside_the_content(
            a in 0u64..2_000, b in 0u64..2_000, n in 0u64..2_000, size in 0u64..1_500,
            form in 0u8..3,
        ) {
            let header = match form {
                0 => format!("bytes={a}-{b}"),
                1 => format!("bytes={a}-"),
                _ => format!("bytes=-{n}"),
            };
            match of(&header, size) {
                Selection::Part(r) => {
                    prop_assert!(r.start <= r.end && r.end < size);
                    match form {
                        0 => prop_assert!(r.start == a && r.end == b.min(size - 1)),
                        1 => prop_assert!(r.start == a && r.end == size - 1),
                        _ => prop_assert!(r.len() == n.min(size) && r.end == size - 1),
                    }
                }
                Selection::Unsatisfiable => prop_assert!(
                    (form != 2 && a >= size) || (form == 2 && n == 0)
                ),
                Selection::Whole => prop_assert!(
                    (form == 0 && b < a) || (form == 2 && size == 0 && n > 0)
                ),
            }
        }
    }
}
