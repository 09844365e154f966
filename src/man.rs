//! `grpcstream man`: the man page, generated from the clap command like the completions.

use std::io::{self, Write};

/// Writes the roff man page to stdout; a closed pipe is not an error.
pub fn print() -> io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::cli::command()).render(&mut page)?;
    match io::stdout().lock().write_all(&page) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
