//! Deploy requests and their deployments (semantics.md §8–§9): the records, the
//! deployment state machine (every transition in [`DeploymentState::after`]) and the rules
//! of the serial deploy queue.

mod records;
mod state;

pub use records::{
    DeployOperation, DeployOperationKind, DeployOperationState, DeployRequest, DeployRequestState,
    DeployReview, Deployment, RevertRequest, ReviewState, SchemaDiff,
};
pub use state::{CheckOutcome, DeploymentEvent, DeploymentState, InvalidTransition};

crate::public_id_type!(
    /// Id of a deploy request.
    DeployRequestId
);
crate::public_id_type!(
    /// Id of a deployment (one per deploy request).
    DeploymentId
);
crate::public_id_type!(
    /// Id of a review of a deploy request.
    DeployReviewId
);

/// The largest throttle ratio (the share of time the copy rests, in percent).
pub const MAX_THROTTLE_RATIO: u8 = 95;
