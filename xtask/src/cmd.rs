//! Running child processes for xtask: echoed commands with inherited stdio, quiet probes, bounded
//! waits, the workspace root, and the error type every task returns.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Why a task failed: a message for the user and the exit code `cargo xtask` ends with.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: u8,
}

impl Error {
    /// The exit code to end the process with (a failed child's own code where there is one).
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        err.to_string().into()
    }
}

pub type Result<T = ()> = std::result::Result<T, Error>;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "xtask's manifest directory has no parent".into())
}

/// A `cargo` command (the cargo that runs xtask, else the one on PATH) run from the workspace root.
pub fn cargo() -> Result<Command> {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(workspace_root()?);
    Ok(cmd)
}

/// A command from a line of words split at whitespace: `line("pg_isready -q -h 127.0.0.1")`.
/// Arguments that contain spaces or are empty are added with `.arg()` afterwards.
pub fn line(words: &str) -> Command {
    let mut words = words.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap_or_default());
    cmd.args(words);
    cmd
}

/// Prints the command, runs it with inherited stdio, and fails with its exit code if it fails.
pub fn run(cmd: &mut Command) -> Result {
    println!("$ {}", shown(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", shown(cmd)))?;
    check(cmd, status)
}

/// Like [`run`] for a libtest run (`cargo test`): echoes its output and returns how many tests
/// it ran, summed over the `running N tests` lines of every test binary.
pub fn run_counting_tests(cmd: &mut Command) -> Result<usize> {
    use std::io::BufRead;
    println!("$ {}", shown(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", shown(cmd)))?;
    let mut ran = 0;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some(count) = line
                .strip_prefix("running ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<usize>().ok())
            {
                ran += count;
            }
        }
    }
    let status = child.wait()?;
    check(cmd, status)?;
    Ok(ran)
}

/// Like [`run`], but kills the command and fails if it has not finished within `limit`.
/// Used for service start-up commands, so that a stuck daemon cannot hang xtask.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Result {
    println!("$ {}", shown(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", shown(cmd)))?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return check(cmd, status);
        }
        if Instant::now() >= deadline {
            // Best effort: the error below is what matters.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{}` did not finish within {} s",
                shown(cmd),
                limit.as_secs()
            )
            .into());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the command silently and tells whether it succeeded (a missing program counts as failure).
pub fn probe(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs the command silently and returns its standard output, or an error quoting its stderr.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", shown(cmd)))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            shown(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into())
    }
}

/// Polls `ready` every 200 ms until it holds, failing with a message naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(format!("{what} not ready after {} s", limit.as_secs()).into());
        }
        thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Whether `program` (a bare name looked up on PATH, or a path) names an existing file.
pub fn installed(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn check(cmd: &Command, status: ExitStatus) -> Result {
    if status.success() {
        return Ok(());
    }
    Err(Error {
        message: format!("`{}` failed ({status})", shown(cmd)),
        code: status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .filter(|&code| code != 0)
            .unwrap_or(1),
    })
}

/// The command as a shell-like line, for echoing and error messages.
fn shown(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|arg| {
            let arg = arg.to_string_lossy();
            if arg.is_empty()
                || arg.contains([' ', '"', '\'', '*', '$', '(', ')', '|', '&', ';', '<', '>'])
            {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg.into_owned()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}
