//! Schemas: the model, its three source formats (SpiceDB, OpenFGA DSL, dj_magister JSON) and validation.

pub mod analysis;
mod caveat_type;
pub mod json;
mod lexer;
pub mod model;
pub mod openfga;
pub mod openfga_json;
mod openfga_rules;
pub mod spicedb;
mod spicedb_rules;
mod validate;

pub use analysis::Analysis;
pub use caveat_type::CaveatType;
pub use model::{
    AllowedSubject, ArrowKind, CaveatDefinition, Definition, Relation, RelationKind, Rewrite,
    Schema,
};

use crate::error::Result;
use validate::Dialect;

impl Schema {
    /// Parses and validates a SpiceDB schema.
    ///
    /// ```
    /// let schema = psm_rebac::Schema::parse_spicedb(
    ///     "definition user {}\ndefinition doc { relation reader: user\n permission read = reader }",
    /// )?;
    /// assert!(schema.relation("doc", "read").is_some());
    /// # Ok::<(), psm_rebac::Error>(())
    /// ```
    pub fn parse_spicedb(src: &str) -> Result<Self> {
        let s = spicedb::parse(src)?;
        validate::validate(&s, Dialect::SpiceDb)?;
        Ok(s)
    }

    /// Parses a SpiceDB schema and validates it as SpiceDB itself does: on top of
    /// [`Schema::parse_spicedb`], SpiceDB's type-system rules on wildcards, which psm's engine
    /// does not need and so does not impose by default. A userset of another definition may not
    /// include a wildcard, directly or through further usersets (rule `transitive-wildcard`), and
    /// neither may the tupleset of an arrow (rule `wildcard-in-arrow`). The same definition's
    /// usersets and permissions over wildcard relations are allowed, as in SpiceDB.
    ///
    /// ```
    /// use psm_rebac::Schema;
    /// let src = "definition user {}\ndefinition group { relation member: user | user:* }\n\
    ///            definition doc { relation viewer: group#member }";
    /// assert!(Schema::parse_spicedb(src).is_ok());
    /// assert!(Schema::parse_spicedb_strict(src).is_err());
    /// ```
    pub fn parse_spicedb_strict(src: &str) -> Result<Self> {
        let s = Self::parse_spicedb(src)?;
        spicedb_rules::validate(&s)?;
        Ok(s)
    }

    /// Parses and validates an OpenFGA model (DSL, schema 1.1).
    pub fn parse_openfga(src: &str) -> Result<Self> {
        let s = openfga::parse(src)?;
        validate::validate(&s, Dialect::OpenFga)?;
        openfga_rules::validate(&s)?;
        Ok(s)
    }

    /// Parses and validates an OpenFGA JSON authorization model (`schema_version`, `type_definitions`).
    pub fn parse_openfga_json(src: &str) -> Result<Self> {
        let s = openfga_json::parse(src)?;
        validate::validate(&s, Dialect::OpenFga)?;
        openfga_rules::validate(&s)?;
        Ok(s)
    }

    /// Parses and validates a dj_magister JSON schema.
    pub fn parse_json(src: &str) -> Result<Self> {
        let s = json::parse(src)?;
        validate::validate(&s, Dialect::Json)?;
        Ok(s)
    }
}
