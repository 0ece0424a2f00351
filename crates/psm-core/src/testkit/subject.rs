//! `Subject`: the store a suite case runs against, and how time passes for it (a manual clock
//! that is advanced, or real sleeping when the backend's time is not in this process).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::store::SessionStore;
use crate::time::Timestamp;

/// A store under test with the clock it reads, if the test controls it.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The store.
    pub store: Arc<dyn SessionStore>,
    clock: Option<Arc<ManualClock>>,
}

impl Subject {
    /// A store on real time: waiting sleeps.
    pub fn real_time(store: Arc<dyn SessionStore>) -> Self {
        Subject { store, clock: None }
    }

    /// A store that reads `clock`: waiting advances it.
    pub fn with_clock(store: Arc<dyn SessionStore>, clock: Arc<ManualClock>) -> Self {
        Subject {
            store,
            clock: Some(clock),
        }
    }

    /// The time as the store sees it.
    pub fn now(&self) -> Timestamp {
        match &self.clock {
            Some(clock) => clock.now(),
            None => Timestamp::now(),
        }
    }

    /// Lets `d` pass for the store: advances its clock, or sleeps on real time.
    pub async fn wait(&self, d: Duration) {
        match &self.clock {
            Some(clock) => clock.advance(d),
            None => tokio::time::sleep(d).await,
        }
    }
}

impl From<Arc<dyn SessionStore>> for Subject {
    fn from(store: Arc<dyn SessionStore>) -> Self {
        Subject::real_time(store)
    }
}

impl Deref for Subject {
    type Target = Arc<dyn SessionStore>;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}
