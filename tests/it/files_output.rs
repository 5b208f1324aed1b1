//! File output at night: publishing in one step, leftovers of dead runs, and the output's lock.
