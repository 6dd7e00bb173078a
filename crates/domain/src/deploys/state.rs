//! The deployment state machine of semantics.md §8.4 and the serial queue's rules (§9.1).
//! Every state change of a deployment goes through [`DeploymentState::after`]; anything
//! it refuses is an [`InvalidTransition`], so neither a replayed job step nor a late user
//! call can move a deployment somewhere the machine does not allow.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! states {
    ($( $variant:ident => $text:literal ),* $(,)?) => {
        /// `deployment_state` / `deployment.state`: exactly the spec's enum.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum DeploymentState { $( $variant, )* }

        impl DeploymentState {
            pub const ALL: &'static [DeploymentState] = &[ $( DeploymentState::$variant, )* ];
            pub fn as_str(self) -> &'static str {
                match self { $( DeploymentState::$variant => $text, )* }
            }
        }

        impl FromStr for DeploymentState {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                match text { $( $text => Ok(DeploymentState::$variant), )* _ => Err(()) }
            }
        }
    };
}

states!(
    Pending => "pending",
    Ready => "ready",
    NoChanges => "no_changes",
    Queued => "queued",
    Submitting => "submitting",
    InProgress => "in_progress",
    PendingCutover => "pending_cutover",
    InProgressVschema => "in_progress_vschema",
    InProgressCancel => "in_progress_cancel",
    InProgressCutover => "in_progress_cutover",
    Complete => "complete",
    CompleteCancel => "complete_cancel",
    CompleteError => "complete_error",
    CompletePendingRevert => "complete_pending_revert",
    InProgressRevert => "in_progress_revert",
    InProgressRevertVschema => "in_progress_revert_vschema",
    CompleteRevert => "complete_revert",
    CompleteRevertError => "complete_revert_error",
    Cancelled => "cancelled",
    Error => "error",
);

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a deployment. `[U]` events come from API calls, `[E]` from the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentEvent {
    /// [E] The diff, merge check, lint and deploy checks were computed.
    Checked(CheckOutcome),
    /// [E] The head's schema changed: recompute (dismisses approvals, leaves the queue).
    HeadChanged,
    /// [U] `deploy`.
    Queue,
    /// [E] The deployment reached the head of its lane.
    Submit,
    /// [E] The migrations were submitted and run.
    Start,
    /// [E] Copy and catch-up done, `auto_cutover=false`: wait for `apply-deploy`.
    AwaitCutover,
    /// [E] (auto cutover) or [U] `apply-deploy` (gated): swap the tables.
    Cutover,
    /// [E] The swap is done: the revert window opens.
    CutoverDone,
    /// [E] An instant deploy applied every change (no revert window).
    InstantDone,
    /// [U] `skip-revert`, or [E] the revert window elapsed.
    CloseRevertWindow,
    /// [U] `revert`.
    Revert,
    /// [E] The revert swap is done.
    RevertDone,
    /// [U] `cancel`.
    Cancel,
    /// [E] The shadow tables of a cancelled deployment are gone.
    CancelDone,
    /// [E] A step failed for good.
    Fail,
}

/// The result of the deploy checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Deployable,
    NoChanges,
    Failed,
}

/// A refused state change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a deployment in state {from} cannot {event:?}")]
pub struct InvalidTransition {
    pub from: DeploymentState,
    pub event: DeploymentEvent,
}

impl DeploymentState {
    /// The state after `event`, or why it is refused.
    pub fn after(self, event: DeploymentEvent) -> Result<DeploymentState, InvalidTransition> {
        use DeploymentEvent as E;
        use DeploymentState as S;
        let next = match (self, event) {
            (S::Pending | S::Ready | S::NoChanges | S::Error, E::Checked(outcome)) => match outcome
            {
                CheckOutcome::Deployable => S::Ready,
                CheckOutcome::NoChanges => S::NoChanges,
                CheckOutcome::Failed => S::Error,
            },
            (
                S::Ready | S::NoChanges | S::Error | S::Queued | S::Cancelled | S::CompleteCancel,
                E::HeadChanged,
            ) => S::Pending,
            // A cancelled deploy request may be deployed again (semantics.md §8.4).
            (S::Ready | S::Cancelled | S::CompleteCancel, E::Queue) => S::Queued,
            (S::Queued, E::Submit) => S::Submitting,
            (S::Submitting, E::Start) => S::InProgress,
            (S::InProgress, E::AwaitCutover) => S::PendingCutover,
            (S::InProgress | S::PendingCutover, E::Cutover) => S::InProgressCutover,
            (S::InProgressCutover, E::CutoverDone) => S::CompletePendingRevert,
            (S::Submitting | S::InProgress, E::InstantDone) => S::Complete,
            (S::CompletePendingRevert, E::CloseRevertWindow) => S::Complete,
            (S::CompletePendingRevert, E::Revert) => S::InProgressRevert,
            (S::InProgressRevert, E::RevertDone) => S::CompleteRevert,
            (S::InProgressRevert, E::Fail) => S::CompleteRevertError,
            (S::Queued, E::Cancel) => S::Cancelled,
            (S::Submitting | S::InProgress | S::PendingCutover, E::Cancel) => S::InProgressCancel,
            (S::InProgressCancel, E::CancelDone) => S::CompleteCancel,
            (S::Submitting | S::InProgress | S::PendingCutover | S::InProgressCutover, E::Fail)
            | (S::InProgressCancel, E::Fail) => S::CompleteError,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }

    /// Waiting in or running at the head of the serial lane (shown by the deploy queue).
    pub fn in_queue(self, error_acknowledged: bool) -> bool {
        self == DeploymentState::Queued || self.holds_lane(error_acknowledged)
    }

    /// Whether the deployment keeps every later one of its lane waiting: while it runs,
    /// is gated, is in its revert window, or failed until `complete-deploy`.
    pub fn holds_lane(self, error_acknowledged: bool) -> bool {
        use DeploymentState as S;
        match self {
            S::Submitting
            | S::InProgress
            | S::PendingCutover
            | S::InProgressVschema
            | S::InProgressCancel
            | S::InProgressCutover
            | S::CompletePendingRevert
            | S::InProgressRevert
            | S::InProgressRevertVschema => true,
            S::CompleteError | S::CompleteRevertError => !error_acknowledged,
            _ => false,
        }
    }

    /// Why the lane behind this deployment is paused, if it is.
    pub fn pause_reason(self, error_acknowledged: bool) -> Option<&'static str> {
        use DeploymentState as S;
        match self {
            S::PendingCutover => Some("waiting for the gated deployment to be applied"),
            S::CompletePendingRevert => Some("waiting for the revert window to close"),
            S::CompleteError | S::CompleteRevertError if !error_acknowledged => {
                Some("a deployment failed: complete it to unblock the queue")
            }
            _ => None,
        }
    }

    /// Whether a deploy job runs for it (queued up to the end of its revert window).
    pub fn job_running(self) -> bool {
        self == DeploymentState::Queued || self.holds_lane(true)
    }

    /// Final: nothing more can happen to the deployment (but a new deploy of a
    /// cancelled one).
    pub fn is_final(self) -> bool {
        use DeploymentState as S;
        matches!(
            self,
            S::Complete
                | S::CompleteCancel
                | S::CompleteRevert
                | S::Cancelled
                | S::CompleteError
                | S::CompleteRevertError
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentEvent as E;
    use DeploymentState as S;

    fn walk(start: S, events: &[E]) -> S {
        events
            .iter()
            .fold(start, |state, event| state.after(*event).expect("allowed"))
    }

    #[test]
    fn names_round_trip_and_match_the_spec_enum() {
        assert_eq!(S::ALL.len(), 20);
        for state in S::ALL {
            assert_eq!(state.as_str().parse::<S>(), Ok(*state));
        }
    }

    #[test]
    fn online_deploy_with_revert_window() {
        let events = [
            E::Checked(CheckOutcome::Deployable),
            E::Queue,
            E::Submit,
            E::Start,
            E::Cutover,
            E::CutoverDone,
        ];
        assert_eq!(walk(S::Pending, &events), S::CompletePendingRevert);
        assert_eq!(
            S::CompletePendingRevert.after(E::CloseRevertWindow),
            Ok(S::Complete)
        );
        assert_eq!(
            walk(S::CompletePendingRevert, &[E::Revert, E::RevertDone]),
            S::CompleteRevert
        );
        assert_eq!(
            walk(S::CompletePendingRevert, &[E::Revert, E::Fail]),
            S::CompleteRevertError
        );
    }

    #[test]
    fn gated_and_instant_paths() {
        let gated = walk(S::InProgress, &[E::AwaitCutover]);
        assert_eq!(gated, S::PendingCutover);
        assert_eq!(gated.after(E::Cutover), Ok(S::InProgressCutover));
        assert_eq!(S::InProgress.after(E::InstantDone), Ok(S::Complete));
        // An instant deploy has no revert window.
        assert!(S::Complete.after(E::Revert).is_err());
    }

    #[test]
    fn cancel_and_failures() {
        assert_eq!(S::Queued.after(E::Cancel), Ok(S::Cancelled));
        assert_eq!(
            walk(S::PendingCutover, &[E::Cancel, E::CancelDone]),
            S::CompleteCancel
        );
        assert_eq!(S::InProgressCutover.after(E::Fail), Ok(S::CompleteError));
        assert!(S::InProgressCutover.after(E::Cancel).is_err());
        assert!(S::Complete.after(E::Cancel).is_err());
        assert_eq!(S::Cancelled.after(E::Queue), Ok(S::Queued));
    }

    #[test]
    fn refused_transitions() {
        assert!(S::Pending.after(E::Queue).is_err());
        assert!(S::NoChanges.after(E::Queue).is_err());
        assert!(S::Error.after(E::Queue).is_err());
        assert!(
            S::Complete
                .after(E::Checked(CheckOutcome::Deployable))
                .is_err()
        );
        assert!(S::InProgress.after(E::HeadChanged).is_err());
        assert!(S::Ready.after(E::Revert).is_err());
    }

    /// A head change takes a waiting deployment out of the queue and back through the
    /// checks; once the lane picked it up (`submitting` on), the change does not touch it.
    #[test]
    fn a_head_change_leaves_the_queue_only_while_queued() {
        assert_eq!(S::Queued.after(E::HeadChanged), Ok(S::Pending));
        assert_eq!(
            walk(
                S::Queued,
                &[E::HeadChanged, E::Checked(CheckOutcome::Deployable)]
            ),
            S::Ready
        );
        assert_eq!(
            walk(
                S::Queued,
                &[E::HeadChanged, E::Checked(CheckOutcome::Failed)]
            ),
            S::Error
        );
        for running in [
            S::Submitting,
            S::InProgress,
            S::PendingCutover,
            S::InProgressCutover,
            S::CompletePendingRevert,
        ] {
            assert!(running.after(E::HeadChanged).is_err(), "{running}");
        }
        // Still queued, a check cannot move it: only a head change can.
        assert!(
            S::Queued
                .after(E::Checked(CheckOutcome::Deployable))
                .is_err()
        );
    }

    #[test]
    fn lane_rules() {
        assert!(S::PendingCutover.holds_lane(false));
        assert!(S::CompletePendingRevert.holds_lane(false));
        assert!(S::CompleteError.holds_lane(false));
        assert!(!S::CompleteError.holds_lane(true));
        assert!(!S::Queued.holds_lane(false));
        assert!(S::Queued.in_queue(false));
        assert!(!S::Complete.in_queue(false));
        assert!(!S::Error.holds_lane(false));
        assert_eq!(S::InProgress.pause_reason(false), None);
        assert!(S::CompleteRevertError.pause_reason(false).is_some());
    }
}
