//! SQL Server plumbing shared by the source, the sink and `routeflow copy`: connections and their
//! pool ([`conn`]), table columns from the server's catalog ([`catalog`]), the mapping between
//! SQL Server and Arrow types ([`types`]), the one way rows are bulk-loaded ([`bulk`]), and the
//! lock that keeps a target to one run at a time ([`applock`]).

pub mod applock;
pub mod bulk;
pub mod catalog;
pub mod conn;
pub mod options;
pub mod types;
