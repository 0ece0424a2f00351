//! `rediss://` against a real TLS `redis-server`: each test process starts its own server with
//! only a TLS port (`--port 0`), a server certificate from a CA generated here, and runs the
//! shared session store suite over it with `tls_ca_file` naming that CA. Negative cases: a
//! different CA, or none (the built-in roots), fail with a typed connection error, never a hang.
//!
//! With `PSM_REQUIRE_SERVICES=1` a missing `redis-server` fails these tests; the shared suite
//! cannot skip, so it fails without it either way (like `suite.rs`).
#![cfg(feature = "tls-rustls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use psm_core::testkit::services_required;
use psm_core::{Error, NewSession, SessionStore, StoreUrl};
use psm_redis::{RedisConfig, RedisPermissionsProvider, RedisStore};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A guard so no test hangs even if the store misbehaves (not a performance assertion).
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).unwrap().pem();
    Ca {
        pem,
        issuer: Issuer::new(params, key),
    }
}

/// A certificate for `localhost` and `127.0.0.1` signed by `ca`: (certificate PEM, key PEM).
fn server_cert(ca: &Ca) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "psm test redis");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A `redis-server` with only a TLS port, run through a small shell wrapper that kills it (and
/// removes its certificate directory) when this test process ends and the wrapper's stdin
/// closes, so no server outlives its tests even when a test panics or the process is killed.
struct TlsServer {
    port: u16,
    ca_file: PathBuf,
    dir: PathBuf,
    child: Mutex<(Child, Option<ChildStdin>)>,
}

const WRAPPER: &str = r#"dir=$1; shift
exec 3<&0
redis-server "$@" </dev/null &
pid=$!
(read -r _ <&3; kill -KILL "$pid" 2>/dev/null; rm -rf "$dir") &
wait "$pid""#;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl TlsServer {
    /// Starts a server; `None` when `redis-server` cannot run and services are not required.
    fn start() -> Option<TlsServer> {
        let dir = tempfile::Builder::new()
            .prefix("psm-redis-tls-")
            .tempdir()
            .unwrap()
            .keep();
        let ca = new_ca("psm test CA");
        let (cert, key) = server_cert(&ca);
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let ca_file = write("ca.pem", &ca.pem);
        let cert_file = write("server.pem", &cert);
        let key_file = write("server.key", &key);
        if let Err(e) = Command::new("redis-server").arg("--version").output() {
            if services_required() {
                panic!("PSM_REQUIRE_SERVICES=1 but redis-server cannot run: {e}");
            }
            eprintln!("SKIPPED: redis-server cannot run: {e}");
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        // the spare port may be taken by someone else before redis binds it: retry a few times
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.join("redis.log")).unwrap();
            let mut child = Command::new("sh")
                .args(["-c", WRAPPER, "sh"])
                .arg(&dir)
                .args(["--port", "0", "--bind", "127.0.0.1"])
                .args(["--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(&cert_file)
                .arg("--tls-key-file")
                .arg(&key_file)
                .arg("--tls-ca-cert-file")
                .arg(&ca_file)
                .args(["--tls-auth-clients", "no"])
                .args(["--save", "", "--appendonly", "no"])
                .stdin(Stdio::piped())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap();
            let stdin = child.stdin.take();
            for _ in 0..200 {
                if let Some(status) = child.try_wait().unwrap() {
                    last_log = read_log(&dir.join("redis.log"));
                    eprintln!("redis-server exited ({status}) on port {port}: {last_log}");
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(TlsServer {
                        port,
                        ca_file,
                        dir,
                        child: Mutex::new((child, stdin)),
                    });
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            drop(stdin); // the wrapper kills a server that is still starting
            let _ = child.wait();
        }
        panic!(
            "redis-server with --tls-port did not start (does this build support TLS? \
             `redis-server --version`, Debian's does): {last_log}"
        );
    }

    /// Stops the server now (the wrapper kills it once its stdin closes).
    fn stop(&self) {
        let mut guard = self.child.lock().unwrap();
        let (child, stdin) = &mut *guard;
        drop(stdin.take());
        let _ = child.wait();
    }
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
}

/// The server shared by the tests of this process (nextest runs each test in its own process,
/// so each gets its own server; `cargo test` shares one).
fn server() -> Option<&'static TlsServer> {
    static SERVER: OnceLock<Option<TlsServer>> = OnceLock::new();
    SERVER.get_or_init(TlsServer::start).as_ref()
}

/// A `rediss://` URL of `server` trusting `ca_file`, with `timeout` for connects and calls.
fn rediss_url(server: &TlsServer, ca_file: &Path, timeout: &str, extra: &str) -> String {
    format!(
        "rediss://127.0.0.1:{}/0?tls_ca_file={}&connect_timeout={timeout}&timeout={timeout}{extra}",
        server.port,
        ca_file.display()
    )
}

async fn tls_store() -> Arc<dyn SessionStore> {
    let Some(server) = server() else {
        panic!("the shared suite needs redis-server (with TLS support) on PATH");
    };
    common::store(&common::isolated(
        &rediss_url(server, &server.ca_file, "3s", ""),
        "",
    ))
    .await
}

psm_core::session_store_tests!(tls_store);

fn assert_tls_refused<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    match result {
        Err(Error::Connection { message, .. }) => {
            eprintln!("{what}: {message}");
            assert!(
                message.to_ascii_lowercase().contains("certificate"),
                "{what}: the connection error should say the certificate was rejected: {message}"
            );
        }
        other => panic!("{what}: expected Error::Connection, got {other:?}"),
    }
}

async fn guarded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_a_typed_connection_error_never_a_hang() {
    let Some(server) = server() else { return };
    // a CA that did not sign the server's certificate
    let other = new_ca("some other CA");
    let other_file = server.dir.join("other-ca.pem");
    std::fs::write(&other_file, &other.pem).unwrap();
    let url = rediss_url(server, &other_file, "3s", "");
    let result = guarded(
        "wrong CA",
        RedisStore::from_url(StoreUrl::parse(&url).unwrap()),
    )
    .await;
    assert_tls_refused("wrong CA", result);

    // no CA option: only the built-in web PKI roots are trusted, and they did not sign it
    let url = format!("rediss://127.0.0.1:{}?connect_timeout=3s", server.port);
    let result = guarded(
        "no CA",
        RedisStore::from_url(StoreUrl::parse(&url).unwrap()),
    )
    .await;
    assert_tls_refused("built-in roots", result);

    // the right CA still works on the same server, so the failures above were the certificate
    let url = rediss_url(server, &server.ca_file, "3s", "&key_prefix=psmtls:neg:");
    let store = guarded(
        "right CA",
        RedisStore::from_url(StoreUrl::parse(&url).unwrap()),
    )
    .await
    .unwrap();
    store
        .store_session(NewSession::new("tls-ok", "u").permissions(["read"]))
        .await
        .unwrap();
    assert!(store.check_permission("tls-ok", "read").await.unwrap());
    store.invalidate_session("tls-ok").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_port_refuses_plaintext_so_the_suite_really_ran_over_tls() {
    let Some(server) = server() else { return };
    let url = format!(
        "redis://127.0.0.1:{}?connect_timeout=2s&timeout=2s",
        server.port
    );
    let result = guarded(
        "plaintext",
        RedisStore::from_url(StoreUrl::parse(&url).unwrap()),
    )
    .await;
    match result {
        Err(Error::Connection { .. } | Error::Timeout { .. }) => {}
        other => panic!("a plaintext client on the TLS port must fail, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_provider_connects_over_tls_with_the_ca_option() {
    let Some(server) = server() else { return };
    let config = RedisConfig::new(format!("rediss://127.0.0.1:{}", server.port))
        .tls_ca_file(&server.ca_file)
        .key_prefix("psmtls:roles:")
        .timeout(Duration::from_secs(3));
    let provider = guarded("provider", RedisPermissionsProvider::connect(config))
        .await
        .unwrap();
    provider.assign_role("alice", "editor").await.unwrap();
    provider
        .grant_role_permission("editor", "write:posts")
        .await
        .unwrap();
    provider
        .grant_user_permission("alice", "read:posts")
        .await
        .unwrap();
    let mut got = provider.permissions_of("alice").await.unwrap();
    got.sort();
    assert_eq!(got, ["read:posts", "write:posts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_tls_server_gives_typed_errors_within_the_timeout() {
    // its own server, so stopping it does not disturb other tests of this process
    let Some(server) = TlsServer::start() else {
        return;
    };
    let url = rediss_url(
        &server,
        &server.ca_file,
        "500ms",
        "&key_prefix=psmtls:stop:",
    );
    let store = RedisStore::from_url(StoreUrl::parse(&url).unwrap())
        .await
        .unwrap();
    store
        .store_session(NewSession::new("s", "u").permissions(["read"]))
        .await
        .unwrap();
    server.stop();
    for round in 0..3 {
        match guarded("check", store.check_permission("s", "read")).await {
            Err(Error::Connection { .. } | Error::Timeout { .. }) => {}
            other => panic!("round {round}: expected a Connection or Timeout error, got {other:?}"),
        }
    }
}
