//! Runs blocking file work off the async runtime: tokio's blocking pool when a tokio runtime is
//! current, otherwise a plain thread.

use psm_core::{Error, Result};
use tokio::sync::oneshot;

use crate::fsio::BACKEND;

/// Starts `f` on a blocking thread without waiting for it.
pub(crate) fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(f);
        }
        Err(_) => {
            std::thread::spawn(f);
        }
    }
}

/// Runs `f` on a blocking thread and waits for its result.
pub(crate) async fn run<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(|_| Error::Backend {
        backend: BACKEND,
        message: "a blocking file task stopped before it finished".to_owned(),
        source: None,
    })?
}
