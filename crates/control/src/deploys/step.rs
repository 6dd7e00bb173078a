//! The steps of the `run_deployment` job, by the names the job row keeps.

/// One step of a deployment's job (see the `job` module docs for the order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    WaitTurn,
    Submit,
    Create,
    Instant,
    Prepare,
    Copy,
    Ready,
    Gated,
    Cutover,
    RevertWindow,
    Cleanup,
    Revert,
    RevertCleanup,
    Cancel,
}

impl Step {
    const ALL: [Step; 14] = [
        Step::WaitTurn,
        Step::Submit,
        Step::Create,
        Step::Instant,
        Step::Prepare,
        Step::Copy,
        Step::Ready,
        Step::Gated,
        Step::Cutover,
        Step::RevertWindow,
        Step::Cleanup,
        Step::Revert,
        Step::RevertCleanup,
        Step::Cancel,
    ];

    /// The name the job row keeps (and older rows hold).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Step::WaitTurn => "wait_turn",
            Step::Submit => "submit",
            Step::Create => "create",
            Step::Instant => "instant",
            Step::Prepare => "prepare",
            Step::Copy => "copy",
            Step::Ready => "ready",
            Step::Gated => "gated",
            Step::Cutover => "cutover",
            Step::RevertWindow => "revert_window",
            Step::Cleanup => "cleanup",
            Step::Revert => "revert",
            Step::RevertCleanup => "revert_cleanup",
            Step::Cancel => "cancel",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == name)
    }

    /// Steps before the cutover, which a cancel interrupts.
    pub(crate) fn cancellable(self) -> bool {
        matches!(self, Step::Prepare | Step::Copy | Step::Ready | Step::Gated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        let mut names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Step::ALL.len());
        assert_eq!(Step::parse("copying"), None);
    }

    /// The runner labels step metrics from the job kind's list: it must be this one.
    #[test]
    fn the_job_kind_lists_every_step_for_metrics() {
        let mut listed: Vec<&str> = dbplane_domain::jobs::JobKind::RunDeployment
            .steps()
            .to_vec();
        let mut names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        listed.sort_unstable();
        names.sort_unstable();
        assert_eq!(listed, names);
    }
}
