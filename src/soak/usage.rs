//! The generator's own CPU time and peak memory, so a user can tell when the client, not
//! the server, is the bottleneck.

use super::report::ClientUsage;

#[cfg(unix)]
pub fn client_usage() -> ClientUsage {
    // SAFETY: getrusage only writes into the struct we pass, which is valid and zeroed.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return ClientUsage::default();
        }
        usage
    };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    // Linux reports ru_maxrss in KiB, macOS in bytes.
    let rss_unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    ClientUsage {
        cpu_user_s: seconds(usage.ru_utime),
        cpu_system_s: seconds(usage.ru_stime),
        peak_rss_bytes: (usage.ru_maxrss as u64).saturating_mul(rss_unit),
    }
}

#[cfg(not(unix))]
pub fn client_usage() -> ClientUsage {
    ClientUsage::default()
}
