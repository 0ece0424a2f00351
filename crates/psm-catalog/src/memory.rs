//! `MemoryAssignments`: the in-process [`AssignmentStore`], ordered maps behind one lock.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use parking_lot::RwLock;
use psm_core::{Error, Result};

use crate::store::{AssignmentStore, MAX_EFFECTIVE_GRANTS};

type Sets = BTreeMap<String, BTreeSet<String>>;

/// Grants and memberships in memory (lost when dropped); for tests, tools and single processes.
#[derive(Debug, Default)]
pub struct MemoryAssignments {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    users: Sets,
    groups: Sets,
    /// user → groups
    memberships: Sets,
}

fn add(sets: &mut Sets, key: &str, value: &str) -> bool {
    sets.entry(key.to_owned())
        .or_default()
        .insert(value.to_owned())
}

fn remove(sets: &mut Sets, key: &str, value: &str) -> bool {
    let Some(set) = sets.get_mut(key) else {
        return false;
    };
    let removed = set.remove(value);
    if set.is_empty() {
        sets.remove(key);
    }
    removed
}

fn list(sets: &Sets, key: &str) -> Vec<String> {
    sets.get(key)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default()
}

impl MemoryAssignments {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AssignmentStore for MemoryAssignments {
    async fn grant_user(&self, user: &str, permission: &str) -> Result<bool> {
        Ok(add(&mut self.state.write().users, user, permission))
    }
    async fn revoke_user(&self, user: &str, permission: &str) -> Result<bool> {
        Ok(remove(&mut self.state.write().users, user, permission))
    }
    async fn grant_group(&self, group: &str, permission: &str) -> Result<bool> {
        Ok(add(&mut self.state.write().groups, group, permission))
    }
    async fn revoke_group(&self, group: &str, permission: &str) -> Result<bool> {
        Ok(remove(&mut self.state.write().groups, group, permission))
    }
    async fn add_member(&self, group: &str, user: &str) -> Result<bool> {
        Ok(add(&mut self.state.write().memberships, user, group))
    }
    async fn remove_member(&self, group: &str, user: &str) -> Result<bool> {
        Ok(remove(&mut self.state.write().memberships, user, group))
    }
    async fn user_grants(&self, user: &str) -> Result<Vec<String>> {
        Ok(list(&self.state.read().users, user))
    }
    async fn group_grants(&self, group: &str) -> Result<Vec<String>> {
        Ok(list(&self.state.read().groups, group))
    }
    async fn groups_of(&self, user: &str) -> Result<Vec<String>> {
        Ok(list(&self.state.read().memberships, user))
    }
    async fn effective_grants(&self, user: &str) -> Result<Vec<String>> {
        let state = self.state.read();
        let mut all: BTreeSet<&String> = state.users.get(user).into_iter().flatten().collect();
        for group in state.memberships.get(user).into_iter().flatten() {
            all.extend(state.groups.get(group).into_iter().flatten());
        }
        if all.len() > MAX_EFFECTIVE_GRANTS {
            return Err(Error::QuotaExceeded {
                what: "effective grants",
                limit: MAX_EFFECTIVE_GRANTS as u64,
            });
        }
        Ok(all.into_iter().cloned().collect())
    }
}
