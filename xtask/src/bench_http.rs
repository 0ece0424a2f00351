//! `cargo xtask bench-rebac -- --http`: issue 15's dataset (written by psm-sql's `rebac_scale`
//! example with `--export`) loaded into `psm serve` on memory, SQLite and PostgreSQL through the
//! product (`psm rebac schema write` + `psm rebac import` for SQL, `PUT /v1/schema` + `POST
//! /v1/relationships/write` for memory), then `POST /v1/check` p50/p99 at 1 and 16 keep-alive
//! connections and the heavy subject's whole `POST /v1/lookup/resources` (every page), every
//! answer compared with memory's: any mismatch fails the run. `sqlite+mirror` and
//! `postgres+mirror` serve the same SQL stores with `mirror=true` (psm-rebac's `MirrorStore`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cmd::{self, Result};
use crate::http1::Connection;
use crate::serve::Server;
use crate::services;

/// PostgreSQL tables of this bench's own (dropped before and after).
const PG_PREFIX: &str = "psm_http15_";
/// Relationships per `POST /v1/relationships/write` when loading memory.
const WRITE_BATCH: usize = 1000;
/// Most lookup pages read for one lookup (10,000 results a page).
const MAX_PAGES: usize = 1000;
/// Lookups timed per store (the median is reported).
const LOOKUPS: usize = 3;

/// Options parsed from the arguments after `--`.
struct Options {
    relationships: usize,
    checks: usize,
    stores: Vec<String>,
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        relationships: 100_000,
        checks: 2000,
        stores: vec!["memory".into(), "sqlite".into(), "postgres".into()],
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--http" => {}
            "--relationships" => {
                o.relationships = value()?
                    .parse()
                    .map_err(|_| "--relationships must be a number")?;
            }
            "--checks" => {
                o.checks = value()?.parse().map_err(|_| "--checks must be a number")?;
            }
            "--stores" => o.stores = value()?.split(',').map(str::to_owned).collect(),
            other => return Err(format!("bench-rebac --http: unknown argument {other}").into()),
        }
    }
    if o.stores.first().map(String::as_str) != Some("memory") {
        return Err("bench-rebac --http: --stores must start with memory (the reference)".into());
    }
    Ok(o)
}

/// What one store measured.
struct Figures {
    store: String,
    load: Duration,
    check: [(Duration, Duration); 2],
    lookup: Duration,
    found: usize,
    granted: usize,
}

/// Runs the HTTP bench (see the module doc).
pub fn run(args: &[String]) -> Result {
    let o = options(args)?;
    services::ensure()?;
    let mut build = cmd::cargo()?;
    build.args(["build", "--release", "-p", "psm-cli", "--bin", "psm"]);
    cmd::run(&mut build)?;
    let psm = crate::differential::target_dir()?
        .join("release")
        .join("psm");
    let dir = std::env::temp_dir().join(format!("psm-bench-http-{}", std::process::id()));
    let result = with_dir(&o, &psm, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    drop_pg_tables();
    result
}

fn with_dir(o: &Options, psm: &Path, dir: &Path) -> Result {
    let mut export = crate::bench::rebac_scale_command()?;
    export
        .arg("--export")
        .arg(dir)
        .args(["--relationships", &o.relationships.to_string()])
        .args(["--checks", &o.checks.to_string()]);
    cmd::run(&mut export)?;
    let checks: Vec<String> = std::fs::read_to_string(dir.join("checks.tsv"))?
        .lines()
        .map(check_body)
        .collect::<Result<_>>()?;
    let heavy = std::fs::read_to_string(dir.join("heavy.txt"))?;
    let mut reference: Option<(Vec<bool>, Vec<String>)> = None;
    let mut all = Vec::new();
    let mut mismatches = 0;
    for store in &o.stores {
        let (figures, answers, found) = measure(store, psm, dir, &checks, heavy.trim())?;
        match &reference {
            None => reference = Some((answers, found)),
            Some((want, want_found)) => {
                let differ = answers.iter().zip(want).filter(|(a, b)| a != b).count();
                let lookup_differs = usize::from(&found != want_found);
                if differ + lookup_differs > 0 {
                    eprintln!(
                        "{store}: {differ} check answers and {lookup_differs} lookup differ from memory's"
                    );
                }
                mismatches += differ + lookup_differs;
            }
        }
        all.push(figures);
    }
    print_table(&all, checks.len());
    if mismatches > 0 {
        return Err(format!("{mismatches} answers differ from memory's").into());
    }
    println!("every answer identical to memory's");
    Ok(())
}

/// The `POST /v1/check` body of one `resource<TAB>permission<TAB>subject` line.
fn check_body(line: &str) -> Result<String> {
    let mut parts = line.split('\t');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(r), Some(p), Some(s)) => {
            Ok(json!({"resource": r, "permission": p, "subject": s}).to_string())
        }
        _ => Err(format!("checks.tsv: bad line {line:?}").into()),
    }
}

/// Loads `store`, serves it, and measures; the check answers and the lookup's ids.
fn measure(
    store: &str,
    psm: &Path,
    dir: &Path,
    checks: &[String],
    heavy: &str,
) -> Result<(Figures, Vec<bool>, Vec<String>)> {
    // `sqlite+mirror` and `postgres+mirror`: the same store, served with `mirror=true`
    let (base, mirrored) = match store.strip_suffix("+mirror") {
        Some(base) => (base, true),
        None => (store, false),
    };
    let url = match base {
        "memory" if !mirrored => "memory://".to_owned(),
        "sqlite" => format!("sqlite://{}?create=true", dir.join("http.db").display()),
        "postgres" => {
            drop_pg_tables();
            format!("postgres://postgres@127.0.0.1:5432/test?table_prefix={PG_PREFIX}")
        }
        other => return Err(format!("unknown store {other}").into()),
    };
    let started = Instant::now();
    if store != "memory" {
        for args in [
            vec![
                "rebac".into(),
                "schema".into(),
                "write".into(),
                dir.join("schema.zed"),
            ],
            vec![
                "rebac".into(),
                "import".into(),
                dir.join("relationships.txt"),
            ],
        ] {
            cmd::run(Command::new(psm).args(["--url", &url]).args(args))?;
        }
    }
    let served = if mirrored {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mirror=true")
    } else {
        url
    };
    let server = Server::start(psm, &served)?;
    let mut conn = Connection::open(&server.base)?;
    if store == "memory" {
        load_memory(&mut conn, dir)?;
    }
    let load = started.elapsed();
    let _ = checks_at(&server.base, &checks[..checks.len().min(200)], 4)?;
    let (lat1, answers) = checks_at(&server.base, checks, 1)?;
    let (lat16, answers16) = checks_at(&server.base, checks, 16)?;
    if answers16 != answers {
        return Err(format!("{store}: answers at 16 connections differ from those at 1").into());
    }
    let mut times = Vec::new();
    let mut found = Vec::new();
    for _ in 0..LOOKUPS {
        let t = Instant::now();
        found = lookup_all(&mut conn, heavy)?;
        times.push(t.elapsed());
    }
    times.sort();
    let figures = Figures {
        store: store.to_owned(),
        load,
        check: [percentiles(lat1), percentiles(lat16)],
        lookup: times[LOOKUPS / 2],
        found: found.len(),
        granted: answers.iter().filter(|a| **a).count(),
    };
    Ok((figures, answers, found))
}

/// `PUT /v1/schema` and the relationships in writes of [`WRITE_BATCH`] touches.
fn load_memory(conn: &mut Connection, dir: &Path) -> Result {
    let schema = std::fs::read_to_string(dir.join("schema.zed"))?;
    conn.request("PUT", "/v1/schema", &json!({"schema": schema}).to_string())?;
    let rels = std::fs::read_to_string(dir.join("relationships.txt"))?;
    let lines: Vec<&str> = rels.lines().filter(|l| !l.is_empty()).collect();
    for chunk in lines.chunks(WRITE_BATCH) {
        let updates: Vec<Value> = chunk
            .iter()
            .map(|r| json!({"operation": "touch", "relationship": r}))
            .collect();
        conn.request(
            "POST",
            "/v1/relationships/write",
            &json!({ "updates": updates }).to_string(),
        )?;
    }
    Ok(())
}

/// Every check over `connections` keep-alive connections (request i on connection i mod n);
/// latencies and answers in request order.
fn checks_at(
    base: &str,
    checks: &[String],
    connections: usize,
) -> Result<(Vec<Duration>, Vec<bool>)> {
    let results: Vec<Result<Vec<(usize, Duration, bool)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|w| {
                scope.spawn(move || -> Result<Vec<(usize, Duration, bool)>> {
                    let mut conn = Connection::open(base)?;
                    let mut out = Vec::new();
                    for (i, body) in checks.iter().enumerate().skip(w).step_by(connections) {
                        let t = Instant::now();
                        let answer = conn.request("POST", "/v1/check", body)?;
                        let took = t.elapsed();
                        let value: Value = serde_json::from_str(&answer)
                            .map_err(|e| format!("/v1/check answer not JSON ({e}): {answer}"))?;
                        let allowed = value["allowed"]
                            .as_bool()
                            .ok_or_else(|| format!("/v1/check answer without allowed: {answer}"))?;
                        out.push((i, took, allowed));
                    }
                    Ok(out)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a check worker panicked".into()))
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|x| x.0);
    Ok((
        all.iter().map(|x| x.1).collect(),
        all.iter().map(|x| x.2).collect(),
    ))
}

/// The ids of every page of `document view` for `subject`.
fn lookup_all(conn: &mut Connection, subject: &str) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    for _ in 0..MAX_PAGES {
        let body = json!({"resource_type": "document", "permission": "view",
                          "subject": subject, "cursor": cursor});
        let answer = conn.request("POST", "/v1/lookup/resources", &body.to_string())?;
        let value: Value = serde_json::from_str(&answer)
            .map_err(|e| format!("/v1/lookup/resources answer not JSON ({e})"))?;
        let page = value["resource_ids"]
            .as_array()
            .ok_or("/v1/lookup/resources answer without resource_ids")?;
        ids.extend(page.iter().filter_map(Value::as_str).map(str::to_owned));
        cursor = value["cursor"].clone();
        if cursor.is_null() {
            return Ok(ids);
        }
    }
    Err(format!("lookup: more than {MAX_PAGES} pages").into())
}

/// p50 and p99 of `lat`.
fn percentiles(mut lat: Vec<Duration>) -> (Duration, Duration) {
    lat.sort();
    let at = |p: f64| {
        let i = ((lat.len().saturating_sub(1)) as f64 * p).round() as usize;
        lat.get(i).copied().unwrap_or_default()
    };
    (at(0.5), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn print_table(all: &[Figures], checks: usize) {
    println!(
        "\nover HTTP (psm serve, release), {checks} checks per measurement, times in ms:\n\
         store     load s  check@1 p50   p99  check@16 p50   p99  lookup (results)  check p50 ×mem  lookup ×mem  granted"
    );
    let Some(mem) = all.first() else { return };
    for f in all {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "{:<8} {:>7.1} {:>12} {:>5} {:>13} {:>5} {:>8} ({:>6}) {:>15.1} {:>12.1} {:>8}",
            f.store,
            f.load.as_secs_f64(),
            ms(f.check[0].0),
            ms(f.check[0].1),
            ms(f.check[1].0),
            ms(f.check[1].1),
            ms(f.lookup),
            f.found,
            ratio(f.check[0].0, mem.check[0].0),
            ratio(f.lookup, mem.lookup),
            f.granted
        );
    }
}

/// Drops this bench's PostgreSQL tables (best effort: a failure is printed, not fatal).
fn drop_pg_tables() {
    let sql = format!(
        "DO $$DECLARE r record; BEGIN FOR r IN SELECT tablename FROM pg_tables \
         WHERE schemaname = current_schema() AND tablename LIKE '{}%' LOOP \
         EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE'; END LOOP; END$$;",
        PG_PREFIX.replace('_', "\\_")
    );
    let mut psql = cmd::line("psql -X -w -q -h 127.0.0.1 -U postgres -d test -c");
    if let Err(e) = cmd::capture(psql.arg(sql)) {
        eprintln!("dropping the {PG_PREFIX} tables failed: {e}");
    }
}
