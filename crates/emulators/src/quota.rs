//! A requests-per-minute quota on the emulated `InvokeModel`, as Bedrock keeps one per
//! account, Region and model: a call over it is answered 429 ThrottlingException, exactly the
//! canned throttling fault, before any work. The rule is the capacity model's token bucket
//! (a minute's worth at once, refilled at the rate), so a measured burst and a simulated one
//! meet the same quota.
//!
//! Per emulator: set by `tryon emulator --requests-per-minute`; unset, every call is admitted.

use std::time::Instant;

use crate::token_bucket::TokenBucket;

/// The bucket and when it started filling.
pub(crate) struct Quota {
    start: Instant,
    bucket: TokenBucket,
}

impl Quota {
    /// `per_minute` calls a minute, a minute's worth at once.
    pub(crate) fn new(per_minute: f64) -> Quota {
        Quota { start: Instant::now(), bucket: TokenBucket::new(per_minute, per_minute) }
    }

    /// Whether a call arriving now is within the quota (it then counts against it).
    pub(crate) fn admit(&mut self) -> bool {
        self.bucket.try_take(self.start.elapsed().as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};

    use crate::Emulator;

    /// One raw `InvokeModel` call: the status line and the error type header.
    fn invoke(addr: SocketAddr) -> (String, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        let req = "POST /model/amazon.nova-canvas-v1%3A0/invoke HTTP/1.1\r\nhost: x\r\n\
                   content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        s.write_all(req.as_bytes()).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let status = reply.lines().next().unwrap_or_default().to_owned();
        let kind = reply
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("x-amzn-errortype: ").map(str::to_owned))
            .unwrap_or_default();
        (status, kind)
    }

    /// Over the quota the call is refused as Bedrock refuses it.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_call_over_the_quota_is_a_429_throttling_exception() {
        let emu = Emulator::default();
        let (addr, _server) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        emu.set_requests_per_minute(Some(1.0));
        let (first, second) = tokio::task::spawn_blocking(move || (invoke(addr), invoke(addr))).await.unwrap();
        emu.set_requests_per_minute(None);
        // Admitted (then refused for its empty body); the next one meets the quota.
        assert!(first.0.contains(" 400 "), "{first:?}");
        assert!(second.0.contains(" 429 "), "{second:?}");
        assert!(second.1.starts_with("throttlingexception:"), "Bedrock's header: {second:?}");
        let (_, after) = tokio::task::spawn_blocking(move || invoke(addr)).await.unwrap();
        assert!(!after.starts_with("throttling"), "no quota once unset: {after}");
    }
}
