use super::*;
use crate::testing::memory_store;
use crate::Error;
use serde_json::json;

fn p(s: &str) -> PodPath {
    PodPath::parse(s).unwrap()
}

#[test]
fn content_that_reads_back_different_is_damage_not_data() {
    // What SQLCipher hands back for a page whose HMAC failed: zeros.
    let (_dir, store) = memory_store();
    let path = p("/notes/long");
    let doc = json!({"text": "lorem ipsum ".repeat(2000)});
    store.put(&path, NewResource::json(&doc)).unwrap();
    store.put(&path, NewResource::json(&json!(2))).unwrap();
    store
        .conn
        .execute(
            "UPDATE resource_versions SET content = zeroblob(length(content))",
            [],
        )
        .unwrap();
    for version in [None, Some(1)] {
        let err = store.get(&path, version).unwrap_err();
        assert!(matches!(err, Error::DatabaseDamaged { .. }), "{err}");
        assert!(err.to_string().contains("/notes/long version"), "{err}");
    }
    let exported = crate::bundle::export_plain(&store, &_dir.path().join("plain"), &mut |_| {});
    assert!(matches!(exported, Err(Error::DatabaseDamaged { .. })));
    // A stored time that is not one is damage too, not an internal error.
    store
        .conn
        .execute("UPDATE resource_versions SET written_at = 'zzz'", [])
        .unwrap();
    assert!(matches!(
        store.get(&path, None),
        Err(Error::DatabaseDamaged { .. })
    ));
}

#[test]
fn restoring_a_version_adds_a_new_one_with_the_old_content() {
    let (_dir, store) = memory_store();
    let path = p("/contact/email");
    store
        .put(&path, NewResource::json(&json!({"email": "a@x.org"})))
        .unwrap();
    store
        .put(&path, NewResource::json(&json!({"email": "b@x.org"})))
        .unwrap();
    store.delete(&path).unwrap();
    let restored = store.restore_version(&path, 1).unwrap();
    assert_eq!(restored.version, 4, "history only grows");
    let live = store.get(&path, None).unwrap();
    assert_eq!(live.content, store.get(&path, Some(1)).unwrap().content);
    assert_eq!(store.history(&path).unwrap().len(), 4);
    assert!(matches!(
        store.restore_version(&path, 9),
        Err(Error::VersionNotFound { .. })
    ));
    assert_eq!(
        store.history(&path).unwrap().len(),
        4,
        "a bad version changes nothing"
    );
}

#[test]
fn put_get_update_keeps_history() {
    let (_dir, store) = memory_store();
    let v1 = store
        .put(
            &p("/contact/email"),
            NewResource::json(&json!({"email": "a@x.org"})),
        )
        .unwrap();
    assert_eq!(
        (v1.version, v1.category, v1.sensitivity),
        (1, Category::Contact, Sensitivity::Normal)
    );
    let v2 = store
        .put(
            &p("/contact/email"),
            NewResource::json(&json!({"email": "b@x.org"})),
        )
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_ne!(v1.etag, v2.etag);
    assert_eq!(v2.created_at, v1.created_at);
    let cur = store.get(&p("/contact/email"), None).unwrap();
    assert_eq!(cur.content, br#"{"email":"b@x.org"}"#);
    let old = store.get(&p("/contact/email"), Some(1)).unwrap();
    assert_eq!(old.content, br#"{"email":"a@x.org"}"#);
    assert_eq!(old.meta.version, 1);
    let err = store.get(&p("/contact/email"), Some(9)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/contact/email has no version 9 (it has versions 1 to 2)"
    );
}

#[test]
fn same_content_again_is_not_a_new_version() {
    let (_dir, store) = memory_store();
    let a = store.put(&p("/x"), NewResource::json(&json!(1))).unwrap();
    let b = store.put(&p("/x"), NewResource::json(&json!(1))).unwrap();
    assert_eq!(a, b);
    assert_eq!(store.history(&p("/x")).unwrap().len(), 1);
}

#[test]
fn delete_keeps_versions_and_recreate_continues_numbering() {
    let (_dir, store) = memory_store();
    store
        .put(&p("/notes/a"), NewResource::json(&json!("one")))
        .unwrap();
    assert_eq!(store.delete(&p("/notes/a")).unwrap(), 2);
    assert!(matches!(
        store.get(&p("/notes/a"), None),
        Err(Error::Deleted { version: 2, .. })
    ));
    assert!(matches!(
        store.delete(&p("/notes/a")),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store.get(&p("/notes/a"), Some(1)).unwrap().content,
        br#""one""#
    );
    assert!(store
        .get(&p("/notes/a"), Some(2))
        .unwrap_err()
        .to_string()
        .contains("deletion"));
    let again = store
        .put(&p("/notes/a"), NewResource::json(&json!("two")))
        .unwrap();
    assert_eq!(again.version, 3);
    let history = store.history(&p("/notes/a")).unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| (h.version, h.deleted))
            .collect::<Vec<_>>(),
        [(1, false), (2, true), (3, false)]
    );
}

#[test]
fn invalid_json_and_bad_content_types_change_nothing() {
    let (_dir, store) = memory_store();
    let bad = NewResource {
        content: b"{nope".to_vec(),
        ..NewResource::json(&json!(null))
    };
    let err = store.put(&p("/x"), bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid content for /x: not valid JSON"),
        "{err}"
    );
    let bad_type = NewResource {
        content_type: "nonsense".into(),
        ..NewResource::json(&json!(1))
    };
    assert!(store.put(&p("/x"), bad_type).is_err());
    assert!(matches!(
        store.history(&p("/x")),
        Err(Error::NotFound { .. })
    ));
    // Bytes of any kind are fine under a non-JSON type.
    let bin = NewResource {
        content: vec![0, 159, 146, 150],
        content_type: OCTET_STREAM.into(),
        category: Some(Category::Documents),
        mark: Mark::Keep,
    };
    assert_eq!(store.put(&p("/documents/scan"), bin).unwrap().size, 4);
}

#[test]
fn category_and_sensitivity() {
    let (_dir, store) = memory_store();
    let m = store
        .put(&p("/health/allergies"), NewResource::json(&json!(["nuts"])))
        .unwrap();
    assert_eq!(
        (m.category, m.sensitivity),
        (Category::Health, Sensitivity::Sensitive)
    );
    let marked = NewResource {
        mark: Mark::Sensitive,
        category: Some(Category::Documents),
        ..NewResource::json(&json!(1))
    };
    assert_eq!(
        store.put(&p("/passport"), marked).unwrap().sensitivity,
        Sensitivity::Sensitive
    );
    // An update without a category keeps the resource's own.
    store
        .put(
            &p("/misc"),
            NewResource {
                category: Some(Category::Interests),
                ..NewResource::json(&json!(1))
            },
        )
        .unwrap();
    assert_eq!(
        store
            .put(&p("/misc"), NewResource::json(&json!(2)))
            .unwrap()
            .category,
        Category::Interests
    );
}

#[test]
fn an_edit_keeps_the_sensitive_mark_until_the_person_lowers_it() {
    let (_dir, store) = memory_store();
    let passport = p("/documents/passport");
    let marked = NewResource {
        mark: Mark::Sensitive,
        ..NewResource::json(&json!("P123"))
    };
    store.put(&passport, marked).unwrap();
    // Any later write that says nothing about the mark keeps it: the
    // app's editor, a company's PUT, a new category.
    let edited = store
        .put(&passport, NewResource::json(&json!("P456")))
        .unwrap();
    assert_eq!(edited.sensitivity, Sensitivity::Sensitive);
    let recategorised = NewResource {
        category: Some(Category::Profile),
        ..NewResource::json(&json!("P456"))
    };
    assert_eq!(
        store.put(&passport, recategorised).unwrap().sensitivity,
        Sensitivity::Sensitive
    );
    assert!(crate::testing::logged_actions(&store).is_empty());

    let lowered = NewResource {
        mark: Mark::Lower,
        ..NewResource::json(&json!("P456"))
    };
    let m = store.put(&passport, lowered.clone()).unwrap();
    assert_eq!(m.sensitivity, Sensitivity::Normal);
    assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);
    // Lowering what is not marked changes and logs nothing.
    store.put(&passport, lowered.clone()).unwrap();
    assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);

    // Deleted and written again, or an unmarked version restored after a
    // deletion: the mark comes back with it.
    store
        .put(
            &passport,
            NewResource {
                mark: Mark::Sensitive,
                ..NewResource::json(&json!("P789"))
            },
        )
        .unwrap();
    store.delete(&passport).unwrap();
    let unmarked = store.get(&passport, Some(4)).unwrap().meta;
    assert_eq!(
        unmarked.sensitivity,
        Sensitivity::Normal,
        "the lowered version"
    );
    let restored = store.restore_version(&passport, 4).unwrap();
    assert_eq!(restored.sensitivity, Sensitivity::Sensitive);
    store.delete(&passport).unwrap();
    let again = store
        .put(&passport, NewResource::json(&json!("P000")))
        .unwrap();
    assert_eq!(again.sensitivity, Sensitivity::Sensitive);
    assert_eq!(crate::testing::logged_actions(&store), ["unmark"]);

    // Health data is sensitive by its category: the mark cannot be lowered.
    let allergies = p("/health/allergies");
    store
        .put(&allergies, NewResource::json(&json!(["nuts"])))
        .unwrap();
    assert!(matches!(
        store.put(&allergies, lowered),
        Err(Error::AlwaysSensitive { .. })
    ));
    assert_eq!(
        store.history(&allergies).unwrap().len(),
        1,
        "nothing written"
    );
    assert_eq!(store.verify_audit_log().unwrap().first_broken, None);
}

#[test]
fn containers_list_direct_members_only() {
    let (_dir, store) = memory_store();
    for path in [
        "/contact/email",
        "/contact/phone",
        "/contact/work/email",
        "/contactx",
        "/a/b/c/d",
    ] {
        store
            .put(&p(path), NewResource::json(&json!(path)))
            .unwrap();
    }
    let names = |c: &str| {
        store
            .list(&p(c))
            .unwrap()
            .iter()
            .map(|e| e.path().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("/"), ["/a/", "/contact/", "/contactx"]);
    assert_eq!(
        names("/contact/"),
        ["/contact/email", "/contact/phone", "/contact/work/"]
    );
    assert_eq!(names("/a/b/"), ["/a/b/c/"]);
    assert!(matches!(
        store.list(&p("/nothing/")),
        Err(Error::NotFound { .. })
    ));
    assert!(store.list(&p("/contactx")).is_err());
    assert!(matches!(
        store.get(&p("/contact/"), None),
        Err(Error::IsContainer { .. })
    ));
    let counts = store.resource_counts().unwrap();
    assert_eq!((counts.resources, counts.by_category["contact"]), (5, 3));
}
