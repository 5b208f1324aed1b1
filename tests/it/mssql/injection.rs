//! No value ever becomes SQL: hostile IDs, names and table names go through copy, run, validate and
//! sql and come back verbatim.
