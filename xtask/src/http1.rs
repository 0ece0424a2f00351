//! A minimal blocking HTTP/1.1 keep-alive client for the HTTP benches: one connection, JSON
//! POST/PUT requests with a Content-Length body, answers read by their Content-Length, a
//! read/write timeout on every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::cmd::Result;

/// The longest answer body read (a lookup page of 10,000 results is well under this).
const MAX_BODY: usize = 64 << 20;
/// The longest wait for any one read or write.
const TIMEOUT: Duration = Duration::from_secs(60);

/// One keep-alive connection to `host:port`.
pub struct Connection {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    /// Connects to `base` (`http://HOST:PORT`).
    pub fn open(base: &str) -> Result<Self> {
        let host = base
            .strip_prefix("http://")
            .ok_or_else(|| format!("not an http:// address: {base}"))?
            .trim_end_matches('/')
            .to_owned();
        let stream = TcpStream::connect(&host)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(Self {
            reader: BufReader::new(stream),
            host,
        })
    }

    /// Sends `method path` with a JSON `body`; returns the body of a 200 answer, an error
    /// naming the status and body otherwise.
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> Result<String> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(format!("{path}: connection closed inside the headers").into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(format!("{path}: chunked answers are not read").into());
                }
            }
        }
        let length = length.ok_or_else(|| format!("{path}: answer without Content-Length"))?;
        if length > MAX_BODY {
            return Err(format!("{path}: answer of {length} bytes is over {MAX_BODY}").into());
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer)?;
        let answer = String::from_utf8(answer).map_err(|_| format!("{path}: answer not UTF-8"))?;
        if status != "200" {
            return Err(format!("{method} {path}: status {status}: {answer}").into());
        }
        Ok(answer)
    }
}
