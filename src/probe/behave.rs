//! Behaviour tests on an open connection: keepalive death detection,
//! `TCP_USER_TIMEOUT`, how the peer closes after our data, the four-way close
//! seen from our half-close, and an abortive close.
//!
//! Each returns a [`Finding`]: what happened, when (seconds since the test
//! began), and the kernel's evidence.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::{Socket, TcpKeepalive};

use crate::sys::{
    self, errno,
    poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP},
};

/// What a held connection came to (keepalive, user timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Still there when the hold ended.
    Alive,
    /// The kernel gave up on it (keepalive or user timeout: ETIMEDOUT).
    Dead,
    /// The peer answered with RST: it lost the connection.
    Reset,
    /// The peer closed it (FIN).
    Closed,
}

impl Verdict {
    /// The word, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alive => "alive",
            Verdict::Dead => "dead",
            Verdict::Reset => "reset",
            Verdict::Closed => "closed",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the peer ended the connection after our data, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerClose {
    /// Gracefully: its FIN.
    Fin,
    /// Abortively: a RST.
    Rst,
    /// Not within the wait.
    None,
}

/// The outcome of one behaviour test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Finding {
    Keepalive {
        verdict: Verdict,
        after_s: f64,
        expected_dead_s: f64,
        /// Unanswered keepalive probes the kernel counted (`TCP_INFO`).
        probes: u8,
        error: Option<String>,
    },
    UserTimeout {
        verdict: Verdict,
        after_s: f64,
        timeout_ms: u32,
        unacked: u32,
        error: Option<String>,
    },
    ExpectClose {
        how: PeerClose,
        after_s: f64,
        bytes_received: usize,
    },
    HalfClose {
        /// Bytes the peer sent after our FIN.
        bytes_after_our_fin: usize,
        /// When the peer's FIN came, if it did.
        peer_fin_after_s: Option<f64>,
        reset: bool,
    },
}

impl Finding {
    /// Does this finding mean the peer failed (exit status 1)?
    pub fn is_failure(&self) -> bool {
        match self {
            Finding::Keepalive { verdict, .. } | Finding::UserTimeout { verdict, .. } => {
                *verdict != Verdict::Alive
            }
            Finding::ExpectClose { how, .. } => *how == PeerClose::None,
            Finding::HalfClose { .. } => false,
        }
    }
}

fn probes(s: &Socket) -> u8 {
    sys::tcp_info(s.as_fd()).map_or(0, |i| i.probes)
}

/// Wait on `s` until `hold` ends or the connection ends; returns
/// `(verdict, error)`, tracking the highest probe count seen.
fn hold_connection(
    s: &Socket,
    hold: Duration,
    t0: Instant,
    max_probes: &mut u8,
) -> io::Result<(Verdict, Option<String>)> {
    let mut buf = [0u8; 4096];
    let mut r: &Socket = s;
    while t0.elapsed() < hold && !sys::interrupted() {
        let left = hold.saturating_sub(t0.elapsed());
        let ev = match sys::poll_one(
            s.as_fd(),
            POLLIN | POLLRDHUP,
            Some(left.min(Duration::from_millis(100))),
        ) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
            r => r?,
        };
        *max_probes = (*max_probes).max(probes(s));
        if ev & (POLLERR | POLLHUP) != 0 {
            let e = s.take_error()?;
            let verdict = match e.as_ref().and_then(io::Error::raw_os_error) {
                Some(errno::ECONNRESET) => Verdict::Reset,
                _ => Verdict::Dead,
            };
            return Ok((verdict, e.map(|e| e.to_string())));
        }
        if ev & POLLIN != 0 {
            match r.read(&mut buf) {
                Ok(0) => return Ok((Verdict::Closed, None)),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(errno::ETIMEDOUT) => {
                    return Ok((Verdict::Dead, Some(e.to_string())));
                }
                Err(e) if e.raw_os_error() == Some(errno::ECONNRESET) => {
                    return Ok((Verdict::Reset, Some(e.to_string())));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok((Verdict::Alive, None))
}

/// `SO_KEEPALIVE` with `TCP_KEEPIDLE/KEEPINTVL/KEEPCNT`, then hold the idle
/// connection. The kernel declares the peer dead after about
/// IDLE + INTVL x CNT seconds of silence.
///
/// # Errors
/// A socket call failed in a way that says nothing about the peer.
pub fn keepalive(
    s: &Socket,
    idle: u32,
    intvl: u32,
    cnt: u32,
    hold: Duration,
) -> io::Result<Finding> {
    let ka = TcpKeepalive::new()
        .with_time(Duration::from_secs(u64::from(idle)))
        .with_interval(Duration::from_secs(u64::from(intvl)))
        .with_retries(cnt);
    s.set_tcp_keepalive(&ka)?;
    let t0 = Instant::now();
    let mut max_probes = 0;
    let (verdict, error) = hold_connection(s, hold, t0, &mut max_probes)?;
    Ok(Finding::Keepalive {
        verdict,
        after_s: t0.elapsed().as_secs_f64(),
        expected_dead_s: f64::from(idle) + f64::from(intvl) * f64::from(cnt),
        probes: max_probes,
        error,
    })
}

/// `TCP_USER_TIMEOUT`: send `data` and hold; unacknowledged data older than
/// the timeout makes the kernel abort the connection.
///
/// # Errors
/// A socket call failed in a way that says nothing about the peer.
pub fn user_timeout(s: &Socket, ms: u32, data: &[u8], hold: Duration) -> io::Result<Finding> {
    s.set_tcp_user_timeout(Some(Duration::from_millis(u64::from(ms))))?;
    let mut w: &Socket = s;
    let t0 = Instant::now();
    let mut max_probes = 0;
    let (verdict, error) = match write_all_nonblocking(&mut w, s, data) {
        Err(e) if peer_gone(&e) => (Verdict::Reset, Some(e.to_string())),
        Err(e) => return Err(e),
        Ok(()) => hold_connection(s, hold, t0, &mut max_probes)?,
    };
    let unacked = sys::tcp_info(s.as_fd()).map_or(0, |i| i.unacked);
    Ok(Finding::UserTimeout {
        verdict,
        after_s: t0.elapsed().as_secs_f64(),
        timeout_ms: ms,
        unacked,
        error,
    })
}

fn write_all_nonblocking(w: &mut &Socket, s: &Socket, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match w.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::poll_one(s.as_fd(), POLLOUT, Some(Duration::from_secs(1)))?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read until EOF, RST or `deadline`: (bytes, how, when).
fn read_until_close(
    s: &Socket,
    t0: Instant,
    wait: Duration,
) -> io::Result<(usize, PeerClose, f64)> {
    let mut r: &Socket = s;
    let mut buf = [0u8; 8192];
    let mut total = 0;
    loop {
        let left = wait.saturating_sub(t0.elapsed());
        if left.is_zero() || sys::interrupted() {
            return Ok((total, PeerClose::None, t0.elapsed().as_secs_f64()));
        }
        let ev = match sys::poll_one(s.as_fd(), POLLIN | POLLRDHUP, Some(left)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => r?,
        };
        if ev == 0 {
            continue;
        }
        match r.read(&mut buf) {
            Ok(0) => return Ok((total, PeerClose::Fin, t0.elapsed().as_secs_f64())),
            Ok(n) => total += n,
            Err(e) if e.raw_os_error() == Some(errno::ECONNRESET) => {
                return Ok((total, PeerClose::Rst, t0.elapsed().as_secs_f64()));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// Did a write or shutdown fail because the peer already reset (or
/// closed) the connection? That is a finding, not an error of ours.
fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(errno::EPIPE | errno::ECONNRESET | errno::ENOTCONN)
    )
}

/// Send `data`, then wait up to `wait` for the peer to end the connection.
///
/// # Errors
/// A socket call failed in a way that says nothing about the peer.
pub fn expect_close(s: &Socket, data: &[u8], wait: Duration) -> io::Result<Finding> {
    let mut w: &Socket = s;
    let t0 = Instant::now();
    match write_all_nonblocking(&mut w, s, data) {
        Err(e) if peer_gone(&e) => {
            return Ok(Finding::ExpectClose {
                how: PeerClose::Rst,
                after_s: t0.elapsed().as_secs_f64(),
                bytes_received: 0,
            });
        }
        r => r?,
    }
    let t0 = Instant::now();
    let (bytes, how, after) = read_until_close(s, t0, wait)?;
    Ok(Finding::ExpectClose {
        how,
        after_s: after,
        bytes_received: bytes,
    })
}

/// Send `data`, shut down our sending side (FIN), and watch what the peer
/// does: data after our FIN, then its own FIN (the four-way close).
///
/// # Errors
/// A socket call failed in a way that says nothing about the peer.
pub fn half_close(s: &Socket, data: &[u8], wait: Duration) -> io::Result<Finding> {
    let mut w: &Socket = s;
    let sent = write_all_nonblocking(&mut w, s, data).and_then(|()| s.shutdown(Shutdown::Write));
    match sent {
        // The peer reset the connection before our FIN could go out.
        Err(e) if peer_gone(&e) => {
            return Ok(Finding::HalfClose {
                bytes_after_our_fin: 0,
                peer_fin_after_s: None,
                reset: true,
            });
        }
        r => r?,
    }
    let t0 = Instant::now();
    let (bytes, how, after) = read_until_close(s, t0, wait)?;
    Ok(Finding::HalfClose {
        bytes_after_our_fin: bytes,
        peer_fin_after_s: (how == PeerClose::Fin).then_some(after),
        reset: how == PeerClose::Rst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words in JSON are those the strings were.
    #[test]
    fn findings_serialize_their_outcomes_as_words() {
        let ka = |verdict| Finding::Keepalive {
            verdict,
            after_s: 1.0,
            expected_dead_s: 4.0,
            probes: 3,
            error: None,
        };
        for (v, word) in [
            (Verdict::Alive, "alive"),
            (Verdict::Dead, "dead"),
            (Verdict::Reset, "reset"),
            (Verdict::Closed, "closed"),
        ] {
            assert_eq!(v.to_string(), word);
            let json = serde_json::to_string(&ka(v)).unwrap();
            assert!(
                json.starts_with(&format!(r#"{{"test":"keepalive","verdict":"{word}","#)),
                "{json}"
            );
        }
        for (how, word) in [
            (PeerClose::Fin, "fin"),
            (PeerClose::Rst, "rst"),
            (PeerClose::None, "none"),
        ] {
            let f = Finding::ExpectClose {
                how,
                after_s: 0.5,
                bytes_received: 2,
            };
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!(
                    r#"{{"test":"expect_close","how":"{word}","after_s":0.5,"bytes_received":2}}"#
                )
            );
            assert_eq!(f.is_failure(), how == PeerClose::None);
        }
        assert!(!ka(Verdict::Alive).is_failure() && ka(Verdict::Dead).is_failure());
    }
}
