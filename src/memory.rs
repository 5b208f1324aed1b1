//! Keeping the allocator's retained memory down, for the run's peak-memory target.
//!
//! A run builds and drops gigabytes of Arrow buffers stage after stage. mimalloc (the binary's
//! allocator) returns freed memory to the OS in small pieces, but on Linux with transparent huge
//! pages the kernel backs its heap with 2 MiB pages, which are not given back piece by piece: with
//! them a national run peaked about 100-150 MiB higher (measured, in alternating runs). So the
//! binary turns huge pages off for its own process ([`disable_huge_pages`], the same as mimalloc's
//! `MIMALLOC_ALLOW_THP=0`, which it can only read before `main`), and a batch run hands memory back
//! between stages ([`return_freed`]), which only helped once huge pages were off. 4 KiB pages mean
//! more TLB misses; in alternating national runs the time difference was within the machine's noise.
//! `ROUTEFLOW_HUGE_PAGES=on` keeps huge pages, for a machine where memory is plentiful.

/// Whether the environment asks to keep transparent huge pages (`ROUTEFLOW_HUGE_PAGES=on`).
pub fn huge_pages_wanted() -> bool {
    std::env::var("ROUTEFLOW_HUGE_PAGES").is_ok_and(|v| v.eq_ignore_ascii_case("on"))
}

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing to do). Memory the
/// process faults in afterwards comes in 4 KiB pages. Returns whether it took effect.
pub fn disable_huge_pages() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Asks mimalloc to return the memory freed so far to the OS now rather than later. A batch run
/// calls it after each stage, once the stage's intermediate results are dropped. Harmless when
/// mimalloc is not the global allocator (tests): it then has nothing to return.
pub fn return_freed() {
    // SAFETY: mi_collect only walks mimalloc's own structures; any thread may call it at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_are_off_for_the_process_afterwards() {
        assert!(disable_huge_pages());
        // SAFETY: as above; PR_GET_THP_DISABLE only reads the flag.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) }, 1);
        // Nothing to assert about the amount, but it must not fail under the system allocator.
        return_freed();
    }
}
