//! One run per SQL Server target (an application lock), and what a stopped run leaves there.
