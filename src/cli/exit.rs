//! Exit codes by meaning (README, "Exit codes"): 0 success, 1 an unexpected failure or a bug,
//! 2 partial (some SQL Server sink partitions failed; the file sink writes all or fails), 3 bad
//! configuration or input, 4 target busy (another run holds the output's lock), 130/143 stopped by
//! SIGINT/SIGTERM. The kind of routeflow's own error decides ([`routeflow::error`]), never which
//! library the error came from.

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 3;

/// The exit code for a command's error: the kind of the first routeflow error among its causes,
/// 1 when there is none (a lost connection, a full disk: nothing the input could fix).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    routeflow::error::kind_of(e.as_ref()).exit_code()
}

/// The error and its causes on one line (see [`routeflow::error::one_line`]).
pub fn one_line(e: &anyhow::Error) -> String {
    routeflow::error::one_line(e.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use routeflow::error::Kind;

    #[test]
    fn the_constants_are_the_kinds_codes() {
        assert_eq!(EXIT_FAILURE, Kind::Failure.exit_code());
        assert_eq!(EXIT_BAD_INPUT, Kind::BadInput.exit_code());
    }
}
