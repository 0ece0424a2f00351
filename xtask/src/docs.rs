//! `cargo xtask docs`: builds the mdBook guide in `docs/` (installing a pinned mdbook with
//! `cargo install` when none is on PATH), then checks every internal link and anchor of the built
//! HTML, that every chapter file is in SUMMARY.md, and that every chapter with Rust code blocks
//! is doctested through the umbrella crate.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::cmd::{self, Result};

/// The mdbook release xtask installs when none is found.
const MDBOOK_VERSION: &str = "0.5.4";

/// Where the umbrella crate includes the chapters as doctests.
const DOCTEST_FILE: &str = "crates/permission-storage-manager/src/lib.rs";

pub fn run() -> Result {
    let root = cmd::workspace_root()?;
    let docs = root.join("docs");
    let mdbook = ensure_mdbook()?;
    check_sources(&root, &docs.join("src"))?;
    let book = docs.join("book");
    if book.exists() {
        fs::remove_dir_all(&book)?;
    }
    cmd::run(cmd::line(&mdbook).arg("build").arg(&docs))?;
    let problems = check_links(&book)?;
    if !problems.is_empty() {
        return Err(format!(
            "{} broken links in the guide:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
        .into());
    }
    println!("guide built in {} with no broken links", book.display());
    Ok(())
}

/// The mdbook to run: one on PATH or in cargo's bin directory, else a fresh `cargo install`.
fn ensure_mdbook() -> Result<String> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin/mdbook"));
    let candidates =
        std::iter::once("mdbook".to_owned()).chain(cargo_bin.map(|p| p.display().to_string()));
    for candidate in candidates {
        if cmd::probe(cmd::line(&candidate).arg("--version")) {
            return Ok(candidate);
        }
    }
    println!("mdbook not found: installing mdbook {MDBOOK_VERSION} (a few minutes, once)");
    cmd::run(cmd::cargo()?.args([
        "install",
        "mdbook",
        "--locked",
        "--no-default-features",
        "--version",
        MDBOOK_VERSION,
    ]))?;
    let installed = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin/mdbook").display().to_string())
        .ok_or("cannot tell where cargo installed mdbook (no CARGO_HOME or HOME)")?;
    Ok(installed)
}

/// Every chapter is listed in SUMMARY.md, and every chapter with a `rust` code block is
/// included as a doctest of the umbrella crate.
fn check_sources(root: &Path, src: &Path) -> Result {
    let summary = fs::read_to_string(src.join("SUMMARY.md"))?;
    let doctests = fs::read_to_string(root.join(DOCTEST_FILE))?;
    let mut problems = Vec::new();
    let mut chapters: Vec<PathBuf> = Vec::new();
    collect_md(src, &mut chapters)?;
    for chapter in chapters {
        let rel = chapter
            .strip_prefix(src)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "SUMMARY.md" {
            continue;
        }
        if !summary.contains(&format!("({rel})")) {
            problems.push(format!("docs/src/{rel} is not listed in SUMMARY.md"));
        }
        let text = fs::read_to_string(&chapter)?;
        let has_rust = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("```rust") || l == "```rs"
        });
        if has_rust && !doctests.contains(&format!("docs/src/{rel}\")")) {
            problems.push(format!(
                "docs/src/{rel} has Rust code blocks but is not doctested in {DOCTEST_FILE}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn collect_md(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_md(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks every relative `href`/`src` of every HTML file under `book`: the target file exists
/// and, when the link has a `#fragment`, the target has an element with that `id`.
pub fn check_links(book: &Path) -> Result<Vec<String>> {
    let mut pages = Vec::new();
    collect_html(book, &mut pages)?;
    let mut ids: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut texts = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page)?;
        ids.insert(normal(page), attribute_values(&text, "id").collect());
        texts.push((page.clone(), text));
    }
    let mut problems = Vec::new();
    for (page, text) in &texts {
        let shown = page
            .strip_prefix(book)
            .unwrap_or(page)
            .display()
            .to_string();
        for link in attribute_values(text, "href").chain(attribute_values(text, "src")) {
            if is_external(&link) {
                continue;
            }
            let (path_part, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or_default();
            let target = if path_part.is_empty() {
                page.clone()
            } else {
                // `/x` is relative to the book's root (mdBook's default `site-url`).
                let (base, rel) = match path_part.strip_prefix('/') {
                    Some(rel) => (book, rel),
                    None => (page.parent().unwrap_or(book), path_part),
                };
                let mut t = base.join(percent_decode(rel));
                if t.is_dir() {
                    t = t.join("index.html");
                }
                t
            };
            let target = normal(&target);
            if !target.starts_with(normal(book)) || !target.is_file() {
                problems.push(format!("{shown}: link `{link}`: no such file"));
                continue;
            }
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                let fragment = percent_decode(fragment);
                let known = ids.get(&target).is_some_and(|set| set.contains(&fragment));
                if !known && target.extension().is_some_and(|e| e == "html") {
                    problems.push(format!("{shown}: link `{link}`: no anchor `#{fragment}`"));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    Ok(problems)
}

fn collect_html(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_html(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
    Ok(())
}

/// A link that leaves the book: any scheme (`https:`, `mailto:`, `javascript:`) or `//host`.
fn is_external(link: &str) -> bool {
    if link.starts_with("//") {
        return true;
    }
    match link.find(':') {
        Some(colon) => !link[..colon].contains(['/', '#', '?']),
        None => false,
    }
}

/// The values of `name="..."` (or single-quoted) attributes in `html`.
fn attribute_values<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let i = rest.find(name)?;
            let before = rest[..i].chars().next_back();
            let after = &rest[i + name.len()..];
            rest = after;
            if !before.is_some_and(char::is_whitespace) {
                continue;
            }
            let Some(after_eq) = after.strip_prefix('=') else {
                continue;
            };
            let Some(quote) = after_eq.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let value = &after_eq[1..];
            let end = value.find(quote)?;
            rest = &value[end..];
            return Some(value[..end].replace("&amp;", "&"));
        }
    })
}

/// `%XX` escapes decoded (invalid ones kept as written).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path with `.` and `..` resolved lexically.
fn normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(files: &[(&str, &str)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-docs-{}-{}", std::process::id(), files.len()));
        let _ = fs::remove_dir_all(&dir);
        for (name, text) in files {
            let path = dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn finds_missing_pages_and_anchors_and_ignores_external_links() {
        let dir = book(&[
            (
                "a.html",
                r##"<h1 id="top">A</h1><a href="b.html#there">ok</a> <a href="b.html#nowhere">bad anchor</a>
                <a href="missing.html">bad page</a> <a href="https://example.invalid/x">external</a>
                <a href="#top">self</a> <a href="#gone">self bad</a> <img src="img/x.png">"##,
            ),
            (
                "b.html",
                r#"<h2 id="there">B</h2><a href="../outside.html">escape</a>"#,
            ),
            ("img/x.png", "png"),
        ]);
        let problems = check_links(&dir).unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("b.html#nowhere")));
        assert!(problems.iter().any(|p| p.contains("missing.html")));
        assert!(problems.iter().any(|p| p.contains("#gone")));
        assert!(problems.iter().any(|p| p.contains("../outside.html")));
    }

    #[test]
    fn reads_attributes_only_as_whole_names() {
        let html = r#"<a data-href="no" href="yes.html" hidden="x"><p id='one'>"#;
        let hrefs: Vec<String> = attribute_values(html, "href").collect();
        assert_eq!(hrefs, ["yes.html"]);
        let ids: Vec<String> = attribute_values(html, "id").collect();
        assert_eq!(ids, ["one"]);
    }
}
