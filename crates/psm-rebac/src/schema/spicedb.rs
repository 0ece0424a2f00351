//! Parser for the SpiceDB schema language: definitions, relations, permissions, arrows, caveats.
//!
//! Operator precedence follows SpiceDB: `-` binds loosest, then `+`, then `&`; all are
//! left-associative, so `a + b - c` is `(a + b) - c`. Nesting is bounded by [`MAX_NESTING`].

use super::caveat_type::{CaveatType, unknown_parameter_type};
use super::lexer::{Lexer, Spanned, Tok};
use super::model::{
    AllowedSubject, ArrowKind, CaveatDefinition, Definition, Relation, RelationKind, Rewrite,
    Schema,
};
use crate::error::{Position, Result, SchemaFormat};

/// The deepest parenthesis nesting accepted in an expression.
pub const MAX_NESTING: usize = 64;

/// Parses SpiceDB schema text into a [`Schema`] (without semantic validation).
pub fn parse(src: &str) -> Result<Schema> {
    let mut p = Parser::new(src)?;
    let mut schema = Schema::default();
    loop {
        let t = p.peek.clone();
        match &t.tok {
            Tok::Eof => break,
            Tok::Ident(k) if k == "definition" => {
                p.advance()?;
                let d = p.definition(t.pos)?;
                schema.push_definition(d);
            }
            Tok::Ident(k) if k == "caveat" => {
                p.advance()?;
                let c = p.caveat(t.pos)?;
                schema.caveats.push(c);
            }
            Tok::Ident(k) if k == "use" => {
                p.advance()?;
                let (name, pos) = p.ident("a feature name after `use`")?;
                if name != "expiration" {
                    return Err(p
                        .lex
                        .error(pos, format!("unknown feature `{name}` in `use`")));
                }
                schema.uses_expiration = true;
            }
            _ => return Err(p.unexpected(&t, "`definition`, `caveat` or `use`")),
        }
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
        let mut lex = Lexer::new(src, SchemaFormat::SpiceDb);
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

    fn eat_punct(&mut self, c: char) -> Result<bool> {
        if self.peek.tok == Tok::Punct(c) {
            self.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(&self.peek.tok, Tok::Ident(s) if s == word)
    }

    /// `name` or `prefix/name` (several prefixes allowed).
    fn type_name(&mut self) -> Result<(String, Position)> {
        let (mut name, pos) = self.ident("a type name")?;
        while self.eat_punct('/')? {
            let (part, _) = self.ident("a type name after `/`")?;
            name.push('/');
            name.push_str(&part);
        }
        Ok((name, pos))
    }

    fn definition(&mut self, pos: Position) -> Result<Definition> {
        let (name, _) = self.type_name()?;
        let mut def = Definition::new(&name, pos);
        self.punct('{')?;
        loop {
            let t = self.advance()?;
            match &t.tok {
                Tok::Punct('}') => break,
                Tok::Ident(k) if k == "relation" => {
                    let r = self.relation(t.pos)?;
                    def.push_relation(r);
                }
                Tok::Ident(k) if k == "permission" => {
                    let r = self.permission(t.pos)?;
                    def.push_relation(r);
                }
                _ => return Err(self.unexpected(&t, "`relation`, `permission` or `}`")),
            }
        }
        Ok(def)
    }

    fn relation(&mut self, pos: Position) -> Result<Relation> {
        let (name, _) = self.ident("a relation name")?;
        self.punct(':')?;
        let mut allowed = vec![self.allowed_subject()?];
        while self.eat_punct('|')? {
            allowed.push(self.allowed_subject()?);
        }
        Ok(Relation {
            name,
            kind: RelationKind::Relation,
            allowed,
            rewrite: Rewrite::This,
            position: pos,
        })
    }

    fn allowed_subject(&mut self) -> Result<AllowedSubject> {
        let (object_type, position) = self.type_name()?;
        let mut a = AllowedSubject::plain(&object_type);
        a.position = position;
        if self.eat_punct(':')? {
            self.punct('*')?;
            a.wildcard = true;
        } else if self.eat_punct('#')? {
            let (rel, _) = self.ident("a relation name after `#`")?;
            a.relation = Some(rel);
        }
        if self.is_ident("with") {
            self.advance()?;
            let (first, _) = self.type_name()?;
            if first == "expiration" {
                a.expiration = true;
            } else {
                a.caveat = Some(first);
                if self.is_ident("and") {
                    self.advance()?;
                    let (e, epos) = self.ident("`expiration` after `and`")?;
                    if e != "expiration" {
                        return Err(self.lex.error(epos, "expected `expiration` after `and`"));
                    }
                    a.expiration = true;
                }
            }
        }
        Ok(a)
    }

    fn permission(&mut self, pos: Position) -> Result<Relation> {
        let (name, _) = self.ident("a permission name")?;
        self.punct('=')?;
        let rewrite = self.exclusion()?;
        Ok(Relation {
            name,
            kind: RelationKind::Permission,
            allowed: Vec::new(),
            rewrite,
            position: pos,
        })
    }

    /// `a - b - c` nests to the left, one level per `-`: each counts towards [`MAX_NESTING`]
    /// with the parentheses, so no chain builds a tree too deep to walk or drop.
    fn exclusion(&mut self) -> Result<Rewrite> {
        let mut left = self.union()?;
        let outer = self.depth;
        while self.peek.tok == Tok::Punct('-') {
            let t = self.advance()?;
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(self.lex.error(t.pos, "expression nested too deeply"));
            }
            let right = self.union()?;
            left = Rewrite::Exclusion(Box::new(left), Box::new(right));
        }
        self.depth = outer;
        Ok(left)
    }

    fn union(&mut self) -> Result<Rewrite> {
        let first = self.intersection()?;
        let mut items = vec![first];
        while self.eat_punct('+')? {
            items.push(self.intersection()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Rewrite::Union(items)
        })
    }

    fn intersection(&mut self) -> Result<Rewrite> {
        let first = self.term()?;
        let mut items = vec![first];
        while self.eat_punct('&')? {
            items.push(self.term()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Rewrite::Intersection(items)
        })
    }

    fn term(&mut self) -> Result<Rewrite> {
        let t = self.advance()?;
        match t.tok {
            Tok::Punct('(') => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.lex.error(t.pos, "expression nested too deeply"));
                }
                let e = self.exclusion()?;
                self.punct(')')?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Ident(name) if name == "nil" => Ok(Rewrite::Nil),
            Tok::Ident(name) => {
                if self.peek.tok == Tok::Arrow {
                    self.advance()?;
                    let (computed, _) = self.ident("a relation name after `->`")?;
                    return Ok(Rewrite::Arrow {
                        tupleset: name,
                        computed,
                        kind: ArrowKind::Any,
                        position: t.pos,
                    });
                }
                if self.peek.tok == Tok::Punct('.') {
                    self.advance()?;
                    let (func, fpos) = self.ident("`any` or `all` after `.`")?;
                    let kind = match func.as_str() {
                        "any" => ArrowKind::Any,
                        "all" => ArrowKind::All,
                        _ => {
                            return Err(self
                                .lex
                                .error(fpos, format!("unknown arrow function `{func}`")));
                        }
                    };
                    self.punct('(')?;
                    let (computed, _) = self.ident("a relation name")?;
                    self.punct(')')?;
                    return Ok(Rewrite::Arrow {
                        tupleset: name,
                        computed,
                        kind,
                        position: t.pos,
                    });
                }
                Ok(Rewrite::Computed {
                    relation: name,
                    position: t.pos,
                })
            }
            _ => Err(self.unexpected(&t, "a relation, `nil` or `(`")),
        }
    }

    fn caveat(&mut self, pos: Position) -> Result<CaveatDefinition> {
        let (name, _) = self.type_name()?;
        self.punct('(')?;
        let mut parameters = Vec::new();
        if !self.eat_punct(')')? {
            loop {
                let (pname, _) = self.ident("a parameter name")?;
                let tpos = self.peek.pos;
                let text = self.caveat_type()?;
                let ty = CaveatType::parse(&text)
                    .ok_or_else(|| unknown_parameter_type(tpos, &name, &pname, &text))?;
                parameters.push((pname, ty));
                if self.eat_punct(')')? {
                    break;
                }
                self.punct(',')?;
            }
        }
        // The body is CEL: take it verbatim up to the matching brace.
        if self.peek.tok != Tok::Punct('{') {
            let t = self.peek.clone();
            return Err(self.unexpected(&t, "`{`"));
        }
        let open = self.peek.pos;
        let body = self.lex.raw_block(open)?.trim().to_owned();
        self.peek = self.lex.next_tok()?;
        if body.is_empty() {
            return Err(self.lex.error(open, "a caveat needs an expression"));
        }
        Ok(CaveatDefinition {
            name,
            parameters,
            expression: body,
            position: pos,
        })
    }

    fn caveat_type(&mut self) -> Result<String> {
        let (mut ty, pos) = self.ident("a parameter type")?;
        if self.eat_punct('<')? {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(self.lex.error(pos, "parameter type nested too deeply"));
            }
            ty.push('<');
            ty.push_str(&self.caveat_type()?);
            while self.eat_punct(',')? {
                ty.push(',');
                ty.push_str(&self.caveat_type()?);
            }
            self.punct('>')?;
            ty.push('>');
            self.depth -= 1;
        }
        Ok(ty)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Parses `src` on a thread with a tokio worker's 2 MB stack; the error's text.
    fn parse_error_on_a_2mb_stack(src: String) -> String {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || parse(&src).map(|_| ()).map_err(|e| e.to_string()))
            .unwrap()
            .join()
            .unwrap()
            .unwrap_err()
    }

    /// Found fuzzing past the smoke run's 4 KB inputs: a caveat parameter type nested 200,000
    /// deep (`list<list<...>>`) overflowed the stack in `caveat_type`.
    #[test]
    fn deeply_nested_caveat_parameter_type_is_an_error_not_a_stack_overflow() {
        let n = 200_000;
        let src = format!(
            "caveat cav(x {}int{}) {{ x == 1 }}\ndefinition user {{}}",
            "list<".repeat(n),
            ">".repeat(n)
        );
        let err = parse_error_on_a_2mb_stack(src);
        assert!(err.contains("parameter type nested too deeply"), "{err}");
        let ok = format!(
            "caveat cav(x {}int{}) {{ x == 1 }}\ndefinition user {{}}",
            "list<".repeat(MAX_NESTING),
            ">".repeat(MAX_NESTING)
        );
        assert!(parse(&ok).is_ok());
    }

    /// Found fuzzing past the smoke run's 4 KB inputs: `r - r - r ...` 200,000 times parsed into
    /// a tree so deep that dropping it overflowed the stack.
    #[test]
    fn long_exclusion_chain_is_an_error_not_a_stack_overflow() {
        let chain = |n: usize| {
            format!(
                "definition user {{ relation r: user\n permission p = {}r }}",
                "r - ".repeat(n)
            )
        };
        let src = chain(200_000);
        let err = parse_error_on_a_2mb_stack(src);
        assert!(err.contains("expression nested too deeply"), "{err}");
        assert!(parse(&chain(MAX_NESTING)).is_ok());
        assert!(parse(&chain(MAX_NESTING + 1)).is_err());
    }
}
