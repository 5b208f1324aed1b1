//! Malformed input files end with one clear error and exit 3 before anything is written.
