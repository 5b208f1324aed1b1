//! Why the config file could not be applied.

use std::fmt;
use std::path::PathBuf;

/// Why the config file could not be applied. Every variant names the file.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read (an explicitly requested file that does not exist ends
    /// up here; a missing default file is not an error).
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML.
    Parse { path: PathBuf, message: String },
    /// A key matches no option or subcommand, so it would silently do nothing.
    /// `key` is dotted with its table, e.g. `run.outptu`.
    UnknownKey { path: PathBuf, key: String },
    /// A value has the wrong type or does not parse for its option.
    InvalidValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => {
                write!(f, "cannot read config file {}: {source}", path.display())
            }
            Self::Parse { path, message } => {
                write!(f, "invalid TOML in config file {}: {message}", path.display())
            }
            Self::UnknownKey { path, key } => write!(
                f,
                "unknown key `{key}` in config file {} (no such option or subcommand)",
                path.display()
            ),
            Self::InvalidValue { path, key, message } => write!(
                f,
                "invalid value for `{key}` in config file {}: {message}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}
