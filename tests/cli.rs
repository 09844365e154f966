//! The binary as users run it: help, usage errors, config precedence, completions.

use std::{io::Write, net::TcpListener, process::Output, time::Duration};

use clap_complete::Shell;
use grpcstream::{completions, config};

use crate::util::{bin, ServeProcess};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run grpcstream")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_cli_definition_is_consistent() {
    grpcstream::cli::command().debug_assert();
}

#[test]
fn help_lists_the_subcommands_and_exits_0() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for word in ["serve", "completions", "--config", "--log-format"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let serve = text(&run(&["serve", "--help"]).stdout);
    for flag in [
        "--port",
        "--listen",
        "--max-message-size",
        "--grace",
        "--server-stream-interval",
        "--async-queue",
        "[default: 8080]",
        "GRPCSTREAM_PORT",
    ] {
        assert!(serve.contains(flag), "serve --help lacks {flag}:\n{serve}");
    }
}

#[test]
fn a_bad_flag_is_a_usage_error_with_exit_2() {
    let out = run(&["serve", "--prot", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unexpected argument '--prot'"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["serve", "--server-stream-interval", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--server-stream-interval"),
        "{}",
        text(&out.stderr)
    );
    // A window on replies that never come one by one is a mistake, not a no-op.
    let out = run(&["soak", "--pattern", "client-stream", "--in-flight", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--in-flight applies to bidi-sync and bidi-async"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_port_in_use_is_one_clear_line_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = run(&["serve", "--listen", "127.0.0.1", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && error[0].contains("already in use"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn config_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    file.write_all(content.as_bytes()).expect("write config");
    file
}

#[test]
fn config_file_errors_name_the_key_and_the_file() {
    let cases = [
        ("[serve]\nprot = 9090\n", "unknown key `serve.prot`"),
        ("[serve]\nport = \"many\"\n", "key `serve.port`"),
        ("[serve]\ngrace = \"soon\"\n", "key `serve.grace`"),
        ("colour = true\n", "unknown key `colour`"),
        ("[serve\n", "not valid TOML"),
    ];
    for (content, expected) in cases {
        let file = config_file(content);
        let path = file.path().to_str().expect("utf-8 path");
        let out = run(&["--config", path, "serve"]);
        assert_eq!(out.status.code(), Some(2), "{content:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(expected) && stderr.contains(path),
            "{content:?} gave:\n{stderr}"
        );
    }
    let out = run(&["--config", "/nonexistent/grpcstream.toml", "serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read config file `/nonexistent/grpcstream.toml`"));
}

#[test]
fn file_values_apply_and_flags_win_over_them() {
    let file = config_file("workers = 3\nverbose = true\n[serve]\nport = 9191\ngrace = \"7s\"\nmax-message-size = \"1MiB\"\n");
    let path = file.path().to_str().expect("utf-8 path");
    let cfg = config::load(["grpcstream", "--config", path, "serve", "--grace", "2s"])
        .expect("valid config");
    let config::CommandConfig::Serve(serve) = cfg.command else {
        panic!("serve expected")
    };
    assert_eq!(serve.addr.port(), 9191);
    assert_eq!(
        serve.grace,
        Duration::from_secs(2),
        "the flag wins over the file"
    );
    assert_eq!(serve.max_message_size, 1024 * 1024);
    assert_eq!(cfg.workers, Some(3));
    assert!(cfg.log.verbose);
}

#[test]
fn precedence_is_flags_then_environment_then_file() {
    let file =
        config_file("[serve]\ngrace = \"3s\"\nasync-delay = \"30ms\"\nserver-stream-count = 4\n");
    let path = file.path().to_str().expect("utf-8 path");
    let mut cmd = bin();
    cmd.args([
        "--config",
        path,
        "serve",
        "--listen",
        "127.0.0.1",
        "--port",
        "0",
        "--grace",
        "9s",
    ])
    .env("GRPCSTREAM_GRACE", "7s")
    .env("GRPCSTREAM_ASYNC_DELAY", "70ms");
    let mut server = ServeProcess::start_with(&mut cmd);
    let line = server.wait_for("listening on", Duration::from_secs(1));
    assert!(line.contains("grace=9s"), "flag beats env: {line}");
    assert!(line.contains("async_delay=70ms"), "env beats file: {line}");
    assert!(
        line.contains("server_stream=4x100ms"),
        "file beats default: {line}"
    );
}

/// `GRPCSTREAM_BLESS=1 cargo test completions` rewrites the files after a CLI change.
#[test]
fn completions_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bless = std::env::var_os("GRPCSTREAM_BLESS").is_some();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let path = dir.join(completions::file_name(shell));
        if bless {
            std::fs::write(&path, completions::script(shell)).expect("write completions");
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == completions::script(shell),
            "{} is out of date with the CLI; regenerate with: GRPCSTREAM_BLESS=1 cargo test completions",
            path.display()
        );
        let printed = run(&["completions", &shell.to_string()]);
        assert_eq!(printed.status.code(), Some(0));
        assert_eq!(
            printed.stdout, committed,
            "`grpcstream completions {shell}` prints the committed script"
        );
    }
}
