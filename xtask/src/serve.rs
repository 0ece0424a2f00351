//! A `psm serve` child on a free loopback port for the load and benchmark tasks: started from a
//! built `psm`, its base URL read from its first line, stopped gracefully or killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::cmd::Result;

/// A running `psm serve`, killed when dropped (every exit path).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub base: String,
}

impl Server {
    /// Starts `psm --url URL serve` on `127.0.0.1:0` and waits for the address it prints.
    pub fn start(psm: &Path, url: &str) -> Result<Self> {
        let child = Command::new(psm)
            .args(["--url", url, "serve", "--listen", "127.0.0.1:0"])
            .args(["--max-batch", "1000", "--schema-refresh", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", psm.display()))?;
        let mut server = Self {
            child,
            base: String::new(),
        };
        let stdout = server
            .child
            .stdout
            .take()
            .ok_or("psm serve has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        server.base = line
            .split_whitespace()
            .last()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .map(str::to_owned)
            .ok_or_else(|| format!("psm serve did not print a loopback address: {line:?}"))?;
        Ok(server)
    }

    /// Asks the server to shut down (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
