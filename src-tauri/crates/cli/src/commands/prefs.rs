//! prefs show, prefs set.

use custodian_core::data::preferences::{CommunicationPreferences, Period, Personalisation};

use super::Context;
use crate::cli::PrefsCommand;
use crate::fail::Fail;
use crate::output::{self, print};

pub fn run(ctx: &Context, cmd: PrefsCommand) -> Result<(), Fail> {
    match cmd {
        PrefsCommand::Show(flag) => {
            let vault = ctx.unlock()?;
            let (prefs, saved) = vault.store().communication_preferences()?;
            if flag.json {
                return output::print_json(&prefs);
            }
            let mut text = describe(&prefs);
            if !saved {
                text.push_str("\n(These are the defaults; nothing is saved yet.)\n");
            }
            print(&text)
        }
        PrefsCommand::Set { key, value } => {
            let value = value.join(" ");
            // Check key and value before asking for the passphrase.
            CommunicationPreferences::default().set(&key, &value)?;
            let vault = ctx.unlock()?;
            let prefs = vault.store().set_communication_preference(&key, &value)?;
            print(&format!(
                "Saved. Communication preferences are now:\n\n{}",
                describe(&prefs)
            ))
        }
    }
}

/// The preferences as a person reads them.
pub fn describe(p: &CommunicationPreferences) -> String {
    let channels = [
        ("email", p.channels.email),
        ("sms", p.channels.sms),
        ("phone", p.channels.phone),
        ("post", p.channels.post),
        ("push", p.channels.push),
    ];
    let list = |allowed: bool| {
        let names: Vec<&str> = channels
            .iter()
            .filter(|(_, a)| *a == allowed)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    };
    let quiet = match &p.quiet_hours {
        Some(q) => format!("{}–{} ({})", q.start, q.end, q.time_zone.name()),
        None => "off".into(),
    };
    let cap = match p.frequency_cap {
        Some(c) => {
            let per = match c.per {
                Period::Day => "day",
                Period::Week => "week",
                Period::Month => "month",
            };
            format!("at most {} per {per}", c.max)
        }
        None => "no limit".into(),
    };
    let topics = if p.topics.is_empty() {
        "(none)".into()
    } else {
        p.topics.join(", ")
    };
    let personalisation = match p.personalisation {
        Personalisation::None => "none",
        Personalisation::Light => "light",
        Personalisation::Full => "full",
    };
    let rows = vec![
        vec!["Contact me by:".into(), list(true)],
        vec!["Never by:".into(), list(false)],
        vec!["Quiet hours:".into(), quiet],
        vec!["Frequency cap:".into(), cap],
        vec!["Topics:".into(), topics],
        vec!["Personalisation:".into(), personalisation.into()],
        vec![
            "Do not sell:".into(),
            if p.do_not_sell {
                "yes".into()
            } else {
                "no".into()
            },
        ],
    ];
    output::table(&rows)
}
