//! Opening a database: driver options per dialect (statement timeout, SQLite pragmas), the sqlx
//! pool and the connector the read lanes use, and the connect-then-migrate sequence every store
//! shares.

use std::str::FromStr;
use std::sync::Arc;

use psm_core::{Error, Result, StoreUrl};
use sqlx::pool::PoolOptions;
use sqlx::{ConnectOptions, Database};

use crate::config::{PoolConfig, validate_table_prefix};
use crate::conn::{Conns, Handle};
use crate::conn_options::ConnOptions;
use crate::dialect::{Dialect, driver_url, is_sqlite_memory};
use crate::error::ErrorContext;
use crate::lanes::{Connector, Lanes};
use crate::migrate::MigrationSet;

/// A database opened for one store: its dialect, its connections, and whether it is an SQLite
/// in-memory database (which must keep a connection to keep its data).
pub(crate) struct Opened {
    pub(crate) dialect: Dialect,
    pub(crate) conns: Conns,
    pub(crate) memory: bool,
}

/// Checks the table prefix, then opens the database of `options` (lazily).
pub(crate) fn open_options(options: &ConnOptions) -> Result<Opened> {
    validate_table_prefix(&options.table_prefix)?;
    let mut url = StoreUrl::parse(&options.url)?;
    let dialect = Dialect::from_scheme(url.scheme())?;
    let driver = driver_url(&mut url)?;
    url.finish()?;
    let memory = dialect == Dialect::Sqlite && is_sqlite_memory(&driver);
    #[cfg(feature = "sqlite")]
    if dialect == Dialect::Sqlite && !memory {
        crate::sqlite_file::prepare(&driver, options.create)?;
    }
    let conns = open(dialect, &driver, &options.pool, options.generic_plans)?;
    Ok(Opened {
        dialect,
        conns,
        memory,
    })
}

/// Makes freshly opened connections ready: keeps an in-memory database alive, then runs
/// `migrations` (or, without them, probes the database). On failure the connections are closed.
pub(crate) async fn make_ready(
    conns: &Conns,
    dialect: Dialect,
    memory: bool,
    migrations: Option<MigrationSet>,
) -> Result<()> {
    let ready = async {
        if memory {
            conns.keep_alive().await?;
        }
        match migrations {
            Some(set) => crate::migrate::run(conns, dialect, &set).await,
            None => conns.probe().await,
        }
    }
    .await;
    if ready.is_err() {
        conns.close().await;
    }
    ready
}

/// Opens the database at `driver_url` (lazily: no connection is made yet).
/// `generic_plans`: see [`ConnOptions::generic_plans`](crate::conn_options::ConnOptions) (PostgreSQL only).
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
pub(crate) fn open(
    dialect: Dialect,
    driver_url: &str,
    config: &PoolConfig,
    generic_plans: bool,
) -> Result<Conns> {
    config.validate()?;
    let ctx = ErrorContext {
        backend: dialect.name(),
        acquire_timeout: config.acquire_timeout,
        statement_timeout: config.statement_timeout,
    };
    let lanes = config.check_connections_for(dialect);
    match dialect {
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            let mut opts = sqlx::postgres::PgConnectOptions::from_str(driver_url)
                .map_err(|e| bad_url(driver_url, e))?;
            if let Some(t) = config.statement_timeout {
                opts = opts.options([("statement_timeout", t.as_millis().to_string())]);
            }
            if generic_plans {
                opts = opts.options([("plan_cache_mode", "force_generic_plan")]);
            }
            let pool = pool_options(config).connect_lazy_with(opts.clone());
            Ok(Conns::Postgres(handle(
                pool, opts, None, lanes, config, ctx,
            )))
        }
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => {
            let memory = crate::dialect::is_sqlite_memory(driver_url);
            let mut opts = sqlx::sqlite::SqliteConnectOptions::from_str(driver_url)
                .map_err(|e| bad_url(driver_url, e))?
                .create_if_missing(true)
                .busy_timeout(
                    config
                        .statement_timeout
                        .unwrap_or(std::time::Duration::from_secs(5)),
                );
            if !memory {
                opts = opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
            }
            let mut pool_opts = pool_options(config);
            if memory {
                // an in-memory database lives only as long as one of its connections
                pool_opts = pool_opts
                    .min_connections(config.min_connections.max(1))
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            let pool = pool_opts.connect_lazy_with(opts.clone());
            Ok(Conns::Sqlite(handle(pool, opts, None, lanes, config, ctx)))
        }
        #[cfg(feature = "mysql")]
        Dialect::MySql => {
            let opts = sqlx::mysql::MySqlConnectOptions::from_str(driver_url)
                .map_err(|e| bad_url(driver_url, e))?
                .charset("utf8mb4");
            let init = config.statement_timeout;
            let mut pool_opts = pool_options(config);
            if let Some(t) = init {
                pool_opts = pool_opts.after_connect(move |conn, _| {
                    Box::pin(async move { mysql_init(conn, t).await })
                });
            }
            let pool = pool_opts.connect_lazy_with(opts.clone());
            let after: Option<InitFn<sqlx::mysql::MySqlConnection>> = init.map(|t| {
                let f: InitFn<sqlx::mysql::MySqlConnection> = Arc::new(move |mut conn| {
                    Box::pin(async move {
                        mysql_init(&mut conn, t).await?;
                        Ok(conn)
                    })
                });
                f
            });
            Ok(Conns::MySql(handle(pool, opts, after, lanes, config, ctx)))
        }
        #[allow(unreachable_patterns)]
        other => Err(Error::UnknownScheme {
            scheme: other.name().to_owned(),
        }),
    }
}

/// Initialises a freshly opened connection (takes and gives it back).
type InitFn<C> = Arc<dyn Fn(C) -> crate::lanes::ConnectFuture<C> + Send + Sync>;

fn pool_options<DB: Database>(config: &PoolConfig) -> PoolOptions<DB> {
    PoolOptions::<DB>::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .test_before_acquire(config.test_before_acquire)
        .idle_timeout(config.idle_timeout)
}

fn handle<DB: Database>(
    pool: sqlx::Pool<DB>,
    opts: <DB::Connection as sqlx::Connection>::Options,
    init: Option<InitFn<DB::Connection>>,
    lanes: usize,
    config: &PoolConfig,
    ctx: ErrorContext,
) -> Handle<DB> {
    let connector: Connector<DB::Connection> = Arc::new(move || {
        let opts = opts.clone();
        let init = init.clone();
        Box::pin(async move {
            let conn = opts.connect().await?;
            match init {
                Some(init) => init(conn).await,
                None => Ok(conn),
            }
        })
    });
    Handle {
        pool,
        lanes: Lanes::new(lanes, config.acquire_timeout, connector.clone()),
        connector,
        ctx,
        keeper: parking_lot::Mutex::new(None),
    }
}

/// Sets the per-statement time limit on a MariaDB (`max_statement_time`, seconds) or MySQL
/// (`max_execution_time`, milliseconds, SELECT only) connection.
#[cfg(feature = "mysql")]
async fn mysql_init(
    conn: &mut sqlx::mysql::MySqlConnection,
    timeout: std::time::Duration,
) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    let secs = format!("{:.3}", timeout.as_secs_f64());
    let mariadb = format!("SET SESSION max_statement_time = {secs}");
    match conn.execute(mariadb.as_str()).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e))
            if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|m| m.number() == 1193) =>
        {
            let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
            conn.execute(mysql.as_str()).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

fn bad_url(url: &str, err: sqlx::Error) -> Error {
    let shown = StoreUrl::parse(url).map_or_else(|_| "<unparsable>".to_owned(), |u| u.redacted());
    Error::InvalidUrl {
        url: shown,
        reason: err.to_string(),
    }
}
