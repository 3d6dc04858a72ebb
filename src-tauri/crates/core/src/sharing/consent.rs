//! What the person is shown of a request, and how their answer becomes a
//! grant. One rule: **what the person sees and what the grant holds are the
//! same object.** A request is shown as [`AskedItem`]s — each asked path once,
//! with the actions, datatypes and purposes asked beside exactly that path —
//! and keeping an item grants exactly what was shown beside it, never what a
//! dropped item asked for.
//!
//! Narrowing by a path that is not itself an item (the CLI's
//! `--only /contact/email` under an asked `/contact/`) is a filter: the asked
//! items inside it are kept whole, and the path itself gets what its nearest
//! shown ancestor asked, so a more specific item the person saw always
//! speaks for the paths under it.

use serde::Serialize;

use crate::data::category::Category;
use crate::data::path::PodPath;
use crate::sharing::scope::{self, Action, PodAccess};
use crate::{Error, Result};

/// One line of a request as the person sees it: an asked path with
/// everything asked beside it (merged over the details that name it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AskedItem {
    pub path: PodPath,
    /// Every action asked for exactly this path, in a fixed order.
    pub actions: Vec<Action>,
    /// The categories it is limited to; empty when any detail naming the
    /// path is not limited.
    pub datatypes: Vec<Category>,
    /// The purposes given beside it, each once.
    pub purposes: Vec<String>,
}

/// The person's answer, possibly narrower than asked.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// When not empty, grant only these: asked items by their path, or
    /// filters (a path inside or around asked paths).
    pub only: Vec<PodPath>,
    /// When set, a shorter lifetime than asked (seconds).
    pub lifetime: Option<i64>,
    /// Sensitive categories the person ticks explicitly.
    pub sensitive: Vec<Category>,
}

/// Each asked path once, in the order asked, with what was asked beside it.
pub fn asked_items(details: &[PodAccess]) -> Vec<AskedItem> {
    let mut items: Vec<AskedItem> = Vec::new();
    let mut unrestricted: Vec<bool> = Vec::new();
    for d in details {
        for path in &d.paths {
            let i = match items.iter().position(|it| &it.path == path) {
                Some(i) => i,
                None => {
                    items.push(AskedItem {
                        path: path.clone(),
                        actions: Vec::new(),
                        datatypes: Vec::new(),
                        purposes: Vec::new(),
                    });
                    unrestricted.push(false);
                    items.len() - 1
                }
            };
            let item = &mut items[i];
            item.actions.extend(d.actions.iter().copied());
            item.actions.sort();
            item.actions.dedup();
            unrestricted[i] |= d.datatypes.is_empty();
            item.datatypes.extend(d.datatypes.iter().copied());
            item.datatypes.sort();
            item.datatypes.dedup();
            let purpose = d.purpose.trim().to_string();
            if !item.purposes.contains(&purpose) {
                item.purposes.push(purpose);
            }
        }
    }
    for (item, any) in items.iter_mut().zip(unrestricted) {
        if any {
            item.datatypes.clear();
        }
    }
    items
}

/// The asked paths that contain `path` most closely: no other asked path
/// lies between them and `path`.
fn nearest_asked<'a>(asked: &'a [PodAccess], path: &PodPath) -> Vec<&'a PodPath> {
    let around: Vec<&PodPath> = asked
        .iter()
        .flat_map(|d| d.paths.iter())
        .filter(|a| path.is_within(a))
        .collect();
    around
        .iter()
        .copied()
        .filter(|a| !around.iter().any(|b| b != a && b.is_within(a)))
        .collect()
}

/// The paths of one asked detail that the answer keeps.
fn kept_paths(detail: &PodAccess, asked: &[PodAccess], only: &[PodPath]) -> Vec<PodPath> {
    if only.is_empty() {
        return detail.paths.clone();
    }
    let is_item = |o: &PodPath| asked.iter().any(|d| d.paths.contains(o));
    let mut keep: Vec<PodPath> = Vec::new();
    for o in only {
        if is_item(o) {
            // An item kept: exactly what was shown beside it.
            if detail.paths.contains(o) {
                keep.push(o.clone());
            }
            continue;
        }
        // A filter: the items inside it, whole…
        keep.extend(detail.paths.iter().filter(|a| a.is_within(o)).cloned());
        // …and the filter itself, with what its nearest ancestor asked.
        let nearest = nearest_asked(asked, o);
        if detail.paths.iter().any(|a| nearest.contains(&a)) {
            keep.push(o.clone());
        }
    }
    keep.sort();
    keep.dedup();
    keep
}

/// Whether keeping the item at `path` grants `action` on data of `kind`
/// there: some detail naming exactly that path asked for both.
fn item_grants(asked: &[PodAccess], path: &PodPath, action: Action, kind: Category) -> bool {
    asked.iter().any(|e| {
        e.paths.contains(path)
            && e.actions.contains(&action)
            && (e.datatypes.is_empty() || e.datatypes.contains(&kind))
    })
}

/// A filter (a path of the person's own) takes what its nearest asked path
/// asked. Refused when that would give an item shown inside the filter
/// more than was shown beside it: the narrower item speaks for its paths.
fn check_filter(asked: &[PodAccess], items: &[AskedItem], filter: &PodPath) -> Result<()> {
    let nearest = nearest_asked(asked, filter);
    let taken: Vec<&PodAccess> = asked
        .iter()
        .filter(|d| d.paths.iter().any(|a| nearest.contains(&a)))
        .collect();
    for item in items
        .iter()
        .filter(|i| i.path.is_within(filter) && &i.path != filter)
    {
        // Pair by pair: the item's merged display (read+write, contact+
        // profile) may come from details that each asked only part of it
        // (read profile; write contact), and keeping the item grants only
        // those pairs.
        let wider = taken.iter().any(|d| {
            let kinds: &[Category] = if d.datatypes.is_empty() {
                &Category::ALL
            } else {
                &d.datatypes
            };
            d.actions.iter().any(|a| {
                kinds
                    .iter()
                    .any(|c| !item_grants(asked, &item.path, *a, *c))
            })
        });
        if wider {
            let shown: Vec<&str> = item.actions.iter().map(|a| a.name()).collect();
            let from: Vec<&str> = nearest.iter().map(|p| p.as_str()).collect();
            return Err(Error::WiderThanAsked(format!(
                "{} was shown with {} only, but {filter} would take what {} asked; keep {} itself, or keep {} as asked",
                item.path,
                shown.join("+"),
                from.join(", "),
                item.path,
                from.join(" and ")
            )));
        }
    }
    Ok(())
}

/// Builds the granted details from the asked ones and the person's answer.
/// Pure: the same answer to the same request always grants the same.
pub fn narrow(asked: &[PodAccess], approval: &Approval) -> Result<Vec<PodAccess>> {
    let sensitive_asked = scope::sensitive_categories_asked(asked);
    let asked_broadly = asked.iter().any(|d| d.datatypes.is_empty());
    for c in &approval.sensitive {
        if !c.is_sensitive() {
            return Err(Error::WiderThanAsked(format!(
                "{c} is not a sensitive category; only health, finance and location need ticking"
            )));
        }
        if !sensitive_asked.contains(c) && !asked_broadly {
            return Err(Error::WiderThanAsked(format!(
                "the company did not ask for {c} data"
            )));
        }
    }
    for o in &approval.only {
        if !asked
            .iter()
            .any(|d| d.paths.iter().any(|a| o.is_within(a) || a.is_within(o)))
        {
            return Err(Error::WiderThanAsked(format!("{o} was not asked for")));
        }
    }
    let items = asked_items(asked);
    for o in &approval.only {
        if !items.iter().any(|i| &i.path == o) {
            check_filter(asked, &items, o)?;
        }
    }
    let mut granted = Vec::new();
    for d in asked {
        let paths = kept_paths(d, asked, &approval.only);
        if paths.is_empty() {
            continue;
        }
        let sensitive = approval
            .sensitive
            .iter()
            .copied()
            .filter(|c| d.datatypes.is_empty() || d.datatypes.contains(c))
            .collect();
        granted.push(PodAccess {
            paths,
            sensitive,
            ..d.clone()
        });
    }
    if granted.is_empty() {
        return Err(Error::WiderThanAsked(
            "--only names no path inside what was asked".into(),
        ));
    }
    if !scope::is_within_request(&granted, asked) {
        return Err(Error::WiderThanAsked(
            "the answer reaches outside the request".into(),
        ));
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::data::category::Sensitivity;
    use crate::sharing::scope::{Target, POD_ACCESS};

    fn p(s: &str) -> PodPath {
        PodPath::parse(s).unwrap()
    }

    fn detail(paths: &[&str], actions: &[Action], datatypes: &[Category]) -> PodAccess {
        PodAccess {
            kind: POD_ACCESS.into(),
            paths: paths.iter().map(|s| p(s)).collect(),
            actions: actions.to_vec(),
            datatypes: datatypes.to_vec(),
            sensitive: vec![],
            purpose: format!("purpose for {}", paths.join(" ")),
        }
    }

    fn only(paths: &[&str]) -> Approval {
        Approval {
            only: paths.iter().map(|s| p(s)).collect(),
            ..Default::default()
        }
    }

    fn allows(details: &[PodAccess], path: &str, action: Action) -> bool {
        let path = p(path);
        let t = Target {
            path: &path,
            category: Category::Contact,
            sensitivity: Sensitivity::Normal,
        };
        scope::allows(details, &t, action)
    }

    /// The case a review found: `/` read+write beside `/contact/email` read;
    /// keeping only the email must not carry the dropped write onto it.
    #[test]
    fn keeping_a_narrow_item_never_takes_a_dropped_items_actions() {
        let asked = vec![
            detail(&["/"], &[Action::Read, Action::Write], &[]),
            detail(&["/contact/email"], &[Action::Read], &[]),
        ];
        let items = asked_items(&asked);
        assert_eq!(items[1].path, p("/contact/email"));
        assert_eq!(items[1].actions, [Action::Read]);

        let granted = narrow(&asked, &only(&["/contact/email"])).unwrap();
        assert_eq!(granted, [detail(&["/contact/email"], &[Action::Read], &[])]);
        assert!(allows(&granted, "/contact/email", Action::Read));
        assert!(!allows(&granted, "/contact/email", Action::Write));
    }

    /// Found by the property test: `/a/c/d` was shown as read+write,
    /// profile+contact, but asked as read-profile and write-contact. A
    /// filter taking `/a/`'s read-contact onto it gives a pair no detail
    /// naming `/a/c/d` asked for.
    #[test]
    fn a_filter_is_checked_pair_by_pair_not_against_the_merged_display() {
        let asked = vec![
            detail(&["/a/c/d"], &[Action::Read], &[Category::Profile]),
            detail(&["/a/"], &[Action::Read], &[Category::Contact]),
            detail(&["/a/c/d"], &[Action::Write], &[Category::Contact]),
        ];
        let items = asked_items(&asked);
        assert_eq!(items[0].actions, [Action::Read, Action::Write]);
        match narrow(&asked, &only(&["/a/c/"])) {
            Err(Error::WiderThanAsked(m)) => {
                assert!(m.contains("/a/c/d was shown with"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // A filter whose nearest ancestor asked only what the item did is
        // still fine.
        let asked = vec![
            detail(&["/a/c/d"], &[Action::Read], &[Category::Contact]),
            detail(&["/a/"], &[Action::Read], &[Category::Contact]),
        ];
        assert!(narrow(&asked, &only(&["/a/c/"])).is_ok());
    }

    /// The same case through a filter: `--only /contact/` would take `/`'s
    /// read+write onto the email, which was shown with read only.
    #[test]
    fn a_filter_never_gives_an_item_inside_it_more_than_was_shown() {
        let asked = vec![
            detail(&["/"], &[Action::Read, Action::Write], &[]),
            detail(&["/contact/email"], &[Action::Read], &[]),
        ];
        for answer in [only(&["/contact/"]), only(&["/contact/email", "/contact/"])] {
            match narrow(&asked, &answer) {
                Err(Error::WiderThanAsked(m)) => {
                    assert!(m.contains("/contact/email was shown with read only"), "{m}")
                }
                other => panic!("{other:?}"),
            }
        }
        // A filter with nothing narrower inside it is fine.
        let granted = narrow(&asked, &only(&["/profile/"])).unwrap();
        assert_eq!(granted[0].paths, [p("/profile/")]);
        assert_eq!(granted[0].actions, [Action::Read, Action::Write]);
    }

    #[test]
    fn keeping_a_wide_item_does_not_keep_the_narrow_items_under_it() {
        let asked = vec![
            detail(&["/a/"], &[Action::Read], &[]),
            detail(&["/a/b/"], &[Action::Read, Action::Write], &[]),
        ];
        let granted = narrow(&asked, &only(&["/a/"])).unwrap();
        assert_eq!(granted, [detail(&["/a/"], &[Action::Read], &[])]);
        assert!(!allows(&granted, "/a/b/x", Action::Write));
    }

    #[test]
    fn a_filter_takes_what_its_nearest_shown_ancestor_asked() {
        let asked = vec![
            detail(&["/"], &[Action::Read, Action::Write], &[]),
            detail(&["/contact/"], &[Action::Read], &[]),
        ];
        let granted = narrow(&asked, &only(&["/contact/email"])).unwrap();
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0].paths, [p("/contact/email")]);
        assert_eq!(granted[0].actions, [Action::Read]);
        assert_eq!(
            granted[0].purpose, asked[1].purpose,
            "the purpose shown beside it"
        );

        // `--only /` names the item `/`: exactly what was asked beside it.
        let root = narrow(&asked, &only(&["/"])).unwrap();
        assert_eq!(root, asked[..1]);
        let none = narrow(&asked, &Approval::default()).unwrap();
        assert_eq!(none, asked);
        // Where `/` was not asked, it is a filter around everything asked.
        let two = vec![
            detail(&["/contact/"], &[Action::Read], &[]),
            detail(&["/profile/"], &[Action::Write], &[]),
        ];
        assert_eq!(narrow(&two, &only(&["/"])).unwrap(), two);
    }

    #[test]
    fn items_merge_what_was_asked_beside_one_path() {
        let asked = vec![
            detail(&["/x/", "/y"], &[Action::Write], &[Category::Contact]),
            detail(&["/x/"], &[Action::Read], &[Category::Health]),
        ];
        let items = asked_items(&asked);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].actions, [Action::Read, Action::Write]);
        assert_eq!(items[0].datatypes, [Category::Contact, Category::Health]);
        assert_eq!(items[0].purposes.len(), 2);
        assert_eq!(items[1].actions, [Action::Write]);
        let mut broad = asked.clone();
        broad[1].datatypes.clear();
        assert!(asked_items(&broad)[0].datatypes.is_empty(), "any category");
    }

    #[test]
    fn refuses_what_was_not_asked() {
        let asked = vec![detail(&["/contact/"], &[Action::Read], &[])];
        for bad in [only(&["/finance/"]), only(&["/contactx"])] {
            assert!(matches!(
                narrow(&asked, &bad),
                Err(Error::WiderThanAsked(_))
            ));
        }
    }

    const PATHS: &[&str] = &[
        "/", "/a/", "/a/b", "/a/c/", "/a/c/d", "/a/c/e/", "/f", "/g/",
    ];
    const TARGETS: &[&str] = &[
        "/a/b", "/a/c/d", "/a/c/e/x", "/a/z", "/f", "/g/h", "/q", "/a/c/e/",
    ];
    const ACTIONS: &[Action] = &[Action::Read, Action::Append, Action::Write];
    const KINDS: &[Category] = &[Category::Contact, Category::Profile];

    fn arb_detail() -> impl Strategy<Value = PodAccess> {
        (
            proptest::sample::subsequence(PATHS, 1..4),
            proptest::sample::subsequence(ACTIONS, 1..=3),
            proptest::sample::subsequence(KINDS, 0..=2),
        )
            .prop_map(|(paths, actions, kinds)| detail(&paths, &actions, &kinds))
    }

    /// Whether the display of the request showed `action` at `path` for a
    /// resource of `kind`, beside one of the `kept` items.
    fn shown(
        asked: &[PodAccess],
        kept: &[PodPath],
        path: &PodPath,
        kind: Category,
        action: Action,
    ) -> bool {
        asked.iter().any(|d| {
            d.actions.contains(&action)
                && (d.datatypes.is_empty() || d.datatypes.contains(&kind))
                && d.paths
                    .iter()
                    .any(|a| kept.contains(a) && path.is_within(a))
        })
    }

    proptest! {
        /// The person keeps any set of the items shown: the grant allows
        /// exactly what was shown beside the kept items, nothing more and
        /// nothing less.
        #[test]
        fn a_grant_holds_exactly_the_kept_items(
            asked in proptest::collection::vec(arb_detail(), 1..5),
            keep_mask in proptest::collection::vec(any::<bool>(), PATHS.len()),
        ) {
            let items = asked_items(&asked);
            let kept: Vec<PodPath> = items
                .iter()
                .zip(keep_mask.iter().cycle())
                .filter(|(_, k)| **k)
                .map(|(i, _)| i.path.clone())
                .collect();
            prop_assume!(!kept.is_empty());
            let granted = narrow(&asked, &Approval { only: kept.clone(), ..Default::default() })
                .expect("keeping shown items is always a valid answer");
            prop_assert!(scope::is_within_request(&granted, &asked));
            for t in TARGETS {
                let path = p(t);
                for kind in KINDS {
                    let target = Target { path: &path, category: *kind, sensitivity: Sensitivity::Normal };
                    for action in ACTIONS {
                        let allowed = scope::allows(&granted, &target, *action);
                        let was_shown = shown(&asked, &kept, &path, *kind, *action);
                        prop_assert_eq!(allowed, was_shown, "{} {} {:?}", t, action, kind);
                    }
                }
            }
        }

        /// Any answer at all, filters included: never wider than the
        /// request, and nothing outside the paths the person named.
        #[test]
        fn no_answer_reaches_outside_the_request_or_the_named_paths(
            asked in proptest::collection::vec(arb_detail(), 1..5),
            only in proptest::sample::subsequence(PATHS, 1..3),
        ) {
            let only: Vec<PodPath> = only.iter().map(|s| p(s)).collect();
            let Ok(granted) = narrow(&asked, &Approval { only: only.clone(), ..Default::default() }) else {
                return Ok(());
            };
            prop_assert!(scope::is_within_request(&granted, &asked));
            for t in TARGETS {
                let path = p(t);
                let target = Target { path: &path, category: Category::Contact, sensitivity: Sensitivity::Normal };
                for action in ACTIONS {
                    if scope::allows(&granted, &target, *action) {
                        prop_assert!(scope::allows(&asked, &target, *action));
                        prop_assert!(only.iter().any(|o| path.is_within(o)), "{} outside {:?}", t, only);
                        // Some path the person named reaches it: an item with
                        // what was shown beside it, or a filter with what the
                        // most specific item shown around the target asked.
                        let items: Vec<PodPath> = asked_items(&asked).into_iter().map(|i| i.path).collect();
                        let around: Vec<&PodPath> = items.iter().filter(|i| path.is_within(i)).collect();
                        let closest: Vec<PodPath> = around
                            .iter()
                            .filter(|a| !around.iter().any(|b| b != *a && b.is_within(a)))
                            .map(|a| (*a).clone())
                            .collect();
                        let reached = only.iter().filter(|o| path.is_within(o)).any(|o| {
                            if items.contains(o) {
                                shown(&asked, std::slice::from_ref(o), &path, Category::Contact, *action)
                            } else {
                                // The items inside it, kept whole, or what the
                                // closest item around the target showed.
                                let inside: Vec<PodPath> = items
                                    .iter()
                                    .filter(|i| i.is_within(o) && path.is_within(i))
                                    .cloned()
                                    .collect();
                                shown(&asked, &inside, &path, Category::Contact, *action)
                                    || shown(&asked, &closest, &path, Category::Contact, *action)
                            }
                        });
                        prop_assert!(reached, "{} {} granted, not shown so; only {:?}", t, action, only);
                    }
                }
            }
        }
    }
}
