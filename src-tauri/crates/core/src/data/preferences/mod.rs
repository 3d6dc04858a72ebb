//! Communication preferences: how, when and how often companies may contact
//! the person, and how much they may personalise. Stored as an ordinary
//! JSON resource at [`COMMUNICATION_PATH`], validated on every write, so
//! companies read a machine-readable answer the person controls. Changing
//! one field from text (`custodian prefs set KEY VALUE`) is in `edit`.

mod edit;

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
mod tests;
