//! The path parser: every request path, `Slug`, CLI argument and stored
//! path goes through `PodPath::parse`. Beyond "never panics", a path it
//! accepts must be in normal form: it parses again to itself, has no dot or
//! empty segments, and lies within its parent and the root.
#![no_main]

use custodian_core::PodPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = PodPath::parse(text) else {
        return;
    };
    let s = path.as_str();
    assert!(s.starts_with('/'), "{s:?}");
    // Stored paths are read back by escaping '%' once (`from_stored`): the
    // normal form must survive that round trip unchanged.
    let again = PodPath::parse(&s.replace('%', "%25"))
        .unwrap_or_else(|rule| panic!("{s:?} does not parse again: {rule:?}"));
    assert_eq!(again, path);
    if s != "/" {
        let body = s.strip_prefix('/').unwrap_or(s);
        let body = body.strip_suffix('/').unwrap_or(body);
        for segment in body.split('/') {
            assert!(
                !segment.is_empty() && segment != "." && segment != "..",
                "{s:?} has segment {segment:?}"
            );
            assert!(!segment.chars().any(char::is_control), "{s:?}");
        }
    }
    assert!(path.is_within(&PodPath::root()));
    assert!(path.is_within(&path));
    if let Some(parent) = path.parent() {
        assert!(parent.is_container(), "{s:?} → {:?}", parent.as_str());
        assert!(
            path.is_within(&parent),
            "{s:?} not within {:?}",
            parent.as_str()
        );
        assert!(!parent.is_within(&path) || parent == path);
    }
});
