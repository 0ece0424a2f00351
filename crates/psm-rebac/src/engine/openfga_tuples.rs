//! Tuples OpenFGA refuses to write although the model's type restrictions would admit them;
//! applied by an engine in OpenFGA mode (`IdRules::OpenFga`).

use crate::relationship::Relationship;

/// OpenFGA's limits on a tuple's condition name (characters).
const CONDITION_NAME: std::ops::RangeInclusive<usize> = 2..=256;

/// Why OpenFGA refuses `r`, if it does: an implicit tuple (`group:a#member@group:a#member`,
/// true without being written) or a condition name outside 2–256 characters.
pub(super) fn openfga_tuple_rules(r: &Relationship) -> Result<(), String> {
    if r.subject.object == r.resource && r.subject.relation.as_deref() == Some(&*r.relation) {
        return Err(format!(
            "the tuple is implicit: `{}#{}` always holds itself",
            r.resource, r.relation
        ));
    }
    if let Some(c) = &r.caveat
        && !CONDITION_NAME.contains(&c.name.chars().count())
    {
        return Err(format!(
            "condition name `{}` must be 2 to 256 characters",
            c.name
        ));
    }
    Ok(())
}
