//! A small tokenizer shared by the schema parsers: identifiers, punctuation, line/column tracking.

use crate::error::{Error, Position, Result, SchemaFormat};

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Letters, digits, `_` (SpiceDB) — and `.`, `/`, `-` when `wide_idents` is on (OpenFGA).
    Ident(String),
    /// A punctuation character; `->` is reported as `'>'` after `'-'` folding, see [`Lexer::next`].
    Punct(char),
    /// `->`.
    Arrow,
    /// End of a line (only when `newlines` is on).
    Newline,
    /// End of input.
    Eof,
}

/// A token with where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Spanned {
    pub tok: Tok,
    pub pos: Position,
}

/// Character-level tokenizer.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: usize,
    col: usize,
    format: SchemaFormat,
    /// Whether `.`, `/` and `-` continue an identifier.
    pub wide_idents: bool,
    /// Whether newlines are tokens (OpenFGA) or whitespace (SpiceDB).
    pub newlines: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, format: SchemaFormat) -> Self {
        Self {
            src,
            chars: src.char_indices().collect(),
            i: 0,
            line: 1,
            col: 1,
            format,
            wide_idents: false,
            newlines: false,
        }
    }

    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.col,
        }
    }

    pub fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |c| c.0)
    }

    fn peek_char(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|c| c.1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    pub fn error(&self, pos: Position, message: impl Into<String>) -> Error {
        Error::SchemaSyntax {
            format: self.format,
            position: pos,
            message: message.into(),
        }
    }

    fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match (self.peek_char(0), self.peek_char(1)) {
                (Some('\n'), _) if self.newlines => return Ok(()),
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) if !self.newlines => {
                    while let Some(c) = self.peek_char(0) {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) if !self.newlines => {
                    let start = self.position();
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek_char(0), self.peek_char(1)) {
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => return Err(self.error(start, "unterminated comment")),
                        }
                    }
                }
                (Some('#'), _) if self.newlines && self.at_comment_start() => {
                    while let Some(c) = self.peek_char(0) {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// In OpenFGA a `#` starts a comment at the start of a line or after whitespace.
    fn at_comment_start(&self) -> bool {
        self.i == 0
            || self
                .chars
                .get(self.i - 1)
                .is_some_and(|c| c.1.is_whitespace())
    }

    fn is_ident_char(&self, c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || (self.wide_idents && matches!(c, '.' | '/' | '-'))
    }

    /// The next token.
    pub fn next_tok(&mut self) -> Result<Spanned> {
        self.skip_trivia()?;
        let pos = self.position();
        let Some(c) = self.peek_char(0) else {
            return Ok(Spanned { tok: Tok::Eof, pos });
        };
        let tok = if c == '\n' {
            self.bump();
            Tok::Newline
        } else if self.is_ident_char(c) {
            let mut s = String::new();
            while let Some(c) = self.peek_char(0) {
                if !self.is_ident_char(c) {
                    break;
                }
                s.push(c);
                self.bump();
            }
            Tok::Ident(s)
        } else if c == '-' && self.peek_char(1) == Some('>') {
            self.bump();
            self.bump();
            Tok::Arrow
        } else {
            self.bump();
            Tok::Punct(c)
        };
        Ok(Spanned { tok, pos })
    }

    /// Skips a balanced `{ ... }` body whose `{` was just consumed; returns its text.
    pub fn raw_block(&mut self, open: Position) -> Result<&'a str> {
        let start = self.offset();
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = self.bump() else {
                return Err(self.error(open, "unterminated `{` block"));
            };
            match quote {
                Some(q) => {
                    if c == '\\' {
                        self.bump();
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' | '`' => quote = Some(c),
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            let end = self.offset().saturating_sub(1);
                            return Ok(self.src.get(start..end).unwrap_or(""));
                        }
                    }
                    _ => {}
                },
            }
        }
    }
}
