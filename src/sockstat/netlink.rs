//! The netlink `sock_diag` source: inet and UNIX sockets straight from the
//! kernel's tables, the fast path behind `nettool sockstat`.
//!
//! One table is one dump: a `SOCK_DIAG_BY_FAMILY` request carrying the state
//! mask (so the kernel skips unwanted states instead of us), then datagrams of
//! back-to-back netlink messages up to `NLMSG_DONE`. Each datagram is parsed
//! in place in one reusable buffer; the only allocation per socket is its
//! [`Socket`] (and a UNIX socket's name, and with `-i`/`-m` one box of
//! [`Internals`] for a socket the kernel sent them for). Attributes are
//! asked for (`idiag_ext`) and read only when `-i`/`-m` want them.
//!
//! The bytes are [`crate::wire::sock_diag`]'s (requests and checked views,
//! pure and total); this module turns views into [`Socket`]s, and the socket
//! itself lives in [`crate::sys::netlink`].

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sockstat::model::{
    CongestionName, Endpoint, Internals, Proto, Socket, TcpState, Timer, TimerKind, UnixKind,
    UnixName, inet_endpoint,
};
use crate::sockstat::{Error, Extensions, StateSet, Tables};
use crate::sys::netlink::{Netlink, Protocol, RECV_BUF_LEN, is_no_handler};
use crate::wire::sock_diag::{
    self, AF_INET, AF_INET6, AF_UNIX, INET_DIAG_CONG, INET_DIAG_INFO, INET_DIAG_SKMEMINFO,
    INET_REQUEST_LEN, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP, InetAttr, InetDiagMsg, Messages,
    Reply, SockId, UnixAttr, UnixDiagMsg, ext_bit,
};

/// Dump the kernel's `proto` table of one address family into `out`,
/// keeping the sockets whose state is in `states`.
///
/// # Errors
/// `Error::NetlinkUnsupported` when the kernel has no handler for the table
/// (raw sockets without `CONFIG_INET_RAW_DIAG`, or `Proto::Unix`, which is
/// not an inet table: use [`dump_unix`]); `Error::Netlink` when the socket
/// fails or the reply cannot be framed.
pub fn dump_inet(
    proto: Proto,
    v6: bool,
    states: StateSet,
    out: &mut Vec<Socket>,
) -> Result<(), Error> {
    dump_inet_ext(proto, v6, states, Extensions::NONE, out)
}

/// [`dump_inet`], asking the kernel for the internals in `ext` too (those
/// that `proto`'s sockets have: [`Extensions::bits_for`]); each socket that
/// gets any carries them in [`Socket::internals`].
///
/// # Errors
/// As [`dump_inet`].
pub fn dump_inet_ext(
    proto: Proto,
    v6: bool,
    states: StateSet,
    ext: Extensions,
    out: &mut Vec<Socket>,
) -> Result<(), Error> {
    let bits = ext.bits_for(proto);
    each_inet(proto, v6, states, bits, |mut s, payload| {
        if bits != 0 {
            s.internals = internals(payload, bits);
        }
        out.push(s);
    })
}

/// Dump the TCP sockets of both families, in `states`, with the internals
/// in `ext`, into `out`: IPv4 first, then IPv6, as two [`dump_inet_ext`]
/// calls would give them, in one walk of the kernel's tables instead of
/// two (see [`sock_diag::tcp_request_both_families`]). On error `out` is
/// as it was.
///
/// # Errors
/// As [`dump_inet`]; a kernel that refuses the request (`EINVAL`) lets the
/// caller fall back to one dump per family.
pub fn dump_tcp_both(
    states: StateSet,
    ext: Extensions,
    out: &mut Vec<Socket>,
) -> Result<(), Error> {
    let seq = next_seq();
    let bits = ext.bits_for(Proto::Tcp);
    let req = sock_diag::tcp_request_both_families(bits, states.0, seq);
    let start = out.len();
    let mut v6_rows = Vec::new();
    let done = dump("tcp", &req, seq, |payload| {
        let Ok(m) = InetDiagMsg::new_checked(payload) else {
            return;
        };
        let v6 = m.family() == AF_INET6;
        if let Some(mut s) = parse_inet_msg(payload, Proto::Tcp, v6) {
            if bits != 0 {
                s.internals = internals(payload, bits);
            }
            if v6 {
                v6_rows.push(s);
            } else {
                out.push(s);
            }
        }
    });
    if let Err(e) = done {
        out.truncate(start);
        return Err(e);
    }
    out.append(&mut v6_rows);
    Ok(())
}

/// Dump one inet table, asking for the attributes in `bits` (`idiag_ext`),
/// and hand each socket whose state is in `states` to `on_socket` with its
/// message's payload.
fn each_inet(
    proto: Proto,
    v6: bool,
    states: StateSet,
    bits: u8,
    mut on_socket: impl FnMut(Socket, &[u8]),
) -> Result<(), Error> {
    let table = proto.table(v6);
    let seq = next_seq();
    let Some(req) = inet_request(proto, v6, states, bits, seq) else {
        return Err(Error::NetlinkUnsupported { table });
    };
    // raw_diag ignores the state mask (and the protocol in the pad byte)
    // when dumping, so raw sockets are filtered here. The TCP and UDP
    // handlers apply the mask themselves, by rules a second pass here could
    // only contradict (request sockets match NEW_SYN_RECV, then are reported
    // as SYN_RECV).
    let filter_here = proto == Proto::Raw;
    dump(table, &req, seq, |payload| {
        if let Some(s) = parse_inet_msg(payload, proto, v6) {
            if !filter_here || states.contains(s.state) {
                on_socket(s, payload);
            }
        }
    })
}

/// Dump every UNIX socket whose state is in `states` into `out`.
///
/// # Errors
/// As [`dump_inet`].
pub fn dump_unix(states: StateSet, out: &mut Vec<Socket>) -> Result<(), Error> {
    let seq = next_seq();
    let req = sock_diag::unix_request(states.0, seq);
    dump("unix", &req, seq, |payload| {
        out.extend(parse_unix_msg(payload));
    })
}

/// Send `req` (sequence number `seq`), then feed the payload of every
/// socket message of the reply to `on_socket` until the kernel says the
/// dump is done.
fn dump(
    table: &'static str,
    req: &[u8],
    seq: u32,
    on_socket: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let sock = Netlink::open(Protocol::SockDiag).map_err(|e| dump_error(table, e))?;
    let mut buf = vec![0u8; RECV_BUF_LEN];
    dump_on(&sock, &mut buf, table, req, seq, on_socket)
}

/// [`dump`] over a socket the caller keeps (opened in the namespace to
/// dump), receiving into `buf` ([`RECV_BUF_LEN`] bytes serve any dump).
/// Replies to an earlier request that failed half-way are skipped by
/// their sequence number.
fn dump_on(
    sock: &Netlink,
    buf: &mut [u8],
    table: &'static str,
    req: &[u8],
    seq: u32,
    mut on_socket: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let fail = |source| dump_error(table, source);
    sock.send(req).map_err(fail)?;
    loop {
        let datagram = sock.recv(buf).map_err(fail)?;
        if datagram.is_empty() {
            return Err(fail(invalid("empty netlink datagram")));
        }
        for msg in Messages::new(datagram) {
            let msg = msg.map_err(|_| fail(unframed()))?;
            // Anything else on this socket is not an answer to our request.
            if msg.seq() != seq {
                continue;
            }
            match msg.reply() {
                Reply::Socket(payload) => on_socket(payload),
                Reply::Skip => {}
                Reply::Done => return Ok(()),
                Reply::Failed(errno) => return Err(fail(io::Error::from_raw_os_error(errno))),
                Reply::Malformed(why) => return Err(fail(invalid(why))),
            }
        }
    }
}

/// A dump of `table` failed: no handler for it in this kernel, or another
/// failure of the socket.
fn dump_error(table: &'static str, source: io::Error) -> Error {
    match source.raw_os_error() {
        Some(errno) if is_no_handler(errno) => Error::NetlinkUnsupported { table },
        _ => Error::Netlink { table, source },
    }
}

/// Sequence numbers tell our replies from strays; unique per process.
fn next_seq() -> u32 {
    static SEQ: AtomicU32 = AtomicU32::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn invalid(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// A message whose header or length does not fit its datagram.
fn unframed() -> io::Error {
    invalid("truncated netlink message")
}

/// The dump request for one inet table, asking for the attributes in
/// `ext` (`idiag_ext` bits); `None` for `Proto::Unix`.
fn inet_request(
    proto: Proto,
    v6: bool,
    states: StateSet,
    ext: u8,
    seq: u32,
) -> Option<[u8; INET_REQUEST_LEN]> {
    let protocol = match proto {
        Proto::Tcp => IPPROTO_TCP,
        Proto::Udp => IPPROTO_UDP,
        Proto::Raw => IPPROTO_RAW,
        Proto::Unix => return None,
    };
    let family = if v6 { AF_INET6 } else { AF_INET };
    Some(sock_diag::inet_request_ext(
        family, protocol, ext, states.0, seq,
    ))
}

/// One `inet_diag_msg` (the payload of a `SOCK_DIAG_BY_FAMILY` reply) from
/// the `proto` table of the given family as a [`Socket`]. `None` if it is
/// short, of another family, or in a state we have no name for.
fn parse_inet_msg(b: &[u8], proto: Proto, v6: bool) -> Option<Socket> {
    let m = InetDiagMsg::new_checked(b).ok()?;
    let family = if v6 { AF_INET6 } else { AF_INET };
    if m.family() != family {
        return None;
    }
    let state = TcpState::from_kernel(m.state())?;
    let timer = m.timer();
    Some(Socket {
        proto,
        v6,
        // A v4 address is the first 4 bytes; inet_endpoint reads only those.
        local: inet_endpoint(v6, m.src(), m.sport()),
        remote: inet_endpoint(v6, m.dst(), m.dport()),
        state,
        recv_q: Some(m.rqueue()),
        send_q: Some(m.wqueue()),
        uid: Some(m.uid()),
        inode: u64::from(m.inode()),
        timer: (timer != 0).then(|| Timer {
            kind: TimerKind::from_kernel(timer),
            expires_ms: u64::from(m.expires()),
            retrans: u32::from(m.retrans()),
        }),
        unix_kind: None,
        peer_inode: None,
        internals: None,
    })
}

/// One `unix_diag_msg` and its attributes as a [`Socket`]. `None` if the
/// fixed part is short or not `AF_UNIX`; a bad attribute only loses that
/// attribute and the ones after it.
fn parse_unix_msg(b: &[u8]) -> Option<Socket> {
    let m = UnixDiagMsg::new_checked(b).ok()?;
    if m.family() != AF_UNIX {
        return None;
    }
    // UNIX sockets use CLOSE (unconnected), ESTABLISHED (connected) and
    // LISTEN; any other number counts as unconnected rather than vanishing.
    let state = TcpState::from_kernel(m.state()).unwrap_or(TcpState::Close);
    let mut s = Socket {
        proto: Proto::Unix,
        v6: false,
        local: Endpoint::Unix(UnixName::Unnamed),
        remote: Endpoint::Unix(UnixName::Unnamed),
        state,
        // Unknown unless the kernel sends the attributes.
        recv_q: None,
        send_q: None,
        uid: None,
        inode: u64::from(m.inode()),
        timer: None,
        unix_kind: Some(UnixKind::from_kernel(u16::from(m.kind()))),
        peer_inode: None,
        internals: None,
    };
    for attr in m.attrs() {
        match attr {
            UnixAttr::Name(raw) => s.local = Endpoint::Unix(unix_name(raw)),
            UnixAttr::Peer(inode) => s.peer_inode = inode.map(u64::from),
            UnixAttr::RqLen(queues) => {
                if let Some((r, w)) = queues {
                    s.recv_q = Some(r);
                    s.send_q = Some(w);
                }
            }
            UnixAttr::Uid(uid) => s.uid = uid,
            UnixAttr::Other(_) => {}
        }
    }
    Some(s)
}

/// A `UNIX_DIAG_NAME` value: `sun_path` as bound, which for a filesystem
/// path includes the terminating NUL. Abstract names print as
/// /proc/net/unix does: every NUL after the first becomes `@`.
fn unix_name(raw: &[u8]) -> UnixName {
    match raw.split_first() {
        None => UnixName::Unnamed,
        Some((0, rest)) => UnixName::Abstract(String::from_utf8_lossy(rest).replace('\0', "@")),
        Some(_) => {
            let path = raw.split(|&c| c == 0).next().unwrap_or_default();
            UnixName::Path(String::from_utf8_lossy(path).into_owned())
        }
    }
}

/// Everything a dump does with one reply datagram, minus the socket: frame
/// the messages, read each one's meaning, and parse every socket message
/// as each table would (TCP over IPv4 and IPv6 with the internals `-i -m`
/// keep, UNIX). For the fuzz targets; a dump itself knows which table it
/// asked.
///
/// # Errors
/// `InvalidData` when a message cannot be framed.
#[doc(hidden)]
pub fn parse_datagram(datagram: &[u8], out: &mut Vec<Socket>) -> Result<(), io::Error> {
    for msg in Messages::new(datagram) {
        if let Reply::Socket(payload) = msg.map_err(|_| unframed())?.reply() {
            let all = Extensions {
                info: true,
                memory: true,
            }
            .bits_for(Proto::Tcp);
            for v6 in [false, true] {
                out.extend(parse_inet_msg(payload, Proto::Tcp, v6).map(|mut s| {
                    s.internals = internals(payload, all);
                    s
                }));
            }
            out.extend(parse_unix_msg(payload));
        }
    }
    Ok(())
}

/// [`dump_inet`] for `sockstat -K`: every socket of the table with its
/// `inet_diag_sockid`, which names it to [`Destroyer::destroy`]. The id
/// stays with the caller, beside the [`Socket`], for as long as it needs
/// it; `Socket` itself does not carry it.
///
/// # Errors
/// As [`dump_inet`].
pub fn dump_inet_ids(
    proto: Proto,
    v6: bool,
    states: StateSet,
    mut on_socket: impl FnMut(Socket, SockId),
) -> Result<(), Error> {
    each_inet(proto, v6, states, 0, |s, payload| {
        // parse_inet_msg checked the length: the view cannot fail here.
        if let Ok(m) = InetDiagMsg::new_checked(payload) {
            on_socket(s, m.id());
        }
    })
}

/// A `NETLINK_SOCK_DIAG` socket that closes sockets by id
/// (`SOCK_DESTROY`), one request and its acknowledgement at a time, in the
/// network namespace of the thread that opened it.
#[derive(Debug)]
pub struct Destroyer {
    sock: Netlink,
    buf: Vec<u8>,
}

impl Destroyer {
    /// # Errors
    /// What opening the netlink socket failed with.
    pub fn open() -> io::Result<Destroyer> {
        Ok(Destroyer {
            sock: Netlink::open(Protocol::SockDiag)?,
            // An error reply quotes our 72-byte request: small.
            buf: vec![0u8; 8192],
        })
    }

    /// Close the socket of the `proto` table (TCP or UDP) of the given
    /// family that `id` names, and wait for the kernel's answer.
    ///
    /// # Errors
    /// The kernel's errno: `ENOENT` (or `ESTALE`, a cookie that no longer
    /// matches) when the socket is gone, `EPERM` without `CAP_NET_ADMIN`,
    /// `EOPNOTSUPP` on a kernel without `CONFIG_INET_DIAG_DESTROY`; or
    /// what the netlink socket failed with.
    pub fn destroy(&mut self, proto: Proto, v6: bool, id: &SockId) -> io::Result<()> {
        let protocol = match proto {
            Proto::Tcp => IPPROTO_TCP,
            Proto::Udp => IPPROTO_UDP,
            // raw_diag wants the socket's own protocol as well, which a
            // dump does not give without asking: not supported here.
            Proto::Raw | Proto::Unix => return Err(io::ErrorKind::Unsupported.into()),
        };
        let family = if v6 { AF_INET6 } else { AF_INET };
        let seq = next_seq();
        self.sock
            .send(&sock_diag::destroy_request(family, protocol, id, seq))?;
        loop {
            let datagram = self.sock.recv(&mut self.buf)?;
            if datagram.is_empty() {
                return Err(invalid("empty netlink datagram"));
            }
            for msg in Messages::new(datagram) {
                let msg = msg.map_err(|_| unframed())?;
                if msg.seq() != seq || msg.ty() != sock_diag::NLMSG_ERROR {
                    continue;
                }
                // An NLMSG_ERROR carrying 0 is the acknowledgement.
                return match msg.reply() {
                    Reply::Skip => Ok(()),
                    Reply::Failed(errno) => Err(io::Error::from_raw_os_error(errno)),
                    Reply::Socket(_) | Reply::Done => Err(invalid("unexpected netlink reply")),
                    Reply::Malformed(why) => Err(invalid(why)),
                };
            }
        }
    }
}

/// The internals asked for (`bits`, `idiag_ext`) among the attributes of
/// the inet socket message `payload`; `None` when it has none of them
/// (`TIME_WAIT` and request sockets never do). A bad attribute loses
/// itself and the ones after it, never the socket.
fn internals(payload: &[u8], bits: u8) -> Option<Box<Internals>> {
    let m = InetDiagMsg::new_checked(payload).ok()?;
    let wants = |attr: u16| bits & ext_bit(attr) != 0;
    let mut got = Internals::default();
    for attr in m.attrs() {
        match attr {
            InetAttr::Info(info) if wants(INET_DIAG_INFO) => {
                got.tcp_info = Some(info.to_owned());
            }
            InetAttr::Cong(name) if wants(INET_DIAG_CONG) => {
                got.congestion = Some(CongestionName::new(name));
            }
            InetAttr::SkMemInfo(mem) if wants(INET_DIAG_SKMEMINFO) => got.memory = Some(mem),
            _ => {}
        }
    }
    (!got.is_empty()).then(|| Box::new(got))
}

/// A `NETLINK_SOCK_DIAG` socket kept for the dumps of `sockstat --watch`,
/// one each interval: it dumps the network namespace of the thread that
/// opened it, from whichever thread uses it afterwards, so a watch of
/// several namespaces enters each once, to open its socket.
#[derive(Debug)]
pub struct Dumper {
    sock: Netlink,
}

impl Dumper {
    /// # Errors
    /// What opening the netlink socket failed with.
    pub fn open() -> io::Result<Dumper> {
        Ok(Dumper {
            sock: Netlink::open(Protocol::SockDiag)?,
        })
    }

    /// One dump of the TCP and UDP tables asked for (every state), each
    /// socket with its kernel cookie. `buf` receives the replies
    /// ([`RECV_BUF_LEN`] bytes; one buffer serves every dumper in turn).
    ///
    /// # Errors
    /// As [`dump_inet`].
    pub fn cookies(
        &self,
        t: Tables,
        buf: &mut [u8],
        mut on_socket: impl FnMut(Socket, u64),
    ) -> Result<(), Error> {
        let (tcp, udp, v4, v6) = (t.tcp, t.udp, t.v4, t.v6);
        for (proto, on) in [(Proto::Tcp, tcp), (Proto::Udp, udp)] {
            for (fam6, fam_on) in [(false, v4), (true, v6)] {
                if !(on && fam_on) {
                    continue;
                }
                let seq = next_seq();
                let Some(req) = inet_request(proto, fam6, StateSet::ALL, 0, seq) else {
                    return Err(Error::NetlinkUnsupported {
                        table: proto.table(fam6),
                    });
                };
                dump_on(&self.sock, buf, proto.table(fam6), &req, seq, |payload| {
                    if let (Some(s), Ok(m)) = (
                        parse_inet_msg(payload, proto, fam6),
                        InetDiagMsg::new_checked(payload),
                    ) {
                        on_socket(s, m.id().cookie_u64());
                    }
                })?;
            }
        }
        Ok(())
    }
}

/// A socket the kernel announced as destroyed: its last addresses and
/// state (`CLOSE`, mostly), and for TCP its final `tcp_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destroyed {
    pub cookie: u64,
    pub socket: Socket,
}

/// A `NETLINK_SOCK_DIAG` socket joined to the destroy groups of the
/// tables watched (`ss -E`), in the namespace of the thread that opened it.
/// Its receive buffer is fixed: when a burst overflows it, the kernel drops
/// messages and [`DestroyWatch::drain`] counts the loss.
#[derive(Debug)]
pub struct DestroyWatch {
    sock: Netlink,
}

/// The receive buffer asked for: about 10,000 destroy notifications.
const DESTROY_RCVBUF: u32 = 8 << 20;

impl DestroyWatch {
    /// Join the destroy groups of TCP and/or UDP over IPv4 and/or IPv6.
    ///
    /// # Errors
    /// What opening or joining failed with (`EPERM` on a kernel that
    /// keeps the groups to `CAP_NET_ADMIN`; Linux 6.18 lets anyone join).
    pub fn open(t: Tables) -> io::Result<DestroyWatch> {
        let (tcp, udp, v4, v6) = (t.tcp, t.udp, t.v4, t.v6);
        let sock = Netlink::open(Protocol::SockDiag)?;
        sock.bind_any()?;
        let groups = [
            (sock_diag::SKNLGRP_INET_TCP_DESTROY, tcp && v4),
            (sock_diag::SKNLGRP_INET_UDP_DESTROY, udp && v4),
            (sock_diag::SKNLGRP_INET6_TCP_DESTROY, tcp && v6),
            (sock_diag::SKNLGRP_INET6_UDP_DESTROY, udp && v6),
        ];
        for (group, on) in groups {
            if on {
                sock.join_group(group)?;
            }
        }
        // A smaller buffer than asked only means losses come sooner.
        let _ = sock.set_recv_buffer(DESTROY_RCVBUF);
        Ok(DestroyWatch { sock })
    }

    /// The descriptor, readable when a notification waits.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Hand every notification queued now to `on_destroyed`; returns how
    /// many times the kernel reported lost notifications (`ENOBUFS`).
    /// `buf` receives them ([`RECV_BUF_LEN`] bytes; one buffer serves every
    /// watch in turn).
    ///
    /// # Errors
    /// What receiving failed with, but `ENOBUFS`.
    pub fn drain(
        &self,
        buf: &mut [u8],
        mut on_destroyed: impl FnMut(Destroyed),
    ) -> io::Result<u64> {
        let mut overruns = 0;
        loop {
            let datagram = match self.sock.try_recv(buf) {
                Ok(Some(d)) => d,
                Ok(None) => return Ok(overruns),
                Err(e) if e.raw_os_error() == Some(crate::sys::errno::ENOBUFS) => {
                    overruns += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            parse_destroyed(datagram, &mut on_destroyed);
        }
    }
}

/// The destroy notifications in one datagram; messages that do not parse
/// are skipped.
pub fn parse_destroyed(datagram: &[u8], on_destroyed: &mut dyn FnMut(Destroyed)) {
    for msg in Messages::new(datagram) {
        let Ok(msg) = msg else { return };
        let Reply::Socket(payload) = msg.reply() else {
            continue;
        };
        let Ok(m) = InetDiagMsg::new_checked(payload) else {
            continue;
        };
        let v6 = m.family() == AF_INET6;
        // UDP sockets have no tcp_info: without the attribute, a message
        // with INET_DIAG_INFO is TCP.
        let proto = match m.protocol() {
            Some(IPPROTO_TCP) => Proto::Tcp,
            Some(IPPROTO_UDP) => Proto::Udp,
            Some(_) => continue,
            None if m.attrs().any(|a| matches!(a, InetAttr::Info(_))) => Proto::Tcp,
            None => Proto::Udp,
        };
        let Some(mut socket) = parse_inet_msg(payload, proto, v6) else {
            continue;
        };
        socket.internals = internals(payload, ext_bit(INET_DIAG_INFO));
        on_destroyed(Destroyed {
            cookie: m.id().cookie_u64(),
            socket,
        });
    }
}

/// One dump of `proto`'s table of one family (every state), each socket
/// with its kernel cookie and the internals in `ext`, for
/// `sockstat --diagnose`: two dumps an interval apart are matched by
/// cookie.
///
/// # Errors
/// As [`dump_inet`].
pub fn dump_with_cookies(
    proto: Proto,
    v6: bool,
    ext: Extensions,
    mut on_socket: impl FnMut(Socket, u64),
) -> Result<(), Error> {
    let bits = ext.bits_for(proto);
    each_inet(proto, v6, StateSet::ALL, bits, |mut s, payload| {
        if bits != 0 {
            s.internals = internals(payload, bits);
        }
        if let Ok(m) = InetDiagMsg::new_checked(payload) {
            on_socket(s, m.id().cookie_u64());
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::fd::AsFd;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::{self as unix, UnixListener, UnixStream};

    use proptest::prelude::*;

    use super::*;
    use crate::sys::errno::{EACCES, ENOENT};

    use crate::wire::sock_diag::field::{inet_diag_msg, inet_diag_req_v2, nlmsghdr, unix_diag_msg};
    use crate::wire::sock_diag::tests::{
        CAPTURED_DONE_ENOENT, CAPTURED_LISTENER, UNIX_ABSTRACT, UNIX_PATH, V6_ESTABLISHED,
    };

    fn inet(ip: &str) -> Endpoint {
        Endpoint::Inet(ip.parse().unwrap())
    }

    #[test]
    fn inet_request_bytes() {
        let req = inet_request(Proto::Tcp, false, StateSet::of(&[TcpState::Listen]), 0, 7).unwrap();
        assert_eq!(
            req,
            sock_diag::inet_request(AF_INET, IPPROTO_TCP, 1 << 10, 7)
        );
        let req = inet_request(Proto::Udp, true, StateSet::ALL, 0, 8).unwrap();
        assert_eq!(
            req,
            sock_diag::inet_request(AF_INET6, IPPROTO_UDP, 0x1ffe, 8)
        );
    }

    #[test]
    fn raw_request_reaches_raw_diag_for_every_protocol() {
        let req = inet_request(Proto::Raw, true, StateSet::ALL, 0, 1).unwrap();
        let body = &req[nlmsghdr::SIZE..];
        // AF_INET6, IPPROTO_RAW (selects raw_diag), idiag_ext 0,
        // sdiag_raw_protocol 0 (dumps ignore it)
        assert_eq!(body[..inet_diag_req_v2::STATES.start], [10, 255, 0, 0]);
        assert_eq!(body[inet_diag_req_v2::STATES], 0x1ffe_u32.to_ne_bytes());
        assert!(body[inet_diag_req_v2::ID].iter().all(|&b| b == 0));
        assert_eq!(inet_request(Proto::Unix, false, StateSet::ALL, 0, 1), None);
    }

    #[test]
    fn unix_request_bytes() {
        let req = sock_diag::unix_request(StateSet::of(&[TcpState::Listen]).0, 9);
        assert_eq!(req, sock_diag::unix_request(1 << 10, 9));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_captured_listener_and_done() {
        let mut datagram = CAPTURED_LISTENER.to_vec();
        datagram.extend_from_slice(&CAPTURED_DONE_ENOENT[..16]);
        datagram.extend(0i32.to_ne_bytes());
        let msgs: Vec<_> = Messages::new(&datagram).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].seq(), 7);
        let Reply::Socket(payload) = msgs[0].reply() else {
            panic!("not a socket: {:?}", msgs[0]);
        };
        assert_eq!(msgs[1].reply(), Reply::Done);
        let s = parse_inet_msg(payload, Proto::Tcp, false).unwrap();
        assert_eq!(
            s,
            Socket {
                proto: Proto::Tcp,
                v6: false,
                local: inet("127.77.255.1:32995"),
                remote: inet("0.0.0.0:0"),
                state: TcpState::Listen,
                recv_q: Some(0),
                send_q: Some(4096),
                uid: Some(0),
                inode: 334_863,
                timer: None,
                unix_kind: None,
                peer_inode: None,
                internals: None,
            }
        );
        // An AF_INET message is not a tcp6 row.
        assert_eq!(parse_inet_msg(payload, Proto::Tcp, true), None);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn done_carries_the_dumps_errno() {
        let msg = Messages::new(&CAPTURED_DONE_ENOENT)
            .next()
            .unwrap()
            .unwrap();
        // The dump turns this into "unsupported", not a failure.
        assert_eq!(msg.reply(), Reply::Failed(ENOENT));
        assert!(is_no_handler(ENOENT));
        assert!(!is_no_handler(EACCES));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_v6_message_with_timer() {
        let s = parse_inet_msg(&V6_ESTABLISHED, Proto::Tcp, true).unwrap();
        assert_eq!(s.proto_label(), "tcp6");
        assert_eq!(s.local, inet("[2001:db8::1]:443"));
        assert_eq!(s.remote, inet("[2001:db8::2]:51000"));
        assert_eq!(s.state, TcpState::Established);
        assert_eq!(
            (s.recv_q, s.send_q, s.uid, s.inode),
            (Some(5), Some(9), Some(1000), 4242)
        );
        assert_eq!(
            s.timer,
            Some(Timer {
                kind: TimerKind::Keepalive,
                expires_ms: 7000,
                retrans: 3
            })
        );
    }

    #[test]
    fn v4_mapped_addresses_show_as_ipv4_in_the_v6_table() {
        let mut m = V6_ESTABLISHED;
        m[inet_diag_msg::SRC].copy_from_slice(
            &"::ffff:127.0.0.1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        m[inet_diag_msg::DST].copy_from_slice(
            &"::ffff:10.1.2.3"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        let s = parse_inet_msg(&m, Proto::Tcp, true).unwrap();
        assert!(s.v6);
        assert_eq!(s.local, inet("127.0.0.1:443"));
        assert_eq!(s.remote, inet("10.1.2.3:51000"));
    }

    #[test]
    fn unknown_state_and_wrong_family_are_skipped() {
        let mut m = V6_ESTABLISHED;
        m[inet_diag_msg::STATE] = 0;
        assert_eq!(parse_inet_msg(&m, Proto::Tcp, true), None);
        m[inet_diag_msg::STATE] = 13;
        assert_eq!(parse_inet_msg(&m, Proto::Tcp, true), None);
        assert_eq!(parse_inet_msg(&V6_ESTABLISHED, Proto::Tcp, false), None);
        m = V6_ESTABLISHED;
        m[inet_diag_msg::TIMER] = 0; // no timer: expires and retrans are not shown
        assert_eq!(parse_inet_msg(&m, Proto::Udp, true).unwrap().timer, None);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_unix_abstract_name_peer_and_rqlen() {
        let s = parse_unix_msg(&UNIX_ABSTRACT).unwrap();
        assert_eq!(
            s,
            Socket {
                proto: Proto::Unix,
                v6: false,
                local: Endpoint::Unix(UnixName::Abstract("app@one".into())),
                remote: Endpoint::Unix(UnixName::Unnamed),
                state: TcpState::Established,
                recv_q: Some(3),
                send_q: Some(7),
                uid: Some(1000),
                inode: 12345,
                timer: None,
                unix_kind: Some(UnixKind::SeqPacket),
                peer_inode: Some(12346),
                internals: None,
            }
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn unix_path_keeps_spaces_and_drops_its_nul() {
        let s = parse_unix_msg(&UNIX_PATH).unwrap();
        assert_eq!(
            s.local,
            Endpoint::Unix(UnixName::Path("/tmp/a b/sock c".into()))
        );
        assert_eq!(s.state, TcpState::Listen);
        assert_eq!(s.unix_kind, Some(UnixKind::Stream));
        assert_eq!(
            (s.inode, s.peer_inode, s.recv_q, s.send_q),
            (21, None, None, None)
        );
        assert_eq!(s.uid, None, "no UNIX_DIAG_UID: unknown, not root");
    }

    #[test]
    fn unix_name_forms() {
        assert_eq!(unix_name(b""), UnixName::Unnamed);
        assert_eq!(unix_name(b"\0"), UnixName::Abstract(String::new()));
        assert_eq!(unix_name(b"\0a\0\0b"), UnixName::Abstract("a@@b".into()));
        assert_eq!(unix_name(b"/run/x"), UnixName::Path("/run/x".into()));
        assert_eq!(unix_name(b"/run/x\0junk"), UnixName::Path("/run/x".into()));
        assert_eq!(unix_name(b"/r\xffn"), UnixName::Path("/r\u{fffd}n".into()));
    }

    #[test]
    fn unix_state_outside_unix_use_counts_as_unconnected() {
        let mut m = UNIX_PATH;
        m[unix_diag_msg::STATE] = 0;
        assert_eq!(parse_unix_msg(&m).unwrap().state, TcpState::Close);
        m[unix_diag_msg::FAMILY] = AF_INET;
        assert_eq!(parse_unix_msg(&m), None);
    }

    #[test]
    fn truncated_input_gives_none_or_an_error() {
        for n in 0..CAPTURED_LISTENER.len() {
            let short = &CAPTURED_LISTENER[..n];
            let first = Messages::new(short).next();
            assert!(
                matches!(first, None | Some(Err(_))),
                "prefix {n}: {first:?}"
            );
        }
        for n in 0..inet_diag_msg::SIZE {
            assert_eq!(parse_inet_msg(&V6_ESTABLISHED[..n], Proto::Tcp, true), None);
        }
        for n in 0..unix_diag_msg::SIZE {
            assert_eq!(parse_unix_msg(&UNIX_ABSTRACT[..n]), None);
        }
        // A cut attribute is dropped; the socket and earlier attributes stay.
        let s = parse_unix_msg(&UNIX_ABSTRACT[..UNIX_ABSTRACT.len() - 1]).unwrap();
        assert_eq!(s.peer_inode, Some(12346));
        assert_eq!((s.recv_q, s.send_q, s.uid), (Some(3), Some(7), None));
    }

    #[test]
    fn impossible_lengths_end_iteration() {
        // nla_len smaller than an attribute header, and past the end: the
        // name is lost, the socket stays.
        for nla_len in [0u16, 3, 200] {
            let mut m = UNIX_PATH;
            let name = unix_diag_msg::SIZE..unix_diag_msg::SIZE + 2;
            m[name].copy_from_slice(&nla_len.to_ne_bytes());
            assert_eq!(
                parse_unix_msg(&m).unwrap().local,
                Endpoint::Unix(UnixName::Unnamed)
            );
        }
    }

    /// Everything a dump does with a datagram, minus the socket.
    fn parse_all(datagram: &[u8]) {
        for msg in Messages::new(datagram) {
            let Ok(msg) = msg else { break };
            let _ = msg.reply();
            let _ = parse_inet_msg(msg.payload(), Proto::Tcp, false);
            let _ = parse_inet_msg(msg.payload(), Proto::Raw, true);
            let _ = parse_unix_msg(msg.payload());
        }
        let _ = parse_inet_msg(datagram, Proto::Udp, false);
        let _ = parse_unix_msg(datagram);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            parse_all(&bytes);
        }

        /// Random bytes rarely frame a message; corrupting real ones
        /// reaches the parsers.
        #[test]
        fn corrupted_messages_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut datagram = CAPTURED_LISTENER.to_vec();
            let mut unix_msg = UNIX_ABSTRACT.to_vec();
            for (at, value) in edits {
                let n = datagram.len();
                datagram[at % n] = value;
                let n = unix_msg.len();
                unix_msg[at % n] = value;
            }
            parse_all(&datagram[..cut % (datagram.len() + 1)]);
            parse_all(&datagram);
            let _ = parse_unix_msg(&unix_msg[..cut % (unix_msg.len() + 1)]);
        }
    }

    // Live tests against this kernel, on loopback; they need no privilege.

    /// The socket inode as fstat(2) sees it.
    fn fstat_ino(fd: &impl AsFd) -> u64 {
        let file = std::fs::File::from(fd.as_fd().try_clone_to_owned().unwrap());
        file.metadata().unwrap().ino()
    }

    fn dump_inet_ok(proto: Proto, v6: bool, states: StateSet) -> Vec<Socket> {
        let mut out = Vec::new();
        dump_inet(proto, v6, states, &mut out).unwrap();
        out
    }

    fn dump_unix_ok(states: StateSet) -> Vec<Socket> {
        let mut out = Vec::new();
        dump_unix(states, &mut out).unwrap();
        out
    }

    fn find(sockets: &[Socket], inode: u64) -> &Socket {
        sockets
            .iter()
            .find(|s| s.inode == inode)
            .unwrap_or_else(|| panic!("inode {inode} not in the dump"))
    }

    #[test]
    fn live_tcp_listen_filter_is_applied_by_the_kernel() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();

        let got = dump_inet_ok(Proto::Tcp, false, StateSet::of(&[TcpState::Listen]));
        // No client-side filter for TCP: every row is the kernel's choice.
        assert!(got.iter().all(|s| s.state == TcpState::Listen));
        let l = find(&got, fstat_ino(&listener));
        assert_eq!(
            (l.local.clone(), l.state),
            (Endpoint::Inet(addr), TcpState::Listen)
        );
        for established in [fstat_ino(&client), fstat_ino(&server)] {
            assert!(got.iter().all(|s| s.inode != established));
        }
    }

    #[test]
    fn live_one_dump_gives_both_families_as_two_dumps_would_in_their_order() {
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = match TcpListener::bind("[::1]:0") {
            Ok(l) => l,
            Err(e) => {
                return cannot_run(
                    "live_one_dump_gives_both_families_as_two_dumps_would_in_their_order",
                    &format!("no IPv6 loopback here: {e}"),
                );
            }
        };
        let ours = [fstat_ino(&v4), fstat_ino(&v6)];
        let listen = StateSet::of(&[TcpState::Listen]);
        let ext = Extensions {
            info: true,
            memory: true,
        };
        let mut both = Vec::new();
        // The TCPDIAG_GETSOCK request itself, not its fallback.
        dump_tcp_both(listen, ext, &mut both).unwrap();
        let mut two = dump_inet_ok(Proto::Tcp, false, listen);
        two.extend(dump_inet_ok(Proto::Tcp, true, listen));
        let mine = |rows: &[Socket]| -> Vec<(u64, bool, Endpoint)> {
            rows.iter()
                .filter(|s| ours.contains(&s.inode))
                .map(|s| (s.inode, s.v6, s.local.clone()))
                .collect()
        };
        assert_eq!(mine(&both), mine(&two));
        assert_eq!(
            mine(&both),
            [
                (ours[0], false, Endpoint::Inet(v4.local_addr().unwrap())),
                (ours[1], true, Endpoint::Inet(v6.local_addr().unwrap())),
            ]
        );
        // Every IPv4 row before every IPv6 row, as the two tables come.
        let first_v6 = both.iter().position(|s| s.v6).unwrap();
        assert!(both[first_v6..].iter().all(|s| s.v6));
        // The attributes asked for come with it.
        let l = find(&both, ours[1]);
        let internals = l.internals.as_ref().expect("-i/-m internals");
        assert!(internals.congestion.is_some() && internals.memory.is_some());
    }

    #[test]
    fn live_tcp_pair_is_established_on_both_ends() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let got = dump_inet_ok(Proto::Tcp, false, StateSet::of(&[TcpState::Established]));
        for (end, inode) in [(&client, fstat_ino(&client)), (&server, fstat_ino(&server))] {
            let s = find(&got, inode);
            assert_eq!(s.state, TcpState::Established);
            assert_eq!(s.local, Endpoint::Inet(end.local_addr().unwrap()));
            assert_eq!(s.remote, Endpoint::Inet(end.peer_addr().unwrap()));
            assert_eq!(s.uid, Some(current_uid()));
        }
    }

    #[test]
    fn live_time_wait_has_its_timer_and_no_inode() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let local = Endpoint::Inet(client.local_addr().unwrap());
        // The end that closes first waits in TIME_WAIT once the other closes.
        drop(client);
        drop(server);
        let only_tw = StateSet::of(&[TcpState::TimeWait]);
        for _ in 0..100 {
            let got = dump_inet_ok(Proto::Tcp, false, only_tw);
            if let Some(s) = got.iter().find(|s| s.local == local) {
                assert_eq!((s.state, s.inode), (TcpState::TimeWait, 0));
                let timer = s.timer.unwrap();
                assert_eq!(timer.kind, TimerKind::TimeWait);
                assert!(timer.expires_ms <= 60_000, "{timer:?}");
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{local:?} never reached TIME_WAIT");
    }

    /// Our uid, from the owner of a file we just created.
    fn current_uid() -> u32 {
        tempfile::tempfile().unwrap().metadata().unwrap().uid()
    }

    /// A live test that cannot run: one SKIP line, or a failure under CI.
    fn cannot_run(test: &str, why: &str) {
        crate::skip_or_fail(format_args!("{test}: {why}"));
    }

    #[test]
    fn live_tcp6_shows_mapped_peers_as_ipv4() {
        // An IPv6 listener on the IPv4-mapped loopback (IPV6_V6ONLY off,
        // whatever net.ipv6.bindv6only says): it takes 127.0.0.1:port and
        // nothing else, so the IPv4 client below reaches only it, and
        // nothing listens beyond loopback.
        let dual = || -> io::Result<TcpListener> {
            let s = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)?;
            s.set_only_v6(false)?;
            s.bind(
                &"[::ffff:127.0.0.1]:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )?;
            s.listen(8)?;
            Ok(s.into())
        };
        let listener = match dual() {
            Ok(l) => l,
            Err(e) => {
                return cannot_run(
                    "live_tcp6_shows_mapped_peers_as_ipv4",
                    &format!("no IPv6 listener on ::ffff:127.0.0.1 here: {e}"),
                );
            }
        };
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = listener.accept().unwrap();
        let got = dump_inet_ok(Proto::Tcp, true, StateSet::ALL);
        let l = find(&got, fstat_ino(&listener));
        assert_eq!(
            (l.state, l.v6, l.local.clone()),
            (TcpState::Listen, true, inet(&format!("127.0.0.1:{port}")))
        );
        let s = find(&got, fstat_ino(&server));
        assert!(s.v6, "the accepted socket lives in the tcp6 table: {s:?}");
        assert_eq!(s.state, TcpState::Established);
        assert_eq!(s.local, inet(&format!("127.0.0.1:{port}")));
        assert_eq!(s.remote, Endpoint::Inet(client.local_addr().unwrap()));
        // The IPv4 client is not in the tcp6 table.
        assert!(got.iter().all(|r| r.inode != fstat_ino(&client)));
    }

    #[test]
    fn live_udp_sockets_unconnected_and_connected() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        b.send(b"hello").unwrap();
        let got = dump_inet_ok(Proto::Udp, false, StateSet::ALL);
        let sa = find(&got, fstat_ino(&a));
        assert_eq!(sa.local, Endpoint::Inet(a.local_addr().unwrap()));
        assert_eq!(sa.state, TcpState::Close);
        assert!(sa.is_listening());
        assert!(sa.recv_q > Some(0), "a datagram is queued: {sa:?}");
        let sb = find(&got, fstat_ino(&b));
        assert_eq!(sb.state, TcpState::Established);
        assert_eq!(sb.remote, Endpoint::Inet(a.local_addr().unwrap()));
        // Only connected ones when asked.
        let got = dump_inet_ok(Proto::Udp, false, StateSet::of(&[TcpState::Established]));
        assert!(got.iter().all(|s| s.state == TcpState::Established));
        assert!(got.iter().any(|s| s.inode == fstat_ino(&b)));
    }

    #[test]
    fn live_raw_dump_is_ok_or_unsupported() {
        for v6 in [false, true] {
            let mut out = Vec::new();
            match dump_inet(Proto::Raw, v6, StateSet::ALL, &mut out) {
                Ok(()) => {}
                Err(Error::NetlinkUnsupported { table }) => {
                    assert_eq!(table, if v6 { "raw6" } else { "raw" });
                }
                Err(e) => panic!("raw dump: {e}"),
            }
        }
    }

    #[test]
    fn live_unix_listener_path_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a dir").join("the sock");
        std::fs::create_dir(path.parent().unwrap()).unwrap();
        let listener = UnixListener::bind(&path).unwrap();
        let got = dump_unix_ok(StateSet::of(&[TcpState::Listen]));
        assert!(got.iter().all(|s| s.state == TcpState::Listen));
        let s = find(&got, fstat_ino(&listener));
        assert_eq!(s.uid, Some(current_uid()), "UDIAG_SHOW_UID answered");
        let want = UnixName::Path(path.to_str().unwrap().to_owned());
        assert_eq!(s.local, Endpoint::Unix(want));
        assert_eq!(s.unix_kind, Some(UnixKind::Stream));
        assert!(s.is_listening());
    }

    #[test]
    fn live_unix_abstract_name() {
        let name = format!("nettool-test-{}\0tail", std::process::id());
        let addr = unix::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let got = dump_unix_ok(StateSet::ALL);
        let s = find(&got, fstat_ino(&listener));
        let want = format!("nettool-test-{}@tail", std::process::id());
        assert_eq!(s.local, Endpoint::Unix(UnixName::Abstract(want)));
        assert_eq!(s.state, TcpState::Listen);
    }

    #[test]
    fn live_unix_pair_peers_and_queue() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"12345").unwrap();
        let (ia, ib) = (fstat_ino(&a), fstat_ino(&b));
        let got = dump_unix_ok(StateSet::of(&[TcpState::Established]));
        let (sa, sb) = (find(&got, ia), find(&got, ib));
        assert_eq!((sa.peer_inode, sb.peer_inode), (Some(ib), Some(ia)));
        assert_eq!(sb.recv_q, Some(5));
        assert_eq!((sa.uid, sb.uid), (Some(current_uid()), Some(current_uid())));
        assert_eq!(sa.local, Endpoint::Unix(UnixName::Unnamed));
        assert_eq!(sa.state, TcpState::Established);
    }

    #[test]
    fn live_unknown_table_is_unsupported() {
        let mut out = Vec::new();
        let r = dump_inet(Proto::Unix, false, StateSet::ALL, &mut out);
        assert!(matches!(
            r,
            Err(Error::NetlinkUnsupported { table: "unix" })
        ));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn internals_keep_only_what_was_asked() {
        let datagram = crate::wire::sock_diag::tests::captured_tcp_info_message();
        let payload = &datagram[nlmsghdr::SIZE..];
        let bits = |info, memory| Extensions { info, memory }.bits_for(Proto::Tcp);
        let all = internals(payload, bits(true, true)).unwrap();
        assert_eq!(all.congestion.unwrap().as_str(), "bbr");
        assert_eq!(all.tcp_info.unwrap().snd_cwnd(), Some(10));
        assert_eq!(all.memory.unwrap().sndbuf, Some(967_680));
        let info = internals(payload, bits(true, false)).unwrap();
        assert!(info.memory.is_none() && info.tcp_info.is_some());
        let memory = internals(payload, bits(false, true)).unwrap();
        assert!(memory.tcp_info.is_none() && memory.congestion.is_none());
        assert!(memory.memory.is_some());
        // Nothing asked, or nothing sent (the listener capture has only
        // unasked attributes): no allocation.
        assert_eq!(internals(payload, 0), None);
        let listener = &CAPTURED_LISTENER[nlmsghdr::SIZE..];
        assert_eq!(internals(listener, bits(true, true)), None);
        assert_eq!(internals(&payload[..10], bits(true, true)), None);
    }

    fn so_buf(fd: &impl AsFd, rcv: bool) -> u32 {
        let s = socket2::SockRef::from(fd);
        let n = if rcv {
            s.recv_buffer_size()
        } else {
            s.send_buffer_size()
        };
        u32::try_from(n.unwrap()).unwrap()
    }

    #[test]
    fn live_internals_of_a_tcp_pair_and_a_udp_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(&[7; 3000]).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let both = Extensions {
            info: true,
            memory: true,
        };
        let mut tcp = Vec::new();
        dump_inet_ext(Proto::Tcp, false, StateSet::ALL, both, &mut tcp).unwrap();
        for end in [&client, &server] {
            let s = find(&tcp, fstat_ino(end));
            let i = s.internals.as_deref().unwrap_or_else(|| panic!("{s:?}"));
            let t = i.tcp_info.as_ref().unwrap();
            assert_eq!(t.state(), Some(1), "ESTABLISHED");
            assert!(
                t.snd_mss().unwrap() > 0 && t.snd_cwnd().unwrap() > 0,
                "{t:?}"
            );
            assert!(!i.congestion.unwrap().as_str().is_empty());
            // SO_RCVBUF and SO_SNDBUF read the same fields of the socket.
            let m = i.memory.unwrap();
            assert_eq!(m.rcvbuf, Some(so_buf(end, true)));
            assert_eq!(m.sndbuf, Some(so_buf(end, false)));
        }
        let sent = find(&tcp, fstat_ino(&client)).internals.as_deref().unwrap();
        let t = sent.tcp_info.as_ref().unwrap();
        // The SYN counts in bytes_acked.
        assert_eq!((t.bytes_sent(), t.bytes_acked()), (Some(3000), Some(3001)));
        let got = find(&tcp, fstat_ino(&server)).internals.as_deref().unwrap();
        assert_eq!(got.tcp_info.as_ref().unwrap().bytes_received(), Some(3000));
        let mut udps = Vec::new();
        dump_inet_ext(Proto::Udp, false, StateSet::ALL, both, &mut udps).unwrap();
        let u = find(&udps, fstat_ino(&udp)).internals.as_deref().unwrap();
        assert!(u.tcp_info.is_none() && u.congestion.is_none(), "{u:?}");
        assert_eq!(u.memory.unwrap().rcvbuf, Some(so_buf(&udp, true)));
        // Not asked: nothing.
        let plain = dump_inet_ok(Proto::Tcp, false, StateSet::ALL);
        assert!(find(&plain, fstat_ino(&client)).internals.is_none());
    }

    #[test]
    fn destroy_notification_parses_protocol_cookie_and_totals() {
        // nlmsghdr (SOCK_DIAG_BY_FAMILY), inet_diag_msg, INET_DIAG_PROTOCOL
        // (UDP, which has no tcp_info: the attribute decides), then the
        // same message as TCP with an INET_DIAG_INFO of 280 bytes.
        fn message(protocol: u8, info: Option<u64>) -> Vec<u8> {
            let mut m = vec![0u8; inet_diag_msg::SIZE];
            m[0] = AF_INET;
            m[1] = 7; // CLOSE
            m[4..6].copy_from_slice(&4000u16.to_be_bytes());
            m[6..8].copy_from_slice(&80u16.to_be_bytes());
            m[8..12].copy_from_slice(&[198, 51, 100, 1]);
            m[24..28].copy_from_slice(&[198, 51, 100, 2]);
            // idiag_cookie: low half 0x1234, high half 1.
            m[44..48].copy_from_slice(&0x1234u32.to_ne_bytes());
            m[48..52].copy_from_slice(&1u32.to_ne_bytes());
            let attr = |ty: u16, v: &[u8]| {
                let mut a = Vec::new();
                a.extend_from_slice(&u16::try_from(4 + v.len()).unwrap().to_ne_bytes());
                a.extend_from_slice(&ty.to_ne_bytes());
                a.extend_from_slice(v);
                a.resize(a.len().next_multiple_of(4), 0);
                a
            };
            m.extend(attr(sock_diag::INET_DIAG_PROTOCOL, &[protocol]));
            if let Some(acked) = info {
                let mut t = [0u8; 280];
                t[120..128].copy_from_slice(&acked.to_ne_bytes());
                m.extend(attr(INET_DIAG_INFO, &t));
            }
            let mut h = Vec::new();
            h.extend_from_slice(&u32::try_from(16 + m.len()).unwrap().to_ne_bytes());
            h.extend_from_slice(&20u16.to_ne_bytes());
            h.extend_from_slice(&[0; 10]);
            h.extend(m);
            h
        }
        let mut d = message(IPPROTO_UDP, None);
        d.extend(message(IPPROTO_TCP, Some(99)));
        // A truncated third message ends the datagram, not the others.
        d.extend_from_slice(&[200, 0, 0, 0, 20, 0]);
        let mut got = Vec::new();
        parse_destroyed(&d, &mut |x| got.push(x));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].cookie, 0x1_0000_1234);
        assert_eq!(got[0].socket.proto, Proto::Udp);
        assert_eq!(got[0].socket.internals, None);
        assert_eq!(got[1].socket.proto, Proto::Tcp);
        assert_eq!(got[1].socket.state, TcpState::Close);
        assert_eq!(got[1].socket.local, inet("198.51.100.1:4000"));
        assert_eq!(got[1].socket.remote, inet("198.51.100.2:80"));
        let info = got[1].socket.internals.as_ref().unwrap().tcp_info.unwrap();
        assert_eq!(info.bytes_acked(), Some(99));
    }
}
