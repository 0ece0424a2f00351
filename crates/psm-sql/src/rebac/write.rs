//! Writes: one transaction per call that bumps the revision (serialising writers), checks the
//! preconditions, applies creates, touches and deletes in order, and logs every change for
//! watchers. A create, touch or delete behaves exactly as in psm-rebac's `MemoryStore`.

use std::collections::HashSet;
use std::sync::Arc;

use psm_rebac::{Error, Precondition, Relationship, RelationshipUpdate, Revision, UpdateOp};

use super::read::{filter_conditions, key_binds};
use super::rows::{SqlValue, bind_values};
use super::store::{SqlTupleStore, now_millis, store_error};
use super::tables::{ID_LEN, NAME_LEN};
use crate::conn::{bounded, dispatch};
use crate::dialect::Dialect;

/// Change-log operation codes.
pub(crate) const OP_TOUCH: i64 = 1;
pub(crate) const OP_DELETE: i64 = 2;

/// Why a write transaction stopped.
enum Fail {
    /// A rule of the write (precondition, create of an existing relationship): nothing applied.
    Rule(Error),
    /// The database failed.
    Db(sqlx::Error),
    /// A statement outlived the client-side bound.
    Timeout,
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Checks what the tables can hold (lengths, a parsable expiration) before anything is sent.
pub(crate) fn check_storable(r: &Relationship) -> Result<Option<i64>, Error> {
    let name = |field: &'static str, v: &str| {
        if v.is_empty() || v.len() > NAME_LEN {
            return Err(Error::InvalidName {
                field,
                value: clip(v),
                rule: "must be 1-254 bytes",
            });
        }
        Ok(())
    };
    let id = |v: &str| {
        if v.is_empty() || v.len() > ID_LEN {
            return Err(Error::InvalidName {
                field: "object id",
                value: clip(v),
                rule: "must be 1-1024 bytes",
            });
        }
        Ok(())
    };
    name("object type", &r.resource.object_type)?;
    id(&r.resource.object_id)?;
    name("relation", &r.relation)?;
    name("object type", &r.subject.object.object_type)?;
    id(&r.subject.object.object_id)?;
    if let Some(sr) = &r.subject.relation {
        name("relation", sr)?;
    }
    if let Some(c) = &r.caveat {
        name("caveat", &c.name)?;
    }
    Ok(r.expiration.as_ref().map(psm_rebac::Expiration::millis))
}

/// The ten values of an insert: key, caveat name and context, expiration text and millis.
fn row_binds(r: &Relationship, expires_at: Option<i64>) -> Vec<SqlValue> {
    let mut binds = key_binds(r);
    binds.push(SqlValue::OptText(
        r.caveat.as_ref().map(|c| Arc::from(c.name.as_str())),
    ));
    binds.push(SqlValue::OptText(
        r.caveat
            .as_ref()
            .and_then(|c| c.context.as_ref().map(|x| x.as_str()))
            .map(Arc::from),
    ));
    binds.push(SqlValue::OptText(
        r.expiration.as_ref().map(|e| Arc::from(e.as_str())),
    ));
    binds.push(SqlValue::OptInt(expires_at));
    binds
}

/// Runs one statement of the transaction within the client-side bound.
macro_rules! stmt {
    ($limit:expr, $fut:expr) => {
        match bounded($limit, $fut).await {
            None => return Err(Fail::Timeout),
            Some(r) => r.map_err(Fail::Db)?,
        }
    };
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl SqlTupleStore {
    pub(crate) async fn write_updates(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        let inner = self.live().map_err(store_error)?;
        let mut expiries = Vec::with_capacity(updates.len());
        for u in updates {
            expiries.push(match u.op {
                UpdateOp::Delete => None,
                _ => check_storable(&u.relationship)?,
            });
        }
        let now = now_millis();
        // Precondition queries, built once (values bound).
        let mut checks = Vec::with_capacity(preconditions.len());
        for p in preconditions {
            let mut sql = format!("SELECT 1 FROM {} WHERE ", inner.tables.tuples);
            let mut binds = Vec::new();
            filter_conditions(&p.filter, "", now, &mut sql, &mut binds);
            sql.push_str(" LIMIT 1");
            checks.push((inner.dialect.sql(&sql), binds, p));
        }
        let sql = &inner.sql;
        let dialect = inner.dialect;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<i64, Fail> = dispatch!(&inner.conns, h => {
                let limit = h.ctx.client_limit();
                async {
                    let mut tx = stmt!(limit, h.pool.begin());
                    let revision: i64 = match &sql.bump_returning {
                        Some(q) => stmt!(limit, sqlx::query_scalar::<_, i64>(q.as_str()).fetch_one(&mut *tx)),
                        None => {
                            stmt!(limit, sqlx::query(&sql.bump_revision).execute(&mut *tx));
                            stmt!(limit, sqlx::query_scalar::<_, i64>(sql.select_revision.as_str()).fetch_one(&mut *tx))
                        }
                    };
                    for (q, binds, p) in &checks {
                        let found = stmt!(limit, bind_values!(sqlx::query(q), binds.iter()).fetch_optional(&mut *tx)).is_some();
                        if found != p.must_exist {
                            return Err(Fail::Rule(Error::PreconditionFailed {
                                filter: p.filter.to_string(),
                                must_exist: p.must_exist,
                            }));
                        }
                    }
                    let mut seen = HashSet::with_capacity(updates.len());
                    let mut seq = 0i64;
                    for (u, expires_at) in updates.iter().zip(&expiries) {
                        let key = u.relationship.key();
                        if !seen.insert(key.clone()) {
                            return Err(Fail::Rule(Error::RepeatedRelationship {
                                relationship: key.to_string(),
                            }));
                        }
                        let op = match u.op {
                            UpdateOp::Create => {
                                let binds = row_binds(&u.relationship, *expires_at);
                                let created = if dialect == Dialect::MySql {
                                    let run = bind_values!(sqlx::query(&sql.create), binds.iter()).execute(&mut *tx);
                                    match bounded(limit, run).await {
                                        None => return Err(Fail::Timeout),
                                        Some(Ok(_)) => true,
                                        Some(Err(e)) if is_unique_violation(&e) => {
                                            let mut revive: Vec<SqlValue> = binds[6..10].to_vec();
                                            revive.extend(key_binds(&u.relationship));
                                            revive.push(SqlValue::Int(now));
                                            stmt!(limit, bind_values!(sqlx::query(&sql.revive), revive.iter()).execute(&mut *tx)).rows_affected() > 0
                                        }
                                        Some(Err(e)) => return Err(Fail::Db(e)),
                                    }
                                } else {
                                    let mut binds = binds;
                                    binds.push(SqlValue::Int(now));
                                    stmt!(limit, bind_values!(sqlx::query(&sql.create), binds.iter()).execute(&mut *tx)).rows_affected() > 0
                                };
                                if !created {
                                    return Err(Fail::Rule(Error::AlreadyExists {
                                        relationship: key.to_string(),
                                    }));
                                }
                                OP_TOUCH
                            }
                            UpdateOp::Touch => {
                                let binds = row_binds(&u.relationship, *expires_at);
                                stmt!(limit, bind_values!(sqlx::query(&sql.upsert), binds.iter()).execute(&mut *tx));
                                OP_TOUCH
                            }
                            UpdateOp::Delete => {
                                let binds = key_binds(&u.relationship);
                                let n = stmt!(limit, bind_values!(sqlx::query(&sql.delete), binds.iter()).execute(&mut *tx)).rows_affected();
                                if n == 0 {
                                    continue;
                                }
                                OP_DELETE
                            }
                        };
                        seq += 1;
                        let logged = if op == OP_DELETE { &key } else { &u.relationship };
                        let mut binds = vec![SqlValue::Int(revision), SqlValue::Int(seq), SqlValue::Int(op)];
                        binds.extend(row_binds(logged, None).into_iter().take(9));
                        stmt!(limit, bind_values!(sqlx::query(&sql.log_change), binds.iter()).execute(&mut *tx));
                    }
                    stmt!(limit, tx.commit());
                    Ok(revision)
                }
                .await
                .map_err(|f| match f {
                    Fail::Db(e) if crate::error::is_conflict(&e) && attempt < 3 => Fail::Db(e),
                    Fail::Db(e) => Fail::Rule(store_error(h.ctx.map("rebac_write", e))),
                    Fail::Timeout => Fail::Rule(store_error(h.ctx.statement_timeout("rebac_write"))),
                    other => other,
                })
            });
            match result {
                Ok(rev) => return Ok(u64::try_from(rev).unwrap_or(0)),
                Err(Fail::Rule(e)) => return Err(e),
                Err(Fail::Db(_)) => continue,
                Err(Fail::Timeout) => {
                    return Err(Error::store(
                        psm_rebac::StoreErrorKind::Timeout,
                        "rebac_write timed out",
                    ));
                }
            }
        }
    }
}
