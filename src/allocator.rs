//! The allocator knobs, all of them glibc's: the thresholds a process under streaming load
//! runs with ([`tune`]) and giving free pages back after a load peak ([`give_back`]).
//!
//! By default glibc gives the top of its heap back to the system as soon as 128 KiB there is
//! free, and serves blocks of 128 KiB and more straight from `mmap`. Under load a
//! connection's write and read batches (up to 64 KiB each) are freed and allocated again
//! every few calls, so the heap shrank and grew by the same pages over and over, and every
//! page came back as a fault: `serve` took 0.8 (client-stream) to 1.9 (bidi-sync) minor page
//! faults per call under h2load, and 0.003 with these settings (a scratch build with them at
//! 64 MiB / 4 MiB, as fault-free, answered 8% / 7% more calls a second, medians of 5 pairs).
//! Memory still goes back after a load peak: `serve` calls [`give_back`] when its RPCs fall
//! well below their peak (serve/memory.rs), and that trim ignores these thresholds.

/// Free bytes kept at the top of the heap before glibc trims it on its own.
const TRIM_THRESHOLD: i32 = 16 << 20;

/// Blocks from this size on are mapped on their own (and unmapped when freed).
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Applies the thresholds above; whether the allocator took them (other allocators and
/// platforms: false, nothing changed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() -> bool {
    // SAFETY: mallopt only sets glibc's allocation parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() -> bool {
    false
}

/// Returns the free pages scattered through glibc's heaps to the system; whether any went.
/// It holds the allocator's locks while it walks the heaps: call it off the async workers.
/// Other allocators manage their own free pages: false.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back() -> bool {
    // SAFETY: malloc_trim only inspects and releases glibc's own free lists.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::tune;

    /// Minor page faults of the calling thread so far.
    fn faults() -> i64 {
        // SAFETY: getrusage fills the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
            0
        );
        usage.ru_minflt
    }

    #[test]
    fn batch_buffers_freed_and_taken_again_do_not_fault_their_pages_back_in() {
        assert!(tune(), "glibc takes the settings");
        // The write batches of four connections (64 KiB each, under glibc's default mmap
        // threshold) written through, freed together, taken again.
        let cycles = 500;
        let before = faults();
        for i in 0..cycles {
            let batches: Vec<Vec<u8>> = (0..4).map(|_| vec![i as u8; 64 * 1024]).collect();
            std::hint::black_box(&batches);
        }
        let faulted = faults() - before;
        // Untuned, the heap gives the pages back at each free and faults them in again.
        assert!(faulted < 200, "{faulted} page faults over {cycles} batches");
    }
}
