//! Objects, subjects and relationships (`document:doc1#reader@group:eng#member`): types, naming rules, Display/FromStr.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::caveat::StoredContext;
use crate::error::{Error, Result, clip};
use crate::expiration::Expiration;

/// The longest object id accepted (SpiceDB's limit).
pub const MAX_OBJECT_ID_LEN: usize = 1024;
/// The longest type or relation name accepted.
pub const MAX_NAME_LEN: usize = 254;

/// Which naming rules apply to object ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IdRules {
    /// SpiceDB: 1–1024 characters of `[A-Za-z0-9/_|\-=+]`, or `*` alone for a wildcard subject.
    #[default]
    SpiceDb,
    /// OpenFGA: also `@`, `.` and `*` inside; never `#`, `:` or whitespace; not starting with `*`.
    OpenFga,
}

impl IdRules {
    /// Checks an object id (not a wildcard) against these rules.
    pub fn check_object_id(self, id: &str) -> Result<()> {
        let bad = |rule| {
            Err(Error::InvalidName {
                field: "object id",
                value: clip(id),
                rule,
            })
        };
        if id.is_empty() {
            return bad("must not be empty");
        }
        if id.len() > MAX_OBJECT_ID_LEN {
            return bad("must be at most 1024 bytes");
        }
        match self {
            Self::SpiceDb => {
                if !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_|-=+".contains(&b))
                {
                    return bad("may only contain letters, digits and `/ _ | - = +`");
                }
            }
            Self::OpenFga => {
                if id.starts_with('*') {
                    return bad("must not start with `*`");
                }
                if !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_|-=+@.*".contains(&b))
                {
                    return bad("may only contain letters, digits and `_ | * @ . + / - =`");
                }
            }
        }
        Ok(())
    }
}

/// Checks a type name: 1–254 characters, letters, digits, `_`, `/`, `.` and `-`, not starting with a digit.
pub fn check_type_name(name: &str) -> Result<()> {
    check_name("object type", name)
}

/// Checks a relation or permission name (same alphabet as types).
pub fn check_relation_name(name: &str) -> Result<()> {
    check_name("relation", name)
}

fn check_name(field: &'static str, name: &str) -> Result<()> {
    let bad = |rule| {
        Err(Error::InvalidName {
            field,
            value: clip(name),
            rule,
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("must be at most 254 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_/.-".contains(&b))
    {
        return bad("may only contain letters, digits and `_ / . -`");
    }
    Ok(())
}

/// An object: `type:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The object's type, e.g. `document`.
    pub object_type: Arc<str>,
    /// The object's id, e.g. `doc1`; `*` only in a wildcard subject.
    pub object_id: Arc<str>,
}

impl ObjectRef {
    /// Builds an object reference without validation.
    pub fn new(object_type: impl Into<Arc<str>>, object_id: impl Into<Arc<str>>) -> Self {
        Self {
            object_type: object_type.into(),
            object_id: object_id.into(),
        }
    }

    /// Parses `type:id` with the given id rules (a `*` id is rejected here).
    pub fn parse_with(s: &str, rules: IdRules) -> Result<Self> {
        let (t, id) = s
            .split_once(':')
            .ok_or_else(|| syntax(s, "expected `type:id`"))?;
        check_type_name(t)?;
        rules.check_object_id(id)?;
        Ok(Self::new(t, id))
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.object_type, self.object_id)
    }
}

impl FromStr for ObjectRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_with(s, IdRules::SpiceDb)
    }
}

/// A subject: an object (`user:alice`), a wildcard (`user:*`) or a userset (`group:eng#member`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef {
    /// The subject object; its id is `*` for a wildcard.
    pub object: ObjectRef,
    /// The subject relation for a userset (`member` in `group:eng#member`); `None` for a plain object.
    pub relation: Option<Arc<str>>,
}

impl SubjectRef {
    /// A plain object subject.
    pub fn object(object_type: impl Into<Arc<str>>, object_id: impl Into<Arc<str>>) -> Self {
        Self {
            object: ObjectRef::new(object_type, object_id),
            relation: None,
        }
    }

    /// A userset subject `type:id#relation`.
    pub fn userset(
        object_type: impl Into<Arc<str>>,
        object_id: impl Into<Arc<str>>,
        relation: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            object: ObjectRef::new(object_type, object_id),
            relation: Some(relation.into()),
        }
    }

    /// The wildcard subject `type:*`.
    pub fn wildcard(object_type: impl Into<Arc<str>>) -> Self {
        Self::object(object_type, "*")
    }

    /// Whether this is a wildcard (`type:*`).
    pub fn is_wildcard(&self) -> bool {
        &*self.object.object_id == "*"
    }

    /// Parses `type:id`, `type:id#relation`, `type:id#...` (no relation) or `type:*`.
    pub fn parse_with(s: &str, rules: IdRules) -> Result<Self> {
        let (obj, rel) = match s.split_once('#') {
            Some((o, "...")) => (o, None),
            Some((o, r)) => {
                check_relation_name(r)?;
                (o, Some(r))
            }
            None => (s, None),
        };
        let (t, id) = obj
            .split_once(':')
            .ok_or_else(|| syntax(s, "subject must be `type:id`"))?;
        check_type_name(t)?;
        if id == "*" {
            if rel.is_some() {
                return Err(syntax(s, "a wildcard subject cannot have a relation"));
            }
        } else {
            rules.check_object_id(id)?;
        }
        Ok(Self {
            object: ObjectRef::new(t, id),
            relation: rel.map(Arc::from),
        })
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.object)?;
        if let Some(r) = &self.relation {
            write!(f, "#{r}")?;
        }
        Ok(())
    }
}

impl FromStr for SubjectRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_with(s, IdRules::SpiceDb)
    }
}

/// A caveat attached to a relationship (`[name]` or `[name:{json}]`), evaluated with its stored
/// context merged over the request's whenever a check or lookup meets the relationship.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaveatRef {
    /// The caveat's name.
    pub name: String,
    /// Its context (a JSON map of parameters), if any.
    pub context: Option<StoredContext>,
}

/// A relationship: `resource#relation@subject`, optionally caveated or expiring.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relationship {
    /// The resource object.
    pub resource: ObjectRef,
    /// The relation on the resource.
    pub relation: Arc<str>,
    /// Who or what is related.
    pub subject: SubjectRef,
    /// A caveat the relationship holds under: a CEL condition named by the schema, with context
    /// stored on the relationship (which wins over a request's context).
    pub caveat: Option<CaveatRef>,
    /// An expiration, for relations that allow `with expiration`: after it the relationship no
    /// longer grants anything.
    pub expiration: Option<Expiration>,
}

impl Relationship {
    /// Builds a relationship without validation.
    pub fn new(resource: ObjectRef, relation: impl Into<Arc<str>>, subject: SubjectRef) -> Self {
        Self {
            resource,
            relation: relation.into(),
            subject,
            caveat: None,
            expiration: None,
        }
    }

    /// The same relationship without caveat or expiration: its identity in a store.
    pub fn key(&self) -> Self {
        Self::new(
            self.resource.clone(),
            self.relation.clone(),
            self.subject.clone(),
        )
    }

    /// Parses `type:id#relation@subject[caveat...]` with the given id rules.
    pub fn parse_with(s: &str, rules: IdRules) -> Result<Self> {
        let s = s.trim();
        let (resource, rest) = s
            .split_once('#')
            .ok_or_else(|| syntax(s, "expected `#` after the resource"))?;
        let (relation, rest) = rest
            .split_once('@')
            .ok_or_else(|| syntax(s, "expected `@` before the subject"))?;
        let resource = ObjectRef::parse_with(resource, rules)?;
        check_relation_name(relation)?;
        let (subject, suffix) = match rest.find('[') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let subject = SubjectRef::parse_with(subject, rules)?;
        let mut rel = Self::new(resource, relation, subject);
        let mut rest = suffix.unwrap_or_default();
        while !rest.is_empty() {
            let (group, after) = bracket_group(s, rest)?;
            rest = after;
            match group {
                Suffix::Expiration(ts) if rel.expiration.is_none() => {
                    rel.expiration = Some(Expiration::parse(ts)?);
                }
                Suffix::Caveat(c) if rel.caveat.is_none() && rel.expiration.is_none() => {
                    rel.caveat = Some(c);
                }
                _ => {
                    return Err(syntax(
                        s,
                        "at most one caveat, then at most one `[expiration:...]`",
                    ));
                }
            }
        }
        Ok(rel)
    }
}

/// One `[...]` after a relationship's subject.
enum Suffix<'a> {
    Caveat(CaveatRef),
    Expiration(&'a str),
}

/// Reads the `[name]`, `[name:{json}]` or `[expiration:timestamp]` at the start of `rest`
/// and returns it with what follows it (`whole` is the relationship, for errors).
fn bracket_group<'a>(whole: &str, rest: &'a str) -> Result<(Suffix<'a>, &'a str)> {
    let shape = || syntax(whole, "caveat must be `[name]` or `[name:{json}]`");
    let inner = rest.strip_prefix('[').ok_or_else(shape)?;
    let name_end = inner.find([':', ']']).ok_or_else(shape)?;
    let name = &inner[..name_end];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/')
    {
        return Err(syntax(
            whole,
            "caveat name must be letters, digits, `_` or `/`",
        ));
    }
    let after_name = &inner[name_end..];
    if let Some(after) = after_name.strip_prefix(']') {
        if name == "expiration" {
            return Err(syntax(whole, "expiration needs a timestamp"));
        }
        let c = CaveatRef {
            name: name.to_owned(),
            context: None,
        };
        return Ok((Suffix::Caveat(c), after));
    }
    let value = &after_name[1..];
    if name == "expiration" {
        let end = value.find(']').ok_or_else(shape)?;
        return Ok((Suffix::Expiration(&value[..end]), &value[end + 1..]));
    }
    let not_object = || syntax(whole, "caveat context must be a JSON object");
    if !value.starts_with('{') {
        return Err(not_object());
    }
    let mut stream = serde_json::Deserializer::from_str(value)
        .into_iter::<serde_json::Map<String, serde_json::Value>>();
    let map = match stream.next() {
        Some(Ok(map)) => map,
        _ => return Err(not_object()),
    };
    let end = stream.byte_offset();
    let after = value[end..].strip_prefix(']').ok_or_else(shape)?;
    let c = CaveatRef {
        name: name.to_owned(),
        context: Some(StoredContext::with_text(map, &value[..end])),
    };
    Ok((Suffix::Caveat(c), after))
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}@{}", self.resource, self.relation, self.subject)?;
        if let Some(c) = &self.caveat {
            match &c.context {
                Some(ctx) => write!(f, "[{}:{ctx}]", c.name)?,
                None => write!(f, "[{}]", c.name)?,
            }
        }
        if let Some(e) = &self.expiration {
            write!(f, "[expiration:{e}]")?;
        }
        Ok(())
    }
}

impl FromStr for Relationship {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_with(s, IdRules::SpiceDb)
    }
}

fn syntax(input: &str, reason: &str) -> Error {
    Error::RelationshipSyntax {
        input: clip(input),
        reason: reason.to_owned(),
    }
}
