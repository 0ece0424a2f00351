//! SQL injection: hostile strings in every field (user id, permissions where the grammar allows,
//! metadata keys and values, NUL where allowed, Unicode) round-trip exactly, hostile ids are
//! refused with typed errors, and the tables survive.

use psm_core::{Error, Field, NewSession, SessionStore};
use psm_sql::SqlStore;
use serde_json::json;

use crate::per_database;

fn hostile_user_ids(table: &str) -> Vec<String> {
    vec![
        "'; DROP TABLE sessions; --".to_owned(),
        format!("'; DROP TABLE {table}; --"),
        format!("\"; DROP TABLE \"{table}\"; --"),
        format!("`; DROP TABLE `{table}`; --"),
        "\" OR 1=1 --".to_owned(),
        "' OR '1'='1".to_owned(),
        "Robert'); DELETE FROM psm_sessions;--".to_owned(),
        "\\'; SELECT pg_sleep(10); --\\".to_owned(),
        "\\\\ \\x00 \\0".to_owned(),
        "$1 $2 ? ?? :name @p %s".to_owned(),
        "%_% LIKE '%'".to_owned(),
        "Zoë 🦀 \u{202E}evil\u{202C} 漢字 ﷽".to_owned(),
        "zero\u{200B}width".to_owned(),
        "trailing space ".to_owned(),
        "trailing space".to_owned(),
        "CaseSensitive".to_owned(),
        "casesensitive".to_owned(),
    ]
}

const HOSTILE_PERMISSIONS: &[&str] = &[
    "';DROP:TABLE--",
    "\"OR:1=1--",
    "x'OR'a'='a",
    "back\\slash:\\",
    "`tick`:`",
    "$1:?:??",
    "%:_:%",
    "données:lire",
    "🦀:*",
    "q'>",
    "admin:*:';--",
];

fn hostile_metadata() -> serde_json::Value {
    json!({
        "'; DROP TABLE psm_sessions; --": "\" OR 1=1 --",
        "nul": "a\u{0000}b",
        "\u{0000}key": ["'", "\"", "`", "\\", "\\'"],
        "backslashes": "\\\\'\\\"",
        "unicode": "Zoë 🦀 \u{202E} 漢字",
        "json-ish": "{\"a\": 1}', '{}')--",
        "number": 1.5,
        "nested": {"deeper": {"sql": "1; DELETE FROM x"}},
    })
}

async fn injection_round_trips(url: String) {
    let store = SqlStore::connect(&url).await.unwrap();
    let table = store.sessions_table().to_owned();
    store
        .store_session(
            NewSession::new("canary", "canary-user")
                .permissions(["read"])
                .no_expiry(),
        )
        .await
        .unwrap();
    let users = hostile_user_ids(&table);
    for (i, user) in users.iter().enumerate() {
        let sid = format!("inj-{i:02}");
        let stored = store
            .store_session(
                NewSession::new(&sid, user)
                    .permissions(HOSTILE_PERMISSIONS.iter().copied())
                    .metadata(hostile_metadata()),
            )
            .await
            .unwrap();
        let got = store.get_session(&sid).await.unwrap().expect("stored");
        assert_eq!(got, stored, "{user:?}");
        assert_eq!(&got.user_id, user);
        assert_eq!(got.permissions, HOSTILE_PERMISSIONS);
        assert_eq!(got.metadata, hostile_metadata());
        assert_eq!(
            store.list_sessions(user).await.unwrap(),
            vec![sid.clone()],
            "{user:?}"
        );
        for perm in HOSTILE_PERMISSIONS {
            assert!(
                store.check_permission(&sid, perm).await.unwrap(),
                "{perm:?}"
            );
        }
        assert!(store.check_permission(&sid, "🦀:anything").await.unwrap());
        assert!(store.check_permission(&sid, "q'.below").await.unwrap());
        assert!(!store.check_permission(&sid, "x'OR'a'='b").await.unwrap());
        assert!(!store.check_permission(&sid, "read").await.unwrap());
        let err = store
            .check_permission(&sid, "' OR '1'='1")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPermission(_)), "{err:?}");
    }
    // ids that would be injections are refused before any SQL runs
    for bad in [
        "'; DROP TABLE x; --",
        "x' OR '1'='1",
        "a;b",
        "a\"b",
        "a`b",
        "a\\b",
    ] {
        let err = store.get_session(bad).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: Field::SessionId,
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        let err = store.check_permission(bad, "read").await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: Field::SessionId,
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
    }
    // NUL is refused where the rules forbid it, with nothing written
    let err = store
        .store_session(NewSession::new("nul-user", "a\u{0000}b"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: Field::UserId,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .store_session(NewSession::new("nul-perm", "u").permissions(["a\u{0000}b"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPermission(_)), "{err:?}");
    // padding and case never merge users
    assert_eq!(
        store.list_sessions("trailing space").await.unwrap().len(),
        1
    );
    assert_eq!(
        store.list_sessions("trailing space ").await.unwrap().len(),
        1
    );
    assert_eq!(store.list_sessions("casesensitive").await.unwrap().len(), 1);
    assert!(
        store
            .list_sessions("trailing space  ")
            .await
            .unwrap()
            .is_empty()
    );
    // the tables survived and hold exactly what was written
    assert_eq!(
        store.count_sessions().await.unwrap(),
        users.len() as u64 + 1
    );
    assert!(store.check_permission("canary", "read").await.unwrap());
    assert_eq!(
        store.list_sessions("canary-user").await.unwrap(),
        vec!["canary".to_owned()]
    );
    store.close().await.unwrap();
    // and a fresh connection finds them intact (nothing was dropped behind the store's back)
    let again = SqlStore::connect(&url).await.unwrap();
    assert_eq!(
        again.count_sessions().await.unwrap(),
        users.len() as u64 + 1
    );
    again.close().await.unwrap();
}

per_database!(
    hostile_strings_round_trip_and_tables_survive,
    super::injection_round_trips
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn hostile_table_prefixes_are_refused_before_connecting() {
    for prefix in ["x%22;DROP%20TABLE%20t;--", "a-b", "1x", "x%60y", "%C3%A9"] {
        let err = SqlStore::connect(&format!("sqlite::memory:?table_prefix={prefix}"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: Field::Option("table_prefix"),
                    ..
                }
            ),
            "{prefix}: {err:?}"
        );
    }
}
