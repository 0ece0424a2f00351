//! Parser for the OpenFGA DSL, schema 1.1: `model`, `schema`, `type`, `relations`, `define`, `condition`.
//!
//! Grammar of a definition, as in OpenFGA: an optional leading `[types]`, then either one or more
//! `or X`, one or more `and X`, or a single `but not X`; mixing needs parentheses.

use super::caveat_type::{CaveatType, unknown_parameter_type};
use super::lexer::{Lexer, Spanned, Tok};
use super::model::{
    AllowedSubject, ArrowKind, CaveatDefinition, Definition, Relation, RelationKind, Rewrite,
    Schema,
};
use crate::error::{Position, Result, SchemaFormat};

/// The deepest parenthesis nesting accepted in a definition.
pub const MAX_NESTING: usize = 64;

/// Parses an OpenFGA model into a [`Schema`] (without semantic validation).
pub fn parse(src: &str) -> Result<Schema> {
    let mut p = Parser::new(src)?;
    p.header()?;
    let mut schema = Schema::default();
    let mut current: Option<Definition> = None;
    let mut in_relations = false;
    loop {
        p.skip_newlines()?;
        let t = p.advance()?;
        match &t.tok {
            Tok::Eof => break,
            Tok::Ident(k) if k == "type" => {
                if let Some(d) = current.take() {
                    schema.push_definition(d);
                }
                let (name, _) = p.ident("a type name")?;
                p.end_of_line()?;
                current = Some(Definition::new(&name, t.pos));
                in_relations = false;
            }
            Tok::Ident(k) if k == "relations" => {
                if current.is_none() || in_relations {
                    return Err(p
                        .lex
                        .error(t.pos, "`relations` must follow a `type` line once"));
                }
                p.end_of_line()?;
                in_relations = true;
            }
            Tok::Ident(k) if k == "define" => {
                let Some(def) = current.as_mut() else {
                    return Err(p.lex.error(t.pos, "`define` outside a type"));
                };
                if !in_relations {
                    return Err(p
                        .lex
                        .error(t.pos, "`define` needs a `relations` line first"));
                }
                let r = p.define(t.pos)?;
                def.push_relation(r);
            }
            Tok::Ident(k) if k == "condition" => {
                if let Some(d) = current.take() {
                    schema.push_definition(d);
                }
                in_relations = false;
                let c = p.condition(t.pos)?;
                schema.caveats.push(c);
            }
            Tok::Ident(k) if k == "module" || k == "extend" => {
                return Err(p.lex.error(
                    t.pos,
                    "modular models (`module`, `extend`) are not supported: schema version required",
                ));
            }
            _ => return Err(p.unexpected(&t, "`type`, `relations`, `define` or `condition`")),
        }
    }
    if let Some(d) = current.take() {
        schema.push_definition(d);
    }
    Ok(schema)
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peek: Spanned,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Result<Self> {
        let mut lex = Lexer::new(src, SchemaFormat::OpenFga);
        lex.wide_idents = true;
        lex.newlines = true;
        let peek = lex.next_tok()?;
        Ok(Self {
            lex,
            peek,
            depth: 0,
        })
    }

    fn advance(&mut self) -> Result<Spanned> {
        let next = self.lex.next_tok()?;
        Ok(std::mem::replace(&mut self.peek, next))
    }

    fn unexpected(&self, t: &Spanned, expected: &str) -> crate::error::Error {
        let found = match &t.tok {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Arrow => "`->`".to_owned(),
            Tok::Newline => "end of line".to_owned(),
            Tok::Eof => "end of input".to_owned(),
        };
        self.lex
            .error(t.pos, format!("expected {expected}, found {found}"))
    }

    fn skip_newlines(&mut self) -> Result<()> {
        while self.peek.tok == Tok::Newline {
            self.advance()?;
        }
        Ok(())
    }

    fn end_of_line(&mut self) -> Result<()> {
        let t = self.advance()?;
        match t.tok {
            Tok::Newline | Tok::Eof => Ok(()),
            _ => Err(self.unexpected(&t, "end of line")),
        }
    }

    fn ident(&mut self, what: &str) -> Result<(String, Position)> {
        let t = self.advance()?;
        match t.tok {
            Tok::Ident(s) => Ok((s, t.pos)),
            _ => Err(self.unexpected(&t, what)),
        }
    }

    fn punct(&mut self, c: char) -> Result<Position> {
        let t = self.advance()?;
        if t.tok == Tok::Punct(c) {
            Ok(t.pos)
        } else {
            Err(self.unexpected(&t, &format!("`{c}`")))
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(&self.peek.tok, Tok::Ident(s) if s == word)
    }

    fn header(&mut self) -> Result<()> {
        self.skip_newlines()?;
        let t = self.advance()?;
        if !matches!(&t.tok, Tok::Ident(s) if s == "model") {
            return Err(self.unexpected(&t, "`model`"));
        }
        self.end_of_line()?;
        self.skip_newlines()?;
        let t = self.advance()?;
        if !matches!(&t.tok, Tok::Ident(s) if s == "schema") {
            return Err(self.unexpected(&t, "`schema`"));
        }
        let (version, vpos) = self.ident("a schema version")?;
        let well_formed = version.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
        if !well_formed {
            return Err(self
                .lex
                .error(vpos, format!("malformed schema version `{version}`")));
        }
        if version != "1.1" && version != "1.2" {
            return Err(crate::error::Error::SchemaInvalid {
                position: vpos,
                rule: "invalid-schema-version",
                message: format!("invalid schema {version}"),
            });
        }
        self.end_of_line()
    }

    fn define(&mut self, pos: Position) -> Result<Relation> {
        let (name, _) = self.ident("a relation name")?;
        self.punct(':')?;
        let (allowed, rewrite) = self.relation_def(true)?;
        self.end_of_line()?;
        Ok(Relation {
            name,
            kind: if allowed.is_empty() {
                RelationKind::Permission
            } else {
                RelationKind::Relation
            },
            allowed,
            rewrite,
            position: pos,
        })
    }

    /// `first partials?`; `[types]` is allowed only as the very first element when `allow_direct`.
    fn relation_def(&mut self, allow_direct: bool) -> Result<(Vec<AllowedSubject>, Rewrite)> {
        let mut allowed = Vec::new();
        let first = if allow_direct && self.peek.tok == Tok::Punct('[') {
            self.advance()?;
            allowed = self.type_list()?;
            Rewrite::This
        } else {
            self.operand()?
        };
        let op = match &self.peek.tok {
            Tok::Ident(s) if s == "or" || s == "and" || s == "but" => s.clone(),
            _ => return Ok((allowed, first)),
        };
        if op == "but" {
            self.but_not()?;
            let sub = self.operand()?;
            return Ok((allowed, Rewrite::Exclusion(Box::new(first), Box::new(sub))));
        }
        let mut items = vec![first];
        while self.keyword(&op) {
            self.advance()?;
            items.push(self.operand()?);
        }
        let rewrite = if op == "or" {
            Rewrite::Union(items)
        } else {
            Rewrite::Intersection(items)
        };
        Ok((allowed, rewrite))
    }

    fn but_not(&mut self) -> Result<()> {
        self.advance()?;
        let t = self.advance()?;
        if matches!(&t.tok, Tok::Ident(s) if s == "not") {
            Ok(())
        } else {
            Err(self.unexpected(&t, "`not` after `but`"))
        }
    }

    /// `name`, `name from tupleset` or `( ... )`.
    fn operand(&mut self) -> Result<Rewrite> {
        let t = self.advance()?;
        match t.tok {
            Tok::Punct('(') => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.lex.error(t.pos, "definition nested too deeply"));
                }
                let (_, inner) = self.relation_def(false)?;
                self.punct(')')?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Ident(name) if !matches!(name.as_str(), "or" | "and" | "but" | "from" | "not") => {
                if self.keyword("from") {
                    self.advance()?;
                    let (tupleset, _) = self.ident("a relation name after `from`")?;
                    return Ok(Rewrite::Arrow {
                        tupleset,
                        computed: name,
                        kind: ArrowKind::Any,
                        position: t.pos,
                    });
                }
                Ok(Rewrite::Computed {
                    relation: name,
                    position: t.pos,
                })
            }
            _ => Err(self.unexpected(&t, "a relation name or `(`")),
        }
    }

    fn type_list(&mut self) -> Result<Vec<AllowedSubject>> {
        let mut out = Vec::new();
        loop {
            let (object_type, position) = self.ident("a type name")?;
            let mut a = AllowedSubject::plain(&object_type);
            a.position = position;
            if self.peek.tok == Tok::Punct(':') {
                self.advance()?;
                self.punct('*')?;
                a.wildcard = true;
            } else if self.peek.tok == Tok::Punct('#') {
                self.advance()?;
                let (rel, _) = self.ident("a relation name after `#`")?;
                a.relation = Some(rel);
            }
            if self.keyword("with") {
                self.advance()?;
                let (cond, _) = self.ident("a condition name after `with`")?;
                a.caveat = Some(cond);
            }
            out.push(a);
            let t = self.advance()?;
            match t.tok {
                Tok::Punct(',') => continue,
                Tok::Punct(']') => return Ok(out),
                _ => return Err(self.unexpected(&t, "`,` or `]`")),
            }
        }
    }

    fn condition(&mut self, pos: Position) -> Result<CaveatDefinition> {
        let (name, _) = self.ident("a condition name")?;
        self.punct('(')?;
        let mut parameters = Vec::new();
        loop {
            let (pname, _) = self.ident("a parameter name")?;
            self.punct(':')?;
            let ty = self.param_type(true, &name, &pname)?;
            parameters.push((pname, ty));
            let t = self.advance()?;
            match t.tok {
                Tok::Punct(',') => continue,
                Tok::Punct(')') => break,
                _ => return Err(self.unexpected(&t, "`,` or `)`")),
            }
        }
        if self.peek.tok != Tok::Punct('{') {
            let t = self.peek.clone();
            return Err(self.unexpected(&t, "`{`"));
        }
        let open = self.peek.pos;
        let body = self.lex.raw_block(open)?.trim().to_owned();
        self.peek = self.lex.next_tok()?;
        self.end_of_line()?;
        if body.is_empty() {
            return Err(self.lex.error(open, "a condition needs an expression"));
        }
        Ok(CaveatDefinition {
            name,
            parameters,
            expression: body,
            position: pos,
        })
    }

    /// A parameter type of the OpenFGA grammar: a scalar, or `list<T>` / `map<T>` of a scalar.
    fn param_type(&mut self, allow_generic: bool, cond: &str, param: &str) -> Result<CaveatType> {
        let (ty, tpos) = self.ident("a parameter type")?;
        if ty == "list" || ty == "map" {
            if !allow_generic {
                return Err(self.lex.error(tpos, "generic parameter types cannot nest"));
            }
            self.punct('<')?;
            let inner = Box::new(self.param_type(false, cond, param)?);
            self.punct('>')?;
            return Ok(if ty == "list" {
                CaveatType::List(inner)
            } else {
                CaveatType::Map(inner)
            });
        }
        CaveatType::scalar(&ty).ok_or_else(|| unknown_parameter_type(tpos, cond, param, &ty))
    }
}
