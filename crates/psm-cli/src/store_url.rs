//! The one rule for creating stores: **write commands create a missing store; read commands and
//! `psm serve` do not.** A read or `psm serve` on a `file:` or `sqlite:` URL naming a store that
//! does not exist fails with a message naming the path (a mistyped path must not answer
//! "denied" from a fresh empty store), unless the URL says `create=true`. A missing parent
//! directory of an SQLite file is an error naming it either way.

/// `url` as a command that does not create stores opens it: `create=false` added to `file:` and
/// `sqlite:` URLs (not `sqlite::memory:`) that do not choose for themselves.
pub fn without_create(url: &str) -> String {
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    let local = matches!(scheme, "file" | "sqlite") && !url.starts_with("sqlite::memory:");
    let (_, query) = url.split_once('?').unwrap_or((url, ""));
    let chooses = query
        .split('&')
        .any(|pair| pair.split_once('=').map_or(pair, |(k, _)| k) == "create");
    if !local || chooses {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}create=false")
}

#[cfg(test)]
mod tests {
    use super::without_create;

    #[test]
    fn local_urls_that_do_not_choose_get_create_false() {
        assert_eq!(
            without_create("sqlite://psm.db"),
            "sqlite://psm.db?create=false"
        );
        assert_eq!(
            without_create("file:dir?backups=2"),
            "file:dir?backups=2&create=false"
        );
        assert_eq!(
            without_create("sqlite://x.db?create=true"),
            "sqlite://x.db?create=true"
        );
        assert_eq!(without_create("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(without_create("memory://"), "memory://");
        assert_eq!(without_create("postgres://h/db"), "postgres://h/db");
    }
}
