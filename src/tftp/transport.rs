//! Runs a `session` machine over a UDP socket: sends what it queues, feeds
//! it datagrams and timeouts, and reports progress.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::session::{Download, Negotiated, Phase, Sink, Source, Stats, TftpError, Upload};
use crate::wire::tftp::Packet;

/// The outcome of a finished transfer.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub stats: Stats,
    pub negotiated: Negotiated,
    /// From the request to the last data block (not counting the dally).
    pub elapsed: Duration,
}

/// Callbacks the transport reports through.
pub struct Hooks<'a> {
    /// Bytes done so far, and the total when known.
    pub progress: &'a mut dyn FnMut(u64, Option<u64>),
    /// With `--verbose`: one line per packet.
    pub trace: Option<&'a mut dyn FnMut(String)>,
}

/// A UDP socket for talking to `server`, with a receive buffer big enough
/// for a whole window (`windowsize x (blksize + 4)` plus headroom: with the
/// default buffer, large windows overflow it and the transfer collapses).
pub fn socket_for(server: SocketAddr, blksize: u16, windowsize: u16) -> io::Result<UdpSocket> {
    let domain = if server.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let want = usize::from(windowsize.max(1)) * (usize::from(blksize) + 4 + 64) + 256 * 1024;
    // The kernel caps this at net.core.rmem_max; more is a bonus.
    let _ = s.set_recv_buffer_size(want);
    let _ = s.set_send_buffer_size(want);
    crate::sys::set_recv_errors(s.as_fd(), server.is_ipv6())?;
    let any: SocketAddr = if server.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&any.into())?;
    Ok(s.into())
}

/// One line describing a packet, for `--verbose`.
pub fn describe(bytes: &[u8]) -> String {
    match Packet::parse(bytes) {
        Ok(Packet::Rrq {
            filename,
            mode,
            options,
        })
        | Ok(Packet::Wrq {
            filename,
            mode,
            options,
        }) => {
            let op = if bytes.get(1) == Some(&1) {
                "RRQ"
            } else {
                "WRQ"
            };
            let opts: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{op} '{filename}' {mode} {}", opts.join(" "))
                .trim_end()
                .to_string()
        }
        Ok(Packet::Data { block, data }) => format!("DATA block {block}, {} bytes", data.len()),
        Ok(Packet::Ack { block }) => format!("ACK block {block}"),
        Ok(Packet::Error { code, message }) => {
            format!("ERROR {} ({}) '{message}'", code.to_u16(), code.meaning())
        }
        Ok(Packet::Oack { options }) => {
            let opts: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("OACK {}", opts.join(" "))
        }
        Err(e) => format!("unparsable {} bytes ({e})", bytes.len()),
    }
}

/// The two directions, seen the same way by the loop.
trait Machine {
    fn phase(&self) -> Phase;
    fn wait(&self) -> Duration;
    fn stats(&self) -> Stats;
    fn outbox(&mut self) -> &mut super::session::Outbox;
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError>;
    fn timeout(&mut self) -> Result<(), TftpError>;
    fn complete(&mut self) -> io::Result<()>;
    /// After the outbox went out: deferred disk writes.
    fn idle(&mut self) -> io::Result<()>;
    fn total(&self) -> Option<u64>;
    fn negotiated(&self) -> Negotiated;
    /// The address ICMP errors are about: the locked TID, else the server.
    fn server(&self) -> SocketAddr;
}

struct Get<'a> {
    m: Download,
    sink: &'a mut dyn Sink,
}

impl Machine for Get<'_> {
    fn phase(&self) -> Phase {
        self.m.phase()
    }
    fn wait(&self) -> Duration {
        self.m.wait()
    }
    fn stats(&self) -> Stats {
        self.m.stats()
    }
    fn outbox(&mut self) -> &mut super::session::Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.on_datagram(from, bytes, self.sink)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout()
    }
    fn complete(&mut self) -> io::Result<()> {
        self.sink.complete()
    }
    fn idle(&mut self) -> io::Result<()> {
        self.sink.idle()
    }
    fn total(&self) -> Option<u64> {
        self.m.negotiated().tsize
    }
    fn negotiated(&self) -> Negotiated {
        self.m.negotiated()
    }
    fn server(&self) -> SocketAddr {
        self.m.peer()
    }
}

struct Put<'a> {
    m: Upload,
    src: &'a mut dyn Source,
    size: Option<u64>,
}

impl Machine for Put<'_> {
    fn phase(&self) -> Phase {
        self.m.phase()
    }
    fn wait(&self) -> Duration {
        self.m.wait()
    }
    fn stats(&self) -> Stats {
        self.m.stats()
    }
    fn outbox(&mut self) -> &mut super::session::Outbox {
        self.m.outbox()
    }
    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), TftpError> {
        self.m.on_datagram(from, bytes, self.src)
    }
    fn timeout(&mut self) -> Result<(), TftpError> {
        self.m.on_timeout(self.src)
    }
    fn complete(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn idle(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn total(&self) -> Option<u64> {
        self.size
    }
    fn negotiated(&self) -> Negotiated {
        self.m.negotiated()
    }
    fn server(&self) -> SocketAddr {
        self.m.peer()
    }
}

pub fn download(
    sock: &UdpSocket,
    mut m: Download,
    sink: &mut dyn Sink,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    drive(sock, &mut Get { m, sink }, hooks)
}

pub fn upload(
    sock: &UdpSocket,
    mut m: Upload,
    src: &mut dyn Source,
    size: Option<u64>,
    hooks: Hooks<'_>,
) -> Result<Report, TftpError> {
    m.start();
    drive(sock, &mut Put { m, src, size }, hooks)
}

fn flush(
    sock: &UdpSocket,
    m: &mut dyn Machine,
    trace: &mut Option<&mut dyn FnMut(String)>,
) -> Result<(), TftpError> {
    for (to, bytes) in m.outbox().drain(..) {
        if let Some(t) = trace.as_mut() {
            t(format!("-> {to}  {}", describe(&bytes)));
        }
        match sock.send_to(&bytes, to) {
            Ok(_) => {}
            // A refused send reports an earlier ICMP error; the receive
            // path names it.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn drive(sock: &UdpSocket, m: &mut dyn Machine, mut hooks: Hooks<'_>) -> Result<Report, TftpError> {
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut wait = m.wait();
    sock.set_read_timeout(Some(wait))?;
    let mut deadline = Instant::now() + wait;
    let mut completed: Option<Duration> = None;
    let mut last_progress = (0u64, m.phase());
    let mut last_reported = 0u64;
    loop {
        flush(sock, m, &mut hooks.trace)?;
        // The ACK is out; now the disk, while the server sends the next
        // block.
        m.idle()?;
        let phase = m.phase();
        if matches!(phase, Phase::Dallying | Phase::Done) && completed.is_none() {
            completed = Some(start.elapsed());
            m.complete()?;
            (hooks.progress)(m.stats().bytes, m.total());
        }
        if phase == Phase::Done {
            break;
        }
        if m.wait() != wait {
            wait = m.wait();
            sock.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
            deadline = Instant::now() + wait;
        }
        let fired = match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Some(t) = hooks.trace.as_mut() {
                    t(format!("<- {from}  {}", describe(&buf[..n])));
                }
                let r = m.datagram(from, &buf[..n]);
                // The ACK goes out first; the bookkeeping can wait for it.
                flush(sock, m, &mut hooks.trace)?;
                r?;
                let now = Instant::now();
                let now_progress = (m.stats().blocks, m.phase());
                if now_progress != last_progress {
                    last_progress = now_progress;
                    deadline = now + m.wait();
                    let bytes = m.stats().bytes;
                    if bytes >= last_reported + (1 << 20) {
                        last_reported = bytes;
                        (hooks.progress)(bytes, m.total());
                    }
                }
                // Strangers and duplicates must not hold the timer off.
                now >= deadline
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                true
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // Only an error about the server counts: an ERROR 5 sent to
                // a stranger whose port is gone must not end the transfer.
                let about = crate::sys::take_queued_error(sock.as_fd()).and_then(|q| q.dest);
                if about.is_none_or(|d| d == m.server()) {
                    return Err(TftpError::PortUnreachable(m.server()));
                }
                false
            }
            Err(e) => return Err(e.into()),
        };
        if fired {
            if let Err(e) = m.timeout() {
                flush(sock, m, &mut hooks.trace)?;
                return Err(e);
            }
            deadline = Instant::now() + m.wait();
        }
    }
    Ok(Report {
        stats: m.stats(),
        negotiated: m.negotiated(),
        elapsed: completed.unwrap_or_else(|| start.elapsed()),
    })
}
