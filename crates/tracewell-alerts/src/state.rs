//! A rule's state machine: inactive → pending (condition true, waiting out `for`) → firing → inactive again once
//! the condition has been false for `keep_firing_for`, so a condition that flaps does not page twice.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Inactive,
    Pending,
    Firing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        }
    }
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
}

impl Transition {
    /// Notifiers hear about firing and about resolving, not about pending.
    pub fn notifies(&self) -> bool {
        self.to == State::Firing || (self.from == State::Firing && self.to == State::Inactive)
    }
}

/// Where a rule stands (times in unix nanoseconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    pub state: State,
    /// When the current pending or firing episode began.
    pub active_since: Option<u64>,
    /// Last evaluation at which the condition held.
    last_true: Option<u64>,
}

impl Machine {
    /// Advances with one evaluation's outcome at `now`.
    pub fn step(
        &mut self,
        now: u64,
        holds: bool,
        for_nanos: u64,
        keep_firing_nanos: u64,
    ) -> Option<Transition> {
        let from = self.state;
        if holds {
            self.last_true = Some(now);
        }
        let to = match (from, holds) {
            (State::Inactive, true) => {
                self.active_since = Some(now);
                if for_nanos == 0 {
                    State::Firing
                } else {
                    State::Pending
                }
            }
            (State::Pending, true) => {
                let since = self.active_since.unwrap_or(now);
                if now.saturating_sub(since) >= for_nanos {
                    State::Firing
                } else {
                    State::Pending
                }
            }
            (State::Pending, false) => State::Inactive,
            (State::Firing, true) => State::Firing,
            (State::Firing, false) => {
                let last = self.last_true.unwrap_or(0);
                if now.saturating_sub(last) >= keep_firing_nanos {
                    State::Inactive
                } else {
                    State::Firing
                }
            }
            (State::Inactive, false) => State::Inactive,
        };
        if to == State::Inactive {
            self.active_since = None;
        }
        self.state = to;
        (from != to).then_some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn pending_then_firing_then_resolved_without_flapping() {
        let mut m = Machine::default();
        let (for_, keep) = (30 * S, 60 * S);
        assert_eq!(
            m.step(0, true, for_, keep),
            Some(Transition {
                from: State::Inactive,
                to: State::Pending
            })
        );
        assert_eq!(m.step(15 * S, true, for_, keep), None);
        let fired = m.step(30 * S, true, for_, keep).unwrap();
        assert_eq!(fired.to, State::Firing);
        assert!(fired.notifies());
        assert_eq!(m.active_since, Some(0));
        // A short dip does not resolve it.
        assert_eq!(m.step(45 * S, false, for_, keep), None);
        assert_eq!(m.step(60 * S, true, for_, keep), None);
        assert_eq!(m.step(100 * S, false, for_, keep), None);
        let resolved = m.step(120 * S, false, for_, keep).unwrap();
        assert_eq!(
            resolved,
            Transition {
                from: State::Firing,
                to: State::Inactive
            }
        );
        assert!(resolved.notifies());
        assert_eq!(m.active_since, None);
    }

    #[test]
    fn a_pending_rule_that_stops_holding_never_notifies() {
        let mut m = Machine::default();
        let t = m.step(0, true, 60 * S, 0).unwrap();
        assert!(!t.notifies());
        let t = m.step(15 * S, false, 60 * S, 0).unwrap();
        assert_eq!(t.to, State::Inactive);
        assert!(!t.notifies());
    }

    #[test]
    fn without_for_a_rule_fires_at_once() {
        let mut m = Machine::default();
        assert_eq!(m.step(0, true, 0, 0).unwrap().to, State::Firing);
    }
}
