//! The user index repairs itself: entries whose session vanished behind the store's back (or
//! that point at another user's session) are never listed and are dropped, on a server and on
//! the cluster; keys never escape their prefix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use psm_core::{NewSession, SessionStore};
use psm_redis::RedisStore;
use redis::{Cmd, FromRedisValue};

enum Raw {
    Single(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Raw {
    async fn q<T: FromRedisValue>(&mut self, cmd: &Cmd) -> T {
        match self {
            Raw::Single(c) => cmd.query_async(c).await.unwrap(),
            Raw::Cluster(c) => cmd.query_async(c).await.unwrap(),
        }
    }
}

async fn raw(url: &str) -> Raw {
    if url.starts_with("redis+cluster://") {
        let nodes: Vec<String> = url
            .trim_start_matches("redis+cluster://")
            .split('?')
            .next()
            .unwrap()
            .split(',')
            .map(|h| format!("redis://{h}"))
            .collect();
        let client = redis::cluster::ClusterClient::new(nodes).unwrap();
        Raw::Cluster(client.get_async_connection().await.unwrap())
    } else {
        let client = redis::Client::open(url.split('?').next().unwrap()).unwrap();
        Raw::Single(client.get_multiplexed_async_connection().await.unwrap())
    }
}

async fn stale_entries_are_dropped(url: &str) {
    let isolated = common::isolated(url, "");
    let Some(store) = common::try_store(&isolated).await else {
        return;
    };
    let prefix = store.key_prefix().to_owned();
    let mut conn = raw(url).await;
    for id in ["keep", "vanish", "foreign"] {
        store
            .store_session(NewSession::new(id, "alice").permissions(["read"]))
            .await
            .unwrap();
    }
    store
        .store_session(NewSession::new("bobs", "bob").permissions(["read"]))
        .await
        .unwrap();
    // behind the store's back: delete one session, point alice's index at bob's session
    let _: i64 = conn
        .q(redis::cmd("DEL").arg(format!("{prefix}s:{{vanish}}")))
        .await;
    let _: i64 = conn
        .q(redis::cmd("ZADD")
            .arg(format!("{prefix}u:{{alice}}"))
            .arg("+inf")
            .arg("bobs"))
        .await;
    assert_eq!(
        store.list_sessions("alice").await.unwrap(),
        vec!["foreign", "keep"]
    );
    let mut left: Vec<String> = conn
        .q(redis::cmd("ZRANGE")
            .arg(format!("{prefix}u:{{alice}}"))
            .arg(0)
            .arg(-1))
        .await;
    left.sort();
    assert_eq!(left, vec!["foreign", "keep"], "the index was repaired");
    assert_eq!(store.list_sessions("bob").await.unwrap(), vec!["bobs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_index_entries_are_dropped_on_a_server() {
    stale_entries_are_dropped(&common::redis_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_index_entries_are_dropped_on_the_cluster() {
    stale_entries_are_dropped(&common::cluster_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_ids_with_braces_and_glob_characters_stay_isolated() {
    let url = common::isolated(&common::cluster_url(), "");
    let Some(store) = common::try_store(&url).await else {
        return;
    };
    let users = ["a}b", "{a}", "%7B", "*", "a?[b]"];
    for (i, user) in users.iter().enumerate() {
        store
            .store_session(NewSession::new(format!("s{i}"), *user).permissions(["read"]))
            .await
            .unwrap();
    }
    for (i, user) in users.iter().enumerate() {
        assert_eq!(
            store.list_sessions(user).await.unwrap(),
            vec![format!("s{i}")]
        );
    }
    assert_eq!(store.count_sessions().await.unwrap(), users.len() as u64);
    assert_eq!(store.stats().await.unwrap().users, Some(users.len() as u64));
    // a second store on another prefix sees none of it
    let other: RedisStore = common::try_store(&common::isolated(&common::cluster_url(), ""))
        .await
        .unwrap();
    assert_eq!(other.count_sessions().await.unwrap(), 0);
    assert!(other.list_sessions("*").await.unwrap().is_empty());
}
