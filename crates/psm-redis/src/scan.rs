//! SCAN over the whole keyspace of one server or of every cluster master (never `KEYS`), page
//! by page on pooled connections, each page bounded by the timeout and the page count bounded.

use std::collections::HashSet;

use psm_core::{Error, Result};
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{ErrorKind, RedisError, Value};

use crate::conn::{BACKEND, Link};

/// Keys asked for per SCAN page.
const PAGE: u64 = 1_000;
/// Most pages per node (a billion keys at `PAGE` per page): the loop is bounded.
const MAX_PAGES: usize = 1 << 20;

/// A node to scan: the single server, or one cluster master by address.
#[derive(Debug, Clone)]
enum Node {
    Any,
    Master { host: String, port: u16 },
}

/// Every key matching `pattern` of Redis type `kind` (`hash`, `zset`), de-duplicated (SCAN may
/// return a key twice).
pub(crate) async fn keys(
    link: &Link,
    op: &'static str,
    pattern: &str,
    kind: &str,
) -> Result<HashSet<String>> {
    let nodes = if link.is_cluster() {
        masters(link, op).await?
    } else {
        vec![Node::Any]
    };
    let mut found = HashSet::new();
    for node in &nodes {
        let mut cursor = 0u64;
        let mut finished = false;
        for _ in 0..MAX_PAGES {
            let (next, page) = scan_page(link, op, node, cursor, pattern, kind).await?;
            found.extend(page);
            if next == 0 {
                finished = true;
                break;
            }
            cursor = next;
        }
        if !finished {
            return Err(Error::Backend {
                backend: BACKEND,
                message: format!("{op}: SCAN did not finish within {MAX_PAGES} pages"),
                source: None,
            });
        }
    }
    Ok(found)
}

async fn scan_page(
    link: &Link,
    op: &'static str,
    node: &Node,
    cursor: u64,
    pattern: &str,
    kind: &str,
) -> Result<(u64, Vec<String>)> {
    link.run_pooled(op, |mut c| async move {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(PAGE)
            .arg("TYPE")
            .arg(kind);
        match node {
            Node::Any => cmd.query_async(&mut c).await,
            Node::Master { host, port } => {
                let conn = c.cluster().ok_or_else(|| {
                    RedisError::from((ErrorKind::Client, "cluster SCAN without a cluster pool"))
                })?;
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let value = conn.route_command(cmd, routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    })
    .await
}

/// The cluster's masters, from `CLUSTER SLOTS`.
async fn masters(link: &Link, op: &'static str) -> Result<Vec<Node>> {
    let slots: Vec<Value> = link
        .run_pooled(op, |mut c| async move {
            redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut c).await
        })
        .await?;
    let mut nodes: Vec<(String, u16)> = Vec::new();
    for range in slots {
        let Value::Array(parts) = range else { continue };
        let Some(Value::Array(master)) = parts.get(2) else {
            continue;
        };
        let host = master
            .first()
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok());
        let port = master
            .get(1)
            .and_then(|v| redis::from_redis_value_ref::<u16>(v).ok());
        if let (Some(host), Some(port)) = (host, port)
            && !nodes.contains(&(host.clone(), port))
        {
            nodes.push((host, port));
        }
    }
    if nodes.is_empty() {
        return Err(Error::Connection {
            backend: BACKEND,
            message: "CLUSTER SLOTS named no master".into(),
        });
    }
    Ok(nodes
        .into_iter()
        .map(|(host, port)| Node::Master { host, port })
        .collect())
}
