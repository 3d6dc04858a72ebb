//! The bundle's table list against the schema, and its JSON lines byte for byte.
use super::*;
use crate::testing::memory_store;

/// Every table of the schema is either carried by a bundle or left out
/// on purpose, with the reason beside it: a new table holding person
/// data cannot be forgotten by export.
#[test]
fn every_table_of_the_schema_is_listed_or_left_out_with_a_reason() {
    let (_d, store) = memory_store();
    let tables: Vec<String> = store
        .conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for table in &tables {
        let listed = TABLES.iter().any(|t| t.table == table);
        let left_out = NOT_LISTED
            .iter()
            .any(|(t, why)| t == table && !why.is_empty());
        assert!(
            listed != left_out,
            "{table}: add it to the bundle's TABLES or say in NOT_LISTED why not"
        );
    }
    for name in TABLES
        .iter()
        .map(|t| t.table)
        .chain(NOT_LISTED.iter().map(|(t, _)| *t))
    {
        assert!(
            tables.iter().any(|t| t == name),
            "{name} is not in the schema"
        );
    }
}

const JWKS: &str =
    r#"{"keys":[{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

/// The JSON lines a bundle holds for stored rows, byte for byte: the
/// bundle format, which bundles already written must keep reading as.
#[test]
fn the_json_lines_are_the_bundle_format() {
    let (_d, store) = memory_store();
    let t1 = "2026-11-01T10:00:00.000000Z";
    let t2 = "2026-11-02T10:00:00.000000Z";
    let details = r#"[{"actions":["read"],"paths":["/contact/"],"type":"pod_access"}]"#;
    store
        .conn
        .execute_batch(&format!(
            "DELETE FROM audit_log;
             INSERT INTO clients VALUES ('cli_a', 'Acme', NULL, '[\"a@acme.example\"]', '{t1}');
             INSERT INTO access_requests VALUES ('req_a', 'cli_a', '{details}', 3600, 'WDJB-MJHT',
                 'secret-hash', 'approved', 5, '{t1}', '{t2}', NULL, '{t2}', 'grt_a');
             INSERT INTO grants VALUES ('grt_a', 'cli_a', 'req_a', '{details}', '{t1}', '{t2}', NULL);
             INSERT INTO audit_log VALUES (1, '{t1}', 'owner', NULL, 'grant', NULL, NULL, 'allowed',
                 'granted', 'grt_a', '{genesis}', 'abc');
             INSERT INTO resource_versions VALUES ('/notes/a', 1, 0, 'text/plain', 'other', 'normal',
                 '\"e\"', 2, x'6869', 'owner', '{t1}', NULL);
             INSERT INTO resource_versions VALUES ('/notes/a', 2, 1, 'text/plain', 'other', 'normal',
                 '', 0, x'', 'owner', '{t2}', NULL);
             INSERT INTO resource_versions VALUES ('/notes/b', 1, 0, 'text/plain', 'other', 'normal',
                 '\"e\"', 2, x'6869', 'owner', '{t1}', NULL);
             INSERT INTO resources VALUES ('/notes/b', 1, '{t1}');
             INSERT INTO receipts VALUES ('rcp_a', 'cli_a', 'grt_a', 'req_a', 'given', '{t2}', 'h.p.s');
             INSERT INTO linked_clients VALUES ('https://shop.test/c', 'shop.test', '{{\"client_id\":\"https://shop.test/c\"}}',
                 '{jwks}', NULL, 'https://shop.test/d', NULL, NULL, NULL, NULL, '{t1}');
             INSERT INTO linked_requests VALUES ('req_l', 'https://shop.test/c', 'https://shop.test/r', 'st', 'j1',
                 'h.p.s', NULL, 4, '{t1}');
             INSERT INTO outbox VALUES (1, 'dlv_a', 'https://shop.test/c', 'req_l', 3, NULL, 'denied',
                 'https://shop.test/d', 'h.p.s', 'delivered', 1, '{t1}', '{t1}', '{t1}', NULL, 200, '{t1}');
             INSERT INTO outbox VALUES (2, 'dlv_b', 'https://shop.test/c', 'req_l', 4, 'grt_a', 'updated',
                 'https://shop.test/d', 'h.p.s', 'failed', 2, '{t1}', '{t2}', '{t1}', 'HTTP 400', 400, NULL);
             INSERT INTO outbox VALUES (3, 'dlv_c', 'https://shop.test/c', 'req_l', 5, 'grt_a', 'updated',
                 'https://shop.test/d', 'h.p.s', 'moot', 0, '{t1}', '{t1}', NULL, NULL, NULL, NULL);
             INSERT INTO feed_cursors VALUES ('grt_a', 'c7', '{t2}');
             INSERT INTO feed_seen VALUES ('https://shop.test/c', 'j2', 'grt_a', '{t1}');
             INSERT INTO feed_seen VALUES ('https://shop.test/c', 'j1', 'grt_a', '{t2}');
             DELETE FROM pod_key;
             INSERT INTO pod_key VALUES (1,
                 x'9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
                 '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', '{t1}');",
            genesis = crate::audit::GENESIS,
            jwks = JWKS,
        ))
        .unwrap();
    let lines = |table: &Table| -> String {
        let rows = (table.page)(&store, &(table.first_key)()).unwrap();
        String::from_utf8(rows.into_iter().flat_map(|(_, l)| l).collect()).unwrap()
    };
    let expected = [
        (
            layout::CLIENTS,
            format!(
                r#"{{"id":"cli_a","name":"Acme","uri":null,"contacts":["a@acme.example"],"created_at":"{t1}"}}"#
            ),
        ),
        (
            layout::REQUESTS,
            format!(
                r#"{{"id":"req_a","client_id":"cli_a","details":{details},"grant_lifetime":3600,"user_code":"WDJB-MJHT","status":"approved","poll_interval":5,"created_at":"{t1}","expires_at":"{t2}","last_polled_at":null,"decided_at":"{t2}","grant_id":"grt_a"}}"#
            ),
        ),
        (
            layout::GRANTS,
            format!(
                r#"{{"id":"grt_a","client_id":"cli_a","request_id":"req_a","details":{details},"created_at":"{t1}","expires_at":"{t2}","revoked_at":null}}"#
            ),
        ),
        (
            layout::AUDIT,
            format!(
                r#"{{"seq":1,"at":"{t1}","actor":"owner","client_id":null,"action":"grant","method":null,"path":null,"outcome":"allowed","reason":"granted","grant_id":"grt_a","prev_hash":"{}","hash":"abc"}}"#,
                crate::audit::GENESIS
            ),
        ),
        (
            layout::RECEIPTS,
            format!(
                r#"{{"id":"rcp_a","client_id":"cli_a","grant_id":"grt_a","request_id":"req_a","event":"given","issued_at":"{t2}","jws":"h.p.s"}}"#
            ),
        ),
        (
            layout::LINKED_CLIENTS,
            format!(
                r#"{{"client_id":"https://shop.test/c","host":"shop.test","metadata":{{"client_id":"https://shop.test/c"}},"jwks":{JWKS},"jwks_uri":null,"delivery_uri":"https://shop.test/d","feed_uri":null,"logo_uri":null,"policy_uri":null,"client_uri":null,"fetched_at":"{t1}"}}"#
            ),
        ),
        (
            layout::LINKED_REQUESTS,
            format!(
                r#"{{"request_id":"req_l","client_id":"https://shop.test/c","request_uri":"https://shop.test/r","state":"st","jti":"j1","request_object":"h.p.s","grant_id":null,"last_seq":4,"created_at":"{t1}"}}"#
            ),
        ),
        (
            // Only what is still owed: the delivered and the moot one stay.
            layout::OUTBOX,
            format!(
                r#"{{"id":"dlv_b","client_id":"https://shop.test/c","request_id":"req_l","number":4,"grant_id":"grt_a","event":"updated","target":"https://shop.test/d","body":"h.p.s","status":"failed","attempts":2,"created_at":"{t1}","next_attempt_at":"{t2}","last_attempt_at":"{t1}","last_error":"HTTP 400","last_status":400,"delivered_at":null}}"#
            ),
        ),
        (
            layout::FEED_CURSORS,
            format!(r#"{{"grant_id":"grt_a","cursor":"c7","polled_at":"{t2}"}}"#),
        ),
        (
            layout::FEED_SEEN,
            format!(
                r#"{{"client_id":"https://shop.test/c","jti":"j1","grant_id":"grt_a","seen_at":"{t2}"}}
{{"client_id":"https://shop.test/c","jti":"j2","grant_id":"grt_a","seen_at":"{t1}"}}"#
            ),
        ),
        (
            // RFC 8037 A.1's key: the seed as base64url, its public x.
            layout::POD_KEY,
            format!(
                r#"{{"secret":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","public":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","created_at":"{t1}"}}"#
            ),
        ),
    ];
    for table in TABLES {
        let (_, want) = expected.iter().find(|(f, _)| *f == table.file).unwrap();
        assert_eq!(lines(table), format!("{want}\n"), "{}", table.file);
    }

    let versions: Vec<String> = store
        .conn
        .prepare(&layout::VersionRecord::page_sql())
        .unwrap()
        .query_map(
            rusqlite::params!["", 0, 10],
            layout::VersionRecord::from_row,
        )
        .unwrap()
        .map(|r| String::from_utf8(json_line(&r.unwrap()).unwrap()).unwrap())
        .collect();
    let version = |path: &str, v: u64, deleted: bool, etag: &str, size: u64, at: &str| {
        format!(
            r#"{{"path":"{path}","version":{v},"deleted":{deleted},"content_type":"text/plain","category":"other","sensitivity":"normal","etag":"{etag}","size":{size},"author":"owner","written_at":"{at}""#
        )
    };
    assert_eq!(
        versions,
        [
            format!("{}}}\n", version("/notes/a", 1, false, r#"\"e\""#, 2, t1)),
            format!("{}}}\n", version("/notes/a", 2, true, "", 0, t2)),
            format!(
                "{},\"live_since\":\"{t1}\"}}\n",
                version("/notes/b", 1, false, r#"\"e\""#, 2, t1)
            ),
        ]
    );
}

#[test]
fn each_table_has_its_own_file() {
    for (i, t) in TABLES.iter().enumerate() {
        assert!(t.file.ends_with(".jsonl"), "{}", t.file);
        assert!(TABLES[..i]
            .iter()
            .all(|u| u.file != t.file && u.table != t.table));
    }
}
