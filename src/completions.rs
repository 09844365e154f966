//! `grpcstream completions <shell>`: completion scripts generated from the clap command,
//! so they cannot drift from the flags (a test compares them with `completions/`).

use std::io::{self, Write};

use clap_complete::Shell;

/// The script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "grpcstream", &mut out);
    out
}

/// Where the script for `shell` lives in `completions/`, named as each shell looks for it.
pub fn file_name(shell: Shell) -> String {
    match shell {
        Shell::Bash => "grpcstream.bash".into(),
        Shell::Zsh => "_grpcstream".into(),
        Shell::Fish => "grpcstream.fish".into(),
        Shell::PowerShell => "_grpcstream.ps1".into(),
        Shell::Elvish => "grpcstream.elv".into(),
        other => format!("grpcstream.{other}"),
    }
}

/// Writes the script to stdout; a closed pipe (`| head`) is not an error.
pub fn print(shell: Shell) -> io::Result<()> {
    match io::stdout().lock().write_all(&script(shell)) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
