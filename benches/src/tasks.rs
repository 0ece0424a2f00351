//! Throughput loops on a tokio runtime: many tasks share one operation counter, each keeps a
//! [`Tally`] of its answers, and the merged tally comes back with the rate so the caller asserts
//! it after the loop.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Tally;

/// One throughput run: operations per second and the answers counted.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Operations per second (wall clock).
    pub rate: f64,
    /// The answers of every operation.
    pub tally: Tally,
}

/// Runs operations `0..total` over `tasks` tasks; `op(i)` returns `(answer, expected answer)`.
pub fn by_count<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, total: usize, op: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (bool, bool)> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let more = move |next: &AtomicUsize| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        (i < total).then_some(i)
    };
    drive(rt, tasks, next, more, op, None)
}

/// Runs operations over `tasks` tasks for `run` (as `pgbench -T`); `op` as in [`by_count`].
pub fn for_duration<F, Fut>(rt: &tokio::runtime::Runtime, tasks: usize, run: Duration, op: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (bool, bool)> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let more = move |next: &AtomicUsize| {
        (!flag.load(Ordering::Relaxed)).then(|| next.fetch_add(1, Ordering::Relaxed))
    };
    drive(rt, tasks, next, more, op, Some((run, stop)))
}

fn drive<M, F, Fut>(
    rt: &tokio::runtime::Runtime,
    tasks: usize,
    next: Arc<AtomicUsize>,
    more: M,
    op: F,
    timer: Option<(Duration, Arc<AtomicBool>)>,
) -> Run
where
    M: Fn(&AtomicUsize) -> Option<usize> + Send + Sync + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (bool, bool)> + Send,
{
    let (op, more) = (Arc::new(op), Arc::new(more));
    rt.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks.max(1))
            .map(|_| {
                let (op, more, next) = (op.clone(), more.clone(), next.clone());
                tokio::spawn(async move {
                    let mut tally = Tally::new();
                    while let Some(i) = more(&next) {
                        let (got, expected) = op(i).await;
                        tally.record(got, expected);
                    }
                    tally
                })
            })
            .collect();
        if let Some((run, stop)) = timer {
            tokio::time::sleep(run).await;
            stop.store(true, Ordering::Relaxed);
        }
        let mut tally = Tally::new();
        for handle in handles {
            match handle.await {
                Ok(t) => tally.merge(t),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => std::panic::resume_unwind(Box::new(e.to_string())),
            }
        }
        Run {
            rate: tally.calls() as f64 / started.elapsed().as_secs_f64(),
            tally,
        }
    })
}

/// The median of `v` (the upper one of an even count); `NaN` for none.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
