//! What a company may do: RFC 9396 authorization details of type
//! `pod_access`, and the one scope matcher every door uses.
//!
//! ```json
//! {"type": "pod_access",
//!  "paths": ["/contact/", "/preferences/communication"],
//!  "actions": ["read"],
//!  "datatypes": ["contact", "preferences"],
//!  "purpose": "Delivering your orders"}
//! ```
//!
//! Sensitive data (health, finance, location, and anything marked
//! sensitive) is never covered by a path alone: a granted detail covers it
//! only when the person ticked its category explicitly (`sensitive`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::category::{Category, Sensitivity};
use crate::data::path::PodPath;
use crate::data::resource::ResourceMeta;

/// The only authorization details type.
pub const POD_ACCESS: &str = "pod_access";
/// Longest accepted purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;
/// Most details in one request, and paths in one detail.
pub const MAX_DETAILS: usize = 16;
pub const MAX_PATHS: usize = 32;
/// Largest accepted `authorization_details` text, in bytes: room for the
/// most details and paths a person could read, and no more (a stranger's
/// ask is stored in the vault before anyone has agreed to anything).
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;

/// What a grant lets a company do at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// GET a resource or a container listing.
    Read,
    /// POST new resources only.
    Append,
    /// PUT, POST and DELETE.
    Write,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Append => "append",
            Action::Write => "write",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `pod_access` authorization detail, as asked or as granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodAccess {
    /// Always `pod_access`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Containers (ending in `/`) cover what is under them; other paths
    /// cover exactly that resource.
    pub paths: Vec<PodPath>,
    pub actions: Vec<Action>,
    /// When not empty, only resources of these categories are covered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datatypes: Vec<Category>,
    /// Sensitive categories the person ticked one by one (grants only; a
    /// company cannot ask for this field, only for datatypes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<Category>,
    /// Why the company wants it, in its own words. Required.
    pub purpose: String,
}

/// Why a company's authorization details were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDetails(pub String);

impl fmt::Display for InvalidDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses and checks the `authorization_details` a company sent (a JSON array).
pub fn parse_requested(json: &str) -> Result<Vec<PodAccess>, InvalidDetails> {
    let bad = |m: String| InvalidDetails(m);
    if json.len() > MAX_DETAILS_BYTES {
        return Err(bad(format!(
            "authorization_details is {} bytes; at most {MAX_DETAILS_BYTES} are accepted",
            json.len()
        )));
    }
    let details: Vec<PodAccess> =
        serde_json::from_str(json).map_err(|e| bad(format!("authorization_details: {e}")))?;
    check_details(&details, false)?;
    Ok(details)
}

/// The rules every set of details keeps, as asked by a company or as
/// granted (`granted`: the person's sensitive ticks may be there).
pub fn check_details(details: &[PodAccess], granted: bool) -> Result<(), InvalidDetails> {
    let bad = |m: String| InvalidDetails(m);
    if details.is_empty() {
        return Err(bad(
            "authorization_details is empty: ask for at least one pod_access detail".into(),
        ));
    }
    if details.len() > MAX_DETAILS {
        return Err(bad(format!("at most {MAX_DETAILS} authorization details")));
    }
    for d in details {
        if d.kind != POD_ACCESS {
            return Err(bad(format!(
                "unsupported authorization details type {:?}; only pod_access",
                d.kind
            )));
        }
        if d.paths.is_empty() || d.paths.len() > MAX_PATHS {
            return Err(bad(format!("each detail needs 1 to {MAX_PATHS} paths")));
        }
        if d.actions.is_empty() {
            return Err(bad(
                "each detail needs at least one action (read, append, write)".into(),
            ));
        }
        if !granted && !d.sensitive.is_empty() {
            return Err(bad(
                "\"sensitive\" is set by the person when granting, not requested".into(),
            ));
        }
        if let Some(c) = d.sensitive.iter().find(|c| !c.is_sensitive()) {
            return Err(bad(format!("{c} is not a sensitive category")));
        }
        let purpose = d.purpose.trim();
        if purpose.is_empty() {
            return Err(bad("purpose is required: say why you want this data".into()));
        }
        if purpose.chars().count() > MAX_PURPOSE_CHARS || purpose.chars().any(char::is_control) {
            return Err(bad(format!(
                "purpose must be one line of at most {MAX_PURPOSE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// The facts about a resource the matcher needs.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub path: &'a PodPath,
    pub category: Category,
    pub sensitivity: Sensitivity,
}

impl<'a> Target<'a> {
    /// The facts about an existing resource.
    pub fn of(meta: &'a ResourceMeta) -> Self {
        Target {
            path: &meta.path,
            category: meta.category,
            // Never less than its category implies, whatever a row says.
            sensitivity: Sensitivity::for_category(
                meta.category,
                meta.sensitivity == Sensitivity::Sensitive,
            ),
        }
    }
}

impl PodAccess {
    /// Whether this detail lets `action` happen on an existing resource.
    pub fn covers(&self, target: &Target<'_>, action: Action) -> bool {
        self.actions.contains(&action)
            && self.paths.iter().any(|scope| target.path.is_within(scope))
            && (self.datatypes.is_empty() || self.datatypes.contains(&target.category))
            && (target.sensitivity == Sensitivity::Normal
                || self.sensitive.contains(&target.category))
    }

    /// Whether this detail lets `action` happen at a path where nothing is
    /// yet (creating a resource: its category is the one the path implies).
    pub fn covers_new(&self, path: &PodPath, action: Action) -> bool {
        let category = Category::infer_from_path(path);
        let target = Target {
            path,
            category,
            sensitivity: Sensitivity::for_category(category, false),
        };
        self.covers(&target, action)
    }

    /// Whether this detail lets a container be listed (the container itself
    /// lies inside a granted container).
    pub fn covers_listing(&self, container: &PodPath) -> bool {
        self.actions.contains(&Action::Read)
            && self
                .paths
                .iter()
                .any(|scope| scope.is_container() && container.is_within(scope))
    }
}

/// Whether any detail allows it.
pub fn allows(details: &[PodAccess], target: &Target<'_>, action: Action) -> bool {
    details.iter().any(|d| d.covers(target, action))
}

/// The sensitive categories a request asks for by datatype, for the person
/// to tick or not.
pub fn sensitive_categories_asked(details: &[PodAccess]) -> Vec<Category> {
    let mut out: Vec<Category> = details
        .iter()
        .flat_map(|d| d.datatypes.iter().copied())
        .filter(|c| c.is_sensitive())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `granted` is no wider than `asked`: every granted detail must fit
/// inside some asked detail (paths within, actions and datatypes subsets).
pub fn is_within_request(granted: &[PodAccess], asked: &[PodAccess]) -> bool {
    granted.iter().all(|g| {
        asked.iter().any(|a| {
            g.paths
                .iter()
                .all(|gp| a.paths.iter().any(|ap| gp.is_within(ap)))
                && g.actions.iter().all(|x| a.actions.contains(x))
                && (a.datatypes.is_empty()
                    || (!g.datatypes.is_empty()
                        && g.datatypes.iter().all(|x| a.datatypes.contains(x))))
                && g.sensitive
                    .iter()
                    .all(|c| a.datatypes.contains(c) || a.datatypes.is_empty())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PodPath {
        PodPath::parse(s).unwrap()
    }

    fn detail(paths: &[&str], actions: &[Action]) -> PodAccess {
        PodAccess {
            kind: POD_ACCESS.into(),
            paths: paths.iter().map(|s| p(s)).collect(),
            actions: actions.to_vec(),
            datatypes: vec![],
            sensitive: vec![],
            purpose: "Delivering your orders".into(),
        }
    }

    fn target(path: &PodPath, category: Category) -> Target<'_> {
        Target {
            path,
            category,
            sensitivity: Sensitivity::for_category(category, false),
        }
    }

    #[test]
    fn parses_the_design_example() {
        let json = r#"[{"type": "pod_access", "paths": ["/contact/", "/preferences/communication"],
            "actions": ["read"], "datatypes": ["contact", "preferences"], "purpose": "Delivering your orders"}]"#;
        let d = parse_requested(json).unwrap();
        assert_eq!(
            d[0].paths,
            [p("/contact/"), p("/preferences/communication")]
        );
        assert_eq!(d[0].datatypes, [Category::Contact, Category::Preferences]);
    }

    #[test]
    fn refuses_bad_details_with_a_reason() {
        let cases = [
            ("[]", "empty"),
            (
                r#"[{"type": "payment", "paths": ["/x"], "actions": ["read"], "purpose": "p"}]"#,
                "unsupported",
            ),
            (
                r#"[{"type": "pod_access", "paths": ["/x"], "actions": ["read"], "purpose": "  "}]"#,
                "purpose is required",
            ),
            (
                r#"[{"type": "pod_access", "paths": ["/x"], "actions": ["read"]}]"#,
                "missing field `purpose`",
            ),
            (
                r#"[{"type": "pod_access", "paths": ["/a/../b"], "actions": ["read"], "purpose": "p"}]"#,
                "rejected",
            ),
            (
                r#"[{"type": "pod_access", "paths": ["/x"], "actions": ["delete"], "purpose": "p"}]"#,
                "unknown variant",
            ),
            (
                r#"[{"type": "pod_access", "paths": [], "actions": ["read"], "purpose": "p"}]"#,
                "1 to 32 paths",
            ),
            (
                r#"[{"type": "pod_access", "paths": ["/x"], "actions": ["read"], "purpose": "p", "sensitive": ["health"]}]"#,
                "set by the person",
            ),
            (r#"{"type": "pod_access"}"#, "invalid type"),
        ];
        for (json, expected) in cases {
            let err = parse_requested(json).unwrap_err().0;
            assert!(err.contains(expected), "{json}: {err}");
        }
    }

    /// An ask is stored before anyone agreed to it, so its size is capped
    /// (docs/BENCHMARKS.md); the largest ask a person could read still fits.
    #[test]
    fn details_are_refused_past_their_size_cap() {
        let actions = vec!["\"read\""; 100_000].join(",");
        let huge = format!(
            r#"[{{"type": "pod_access", "paths": ["/x"], "actions": [{actions}], "purpose": "p"}}]"#
        );
        match parse_requested(&huge) {
            Err(InvalidDetails(err)) => assert!(err.contains("at most 16384"), "{err}"),
            Ok(d) => panic!(
                "{} bytes of details accepted",
                serde_json::to_string(&d).unwrap().len()
            ),
        }

        let paths: Vec<String> = (0..MAX_PATHS).map(|n| format!("\"/c/{n:02}\"")).collect();
        let detail = format!(
            r#"{{"type": "pod_access", "paths": [{}], "actions": ["read"], "purpose": "Deliveries"}}"#,
            paths.join(",")
        );
        let largest = format!("[{}]", vec![detail; MAX_DETAILS].join(","));
        assert!(largest.len() <= MAX_DETAILS_BYTES, "{}", largest.len());
        assert_eq!(parse_requested(&largest).unwrap().len(), MAX_DETAILS);
    }

    #[test]
    fn container_scope_never_leaks_to_neighbours() {
        let d = detail(&["/contact/"], &[Action::Read]);
        assert!(d.covers(
            &target(&p("/contact/email"), Category::Contact),
            Action::Read
        ));
        assert!(!d.covers(&target(&p("/contactx"), Category::Contact), Action::Read));
        assert!(!d.covers(
            &target(&p("/contact/email"), Category::Contact),
            Action::Write
        ));
        assert!(d.covers_listing(&p("/contact/")));
        assert!(d.covers_listing(&p("/contact/work/")));
        assert!(!d.covers_listing(&p("/")));
        let exact = detail(&["/health"], &[Action::Read]);
        assert!(!exact.covers_listing(&p("/health/")));
    }

    #[test]
    fn sensitive_data_needs_an_explicit_tick() {
        let mut d = detail(&["/"], &[Action::Read]);
        let allergies = p("/health/allergies");
        assert!(
            !d.covers(&target(&allergies, Category::Health), Action::Read),
            "broad path alone"
        );
        let passport = p("/documents/passport");
        let marked = Target {
            path: &passport,
            category: Category::Documents,
            sensitivity: Sensitivity::Sensitive,
        };
        assert!(!d.covers(&marked, Action::Read));
        d.sensitive = vec![Category::Health];
        assert!(d.covers(&target(&allergies, Category::Health), Action::Read));
        assert!(!d.covers(&marked, Action::Read));
    }

    /// A row that says health data is normal (a damaged or crafted one) is
    /// still judged sensitive by its category.
    #[test]
    fn a_resource_is_never_less_sensitive_than_its_category() {
        let meta = ResourceMeta {
            path: p("/health/allergies"),
            version: 1,
            content_type: "application/json".into(),
            category: Category::Health,
            sensitivity: Sensitivity::Normal,
            etag: String::new(),
            size: 0,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            author: crate::data::resource::Author::Owner,
        };
        assert_eq!(Target::of(&meta).sensitivity, Sensitivity::Sensitive);
        let broad = detail(&["/"], &[Action::Read]);
        assert!(!broad.covers(&Target::of(&meta), Action::Read));
    }

    #[test]
    fn datatypes_narrow_what_a_path_covers() {
        let mut d = detail(&["/"], &[Action::Read]);
        d.datatypes = vec![Category::Contact];
        assert!(d.covers(
            &target(&p("/contact/email"), Category::Contact),
            Action::Read
        ));
        assert!(!d.covers(
            &target(&p("/profile/card"), Category::Profile),
            Action::Read
        ));
    }

    #[test]
    fn a_grant_may_be_narrower_never_wider() {
        let asked = vec![detail(
            &["/contact/", "/preferences/communication"],
            &[Action::Read, Action::Write],
        )];
        assert!(is_within_request(
            &[detail(&["/contact/"], &[Action::Read])],
            &asked
        ));
        assert!(is_within_request(
            &[detail(&["/contact/email"], &[Action::Read])],
            &asked
        ));
        assert!(!is_within_request(
            &[detail(&["/"], &[Action::Read])],
            &asked
        ));
        assert!(!is_within_request(
            &[detail(&["/contactx"], &[Action::Read])],
            &asked
        ));
        assert!(!is_within_request(
            &[detail(&["/contact/"], &[Action::Append])],
            &asked
        ));
    }
}
