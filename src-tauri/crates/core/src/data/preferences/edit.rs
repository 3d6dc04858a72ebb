//! Changing one preference from text, as `custodian prefs set KEY VALUE`
//! does: each key's accepted spellings and what they mean.

use super::parse_time_zone;
use super::{CommunicationPreferences, FrequencyCap, Period, Personalisation, QuietHours, KEYS};
use crate::{Error, Result};

impl CommunicationPreferences {
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
