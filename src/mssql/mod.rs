//! SQL Server plumbing shared by the source, the sink and `routeflow copy`: connections and their
//! pool ([`conn`]), table columns from the server's catalog ([`catalog`]), the mapping between
//! SQL Server and Arrow types ([`types`]), and the one way rows are bulk-loaded ([`bulk`]).

pub mod bulk;
pub mod catalog;
pub mod conn;
pub mod options;
pub mod types;
