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
