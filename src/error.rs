//! routeflow's own errors: what went wrong, sorted by what the operator does about it. The kind, not
//! the library that raised the error, decides the exit code (README, "Exit codes").
//!
//! Inside DataFusion (table providers, operators, sinks) errors must be `DataFusionError`s, so a
//! routeflow [`Error`] travels there as `DataFusionError::External` and [`exit_code`] finds it again by
//! walking the chain of causes. An error no routeflow code classified is unexpected: exit 1.

use std::error::Error as StdError;

use datafusion::error::DataFusionError;

use crate::shutdown::Signal;

/// A routeflow error: its [`Kind`] and a message that names what the operator must look at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration or input data the user can fix (a missing file, a bad option, a query that does
    /// not plan): exit 3, nothing was written.
    #[error("{message}")]
    BadInput {
        message: String,
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Some output partitions failed and the rest were written: exit 2, a re-run completes the job.
    #[error("{failed} output partition(s) failed; run again to complete them")]
    PartialWrite { failed: usize },
    /// Another run holds the output's lock: exit 4, nothing was written; the holder is named.
    #[error("target busy: {target} is being written by {holder}")]
    TargetBusy { target: String, holder: String },
    /// A signal asked the run to stop and it did: exit 130 (SIGINT) or 143 (SIGTERM). `report` is
    /// what it had written, as JSON (the summary with `"status": "interrupted"`).
    #[error("interrupted by {}: {detail}", signal.name())]
    Interrupted {
        signal: Signal,
        detail: String,
        report: Option<serde_json::Value>,
    },
    /// Something routeflow itself got wrong (a shipped `plans/*.sql` that does not plan, a broken
    /// invariant): exit 1, a bug to report.
    #[error("internal error: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

/// Exit codes by meaning (0 is success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1: an unexpected failure (a lost connection, a full disk, a bug).
    Failure,
    /// 2: some output partitions failed.
    PartialWrite,
    /// 3: bad configuration or input.
    BadInput,
    /// 4: another run is writing the same target.
    TargetBusy,
    /// 130 or 143: stopped by a signal.
    Interrupted(Signal),
}

impl Kind {
    /// The process exit code of this kind of error.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failure => 1,
            Kind::PartialWrite => 2,
            Kind::BadInput => 3,
            Kind::TargetBusy => 4,
            Kind::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::BadInput { .. } => Kind::BadInput,
            Error::PartialWrite { .. } => Kind::PartialWrite,
            Error::TargetBusy { .. } => Kind::TargetBusy,
            Error::Interrupted { signal, .. } => Kind::Interrupted(*signal),
            Error::Internal { .. } => Kind::Failure,
        }
    }
}

/// Bad input, as a `DataFusionError` for code that runs inside DataFusion.
pub fn bad_input(message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(Error::BadInput {
        message: message.into(),
        source: None,
    }))
}

/// Bad input caused by `source` (an unreadable file, an unparsable value).
pub fn bad_input_from(
    message: impl Into<String>,
    source: impl Into<Box<dyn StdError + Send + Sync>>,
) -> DataFusionError {
    DataFusionError::External(Box::new(Error::BadInput {
        message: message.into(),
        source: Some(source.into()),
    }))
}

/// An internal error, as a `DataFusionError`.
pub fn internal(
    message: impl Into<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
) -> DataFusionError {
    DataFusionError::External(Box::new(Error::Internal {
        message: message.into(),
        source,
    }))
}

/// As a `DataFusionError`, for code that runs inside DataFusion.
pub fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The first routeflow [`Error`] in `e`'s chain of causes.
pub fn find<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(ours) = e.downcast_ref::<Error>() {
            return Some(ours);
        }
        next = e.source();
    }
    None
}

/// The kind of the first routeflow [`Error`] in `e`'s chain of causes; [`Kind::Failure`] if none.
pub fn kind_of(e: &(dyn StdError + 'static)) -> Kind {
    find(e).map_or(Kind::Failure, Error::kind)
}

/// An error and its causes on one line, for logs read the morning after. DataFusion's wrapper of an
/// error raised in routeflow's own code adds only "External error", so it is left out; so is a
/// cause the line already holds (wrappers that repeat their cause's text), and whatever wraps bad
/// input (see [`bad_input_start`]).
pub fn one_line(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(bad_input_start(e).unwrap_or(e));
    while let Some(e) = next {
        let text = e.to_string();
        let external = matches!(
            e.downcast_ref::<DataFusionError>(),
            Some(DataFusionError::External(_))
        );
        if !external && !parts.iter().any(|p| p.contains(text.trim())) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The first bad-input error in `e`'s chain: its message is written to be read on its own, and
/// what DataFusion wraps around it while it travels out of a stream only repeats it.
fn bad_input_start<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match find(e)? {
        ours @ Error::BadInput { .. } => Some(ours),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_routeflow_error_among_the_causes_decides() {
        let wrapped = DataFusionError::Context("opening".into(), Box::new(bad_input("no such table")));
        assert_eq!(kind_of(&wrapped), Kind::BadInput);
        let shared = DataFusionError::Shared(std::sync::Arc::new(internal("broken invariant", None)));
        assert_eq!(kind_of(&shared), Kind::Failure);
        let partial = anyhow::Error::from(Error::PartialWrite { failed: 2 });
        assert_eq!(kind_of(partial.as_ref()), Kind::PartialWrite);
        let through_anyhow = anyhow::Error::from(bad_input("x")).context("run");
        assert_eq!(kind_of(through_anyhow.as_ref()), Kind::BadInput);
    }

    #[test]
    fn an_error_no_routeflow_code_classified_is_a_failure() {
        // DataFusion's own planning error, e.g. from a shipped plan: not the user's input.
        assert_eq!(
            kind_of(&DataFusionError::Plan("no column x".into())),
            Kind::Failure
        );
        assert_eq!(
            kind_of(&DataFusionError::Configuration("x".into())),
            Kind::Failure
        );
        let io = std::io::Error::other("disk full");
        assert_eq!(kind_of(&io), Kind::Failure);
    }

    #[test]
    fn one_line_names_each_cause_once() {
        let arrow = arrow::error::ArrowError::CastError("Cannot cast string 'abc' to Float64".into());
        let wrapped = DataFusionError::Context(
            "reading customer.csv".into(),
            Box::new(DataFusionError::ArrowError(Box::new(arrow), None)),
        );
        let line = one_line(&wrapped);
        assert_eq!(line.matches("Cannot cast string 'abc'").count(), 1, "{line}");
        assert!(line.starts_with("reading customer.csv"), "{line}");
        let chained = bad_input_from("table customer unreadable", std::io::Error::other("disk gone"));
        assert_eq!(one_line(&chained), "table customer unreadable: disk gone");
    }

    #[test]
    fn bad_input_is_one_line_however_it_was_wrapped() {
        let shared =
            DataFusionError::Shared(std::sync::Arc::new(DataFusionError::Shared(std::sync::Arc::new(
                bad_input("in/customer.csv line 8, column latitude: \"abc\" is not a number"),
            ))));
        let line = one_line(anyhow::Error::from(shared).as_ref());
        assert_eq!(
            line,
            "in/customer.csv line 8, column latitude: \"abc\" is not a number"
        );
        let caused = bad_input_from(
            "in/x.parquet is not readable",
            std::io::Error::other("Corrupt footer"),
        );
        assert_eq!(one_line(&caused), "in/x.parquet is not readable: Corrupt footer");
    }
}
