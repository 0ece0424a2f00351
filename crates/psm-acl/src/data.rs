//! `AclData`: the plain, row-shaped form of an ACL for serde, files and SQL tables.
//!
//! Five lists, each one table: `roles (role)`, `resources (resource)`, `permissions (resource,
//! permission)`, `grants (role, resource, permission)`, `parents (role, parent)`. In JSON:
//!
//! ```json
//! {"roles":["admin","editor"],"resources":["blog"],"permissions":[["blog","read"]],
//!  "grants":[["editor","blog","read"]],"parents":[["admin","editor"]]}
//! ```
//!
//! Grants and parents imply their roles, resources and permissions, so a minimal document may
//! list only those; missing lists are empty, unknown keys are errors (a misspelt key never
//! silently drops rows). Importing replaces the ACL's whole state.

use std::fmt::Debug;
use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::acl::Acl;
use crate::error::Result;
use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;

/// An ACL as rows. Export order is the ACL's id order (stable for an unchanged ACL); use
/// [`AclData::sort`] for a canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(
    serialize = "R: Serialize, Res: Serialize, P: Serialize",
    deserialize = "R: Deserialize<'de>, Res: Deserialize<'de>, P: Deserialize<'de>"
))]
pub struct AclData<R = String, Res = String, P = String> {
    /// Every role (including those without grants).
    #[serde(default)]
    pub roles: Vec<R>,
    /// Every resource (including those without permissions).
    #[serde(default)]
    pub resources: Vec<Res>,
    /// Every defined (resource, permission) pair.
    #[serde(default)]
    pub permissions: Vec<(Res, P)>,
    /// Every direct grant (role, resource, permission).
    #[serde(default)]
    pub grants: Vec<(R, Res, P)>,
    /// Every inheritance edge (role, parent).
    #[serde(default)]
    pub parents: Vec<(R, R)>,
}

impl<R, Res, P> Default for AclData<R, Res, P> {
    fn default() -> Self {
        AclData {
            roles: Vec::new(),
            resources: Vec::new(),
            permissions: Vec::new(),
            grants: Vec::new(),
            parents: Vec::new(),
        }
    }
}

impl<R: Ord, Res: Ord, P: Ord> AclData<R, Res, P> {
    /// Sorts every list, for a canonical (diff-friendly) order.
    pub fn sort(&mut self) {
        self.roles.sort();
        self.resources.sort();
        self.permissions.sort();
        self.grants.sort();
        self.parents.sort();
    }
}

impl<R, Res, P> AclSnapshot<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// The state as rows.
    pub fn export(&self) -> AclData<R, Res, P> {
        let core = &*self.core;
        let mut data = AclData {
            roles: core.roles.iter().map(|(_, r)| r.clone()).collect(),
            resources: core.resources.iter().map(|(_, r)| r.clone()).collect(),
            ..AclData::default()
        };
        for (s, res) in core.resources.iter() {
            if let Some(perms) = core.perms_of(s) {
                data.permissions
                    .extend(perms.iter().map(|p| (res.clone(), p.clone())));
            }
        }
        data.grants.reserve(core.counts.grants);
        for (r, role) in core.roles.iter() {
            for (&s, bits) in core.direct.get(r as usize).into_iter().flatten() {
                let (Some(res), Some(perms)) = (core.resources.get(s), core.perms_of(s)) else {
                    continue;
                };
                for i in bits.iter() {
                    if let Some(p) = perms.get(i) {
                        data.grants.push((role.clone(), res.clone(), p.clone()));
                    }
                }
            }
            for &p in core.parents.get(r as usize).into_iter().flatten() {
                if let Some(parent) = core.roles.get(p) {
                    data.parents.push((role.clone(), parent.clone()));
                }
            }
        }
        data
    }
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone + Debug,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Builds an ACL from rows with the given limits, validating everything (permission
    /// grammar, cycles, limits).
    #[tracing::instrument(level = "debug", skip_all, fields(grants = data.grants.len()))]
    pub fn from_data(data: AclData<R, Res, P>, limits: crate::AclLimits) -> Result<Self> {
        let mut acl = Acl::with_limits(limits);
        acl.add_roles(data.roles)?;
        let mut structure: Vec<(Res, Vec<P>)> = data
            .resources
            .into_iter()
            .map(|r| (r, Vec::new()))
            .collect();
        structure.extend(data.permissions.into_iter().map(|(r, p)| (r, vec![p])));
        acl.add(structure)?;
        // Edges first: each grant then lands in its descendants' effective grants directly.
        for (role, parent) in data.parents {
            acl.add_parent(role, parent)?;
        }
        acl.grant_many(data.grants)?;
        metrics::counter!("psm_acl_imports_total").increment(1);
        Ok(acl)
    }

    /// Replaces the whole state with `data` (never merges). On error nothing changes.
    pub fn import(&mut self, data: AclData<R, Res, P>) -> Result<()> {
        *self = Acl::from_data(data, self.limits)?;
        Ok(())
    }
}

impl<R, Res, P> Serialize for AclSnapshot<R, Res, P>
where
    R: Hash + Eq + Clone + Serialize,
    Res: Hash + Eq + Clone + Serialize,
    P: PermissionLike + Hash + Eq + Clone + Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.export().serialize(serializer)
    }
}

impl<R, Res, P> Serialize for Acl<R, Res, P>
where
    R: Hash + Eq + Clone + Serialize,
    Res: Hash + Eq + Clone + Serialize,
    P: PermissionLike + Hash + Eq + Clone + Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.state.serialize(serializer)
    }
}

/// Deserializes [`AclData`] and validates it into an ACL with default limits.
impl<'de, R, Res, P> Deserialize<'de> for Acl<R, Res, P>
where
    R: Hash + Eq + Clone + Debug + Deserialize<'de>,
    Res: Hash + Eq + Clone + Deserialize<'de>,
    P: PermissionLike + Hash + Eq + Clone + Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let data = AclData::deserialize(deserializer)?;
        Acl::from_data(data, crate::AclLimits::default()).map_err(serde::de::Error::custom)
    }
}
