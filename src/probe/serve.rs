//! `nettool probe serve`: a peer with a known behaviour to probe against,
//! the server half of socket/bind/listen/accept. SO_REUSEADDR is set so a
//! restart never fails on a TIME_WAIT left by the previous run.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// What the server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Behavior {
    /// Accept, read and discard until the peer closes, then close (FIN).
    Accept,
    /// Echo every byte back until the peer closes, then close.
    Echo,
    /// Accept and reset at once (SO_LINGER 0 then close: RST, not FIN).
    Rst,
    /// Read until the peer's FIN, then answer how many bytes arrived, then
    /// close: the second half of a four-way close.
    HalfClose,
    /// Accept and do nothing: never read, never close.
    Silent,
    /// Listen with a tiny backlog and never accept: the accept queue fills
    /// and later SYNs go unanswered.
    NoAccept,
}

/// What is done with an accepted connection: every [`Behavior`] but
/// `NoAccept`, which never accepts one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Accept,
    Echo,
    Rst,
    HalfClose,
    Silent,
}

impl Behavior {
    /// How accepted connections are handled; `None` for `NoAccept`.
    pub fn served(self) -> Option<Served> {
        match self {
            Behavior::Accept => Some(Served::Accept),
            Behavior::Echo => Some(Served::Echo),
            Behavior::Rst => Some(Served::Rst),
            Behavior::HalfClose => Some(Served::HalfClose),
            Behavior::Silent => Some(Served::Silent),
            Behavior::NoAccept => None,
        }
    }
}

/// A bound listener for `serve`.
pub fn listen(addr: SocketAddr, behavior: Behavior) -> io::Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let _ = s.set_only_v6(false);
    }
    s.bind(&addr.into())?;
    // backlog 1: the kernel queues backlog + 1 completed connections.
    s.listen(if behavior == Behavior::NoAccept {
        1
    } else {
        4096
    })?;
    Ok(s)
}

/// Handle one accepted connection; returns a line saying what happened.
pub fn handle(
    conn: TcpStream,
    peer: SocketAddr,
    behavior: Served,
    keep: &mut Vec<TcpStream>,
) -> String {
    let t0 = Instant::now();
    let secs = |t: Instant| t.elapsed().as_secs_f64();
    match behavior {
        Served::Rst => {
            let s = Socket::from(conn);
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
            format!("{peer}: accepted, reset (RST) at once")
        }
        Served::Silent => {
            keep.push(conn);
            format!("{peer}: accepted, staying silent (never reading, never closing)")
        }
        Served::Accept | Served::Echo | Served::HalfClose => {
            let mut c = conn;
            let mut buf = [0u8; 16384];
            let mut total = 0usize;
            let end = loop {
                match c.read(&mut buf) {
                    Ok(0) => break "its FIN",
                    Ok(n) => {
                        total += n;
                        if behavior == Served::Echo && c.write_all(&buf[..n]).is_err() {
                            break "a write error";
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break "its RST",
                    Err(_) => break "a read error",
                }
            };
            let mut line = format!(
                "{peer}: accepted, read {total} bytes until {end} after {:.3} s",
                secs(t0)
            );
            if behavior == Served::Echo {
                line.push_str(", echoed them");
            }
            if behavior == Served::HalfClose && end == "its FIN" {
                let reply = format!("received {total} bytes\n");
                if c.write_all(reply.as_bytes()).is_ok() {
                    line.push_str(&format!(", then sent {} bytes after its FIN", reply.len()));
                }
            }
            let _ = c.shutdown(Shutdown::Write);
            line.push_str(", closed (FIN)");
            line
        }
    }
}
