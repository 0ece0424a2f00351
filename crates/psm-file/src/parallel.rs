//! A small scoped fan-out: file operations of one group commit run on several threads at once,
//! so the filesystem can merge their journal commits instead of serving them one by one.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `f` to every item on up to `max_workers` threads (the calling thread included) and
/// returns the results in item order. A `None` slot would mean an item was never run; it cannot
/// happen, as the calling thread works until every item is taken, but callers treat it as a failure.
pub(crate) fn map<T, R, F>(items: &[T], max_workers: usize, f: F) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = items.len().min(max_workers);
    if workers <= 1 {
        return items.iter().map(|item| Some(f(item))).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: parking_lot::Mutex<Vec<Option<R>>> =
        parking_lot::Mutex::new(items.iter().map(|_| None).collect());
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                break;
            };
            let result = f(item);
            slots.lock()[i] = Some(result);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            // a thread that cannot start leaves its share to the others (and to this one)
            let _ = std::thread::Builder::new().spawn_scoped(s, work);
        }
        work();
    });
    slots.into_inner()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_item_order() {
        let items: Vec<u32> = (0..100).collect();
        let out = super::map(&items, 8, |x| x * 2);
        assert_eq!(out, (0..100).map(|x| Some(x * 2)).collect::<Vec<_>>());
        assert_eq!(super::map(&[1], 8, |x| x + 1), [Some(2)]);
    }
}
