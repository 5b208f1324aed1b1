//! Exit codes by meaning (README, "Exit codes"): 0 success, 1 an unexpected failure or a bug,
//! 2 partial (some SQL Server sink partitions failed; the file sink writes all or fails), 3 bad
//! configuration or input. The kind of routeflow's own error decides ([`routeflow::error`]), never
//! which library the error came from.

use routeflow::error::Kind;

pub const EXIT_FAILURE: u8 = Kind::Failure as u8;
pub const EXIT_BAD_INPUT: u8 = Kind::BadInput as u8;

/// The exit code for a command's error: the kind of the first routeflow error among its causes,
/// 1 when there is none (a lost connection, a full disk: nothing the input could fix).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    routeflow::error::kind_of(e.as_ref()) as u8
}

/// The error and its causes on one line (see [`routeflow::error::one_line`]).
pub fn one_line(e: &anyhow::Error) -> String {
    routeflow::error::one_line(e.as_ref())
}
