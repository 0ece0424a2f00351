//! OpenFGA tuples as `fga` reads them: inline in a store file, or in a tuple file
//! (`.yaml`/`.yml`, `.json` or `.csv` with the headers `user_type,user_id,user_relation,
//! relation,object_type,object_id,condition_name,condition_context`).

use std::path::Path;

use serde::Deserialize;

use super::{ValidationError, local_file};
use crate::{Error, Relationship};

/// One tuple key: `user`, `relation`, `object` and an optional `condition`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgaTuple {
    pub user: String,
    pub relation: String,
    pub object: String,
    #[serde(default)]
    pub condition: Option<FgaCondition>,
}

/// A tuple's condition: its name and the parameters stored with the tuple.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FgaCondition {
    pub name: String,
    #[serde(default)]
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FgaTuple {
    /// The tuple as a relationship under OpenFGA's id rules.
    pub fn relationship(&self) -> Result<Relationship, Error> {
        let condition = self.condition.as_ref().map(|c| {
            (
                c.name.as_str(),
                c.context.clone().map(serde_json::Value::Object),
            )
        });
        super::openfga::relationship(&self.object, &self.relation, &self.user, condition)
    }
}

/// Reads the tuple file `name`, relative to the store file `path` (and inside its directory).
pub fn read(path: &Path, line: usize, name: &str) -> Result<Vec<FgaTuple>, ValidationError> {
    let file = local_file(path, name)
        .map_err(|why| ValidationError::format(path, line, format!("tuple file {why}")))?;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| ValidationError::format(path, line, format!("tuple file `{name}`: {e}")))?;
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match ext {
        "yaml" | "yml" => {
            serde_norway::from_str(&text).map_err(|e| ValidationError::yaml(&file, &e))
        }
        "json" => serde_json::from_str(&text)
            .map_err(|e| ValidationError::format(&file, e.line(), format!("tuple file: {e}"))),
        "csv" => csv_tuples(&file, &text),
        _ => Err(ValidationError::format(
            path,
            line,
            format!("tuple file `{name}`: unsupported format (use .yaml, .yml, .json or .csv)"),
        )),
    }
}

/// The CSV columns, by header name.
#[derive(Debug, Default)]
struct Columns {
    user_type: Option<usize>,
    user_id: Option<usize>,
    user_relation: Option<usize>,
    relation: Option<usize>,
    object_type: Option<usize>,
    object_id: Option<usize>,
    condition_name: Option<usize>,
    condition_context: Option<usize>,
}

fn csv_tuples(file: &Path, text: &str) -> Result<Vec<FgaTuple>, ValidationError> {
    let mut rows =
        csv_rows(text).map_err(|(line, why)| ValidationError::format(file, line, why))?;
    if rows.is_empty() {
        return Err(ValidationError::format(
            file,
            1,
            "tuple file: no CSV header",
        ));
    }
    let (_, header) = rows.remove(0);
    let mut c = Columns::default();
    for (i, h) in header.iter().enumerate() {
        let slot = match h.trim() {
            "user_type" => &mut c.user_type,
            "user_id" => &mut c.user_id,
            "user_relation" => &mut c.user_relation,
            "relation" => &mut c.relation,
            "object_type" => &mut c.object_type,
            "object_id" => &mut c.object_id,
            "condition_name" => &mut c.condition_name,
            "condition_context" => &mut c.condition_context,
            other => {
                return Err(ValidationError::format(
                    file,
                    1,
                    format!("tuple file: invalid CSV header `{other}`"),
                ));
            }
        };
        *slot = Some(i);
    }
    let required = |col: Option<usize>, name: &str| {
        col.ok_or_else(|| {
            ValidationError::format(file, 1, format!("tuple file: missing CSV header `{name}`"))
        })
    };
    let user_type = required(c.user_type, "user_type")?;
    let user_id = required(c.user_id, "user_id")?;
    let relation = required(c.relation, "relation")?;
    let object_type = required(c.object_type, "object_type")?;
    let object_id = required(c.object_id, "object_id")?;
    if c.condition_context.is_some() && c.condition_name.is_none() {
        return Err(ValidationError::format(
            file,
            1,
            "tuple file: `condition_context` needs a `condition_name` column",
        ));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", String::as_str);
        if row.len() != header.len() {
            return Err(ValidationError::format(
                file,
                line,
                format!(
                    "tuple file: {} fields, the header has {}",
                    row.len(),
                    header.len()
                ),
            ));
        }
        let mut user = format!("{}:{}", cell(Some(user_type)), cell(Some(user_id)));
        if !cell(c.user_relation).is_empty() {
            user = format!("{user}#{}", cell(c.user_relation));
        }
        let condition = match cell(c.condition_name) {
            "" => None,
            name => {
                let context = match cell(c.condition_context) {
                    "" => None,
                    ctx => Some(serde_json::from_str(ctx).map_err(|e| {
                        ValidationError::format(
                            file,
                            line,
                            format!("tuple file: condition_context: {e}"),
                        )
                    })?),
                };
                Some(FgaCondition {
                    name: name.to_owned(),
                    context,
                })
            }
        };
        out.push(FgaTuple {
            user,
            relation: cell(Some(relation)).to_owned(),
            object: format!("{}:{}", cell(Some(object_type)), cell(Some(object_id))),
            condition,
        });
    }
    Ok(out)
}

/// A CSV record and the line it starts on.
type CsvRow = (usize, Vec<String>);

/// RFC 4180 records (quoted fields may hold commas, newlines and `""`), each with the line
/// it starts on; blank lines are skipped.
fn csv_rows(text: &str) -> Result<Vec<CsvRow>, (usize, String)> {
    let mut rows = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut blank = true;
        loop {
            let Some(ch) = chars.next() else {
                if quoted {
                    return Err((
                        start,
                        "tuple file: unterminated quoted CSV field".to_owned(),
                    ));
                }
                break;
            };
            blank = blank && (ch == '\n' || ch == '\r');
            match (quoted, ch) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    line += 1;
                    break;
                }
                (false, c) => field.push(c),
            }
        }
        if !blank {
            row.push(field);
            rows.push((start, row));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::csv_rows;

    #[test]
    fn csv_rows_read_quotes_commas_newlines_and_skip_blank_lines() {
        let rows = csv_rows("a,b\n\n\"x,1\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\n").unwrap();
        let got: Vec<(usize, Vec<&str>)> = rows
            .iter()
            .map(|(l, r)| (*l, r.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, vec!["a", "b"]),
                (3, vec!["x,1", "say \"hi\""]),
                (4, vec!["multi\nline", "z"]),
            ]
        );
        assert!(csv_rows("\"open").is_err());
    }
}
