//! Python interop harness: the independent grpcio client and server in
//! `tests/interop/` share no code with grpcstream, so running them against it
//! checks the wire contract rather than our own reading of it.
//!
//! [`python_env`] prepares, once per test process, a venv at
//! `$CARGO_TARGET_TMPDIR/interop-venv` holding the pins of
//! `tests/interop/requirements.txt` (wheels only), and the stubs in
//! `interop-venv/gen`, generated with
//!
//! ```text
//! interop-venv/bin/python -m grpc_tools.protoc -I proto \
//!     --python_out=interop-venv/gen --grpc_python_out=interop-venv/gen \
//!     proto/api/stream/v1/stream.proto
//! ```
//!
//! which gives the modules `api.stream.v1.stream_pb2` and `..._pb2_grpc`; the
//! scripts import them from the directory in `GRPCSTREAM_PY_GEN`. pip runs only
//! when the venv's stamp does not hold the hash of the requirements and the
//! interpreter, protoc only when the proto changed. The interpreter is
//! `python3` from PATH, or `$GRPCSTREAM_TEST_PYTHON`. Every failure panics with
//! the fix: a machine without Python fails these tests, it never skips them.

use std::{
    fs,
    io::{self, BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{mpsc, OnceLock},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a process waits for another one that is setting up the venv.
const SETUP_LOCK_TIMEOUT: Duration = Duration::from_secs(600);

pub struct PyEnv {
    /// The venv's interpreter.
    pub python: PathBuf,
    /// The stubs' root, for `GRPCSTREAM_PY_GEN`.
    pub gen_dir: PathBuf,
}

/// The prepared venv; panics, in every test that asks, if it could not be made.
pub fn python_env() -> &'static PyEnv {
    // The error is kept too, so that a failed setup is not retried by each test.
    static ENV: OnceLock<Result<PyEnv, String>> = OnceLock::new();
    match ENV.get_or_init(setup) {
        Ok(env) => env,
        Err(e) => panic!("Python interop environment: {e}"),
    }
}

/// Runs `echo_client.py ADDR`, killed after 60 s (then stderr says so).
pub fn run_client(addr: SocketAddr) -> Output {
    let mut cmd = script("echo_client.py");
    cmd.arg(addr.to_string());
    output_with_timeout(cmd, CLIENT_TIMEOUT)
}

/// `echo_server.py` on a free port of 127.0.0.1; killed on drop.
pub struct PyServer {
    pub addr: SocketAddr,
    child: Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl PyServer {
    /// Starts `echo_server.py ARGS` and waits (30 s at most) for its
    /// `LISTENING <port>` line.
    pub fn start(args: &[&str]) -> PyServer {
        let mut cmd = script("echo_server.py");
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = Some(drain(child.stderr.take().expect("stderr is piped")));
        // Owned from here on, so that any panic below still kills the child.
        let mut server = PyServer {
            addr: (Ipv4Addr::LOCALHOST, 0).into(),
            child,
            stderr,
        };

        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining so that the server never blocks on a full pipe.
            lines.for_each(drop);
        });
        let first = rx.recv_timeout(SERVER_START_TIMEOUT);
        let port = match &first {
            Ok(Some(Ok(line))) => line
                .strip_prefix("LISTENING ")
                .and_then(|p| p.trim().parse::<u16>().ok()),
            _ => None,
        };
        match port {
            Some(port) => {
                server.addr.set_port(port);
                server
            }
            None => {
                let stderr = server.stop();
                panic!(
                    "{cmd:?} did not print `LISTENING <port>` within {SERVER_START_TIMEOUT:?} \
                     (first stdout line: {first:?}); stderr:\n{stderr}"
                );
            }
        }
    }

    /// Kills the server (SIGKILL, by the child's PID) and returns its stderr.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipe is closed once the child is gone, so the join returns.
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        String::from_utf8_lossy(&stderr).into_owned()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let stderr = self.stop();
        // A failing test shows what the server said; libtest captures eprintln.
        if thread::panicking() && !stderr.is_empty() {
            eprintln!("echo_server.py stderr:\n{stderr}");
        }
    }
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// `python tests/interop/<name>` with the stubs on its path.
fn script(name: &str) -> Command {
    let env = python_env();
    let mut cmd = Command::new(&env.python);
    cmd.arg(interop_dir().join(name))
        .env("GRPCSTREAM_PY_GEN", &env.gen_dir);
    cmd
}

/// Like `Command::output`, but kills the child once `timeout` has passed.
fn output_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Both pipes are read meanwhile, so a chatty child cannot stall on a full one.
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                timed_out = true;
                let _ = child.kill();
                break child
                    .wait()
                    .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let mut stderr = stderr.join().unwrap_or_default();
    if timed_out {
        stderr.extend_from_slice(format!("\n[killed after {timeout:?}]\n").as_bytes());
    }
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr,
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn setup() -> Result<PyEnv, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join("interop-venv");
    let python = venv.join("bin/python");
    let gen_dir = venv.join("gen");
    let requirements = interop_dir().join("requirements.txt");
    let proto_root = root.join("proto");
    let proto = proto_root.join("api/stream/v1/stream.proto");
    let base = std::env::var_os("GRPCSTREAM_TEST_PYTHON").unwrap_or_else(|| "python3".into());

    // Which interpreter `base` is now: a venv of another one must be rebuilt.
    let base_id = run(
        &format!("Python interpreter {base:?}"),
        Command::new(&base).args([
            "-c",
            "import sys; assert sys.version_info >= (3, 10), 'grpcio 1.85 needs Python >= 3.10, not ' + sys.version; \
             print(sys.executable, sys.version)",
        ]),
        "install Python >= 3.10, or point GRPCSTREAM_TEST_PYTHON at one",
    )?;
    fs::create_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    // Other test processes (nextest, a second `cargo test`) may share the venv.
    let _lock = SetupLock::acquire(tmp.join("interop-venv.lock"))?;

    let venv_stamp = venv.join("requirements.hash");
    let venv_hash = fnv1a(&[&read(&requirements)?, base_id.as_bytes()]);
    if fs::read_to_string(&venv_stamp).ok().as_deref() != Some(venv_hash.as_str())
        || !python.exists()
    {
        // Anything there is stale or half-made (an earlier setup was killed).
        let _ = fs::remove_dir_all(&venv);
        run(
            &format!("{base:?} -m venv"),
            Command::new(&base).args(["-m", "venv"]).arg(&venv),
            "install the venv module (Debian/Ubuntu: apt-get install python3-venv)",
        )?;
        run(
            "pip install -r tests/interop/requirements.txt",
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                ])
                .args(["--only-binary=:all:", "-r"])
                .arg(&requirements),
            "PyPI must be reachable and have wheels of these pins for this Python \
             (CPython >= 3.10; for others change tests/interop/requirements.txt)",
        )?;
        write(&venv_stamp, &venv_hash)?;
    }

    let gen_stamp = gen_dir.join("proto.hash");
    let gen_hash = fnv1a(&[&read(&proto)?, venv_hash.as_bytes()]);
    if fs::read_to_string(&gen_stamp).ok().as_deref() != Some(gen_hash.as_str()) {
        let _ = fs::remove_dir_all(&gen_dir);
        fs::create_dir_all(&gen_dir)
            .map_err(|e| format!("cannot create {}: {e}", gen_dir.display()))?;
        let out = |kind: &str| format!("--{kind}_out={}", gen_dir.display());
        run(
            "grpc_tools.protoc",
            Command::new(&python)
                .args(["-m", "grpc_tools.protoc", "-I"])
                .arg(&proto_root)
                .args([out("python"), out("grpc_python")])
                .arg(&proto),
            &format!(
                "check {} (or delete {} to rebuild the venv)",
                proto.display(),
                venv.display()
            ),
        )?;
        // Regular packages rather than namespace ones: a namespace `api` would
        // lose to any installed regular package of that name.
        for dir in ["api", "api/stream", "api/stream/v1"] {
            write(&gen_dir.join(dir).join("__init__.py"), "")?;
        }
        write(&gen_stamp, &gen_hash)?;
    }
    Ok(PyEnv { python, gen_dir })
}

/// Runs a setup step, returning its stdout; the error says which step failed
/// and how to fix it, then shows the command and the end of its output.
fn run(step: &str, cmd: &mut Command, fix: &str) -> Result<String, String> {
    match cmd.stdin(Stdio::null()).output() {
        Err(e) => Err(format!("{step} could not start: {e}; {fix}")),
        Ok(out) if !out.status.success() => Err(format!(
            "{step} failed ({}); {fix}\ncommand: {cmd:?}\n{}{}",
            out.status,
            tail(&out.stdout),
            tail(&out.stderr)
        )),
        Ok(out) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
    }
}

/// The last lines of a step's output: pip's are long, the cause is at the end.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut tail = lines[lines.len().saturating_sub(30)..].join("\n");
    if !tail.is_empty() {
        tail.push('\n');
    }
    tail
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// FNV-1a over the parts, as hex: stable across Rust releases, unlike
/// `DefaultHasher`, so a toolchain update does not rebuild the venv.
fn fnv1a(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        // 0xff never occurs in UTF-8, so it separates the parts unambiguously.
        for &byte in part.iter().chain(&[0xff]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A lock file holding the owner's PID, created exclusively. std's
/// `File::lock` is newer than the crate's rust-version (1.85).
struct SetupLock(PathBuf);

impl SetupLock {
    fn acquire(path: PathBuf) -> Result<SetupLock, String> {
        let deadline = Instant::now() + SETUP_LOCK_TIMEOUT;
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(SetupLock(path));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if lock_abandoned(&path) {
                        let _ = fs::remove_file(&path);
                    } else if Instant::now() > deadline {
                        return Err(format!(
                            "{} is still held after {SETUP_LOCK_TIMEOUT:?}; delete it if no test run is setting up the venv",
                            path.display()
                        ));
                    } else {
                        thread::sleep(Duration::from_millis(200));
                    }
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Whether the lock's owner died without removing it: its PID is gone from
/// /proc or, where there is no /proc (or the PID is not written yet), the
/// lock is older than any setup takes.
fn lock_abandoned(path: &Path) -> bool {
    let pid = fs::read_to_string(path).unwrap_or_default();
    let proc_dir = Path::new("/proc");
    if !pid.trim().is_empty() && proc_dir.is_dir() {
        return !proc_dir.join(pid.trim()).exists();
    }
    let age = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    age.is_some_and(|age| age > SETUP_LOCK_TIMEOUT)
}
