//! `routeflow validate`: every data problem reported per table, with examples naming the row.
