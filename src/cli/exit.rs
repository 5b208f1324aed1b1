//! Exit codes: 0 success, 1 failure, 2 partial (some sink partitions failed; the SQL Server sink's
//! outcome, never the file sink's, which writes all or fails), 3 bad configuration or input.

use datafusion::error::DataFusionError;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_PARTIAL: u8 = 2;
pub const EXIT_BAD_INPUT: u8 = 3;

/// Some output partitions failed (the summary lists them): exit 2, a re-run completes the job.
#[derive(Debug)]
pub struct PartialFailure(pub usize);

impl std::fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} output partition(s) failed; run again to complete them",
            self.0
        )
    }
}

impl std::error::Error for PartialFailure {}

/// The exit code for a command's error: 2 for a partial failure, 3 when the root cause is a
/// DataFusion configuration, plan or schema error (bad configuration or input), else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<PartialFailure>().is_some() {
        return EXIT_PARTIAL;
    }
    match e
        .downcast_ref::<DataFusionError>()
        .map(DataFusionError::find_root)
    {
        Some(
            DataFusionError::Configuration(_) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..),
        ) => EXIT_BAD_INPUT,
        _ => EXIT_FAILURE,
    }
}

/// The error and its causes on one line, for logs read the morning after.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}
