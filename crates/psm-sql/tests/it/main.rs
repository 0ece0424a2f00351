//! Integration tests of psm-sql: the shared backend suite per database, injection, faults,
//! migrations, the pool, and the permissions provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "catalog")]
mod catalog_kit;
mod common;
mod faults;
mod injection;
mod migrations;
mod provider;
#[cfg(feature = "rebac")]
mod rebac_caveat_filter;
#[cfg(feature = "rebac")]
mod rebac_depth;
#[cfg(feature = "rebac")]
mod rebac_example;
#[cfg(feature = "rebac")]
mod rebac_filter_plans;
#[cfg(feature = "rebac")]
mod rebac_kit;
#[cfg(feature = "rebac")]
mod rebac_lookup;
#[cfg(feature = "rebac")]
mod rebac_mirror;
#[cfg(feature = "rebac")]
mod rebac_store;
#[cfg(feature = "postgres")]
mod restart;
#[cfg(feature = "postgres")]
mod silent;

#[cfg(feature = "mysql")]
mod kit_mysql;
#[cfg(feature = "postgres")]
mod kit_postgres;
#[cfg(feature = "sqlite")]
mod kit_sqlite_file;
#[cfg(feature = "sqlite")]
mod kit_sqlite_memory;
