//! The process exit codes, in one place (README's "Exit codes" table mirrors this).

/// Everything worked: the server shut down cleanly, every probe passed.
pub const SUCCESS: u8 = 0;
/// The job failed: the server could not start or crashed, a probe or gate failed.
pub const FAILURE: u8 = 1;
/// The command line, environment or config file is wrong (clap uses 2 as well).
pub const USAGE: u8 = 2;
/// A second Ctrl+C or SIGTERM during a graceful shutdown: stop without waiting (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
