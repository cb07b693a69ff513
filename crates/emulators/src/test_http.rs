//! Real HTTP against a spawned emulator for the crate's tests: raw HTTP/1.1 over blocking
//! std sockets (the crate has no HTTP client), one connection per request.

use std::io::{Read, Write};

use serde_json::Value;

use crate::Emulator;

/// One HTTP answer: status, headers (names lowercased), body bytes.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) bytes: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// The body as JSON (`null` if it is not JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

/// An emulator listening on a free port.
pub(crate) struct Http {
    pub(crate) host: String,
}

impl Http {
    pub(crate) async fn start(emu: &Emulator) -> Http {
        let (addr, _task) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Http { host: addr.to_string() }
    }

    /// Sends one request with `headers` (`content-length` and `connection` added).
    pub(crate) async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host);
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let host = self.host.clone();
        let raw = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(host).unwrap();
            s.write_all(&request).unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let bytes = if chunked { dechunk(body) } else { body.to_vec() };
    Reply { status, headers, bytes }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[eol + 4 + size..];
    }
    out
}
