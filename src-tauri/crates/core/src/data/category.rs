//! The fixed taxonomy of data categories, and which of them are sensitive.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of data a resource holds. Fixed: companies and people can rely
/// on the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Profile,
    Contact,
    Address,
    Preferences,
    Interests,
    Purchases,
    Finance,
    Health,
    Location,
    Documents,
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 11] = [
        Category::Profile,
        Category::Contact,
        Category::Address,
        Category::Preferences,
        Category::Interests,
        Category::Purchases,
        Category::Finance,
        Category::Health,
        Category::Location,
        Category::Documents,
        Category::Other,
    ];

    /// The lowercase name used in the CLI, JSON and the API.
    pub fn name(self) -> &'static str {
        match self {
            Category::Profile => "profile",
            Category::Contact => "contact",
            Category::Address => "address",
            Category::Preferences => "preferences",
            Category::Interests => "interests",
            Category::Purchases => "purchases",
            Category::Finance => "finance",
            Category::Health => "health",
            Category::Location => "location",
            Category::Documents => "documents",
            Category::Other => "other",
        }
    }

    /// Health, finance and location: never granted by a broad request unless
    /// the person ticks them one by one.
    pub fn is_sensitive(self) -> bool {
        matches!(
            self,
            Category::Health | Category::Finance | Category::Location
        )
    }

    /// The category a path suggests by its first segment (`/contact/email` →
    /// contact, `/addresses/home` → address); `Other` when none fits.
    pub fn infer_from_path(path: &crate::PodPath) -> Category {
        let Some(first) = path.first_segment() else {
            return Category::Other;
        };
        let first = first.to_ascii_lowercase();
        let singular = first.strip_suffix("es").filter(|s| *s == "address");
        let singular = singular.or_else(|| first.strip_suffix('s'));
        Category::ALL
            .into_iter()
            .find(|c| c.name() == first || Some(c.name()) == singular)
            .unwrap_or(Category::Other)
    }

    fn known_list() -> String {
        Category::ALL.map(Category::name).join(", ")
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Category {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| crate::Error::UnknownCategory {
                name: s.to_string(),
                known: Category::known_list(),
            })
    }
}

/// How careful to be with a resource. Derived from the category, and can be
/// raised (never lowered) per resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    Normal,
    Sensitive,
}

impl Sensitivity {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Sensitivity::Normal => "normal",
            Sensitivity::Sensitive => "sensitive",
        }
    }

    /// The sensitivity a category implies, raised by an explicit flag.
    pub fn for_category(category: Category, marked_sensitive: bool) -> Sensitivity {
        if marked_sensitive || category.is_sensitive() {
            Sensitivity::Sensitive
        } else {
            Sensitivity::Normal
        }
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PodPath;

    #[test]
    fn parses_names_case_insensitively_and_rejects_unknown() {
        assert_eq!("Health".parse::<Category>().unwrap(), Category::Health);
        let err = "medical".parse::<Category>().unwrap_err().to_string();
        assert!(err.contains("unknown category \"medical\""), "{err}");
        assert!(err.contains("profile, contact"), "{err}");
    }

    #[test]
    fn sensitive_categories_are_exactly_health_finance_location() {
        let sensitive: Vec<_> = Category::ALL
            .into_iter()
            .filter(|c| c.is_sensitive())
            .collect();
        assert_eq!(
            sensitive,
            [Category::Finance, Category::Health, Category::Location]
        );
        assert_eq!(
            Sensitivity::for_category(Category::Contact, false),
            Sensitivity::Normal
        );
        assert_eq!(
            Sensitivity::for_category(Category::Contact, true),
            Sensitivity::Sensitive
        );
        assert_eq!(
            Sensitivity::for_category(Category::Health, false),
            Sensitivity::Sensitive
        );
    }

    #[test]
    fn infers_from_first_segment() {
        let infer = |s| Category::infer_from_path(&PodPath::parse(s).unwrap());
        assert_eq!(infer("/contact/email"), Category::Contact);
        assert_eq!(infer("/addresses/home"), Category::Address);
        assert_eq!(infer("/purchases/2026-11-02-order"), Category::Purchases);
        assert_eq!(infer("/preferences/communication"), Category::Preferences);
        assert_eq!(infer("/notes/x"), Category::Other);
        assert_eq!(infer("/"), Category::Other);
    }
}
