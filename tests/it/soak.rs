//! Crash soak: runs killed at random moments of the write, then run again, compared row for row
//! with an uninterrupted run.
