//! `routeflow serve` through real clients: the arrow-flight crate's `FlightSqlServiceClient` for the
//! protocol (auth, metadata, prepared statements, limits, cancellation, streaming memory), and
//! Python's ADBC Flight SQL driver, as a notebook uses it, over TLS.

mod protocol;
mod python;
mod server;
