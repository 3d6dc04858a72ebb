//! Communication preferences: how, when and how often companies may contact
//! the person, and how much they may personalise. Stored as an ordinary
//! JSON resource at [`COMMUNICATION_PATH`], validated on every write, so
//! companies read a machine-readable answer the person controls.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::path::PodPath;
use crate::data::resource::NewResource;
use crate::vault::store::Store;
use crate::{Error, Result};

/// Where the communication preferences live.
pub const COMMUNICATION_PATH: &str = "/preferences/communication";

/// The keys `set` understands, for help and error messages.
pub const KEYS: &[&str] = &[
    "channels.email",
    "channels.sms",
    "channels.phone",
    "channels.post",
    "channels.push",
    "quiet_hours",
    "frequency_cap",
    "topics",
    "personalisation",
    "do_not_sell",
];

/// The preferences document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunicationPreferences {
    /// Which channels a company may use at all.
    pub channels: Channels,
    /// A daily window in which nobody may contact the person.
    pub quiet_hours: Option<QuietHours>,
    /// At most this many contacts per period, per company.
    pub frequency_cap: Option<FrequencyCap>,
    /// Subjects the person wants to hear about.
    pub topics: Vec<String>,
    /// How much a company may tailor what it shows.
    pub personalisation: Personalisation,
    /// The person's data may not be sold or shared for money.
    pub do_not_sell: bool,
}

/// Allowed channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    pub email: bool,
    pub sms: bool,
    pub phone: bool,
    pub post: bool,
    pub push: bool,
}

/// A quiet window, in a named IANA time zone; may wrap midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: HourMinute,
    pub end: HourMinute,
    #[serde(with = "tz_name")]
    pub time_zone: chrono_tz::Tz,
}

/// A frequency cap: at most `max` contacts per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max: u32,
    pub per: Period,
}

/// The period of a frequency cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

/// How much personalisation the person accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Personalisation {
    None,
    Light,
    Full,
}

/// A wall-clock time written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourMinute(pub NaiveTime);

impl FromStr for HourMinute {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map(HourMinute)
            .map_err(|_| format!("{s:?} is not a time like 21:00"))
    }
}

impl fmt::Display for HourMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

impl Serialize for HourMinute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HourMinute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

mod tz_name {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &chrono_tz::Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
        let name = String::deserialize(d)?;
        super::parse_time_zone(&name).map_err(serde::de::Error::custom)
    }
}

fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone like Europe/London"))
}

const MAX_TOPICS: usize = 50;
const MAX_TOPIC_CHARS: usize = 64;
const MAX_CAP: u32 = 1000;

impl Default for CommunicationPreferences {
    /// Privacy first: email only, quiet from 21:00 to 08:00 in the system's
    /// time zone, at most one contact a week, no personalisation, do not sell.
    fn default() -> Self {
        let time_zone = iana_time_zone::get_timezone()
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        CommunicationPreferences {
            channels: Channels {
                email: true,
                sms: false,
                phone: false,
                post: false,
                push: false,
            },
            quiet_hours: Some(QuietHours {
                start: HourMinute(NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default()),
                end: HourMinute(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()),
                time_zone,
            }),
            frequency_cap: Some(FrequencyCap {
                max: 1,
                per: Period::Week,
            }),
            topics: Vec::new(),
            personalisation: Personalisation::None,
            do_not_sell: true,
        }
    }
}

impl CommunicationPreferences {
    /// Parses and checks a stored or submitted document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let prefs: CommunicationPreferences =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        prefs.check()?;
        Ok(prefs)
    }

    /// The rules serde's types cannot express.
    fn check(&self) -> Result<(), String> {
        if let Some(q) = &self.quiet_hours {
            if q.start == q.end {
                return Err("quiet hours must not start and end at the same time".into());
            }
        }
        if let Some(cap) = self.frequency_cap {
            if cap.max == 0 || cap.max > MAX_CAP {
                return Err(format!("the frequency cap must be between 1 and {MAX_CAP} (to refuse all contact, turn the channels off)"));
            }
        }
        if self.topics.len() > MAX_TOPICS {
            return Err(format!("at most {MAX_TOPICS} topics"));
        }
        for t in &self.topics {
            if t.trim().is_empty() || t.trim() != t || t.chars().count() > MAX_TOPIC_CHARS {
                return Err(format!(
                    "topic {t:?} must be 1 to {MAX_TOPIC_CHARS} characters without surrounding spaces"
                ));
            }
        }
        Ok(())
    }

    /// Changes one field from text, as `custodian prefs set KEY VALUE` does.
    /// Leaves `self` unchanged on error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let invalid = |reason: String| Error::InvalidPreference {
            key: key.to_string(),
            reason,
        };
        let mut next = self.clone();
        let value = value.trim();
        match key {
            "channels.email" => next.channels.email = parse_bool(value).map_err(invalid)?,
            "channels.sms" => next.channels.sms = parse_bool(value).map_err(invalid)?,
            "channels.phone" => next.channels.phone = parse_bool(value).map_err(invalid)?,
            "channels.post" => next.channels.post = parse_bool(value).map_err(invalid)?,
            "channels.push" => next.channels.push = parse_bool(value).map_err(invalid)?,
            "quiet_hours" => next.quiet_hours = parse_quiet_hours(value).map_err(invalid)?,
            "frequency_cap" => next.frequency_cap = parse_cap(value).map_err(invalid)?,
            "topics" => next.topics = parse_topics(value),
            "personalisation" | "personalization" => {
                next.personalisation = match value.to_ascii_lowercase().as_str() {
                    "none" => Personalisation::None,
                    "light" => Personalisation::Light,
                    "full" => Personalisation::Full,
                    _ => {
                        return Err(invalid(format!(
                            "{value:?} is not one of none, light, full"
                        )))
                    }
                }
            }
            "do_not_sell" => next.do_not_sell = parse_bool(value).map_err(invalid)?,
            _ => {
                return Err(Error::UnknownPreference {
                    key: key.to_string(),
                    known: KEYS.join(", "),
                })
            }
        }
        next.check().map_err(invalid)?;
        *self = next;
        Ok(())
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

fn is_off(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "off" | "none")
}

/// `21:00-08:00 Europe/London`, or `off`.
fn parse_quiet_hours(value: &str) -> Result<Option<QuietHours>, String> {
    if is_off(value) {
        return Ok(None);
    }
    let usage = || format!("{value:?} is not like \"21:00-08:00 Europe/London\" (or \"off\")");
    let (range, zone) = value.split_once(char::is_whitespace).ok_or_else(usage)?;
    let (start, end) = range.split_once('-').ok_or_else(usage)?;
    Ok(Some(QuietHours {
        start: start.parse()?,
        end: end.parse()?,
        time_zone: parse_time_zone(zone)?,
    }))
}

/// `2/week`, `2 per week`, or `off`.
fn parse_cap(value: &str) -> Result<Option<FrequencyCap>, String> {
    if is_off(value) {
        return Ok(None);
    }
    let usage = || format!("{value:?} is not like \"2/week\" (day, week or month; or \"off\")");
    let lower = value.to_ascii_lowercase();
    let (max, per) = lower
        .split_once('/')
        .or_else(|| lower.split_once(" per "))
        .ok_or_else(usage)?;
    let max = max.trim().parse::<u32>().map_err(|_| usage())?;
    let per = match per.trim() {
        "day" => Period::Day,
        "week" => Period::Week,
        "month" => Period::Month,
        _ => return Err(usage()),
    };
    Ok(Some(FrequencyCap { max, per }))
}

/// `orders, offers` (comma-separated), or `none` / empty to clear.
fn parse_topics(value: &str) -> Vec<String> {
    if is_off(value) {
        return Vec::new();
    }
    let mut topics: Vec<String> = Vec::new();
    for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !topics.iter().any(|x| x == t) {
            topics.push(t.to_string());
        }
    }
    topics
}

/// Checks writes to preference resources; other paths pass untouched.
pub(crate) fn validate_resource(path: &PodPath, content_type: &str, content: &[u8]) -> Result<()> {
    if path.as_str() != COMMUNICATION_PATH {
        return Ok(());
    }
    let invalid = |reason: String| Error::InvalidContent {
        path: path.to_string(),
        reason,
    };
    if !content_type.starts_with(crate::data::resource::JSON) {
        return Err(invalid(format!(
            "must be {} (got {content_type})",
            crate::data::resource::JSON
        )));
    }
    CommunicationPreferences::from_json(content)
        .map(|_| ())
        .map_err(invalid)
}

/// Every IANA time-zone name quiet hours accept, sorted.
pub fn time_zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    names.sort_unstable();
    names
}

impl Store {
    /// The communication preferences, and whether they are saved (`false`:
    /// the defaults, because nothing is stored).
    pub fn communication_preferences(&self) -> Result<(CommunicationPreferences, bool)> {
        let path = crate::parse_path(COMMUNICATION_PATH)?;
        match self.get(&path, None) {
            Ok(r) => CommunicationPreferences::from_json(&r.content)
                .map(|p| (p, true))
                .map_err(|reason| Error::InvalidContent {
                    path: COMMUNICATION_PATH.into(),
                    reason,
                }),
            Err(Error::NotFound { .. }) => Ok((CommunicationPreferences::default(), false)),
            Err(e) => Err(e),
        }
    }

    /// Saves the whole preferences document (a new version of the resource).
    pub fn save_communication_preferences(&self, prefs: &CommunicationPreferences) -> Result<()> {
        let path = crate::parse_path(COMMUNICATION_PATH)?;
        let value = serde_json::to_value(prefs).map_err(|e| Error::Internal(e.to_string()))?;
        self.put(&path, NewResource::json(&value)).map(|_| ())
    }

    /// Changes one preference and saves; nothing changes on a bad key or value.
    pub fn set_communication_preference(
        &self,
        key: &str,
        value: &str,
    ) -> Result<CommunicationPreferences> {
        let (mut prefs, _) = self.communication_preferences()?;
        prefs.set(key, value)?;
        self.save_communication_preferences(&prefs)?;
        Ok(prefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_store;

    #[test]
    fn time_zone_names_are_the_ones_quiet_hours_accept() {
        let names = time_zone_names();
        assert!(names.contains(&"Europe/London"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        let mut p = CommunicationPreferences::default();
        p.set("quiet_hours", &format!("22:00-07:00 {}", names[0]))
            .unwrap();
    }

    #[test]
    fn defaults_round_trip_through_json() {
        let d = CommunicationPreferences::default();
        let bytes = serde_json::to_vec(&d).unwrap();
        assert_eq!(CommunicationPreferences::from_json(&bytes).unwrap(), d);
    }

    #[test]
    fn set_each_kind_of_key() {
        let mut p = CommunicationPreferences::default();
        p.set("channels.sms", "yes").unwrap();
        p.set("quiet_hours", "22:30-07:00 Europe/London").unwrap();
        p.set("frequency_cap", "3 per month").unwrap();
        p.set("topics", "orders, offers,orders").unwrap();
        p.set("personalisation", "light").unwrap();
        p.set("do_not_sell", "off").unwrap();
        assert!(p.channels.sms);
        let q = p.quiet_hours.clone().unwrap();
        assert_eq!(
            (q.start.to_string(), q.end.to_string(), q.time_zone.name()),
            ("22:30".into(), "07:00".into(), "Europe/London")
        );
        assert_eq!(
            p.frequency_cap,
            Some(FrequencyCap {
                max: 3,
                per: Period::Month
            })
        );
        assert_eq!(p.topics, ["orders", "offers"]);
        assert_eq!(p.personalisation, Personalisation::Light);
        assert!(!p.do_not_sell);
        p.set("quiet_hours", "off").unwrap();
        p.set("frequency_cap", "none").unwrap();
        assert_eq!((p.quiet_hours.clone(), p.frequency_cap), (None, None));
    }

    #[test]
    fn bad_keys_and_values_are_named_and_change_nothing() {
        let mut p = CommunicationPreferences::default();
        let before = p.clone();
        let cases = [
            (
                "channels.fax",
                "true",
                "unknown preference \"channels.fax\"",
            ),
            (
                "channels.sms",
                "maybe",
                "invalid value for channels.sms: \"maybe\" is not true or false",
            ),
            (
                "quiet_hours",
                "21:00-08:00 Mars/Olympus",
                "not an IANA time zone",
            ),
            (
                "quiet_hours",
                "25:00-08:00 UTC",
                "\"25:00\" is not a time like 21:00",
            ),
            (
                "quiet_hours",
                "21:00-21:00 UTC",
                "must not start and end at the same time",
            ),
            ("frequency_cap", "0/week", "between 1 and 1000"),
            ("frequency_cap", "2/fortnight", "not like \"2/week\""),
            ("personalisation", "medium", "not one of none, light, full"),
        ];
        for (key, value, expected) in cases {
            let err = p.set(key, value).unwrap_err().to_string();
            assert!(err.contains(expected), "{key} {value}: {err}");
            assert_eq!(p, before);
        }
    }

    #[test]
    fn writes_to_the_preferences_path_are_validated() {
        let (_dir, store) = memory_store();
        let path = crate::parse_path(COMMUNICATION_PATH).unwrap();
        let bad = serde_json::json!({"channels": {"email": true}});
        let err = store
            .put(&path, NewResource::json(&bad))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid content for /preferences/communication: missing field"),
            "{err}"
        );
        let mut doc = serde_json::to_value(CommunicationPreferences::default()).unwrap();
        doc["personalisation"] = "creepy".into();
        assert!(store
            .put(&path, NewResource::json(&doc))
            .unwrap_err()
            .to_string()
            .contains("unknown variant `creepy`"));
        doc["personalisation"] = "full".into();
        doc["surprise"] = true.into();
        assert!(store
            .put(&path, NewResource::json(&doc))
            .unwrap_err()
            .to_string()
            .contains("unknown field `surprise`"));
        assert!(matches!(store.history(&path), Err(Error::NotFound { .. })));
    }

    #[test]
    fn store_defaults_then_saved_then_set() {
        let (_dir, store) = memory_store();
        let (p, saved) = store.communication_preferences().unwrap();
        assert!(!saved);
        store.save_communication_preferences(&p).unwrap();
        let after = store
            .set_communication_preference("personalisation", "full")
            .unwrap();
        assert_eq!(after.personalisation, Personalisation::Full);
        let (loaded, saved) = store.communication_preferences().unwrap();
        assert!(saved);
        assert_eq!(loaded, after);
        assert_eq!(
            store
                .history(&crate::parse_path(COMMUNICATION_PATH).unwrap())
                .unwrap()
                .len(),
            2
        );
    }
}
