//! Batching of hot-path commands on one connection: calls that arrive while a batch is on the
//! wire queue up and go out together as one pipeline (one write, one read of every reply), sent
//! by a flusher task that delivers each reply to its caller. A call on an idle connection goes
//! straight out, so one task alone pays no extra hop.
//!
//! The flusher is a spawned task, so a caller that gives up (timeout, dropped future) never
//! cancels the commands of others. Should the flusher itself be dropped (its runtime shut down),
//! callers whose command was never sent are told to send it themselves, and callers whose
//! command was on the wire get a connection error (its outcome is unknown; it is never resent).

use std::sync::Arc;

use parking_lot::Mutex;
use psm_core::Result;
use redis::{Cmd, Pipeline, Value};
use tokio::sync::oneshot;

use crate::conn::{BACKEND, Link};

/// What a waiting caller is told.
pub(crate) enum Message {
    /// The reply to its command (a server error stays a `Value::ServerError` for the caller to
    /// map), or the error that failed the whole batch.
    Done(Result<Value>),
    /// Its command was never sent (the flusher was dropped): send it directly.
    Direct,
}

/// A queued call.
pub(crate) struct Pending {
    pub(crate) op: &'static str,
    pub(crate) cmd: Cmd,
    pub(crate) tx: oneshot::Sender<Message>,
}

#[derive(Default)]
struct State {
    waiting: Vec<Pending>,
    /// A flusher runs on this connection.
    flushing: bool,
    /// Direct calls in flight.
    direct: usize,
}

/// The queue of one connection slot.
#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<State>,
}

/// Counts a direct call while it is in flight.
pub(crate) struct DirectGuard<'a> {
    queue: &'a Queue,
}

impl Drop for DirectGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock();
        state.direct = state.direct.saturating_sub(1);
    }
}

impl Queue {
    /// Joins the queue with `cmd` (built only when it is queued; a direct call builds its own).
    pub(crate) fn join(&self, op: &'static str, cmd: impl FnOnce() -> Cmd) -> Joined<'_> {
        let mut state = self.state.lock();
        if !state.flushing && state.direct == 0 {
            state.direct += 1;
            return Joined::Direct(DirectGuard { queue: self });
        }
        let (tx, rx) = oneshot::channel();
        let pending = Pending { op, cmd: cmd(), tx };
        if state.flushing {
            state.waiting.push(pending);
            Joined::Wait(rx)
        } else {
            state.flushing = true;
            Joined::Flush(vec![pending], rx)
        }
    }

    /// The next batch for the flusher, or `None` (and the flusher stops) when nobody waits.
    pub(crate) fn next_batch(&self, spare: Vec<Pending>) -> Option<Vec<Pending>> {
        let mut state = self.state.lock();
        if state.waiting.is_empty() {
            state.flushing = false;
            None
        } else {
            Some(std::mem::replace(&mut state.waiting, spare))
        }
    }

    /// The flusher was dropped: tell every waiting caller to send its command itself.
    fn abandon(&self) {
        let waiting = {
            let mut state = self.state.lock();
            state.flushing = false;
            std::mem::take(&mut state.waiting)
        };
        for pending in waiting {
            let _gone = pending.tx.send(Message::Direct);
        }
    }
}

/// How a call proceeds.
pub(crate) enum Joined<'a> {
    /// Nothing in flight on this connection: send directly (drop the guard when done).
    Direct(DirectGuard<'a>),
    /// Queued behind a batch in flight: wait for the reply.
    Wait(oneshot::Receiver<Message>),
    /// Queued first: start a flusher for this batch and wait for the reply.
    Flush(Vec<Pending>, oneshot::Receiver<Message>),
}

/// The flusher of one connection slot: sends the queued commands as one pipeline, delivers
/// every reply, and goes on while calls queued behind the batch; stops when none did.
pub(crate) struct Flusher {
    link: Arc<Link>,
    index: usize,
    /// Commands not sent yet.
    batch: Vec<Pending>,
    /// Callers whose commands are on the wire.
    callers: Vec<(&'static str, oneshot::Sender<Message>)>,
    done: bool,
}

impl Flusher {
    pub(crate) fn new(link: Arc<Link>, index: usize, batch: Vec<Pending>) -> Self {
        Flusher {
            link,
            index,
            batch,
            callers: Vec::new(),
            done: false,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let mut pipe = Pipeline::with_capacity(self.batch.len());
            for pending in self.batch.drain(..) {
                pipe.add_command(pending.cmd);
                self.callers.push((pending.op, pending.tx));
            }
            let count = self.callers.len();
            let result = self.link.send_batch(self.index, &pipe, count).await;
            match result {
                Ok(values) if values.len() == count => {
                    for (value, (_, tx)) in values.into_iter().zip(self.callers.drain(..)) {
                        let _gone = tx.send(Message::Done(Ok(value)));
                    }
                }
                Ok(values) => {
                    let reason = format!("{count} commands were answered by {}", values.len());
                    for (op, tx) in self.callers.drain(..) {
                        let err = psm_core::Error::backend(BACKEND, op, reason.clone());
                        let _gone = tx.send(Message::Done(Err(err)));
                    }
                }
                Err(err) => {
                    for (op, tx) in self.callers.drain(..) {
                        let _gone = tx.send(Message::Done(Err(for_op(&err, op))));
                    }
                }
            }
            let Some(queue) = self.link.queue(self.index) else {
                break;
            };
            match queue.next_batch(std::mem::take(&mut self.batch)) {
                Some(next) => self.batch = next,
                None => break,
            }
        }
        self.done = true;
    }
}

/// A whole-batch error as the call `op` reports it (psm's errors are not `Clone`: each caller
/// gets its own, of the same kind).
fn for_op(err: &psm_core::Error, op: &'static str) -> psm_core::Error {
    use psm_core::Error;
    match err {
        Error::Timeout { backend, after, .. } => Error::Timeout {
            backend,
            operation: op,
            after: *after,
        },
        Error::Closed => Error::Closed,
        Error::Backend {
            backend, source, ..
        } => Error::Backend {
            backend,
            message: op.to_owned(),
            source: source
                .as_ref()
                .map(|s| psm_core::BoxError::from(s.to_string())),
        },
        Error::Connection { backend, message } => Error::Connection {
            backend,
            message: message.clone(),
        },
        other => Error::Connection {
            backend: BACKEND,
            message: other.to_string(),
        },
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for (_, tx) in self.callers.drain(..) {
            let _gone = tx.send(Message::Done(Err(psm_core::Error::Connection {
                backend: BACKEND,
                message: "the connection's flusher stopped before the reply (runtime shut down?)"
                    .to_owned(),
            })));
        }
        for pending in self.batch.drain(..) {
            let _gone = pending.tx.send(Message::Direct);
        }
        if let Some(queue) = self.link.queue(self.index) {
            queue.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_queue_sends_directly_then_batches_behind_it() {
        let queue = Queue::default();
        let Joined::Direct(direct) = queue.join("ping", || redis::cmd("PING")) else {
            panic!("an idle connection sends directly");
        };
        let Joined::Flush(first, _rx1) = queue.join("ping", || redis::cmd("PING")) else {
            panic!("a call beside a direct one starts a flusher");
        };
        assert_eq!(first.len(), 1);
        let Joined::Wait(_rx2) = queue.join("ping", || redis::cmd("PING")) else {
            panic!("a call behind a flusher waits");
        };
        drop(direct);
        let next = queue.next_batch(Vec::new()).unwrap();
        assert_eq!(next.len(), 1);
        assert!(queue.next_batch(Vec::new()).is_none());
        assert!(matches!(
            queue.join("ping", || redis::cmd("PING")),
            Joined::Direct(_)
        ));
    }

    #[test]
    fn an_abandoned_queue_sends_the_waiting_directly_and_starts_afresh() {
        let queue = Queue::default();
        let _direct = queue.join("ping", || redis::cmd("PING"));
        let Joined::Flush(_batch, _rx1) = queue.join("ping", || redis::cmd("PING")) else {
            panic!("flusher expected");
        };
        let Joined::Wait(mut rx2) = queue.join("ping", || redis::cmd("PING")) else {
            panic!("waiter expected");
        };
        queue.abandon();
        assert!(matches!(rx2.try_recv(), Ok(Message::Direct)));
        assert!(matches!(
            queue.join("ping", || redis::cmd("PING")),
            Joined::Flush(..)
        ));
    }
}
