//! Linux `sock_diag` over netlink (`NETLINK_SOCK_DIAG`): the dump requests
//! nettool sends and checked views over the kernel's replies.
//!
//! ```text
//! request   | nlmsghdr | inet_diag_req_v2 (56) |  or  | nlmsghdr | unix_diag_req (24) |
//! datagram  | nlmsghdr | payload | pad to 4 | nlmsghdr | payload | ... | NLMSG_DONE
//! payload   | inet_diag_msg (72) | nlattr ... |  or  | unix_diag_msg (16) | nlattr ... |
//! nlattr    | nla_len (u16) | nla_type (u16) | value | pad to 4 |
//! ```
//! Netlink headers and most fields are in host byte order; ports and
//! addresses are in network order.
//!
//! Invariants: views borrow the datagram (no allocation per message or
//! attribute); each checks its fixed part once in `new_checked`, after
//! which no accessor can panic; a length that lies ends the iteration (with
//! an error for a message, silently for an attribute), never a read past the
//! end. What the rows mean is `sockstat::netlink`'s business.

use super::tcp_info::TcpInfo;
use super::{Field, WireError};

// linux/netlink.h
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_DUMP: u16 = 0x300;
/// Attribute type bits without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
pub const NLA_TYPE_MASK: u16 = 0x3fff;
// linux/sock_diag.h
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The original TCP diag request (`linux/inet_diag.h`): its dump covers
/// both address families in one walk of the kernel's TCP hash tables.
pub const TCPDIAG_GETSOCK: u16 = 18;
// Address families and IP protocols: the same numbers on every Linux arch.
pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_RAW: u8 = 255;
// linux/unix_diag.h
pub const UDIAG_SHOW_NAME: u32 = 0x01;
pub const UDIAG_SHOW_PEER: u32 = 0x04;
pub const UDIAG_SHOW_RQLEN: u32 = 0x10;
/// Linux 5.3 and later; older kernels ignore the bit.
pub const UDIAG_SHOW_UID: u32 = 0x40;
pub const UNIX_DIAG_NAME: u16 = 0;
pub const UNIX_DIAG_PEER: u16 = 2;
pub const UNIX_DIAG_RQLEN: u16 = 4;
pub const UNIX_DIAG_UID: u16 = 7;

/// A whole `inet_diag` dump request.
pub const INET_REQUEST_LEN: usize = field::nlmsghdr::SIZE + field::inet_diag_req_v2::SIZE;
/// A whole `unix_diag` dump request.
pub const UNIX_REQUEST_LEN: usize = field::nlmsghdr::SIZE + field::unix_diag_req::SIZE;
/// Length of a [`tcp_request_both_families`] message.
pub const TCP_BOTH_REQUEST_LEN: usize = field::nlmsghdr::SIZE + field::inet_diag_req::SIZE;

/// Where each field of the kernel's structs lies, in bytes from the start
/// of its struct. One byte is a `usize`, more is a [`Field`]; `SIZE` is the
/// struct's size. The tests read every field through the views.
pub mod field {
    /// `struct nlmsghdr` (`linux/netlink.h`): starts every message.
    pub mod nlmsghdr {
        use crate::wire::Field;
        /// The whole message's length, header included.
        pub const LEN: Field = 0..4;
        pub const TYPE: Field = 4..6;
        pub const FLAGS: Field = 6..8;
        pub const SEQ: Field = 8..12;
        /// The sender's port id; 0 asks the kernel to fill in ours.
        pub const PID: Field = 12..16;
        pub const SIZE: usize = 16;
    }

    /// `struct nlmsgerr` (`linux/netlink.h`), the payload of `NLMSG_ERROR`:
    /// 0 for an ACK, else -errno, then the request's header. The payload
    /// of `NLMSG_DONE` starts with the same int.
    pub mod nlmsgerr {
        use crate::wire::Field;
        pub const ERROR: Field = 0..4;
    }

    /// `struct inet_diag_req_v2` (`linux/inet_diag.h`).
    pub mod inet_diag_req_v2 {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        pub const PROTOCOL: usize = 1;
        /// Extensions asked for (`idiag_ext`).
        pub const EXT: usize = 2;
        /// `pad`, or `sdiag_raw_protocol` in `inet_diag_req_raw`.
        pub const RAW_PROTOCOL: usize = 3;
        /// Bit `1 << state` for every TCP state wanted.
        pub const STATES: Field = 4..8;
        /// `struct inet_diag_sockid`; all zero matches every socket.
        pub const ID: Field = 8..56;
        pub const SIZE: usize = 56;
    }

    /// `struct inet_diag_msg` (`linux/inet_diag.h`): one inet socket.
    pub mod inet_diag_msg {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        pub const STATE: usize = 1;
        pub const TIMER: usize = 2;
        pub const RETRANS: usize = 3;
        // id: struct inet_diag_sockid, 4..52
        /// Network order, as are the ports.
        pub const SPORT: Field = 4..6;
        pub const DPORT: Field = 6..8;
        /// 16 bytes for either family; IPv4 uses the first 4.
        pub const SRC: Field = 8..24;
        pub const DST: Field = 24..40;
        pub const IF: Field = 40..44;
        pub const COOKIE: Field = 44..52;
        /// Milliseconds until the timer fires.
        pub const EXPIRES: Field = 52..56;
        pub const RQUEUE: Field = 56..60;
        pub const WQUEUE: Field = 60..64;
        pub const UID: Field = 64..68;
        pub const INODE: Field = 68..72;
        pub const SIZE: usize = 72;
        /// The whole `inet_diag_sockid` (SPORT to COOKIE): what names the
        /// socket to `SOCK_DESTROY`; see [`super::inet_diag_sockid`].
        pub const ID: Field = 4..52;
    }

    /// `struct inet_diag_req` (`linux/inet_diag.h`), the body of a
    /// [`TCPDIAG_GETSOCK`](super::TCPDIAG_GETSOCK) request.
    pub mod inet_diag_req {
        use crate::wire::Field;
        /// Ignored by a dump, which covers both families.
        pub const FAMILY: usize = 0;
        pub const SRC_LEN: usize = 1;
        pub const DST_LEN: usize = 2;
        pub const EXT: usize = 3;
        pub const ID: Field = 4..52;
        pub const STATES: Field = 52..56;
        /// `idiag_dbs`, not implemented by the kernel.
        pub const DBS: Field = 56..60;
        pub const SIZE: usize = 60;
    }

    /// `struct unix_diag_req` (`linux/unix_diag.h`).
    pub mod unix_diag_req {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        pub const PROTOCOL: usize = 1;
        pub const PAD: Field = 2..4;
        pub const STATES: Field = 4..8;
        /// 0: every socket.
        pub const INO: Field = 8..12;
        /// `UDIAG_SHOW_*` bits: the attributes wanted.
        pub const SHOW: Field = 12..16;
        pub const COOKIE: Field = 16..24;
        pub const SIZE: usize = 24;
    }

    /// `struct unix_diag_msg` (`linux/unix_diag.h`): one UNIX socket.
    pub mod unix_diag_msg {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`.
        pub const TYPE: usize = 1;
        pub const STATE: usize = 2;
        pub const PAD: usize = 3;
        pub const INO: Field = 4..8;
        pub const COOKIE: Field = 8..16;
        pub const SIZE: usize = 16;
    }

    /// `struct unix_diag_rqlen` (`linux/unix_diag.h`), the value of
    /// `UNIX_DIAG_RQLEN`.
    pub mod unix_diag_rqlen {
        use crate::wire::Field;
        pub const RQUEUE: Field = 0..4;
        pub const WQUEUE: Field = 4..8;
    }

    /// A `__u32` attribute value (`UNIX_DIAG_PEER`, `UNIX_DIAG_UID`).
    pub mod nla_u32 {
        use crate::wire::Field;
        pub const VALUE: Field = 0..4;
    }

    /// `struct nlattr` (`linux/netlink.h`), `struct rtattr`'s twin: an
    /// attribute's header; the value follows.
    pub mod nlattr {
        use crate::wire::Field;
        /// The attribute's length, header included, padding excluded.
        pub const LEN: Field = 0..2;
        pub const TYPE: Field = 2..4;
        pub const SIZE: usize = 4;
    }

    /// `struct inet_diag_sockid` (`linux/inet_diag.h`): a socket's name in
    /// requests (`inet_diag_req_v2::ID`) and replies (`inet_diag_msg::ID`).
    pub mod inet_diag_sockid {
        use crate::wire::Field;
        /// Network order, as are the ports.
        pub const SPORT: Field = 0..2;
        pub const DPORT: Field = 2..4;
        /// 16 bytes for either family; IPv4 uses the first 4.
        pub const SRC: Field = 4..20;
        pub const DST: Field = 20..36;
        pub const IF: Field = 36..40;
        /// Two host-order `u32`s; all ones is `INET_DIAG_NOCOOKIE`.
        pub const COOKIE: Field = 40..48;
        pub const SIZE: usize = 48;
    }

    /// The `SK_MEMINFO_*` `__u32` array (`linux/sock_diag.h`), the value of
    /// `INET_DIAG_SKMEMINFO`: bytes, but for `DROPS` (packets). Kernels
    /// before 4.x stop before `BACKLOG` and `DROPS`.
    pub mod sk_meminfo {
        use crate::wire::Field;
        /// Bytes in the receive queue.
        pub const RMEM_ALLOC: Field = 0..4;
        /// `SO_RCVBUF`: the receive buffer's limit.
        pub const RCVBUF: Field = 4..8;
        /// Bytes sent and not yet freed by the device (or acked, for TCP).
        pub const WMEM_ALLOC: Field = 8..12;
        /// `SO_SNDBUF`: the send buffer's limit.
        pub const SNDBUF: Field = 12..16;
        /// Memory reserved ahead for the socket.
        pub const FWD_ALLOC: Field = 16..20;
        /// Bytes queued to send (sent and unsent).
        pub const WMEM_QUEUED: Field = 20..24;
        /// Option memory (filters, ...).
        pub const OPTMEM: Field = 24..28;
        /// Bytes in the backlog while the socket was locked.
        pub const BACKLOG: Field = 28..32;
        /// Packets dropped.
        pub const DROPS: Field = 32..36;
        pub const SIZE: usize = 36;
    }
}

use field::{
    inet_diag_msg, inet_diag_req, inet_diag_req_v2, inet_diag_sockid, nla_u32, nlattr, nlmsgerr,
    nlmsghdr, unix_diag_msg, unix_diag_req, unix_diag_rqlen,
};

/// The `N` bytes of field `f` of a fixed-size struct `s`. Every `f` is a
/// constant of [`field`] inside `S` bytes and `N` long, so once inlined no
/// bounds check (and no panic) is left.
#[inline]
fn at<const S: usize, const N: usize>(s: &[u8; S], f: Field) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&s[f]);
    out
}

/// The `N` bytes of field `f` of a variable-length value, if it has them.
#[inline]
fn get<const N: usize>(b: &[u8], f: Field) -> Option<[u8; N]> {
    b.get(f)?.try_into().ok()
}

/// Netlink messages and attributes start 4-byte aligned.
#[inline]
fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// The netlink header of a dump request of `N` bytes in total; the caller
/// writes the struct after it.
fn request<const N: usize>(seq: u32) -> [u8; N] {
    let mut r = [0u8; N];
    // N is INET_REQUEST_LEN or UNIX_REQUEST_LEN: a few dozen bytes.
    #[allow(clippy::cast_possible_truncation, reason = "a few dozen bytes")]
    let len = N as u32;
    r[nlmsghdr::LEN].copy_from_slice(&len.to_ne_bytes());
    r[nlmsghdr::TYPE].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r[nlmsghdr::FLAGS].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r[nlmsghdr::SEQ].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel fills in our port.
    r
}

/// `nlmsghdr` + `inet_diag_req_v2` dumping the `protocol` table of
/// `family`, keeping the states whose bit (`1 << state`) is set in
/// `states`. No extensions are asked for (`idiag_ext` 0) and the socket id
/// is zero, which matches every socket.
///
/// Raw sockets need `protocol` `IPPROTO_RAW` to reach `raw_diag`; the byte
/// after `idiag_ext` is then `sdiag_raw_protocol` (`inet_diag_req_raw`),
/// which `raw_diag` only reads for single-socket lookups, so a dump with 0
/// returns every raw socket of the family, whatever its protocol, as
/// /proc/net/raw does.
pub fn inet_request(family: u8, protocol: u8, states: u32, seq: u32) -> [u8; INET_REQUEST_LEN] {
    let mut r = request::<INET_REQUEST_LEN>(seq);
    let body = &mut r[nlmsghdr::SIZE..];
    body[inet_diag_req_v2::FAMILY] = family;
    body[inet_diag_req_v2::PROTOCOL] = protocol;
    // EXT and RAW_PROTOCOL 0 (see above), ID all zero.
    body[inet_diag_req_v2::STATES].copy_from_slice(&states.to_ne_bytes());
    r
}

/// `nlmsghdr` + `inet_diag_req` (a [`TCPDIAG_GETSOCK`] request) dumping
/// the TCP sockets of BOTH families in `states`, with the attributes in
/// `ext`. The kernel serves it as a `SOCK_DIAG_BY_FAMILY` dump of family
/// `AF_UNSPEC`, which no `SOCK_DIAG_BY_FAMILY` request can ask for: the
/// family check moves from the walk to each socket, so the host-wide
/// established hash (every bucket, whatever the namespace holds) is
/// walked once instead of once per family. The replies carry the
/// request's type, `TCPDIAG_GETSOCK`, and each says its family.
pub fn tcp_request_both_families(ext: u8, states: u32, seq: u32) -> [u8; TCP_BOTH_REQUEST_LEN] {
    let mut r = request::<TCP_BOTH_REQUEST_LEN>(seq);
    r[nlmsghdr::TYPE].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    let body = &mut r[nlmsghdr::SIZE..];
    body[inet_diag_req::FAMILY] = AF_INET;
    body[inet_diag_req::EXT] = ext;
    body[inet_diag_req::STATES].copy_from_slice(&states.to_ne_bytes());
    r
}

/// `nlmsghdr` + `unix_diag_req` dumping every UNIX socket in `states`, with
/// the attributes [`UnixAttr`] reads: name, peer, queue lengths and the
/// owner's uid.
pub fn unix_request(states: u32, seq: u32) -> [u8; UNIX_REQUEST_LEN] {
    let mut r = request::<UNIX_REQUEST_LEN>(seq);
    let body = &mut r[nlmsghdr::SIZE..];
    body[unix_diag_req::FAMILY] = AF_UNIX;
    body[unix_diag_req::STATES].copy_from_slice(&states.to_ne_bytes());
    // INO 0: all sockets.
    let show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    body[unix_diag_req::SHOW].copy_from_slice(&show.to_ne_bytes());
    r
}

/// One netlink message: its header, checked, and the payload its length
/// frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    header: &'a [u8; nlmsghdr::SIZE],
    payload: &'a [u8],
}

impl<'a> NlMsg<'a> {
    #[inline]
    pub fn ty(&self) -> u16 {
        u16::from_ne_bytes(at(self.header, nlmsghdr::TYPE))
    }
    /// `NLM_F_MULTI` adds nothing for us, as only `NLMSG_DONE` ends a dump.
    #[inline]
    pub fn flags(&self) -> u16 {
        u16::from_ne_bytes(at(self.header, nlmsghdr::FLAGS))
    }
    #[inline]
    pub fn seq(&self) -> u32 {
        u32::from_ne_bytes(at(self.header, nlmsghdr::SEQ))
    }
    #[inline]
    pub fn pid(&self) -> u32 {
        u32::from_ne_bytes(at(self.header, nlmsghdr::PID))
    }
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// What the message means to a dump.
    pub fn reply(&self) -> Reply<'a> {
        match self.ty() {
            // A reply has its request's type.
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => Reply::Socket(self.payload),
            _ => match self.control() {
                Some(Control::Done) => Reply::Done,
                Some(Control::Failed(e)) => Reply::Failed(e),
                Some(Control::Malformed(why)) => Reply::Malformed(why),
                // NLMSG_NOOP, an ACK, and anything else: nothing for us.
                Some(Control::Skip) | None => Reply::Skip,
            },
        }
    }

    /// What a control message says, the same in every netlink family;
    /// `None` for any other type (the family's own messages).
    pub fn control(&self) -> Option<Control> {
        let status = || get(self.payload, nlmsgerr::ERROR).map(i32::from_ne_bytes);
        Some(match self.ty() {
            NLMSG_NOOP => Control::Skip,
            NLMSG_ERROR => match status() {
                Some(0) => Control::Skip,
                Some(e) => Control::Failed(e.saturating_neg()),
                None => Control::Malformed("short NLMSG_ERROR"),
            },
            // The int after NLMSG_DONE is the dump's final status: a dump
            // that fails after it started (e.g. no handler for the protocol)
            // reports -errno there instead of in an NLMSG_ERROR.
            NLMSG_DONE => match status() {
                Some(e) if e < 0 => Control::Failed(e.saturating_neg()),
                _ => Control::Done,
            },
            NLMSG_OVERRUN => Control::Malformed("netlink overrun"),
            _ => return None,
        })
    }
}

/// A netlink control message (`linux/netlink.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `NLMSG_NOOP`, or an `NLMSG_ERROR` of 0 (an acknowledgement).
    Skip,
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// The request or dump failed with this errno.
    Failed(i32),
    Malformed(&'static str),
}

/// What a message means to a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// One socket: `inet_diag_msg` / `unix_diag_msg` and its attributes.
    Socket(&'a [u8]),
    /// Nothing for us (NOOP, an ACK).
    Skip,
    Done,
    /// The kernel failed the dump with this errno.
    Failed(i32),
    Malformed(&'static str),
}

/// The netlink messages packed in one datagram. A header that does not fit
/// ends the iteration with an error: the rest cannot be framed.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        let framed = b.first_chunk::<{ nlmsghdr::SIZE }>().and_then(|header| {
            let len = u32::from_ne_bytes(at(header, nlmsghdr::LEN)) as usize;
            Some((header, b.get(nlmsghdr::SIZE..len)?, len))
        });
        let Some((header, payload, len)) = framed else {
            self.rest = &[];
            return Some(Err(WireError::Truncated("netlink message")));
        };
        // The last message may lack its padding.
        self.rest = b.get(align4(len)..).unwrap_or_default();
        Some(Ok(NlMsg { header, payload }))
    }
}

/// The attributes (`nlattr`: type and value) after a fixed header. One that
/// does not fit ends the list.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(after_header: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: after_header }
    }
}

impl<'a> Iterator for Attrs<'a> {
    /// The type (flags masked off) and the value.
    type Item = (u16, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let h = self.rest.first_chunk::<{ nlattr::SIZE }>()?;
        let len = usize::from(u16::from_ne_bytes(at(h, nlattr::LEN)));
        let ty = u16::from_ne_bytes(at(h, nlattr::TYPE)) & NLA_TYPE_MASK;
        // Also `None` when len < nlattr::SIZE, so every step advances.
        let value = self.rest.get(nlattr::SIZE..len)?;
        self.rest = self.rest.get(align4(len)..).unwrap_or_default();
        Some((ty, value))
    }
}

/// A checked view over an `inet_diag_msg` (the payload of a
/// `SOCK_DIAG_BY_FAMILY` reply to an inet dump) and the attributes after
/// it: some come unasked, the ones [`inet_request_ext`] asks for are read
/// by [`InetAttr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InetDiagMsg<'a> {
    m: &'a [u8; inet_diag_msg::SIZE],
    attrs: &'a [u8],
}

impl<'a> InetDiagMsg<'a> {
    /// # Errors
    /// `Truncated` if `payload` is shorter than an `inet_diag_msg`.
    #[inline]
    pub fn new_checked(payload: &'a [u8]) -> Result<InetDiagMsg<'a>, WireError> {
        match payload.split_first_chunk() {
            Some((m, attrs)) => Ok(InetDiagMsg { m, attrs }),
            None => Err(WireError::Truncated("inet_diag_msg is 72 bytes")),
        }
    }
    #[inline]
    pub fn family(&self) -> u8 {
        self.m[inet_diag_msg::FAMILY]
    }
    /// The kernel's TCP state number (also used by UDP and raw sockets).
    #[inline]
    pub fn state(&self) -> u8 {
        self.m[inet_diag_msg::STATE]
    }
    /// The pending timer's kind; 0 for none.
    #[inline]
    pub fn timer(&self) -> u8 {
        self.m[inet_diag_msg::TIMER]
    }
    /// Unanswered retransmits or keepalive probes.
    #[inline]
    pub fn retrans(&self) -> u8 {
        self.m[inet_diag_msg::RETRANS]
    }
    #[inline]
    pub fn sport(&self) -> u16 {
        u16::from_be_bytes(at(self.m, inet_diag_msg::SPORT))
    }
    #[inline]
    pub fn dport(&self) -> u16 {
        u16::from_be_bytes(at(self.m, inet_diag_msg::DPORT))
    }
    /// The local address in network order; an IPv4 one is the first 4 bytes.
    #[inline]
    pub fn src(&self) -> [u8; 16] {
        at(self.m, inet_diag_msg::SRC)
    }
    /// The remote address, as [`Self::src`].
    #[inline]
    pub fn dst(&self) -> [u8; 16] {
        at(self.m, inet_diag_msg::DST)
    }
    /// The interface index a socket is bound to; 0 for none.
    #[inline]
    pub fn ifindex(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::IF))
    }
    /// Milliseconds until the timer fires.
    #[inline]
    pub fn expires(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::EXPIRES))
    }
    #[inline]
    pub fn rqueue(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::RQUEUE))
    }
    #[inline]
    pub fn wqueue(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::WQUEUE))
    }
    #[inline]
    pub fn uid(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::UID))
    }
    /// 0 for sockets no process owns (`TIME_WAIT`, orphans).
    #[inline]
    pub fn inode(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, inet_diag_msg::INODE))
    }
    /// The attributes after the message; one that does not fit ends them.
    #[inline]
    pub fn attrs(&self) -> impl Iterator<Item = InetAttr<'a>> + use<'a> {
        Attrs::new(self.attrs).map(|(ty, value)| InetAttr::parse(ty, value))
    }
}

/// A checked view over a `unix_diag_msg` and the attributes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixDiagMsg<'a> {
    m: &'a [u8; unix_diag_msg::SIZE],
    attrs: &'a [u8],
}

impl<'a> UnixDiagMsg<'a> {
    /// # Errors
    /// `Truncated` if `payload` is shorter than a `unix_diag_msg`.
    #[inline]
    pub fn new_checked(payload: &'a [u8]) -> Result<UnixDiagMsg<'a>, WireError> {
        match payload.split_first_chunk() {
            Some((m, attrs)) => Ok(UnixDiagMsg { m, attrs }),
            None => Err(WireError::Truncated("unix_diag_msg is 16 bytes")),
        }
    }
    #[inline]
    pub fn family(&self) -> u8 {
        self.m[unix_diag_msg::FAMILY]
    }
    /// The socket type (`SOCK_STREAM` 1, `SOCK_DGRAM` 2, ...).
    #[inline]
    pub fn kind(&self) -> u8 {
        self.m[unix_diag_msg::TYPE]
    }
    /// A TCP state number: CLOSE, ESTABLISHED or LISTEN.
    #[inline]
    pub fn state(&self) -> u8 {
        self.m[unix_diag_msg::STATE]
    }
    #[inline]
    pub fn inode(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, unix_diag_msg::INO))
    }
    /// The attributes; one that does not fit ends them.
    #[inline]
    pub fn attrs(&self) -> impl Iterator<Item = UnixAttr<'a>> + use<'a> {
        Attrs::new(self.attrs).map(|(ty, value)| UnixAttr::parse(ty, value))
    }
}

/// An attribute of a `unix_diag_msg`. A value too short for its type reads
/// as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixAttr<'a> {
    /// `UNIX_DIAG_NAME`: `sun_path` as bound. A filesystem path includes
    /// its terminating NUL; an abstract name starts with a NUL.
    Name(&'a [u8]),
    /// `UNIX_DIAG_PEER`: the peer's inode.
    Peer(Option<u32>),
    /// `UNIX_DIAG_RQLEN`: bytes queued to read and to send; for a listener,
    /// the accept backlog and its limit.
    RqLen(Option<(u32, u32)>),
    /// `UNIX_DIAG_UID`: the owner's uid.
    Uid(Option<u32>),
    /// Any other type (`UNIX_DIAG_SHUTDOWN`, ...).
    Other(u16),
}

impl<'a> UnixAttr<'a> {
    #[inline]
    pub fn parse(ty: u16, value: &'a [u8]) -> UnixAttr<'a> {
        let u32_at = |f: Field| get(value, f).map(u32::from_ne_bytes);
        match ty {
            UNIX_DIAG_NAME => UnixAttr::Name(value),
            UNIX_DIAG_PEER => UnixAttr::Peer(u32_at(nla_u32::VALUE)),
            UNIX_DIAG_RQLEN => UnixAttr::RqLen(
                u32_at(unix_diag_rqlen::RQUEUE).zip(u32_at(unix_diag_rqlen::WQUEUE)),
            ),
            UNIX_DIAG_UID => UnixAttr::Uid(u32_at(nla_u32::VALUE)),
            other => UnixAttr::Other(other),
        }
    }
}

// Closing sockets: `SOCK_DESTROY` (`nettool sockstat -K`).

/// `linux/sock_diag.h`: close the socket the request's id names.
pub const SOCK_DESTROY: u16 = 21;
/// `linux/netlink.h`: answer with an `NLMSG_ERROR` (0 on success).
pub const NLM_F_ACK: u16 = 0x4;

/// A socket's `inet_diag_sockid` as a dump gave it: ports, addresses,
/// interface and cookie. Handed back unchanged in a [`destroy_request`], it
/// names exactly that socket: the kernel looks the 4-tuple up and then
/// checks the cookie, so a new socket that took over the same addresses is
/// not closed in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockId([u8; inet_diag_sockid::SIZE]);

impl SockId {
    pub fn from_bytes(b: [u8; inet_diag_sockid::SIZE]) -> SockId {
        SockId(b)
    }
    pub fn as_bytes(&self) -> &[u8; inet_diag_sockid::SIZE] {
        &self.0
    }
    #[inline]
    pub fn sport(&self) -> u16 {
        u16::from_be_bytes(at(&self.0, inet_diag_sockid::SPORT))
    }
    #[inline]
    pub fn dport(&self) -> u16 {
        u16::from_be_bytes(at(&self.0, inet_diag_sockid::DPORT))
    }
    /// Network order; an IPv4 address is the first 4 bytes.
    #[inline]
    pub fn src(&self) -> [u8; 16] {
        at(&self.0, inet_diag_sockid::SRC)
    }
    #[inline]
    pub fn dst(&self) -> [u8; 16] {
        at(&self.0, inet_diag_sockid::DST)
    }
    #[inline]
    pub fn ifindex(&self) -> u32 {
        u32::from_ne_bytes(at(&self.0, inet_diag_sockid::IF))
    }
    /// The kernel's two `u32` halves, as bytes: only ever compared.
    #[inline]
    pub fn cookie(&self) -> [u8; 8] {
        at(&self.0, inet_diag_sockid::COOKIE)
    }
}

impl InetDiagMsg<'_> {
    /// The socket's id, to hand back in a [`destroy_request`].
    #[inline]
    pub fn id(&self) -> SockId {
        SockId(at(self.m, inet_diag_msg::ID))
    }
}

/// `nlmsghdr` + `inet_diag_req_v2` asking the kernel to close the socket
/// `id` names (`SOCK_DESTROY`, `NLM_F_REQUEST | NLM_F_ACK`), as `ss -K`
/// does: the family and protocol of its table, no state mask (a lookup by
/// id ignores it), no extensions. The kernel answers with one
/// `NLMSG_ERROR`: 0 when it closed the socket, else -errno (`ENOENT`:
/// gone; `EPERM`: no `CAP_NET_ADMIN`; `EOPNOTSUPP`: a kernel without
/// `CONFIG_INET_DIAG_DESTROY`).
pub fn destroy_request(family: u8, protocol: u8, id: &SockId, seq: u32) -> [u8; INET_REQUEST_LEN] {
    let mut r = [0u8; INET_REQUEST_LEN];
    #[allow(clippy::cast_possible_truncation, reason = "72 bytes")]
    let len = INET_REQUEST_LEN as u32;
    r[nlmsghdr::LEN].copy_from_slice(&len.to_ne_bytes());
    r[nlmsghdr::TYPE].copy_from_slice(&SOCK_DESTROY.to_ne_bytes());
    r[nlmsghdr::FLAGS].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    r[nlmsghdr::SEQ].copy_from_slice(&seq.to_ne_bytes());
    let body = &mut r[nlmsghdr::SIZE..];
    body[inet_diag_req_v2::FAMILY] = family;
    body[inet_diag_req_v2::PROTOCOL] = protocol;
    body[inet_diag_req_v2::ID].copy_from_slice(id.as_bytes());
    r
}

// linux/inet_diag.h: attributes of an inet reply. A dump asks for the
// ones numbered 1 to 8 with bit `1 << (type - 1)` of `idiag_ext`.
pub const INET_DIAG_INFO: u16 = 2;
pub const INET_DIAG_CONG: u16 = 4;
pub const INET_DIAG_SKMEMINFO: u16 = 7;

/// The `idiag_ext` bit asking for attribute `attr` (1 to 8; 0 otherwise).
pub const fn ext_bit(attr: u16) -> u8 {
    if attr >= 1 && attr <= 8 {
        1 << (attr - 1)
    } else {
        0
    }
}

/// [`inet_request`] asking for the attributes whose bits ([`ext_bit`]) are
/// set in `ext` (`idiag_ext`): `INET_DIAG_INFO` and `INET_DIAG_CONG` (TCP
/// only), `INET_DIAG_SKMEMINFO` (any inet socket but `TIME_WAIT` and
/// request sockets).
pub fn inet_request_ext(
    family: u8,
    protocol: u8,
    ext: u8,
    states: u32,
    seq: u32,
) -> [u8; INET_REQUEST_LEN] {
    let mut r = inet_request(family, protocol, states, seq);
    r[nlmsghdr::SIZE + inet_diag_req_v2::EXT] = ext;
    r
}

/// An attribute of an `inet_diag_msg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InetAttr<'a> {
    /// `INET_DIAG_INFO`: the kernel's `struct tcp_info`, as long as its
    /// version has it.
    Info(TcpInfo<&'a [u8]>),
    /// `INET_DIAG_CONG`: the congestion control's name, without its NUL
    /// (and anything after one).
    Cong(&'a [u8]),
    /// `INET_DIAG_SKMEMINFO`.
    SkMemInfo(SkMemInfo),
    /// Any other type (sent unasked: `INET_DIAG_SHUTDOWN`, `_MARK`, ...).
    Other(u16),
}

impl<'a> InetAttr<'a> {
    #[inline]
    pub fn parse(ty: u16, value: &'a [u8]) -> InetAttr<'a> {
        match ty {
            INET_DIAG_INFO => InetAttr::Info(TcpInfo::new(value)),
            INET_DIAG_CONG => InetAttr::Cong(value.split(|&c| c == 0).next().unwrap_or_default()),
            INET_DIAG_SKMEMINFO => InetAttr::SkMemInfo(SkMemInfo::parse(value)),
            other => InetAttr::Other(other),
        }
    }
}

/// The value of `INET_DIAG_SKMEMINFO`: socket memory, in bytes but for
/// `drops`. A figure the kernel did not send (its array was shorter) is
/// `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkMemInfo {
    pub rmem_alloc: Option<u32>,
    pub rcvbuf: Option<u32>,
    pub wmem_alloc: Option<u32>,
    pub sndbuf: Option<u32>,
    pub fwd_alloc: Option<u32>,
    pub wmem_queued: Option<u32>,
    pub optmem: Option<u32>,
    pub backlog: Option<u32>,
    /// Packets.
    pub drops: Option<u32>,
}

impl SkMemInfo {
    /// Reads the figures `value` holds; never fails.
    pub fn parse(value: &[u8]) -> SkMemInfo {
        use field::sk_meminfo::{
            BACKLOG, DROPS, FWD_ALLOC, OPTMEM, RCVBUF, RMEM_ALLOC, SNDBUF, WMEM_ALLOC, WMEM_QUEUED,
        };
        let u = |f: Field| get(value, f).map(u32::from_ne_bytes);
        SkMemInfo {
            rmem_alloc: u(RMEM_ALLOC),
            rcvbuf: u(RCVBUF),
            wmem_alloc: u(WMEM_ALLOC),
            sndbuf: u(SNDBUF),
            fwd_alloc: u(FWD_ALLOC),
            wmem_queued: u(WMEM_QUEUED),
            optmem: u(OPTMEM),
            backlog: u(BACKLOG),
            drops: u(DROPS),
        }
    }
}

/// `INET_DIAG_PROTOCOL`: the socket's protocol (`u8`), sent with every
/// destroy notification (a multicast message has no request to say which
/// table it came from).
pub const INET_DIAG_PROTOCOL: u16 = 10;

/// The `sock_diag` multicast groups that announce destroyed sockets
/// (`SKNLGRP_*`, what `ss -E` joins): one `inet_diag_msg` with
/// `INET_DIAG_INFO` per socket as it is freed.
pub const SKNLGRP_INET_TCP_DESTROY: u32 = 1;
pub const SKNLGRP_INET_UDP_DESTROY: u32 = 2;
pub const SKNLGRP_INET6_TCP_DESTROY: u32 = 3;
pub const SKNLGRP_INET6_UDP_DESTROY: u32 = 4;

impl SockId {
    /// The cookie as one number: the kernel's low `u32` half first, each
    /// in host order (`ss -e` prints it as `sk:` in hex).
    #[inline]
    pub fn cookie_u64(&self) -> u64 {
        let c = self.cookie();
        let lo = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_ne_bytes([c[4], c[5], c[6], c[7]]);
        (u64::from(hi) << 32) | u64::from(lo)
    }
}

impl InetDiagMsg<'_> {
    /// The `INET_DIAG_PROTOCOL` attribute, if the message has one.
    pub fn protocol(&self) -> Option<u8> {
        Attrs::new(self.attrs)
            .find(|&(ty, _)| ty == INET_DIAG_PROTOCOL)
            .and_then(|(_, v)| v.first().copied())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sys::errno::{EACCES, ENOENT};

    /// One reply message captured from Linux 6.18 on `x86_64` (host order is
    /// little-endian): a TCP listener on 127.77.255.1:32995.
    pub(crate) const CAPTURED_LISTENER: [u8; 124] = [
        // nlmsghdr: len 124, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, seq 7, port
        0x7c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0xfa, 0x34, 0x00,
        0x00, //
        // AF_INET, LISTEN, no timer, no retransmits
        0x02, 0x0a, 0x00, 0x00, //
        // sport 32995, dport 0 (network order)
        0x80, 0xe3, 0x00, 0x00, //
        // src 127.77.255.1 and dst 0.0.0.0, 16 bytes each
        0x7f, 0x4d, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, //
        // idiag_if, idiag_cookie
        0x00, 0x00, 0x00, 0x00, 0x77, 0xa2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, //
        // expires 0, rqueue 0, wqueue 4096 (backlog), uid 0, inode 334863
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x0f, 0x1c, 0x05, 0x00, //
        // attributes sent even without extensions: SHUTDOWN, MARK,
        // CGROUP_ID, SOCKOPT
        0x05, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x0c, 0x00, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00,
        0x16, 0x00, 0x52, 0x00, 0x00, 0x00,
    ];

    /// Captured from the same kernel: the whole reply to a raw dump without
    /// `raw_diag`. `NLMSG_DONE`, `NLM_F_MULTI`, seq 7, and -ENOENT as its int.
    pub(crate) const CAPTURED_DONE_ENOENT: [u8; 20] = [
        0x14, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0xfa, 0x34, 0x00,
        0x00, 0xfe, 0xff, 0xff, 0xff,
    ];

    /// An `inet_diag_msg` payload, hand-built: tcp6 `[2001:db8::1]:443` ->
    /// `[2001:db8::2]:51000`, ESTABLISHED, keepalive timer.
    pub(crate) const V6_ESTABLISHED: [u8; 72] = [
        // AF_INET6, ESTABLISHED, timer 2 (keepalive), 3 probes
        0x0a, 0x01, 0x02, 0x03, //
        // sport 443, dport 51000
        0x01, 0xbb, 0xc7, 0x38, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, //
        // idiag_if, cookie
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        // expires 7000 ms, rqueue 5, wqueue 9, uid 1000, inode 4242
        0x58, 0x1b, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0xe8, 0x03, 0x00,
        0x00, 0x92, 0x10, 0x00, 0x00,
    ];

    /// A `unix_diag_msg` payload, hand-built: a connected seqpacket socket
    /// bound to the abstract name "\0app\0one", with peer, queues and uid.
    pub(crate) const UNIX_ABSTRACT: [u8; 64] = [
        // AF_UNIX, SOCK_SEQPACKET, ESTABLISHED, pad, inode 12345, cookie
        0x01, 0x05, 0x01, 0x00, 0x39, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, //
        // UNIX_DIAG_NAME, 8 bytes: "\0app\0one"
        0x0c, 0x00, 0x00, 0x00, 0x00, b'a', b'p', b'p', 0x00, b'o', b'n', b'e', //
        // UNIX_DIAG_SHUTDOWN (not asked for, skipped): 1 byte + padding
        0x05, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, //
        // UNIX_DIAG_PEER: inode 12346
        0x08, 0x00, 0x02, 0x00, 0x3a, 0x30, 0x00, 0x00, //
        // UNIX_DIAG_RQLEN: rqueue 3, wqueue 7
        0x0c, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, //
        // UNIX_DIAG_UID: 1000
        0x08, 0x00, 0x07, 0x00, 0xe8, 0x03, 0x00, 0x00,
    ];

    /// A listening stream socket at "/tmp/a b/sock c"; the kernel's name
    /// includes the path's terminating NUL.
    pub(crate) const UNIX_PATH: [u8; 36] = [
        0x01, 0x01, 0x0a, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, //
        0x14, 0x00, 0x00, 0x00, b'/', b't', b'm', b'p', b'/', b'a', b' ', b'b', b'/', b's', b'o',
        b'c', b'k', b' ', b'c', 0x00,
    ];

    /// Field constants of one struct, in order: each starts where the last
    /// ended, from 0 to the struct's size.
    pub(crate) fn assert_tiles(name: &str, fields: &[Field], size: usize) {
        let mut next = 0;
        for f in fields {
            assert_eq!(f.start, next, "{name}: gap or overlap before {f:?}");
            next = f.end;
        }
        assert_eq!(next, size, "{name}: fields end at {next}, not {size}");
    }

    #[test]
    fn fields_tile_each_struct() {
        use field::{nla_u32, nlattr, nlmsgerr, unix_diag_rqlen};
        let one = |at: usize| at..at + 1;
        {
            use field::nlmsghdr::*;
            assert_tiles("nlmsghdr", &[LEN, TYPE, FLAGS, SEQ, PID], SIZE);
        }
        {
            use field::inet_diag_req_v2::*;
            let f = [
                one(FAMILY),
                one(PROTOCOL),
                one(EXT),
                one(RAW_PROTOCOL),
                STATES,
                ID,
            ];
            assert_tiles("inet_diag_req_v2", &f, SIZE);
        }
        {
            use field::inet_diag_msg::*;
            let f = [
                one(FAMILY),
                one(STATE),
                one(TIMER),
                one(RETRANS),
                SPORT,
                DPORT,
                SRC,
                DST,
                IF,
                COOKIE,
                EXPIRES,
                RQUEUE,
                WQUEUE,
                UID,
                INODE,
            ];
            assert_tiles("inet_diag_msg", &f, SIZE);
        }
        {
            use field::unix_diag_req::*;
            let f = [one(FAMILY), one(PROTOCOL), PAD, STATES, INO, SHOW, COOKIE];
            assert_tiles("unix_diag_req", &f, SIZE);
        }
        {
            use field::unix_diag_msg::*;
            let f = [one(FAMILY), one(TYPE), one(STATE), one(PAD), INO, COOKIE];
            assert_tiles("unix_diag_msg", &f, SIZE);
        }
        assert_tiles("nlattr", &[nlattr::LEN, nlattr::TYPE], nlattr::SIZE);
        assert_tiles("nlmsgerr.error", &[nlmsgerr::ERROR], 4);
        assert_tiles("__u32", &[nla_u32::VALUE], 4);
        let rqlen = [unix_diag_rqlen::RQUEUE, unix_diag_rqlen::WQUEUE];
        assert_tiles("unix_diag_rqlen", &rqlen, 8);
    }

    #[test]
    fn inet_request_bytes() {
        let req = inet_request(AF_INET, IPPROTO_TCP, 1 << 10, 7);
        #[rustfmt::skip]
        let want: [u8; 72] = [
            // len 72 | SOCK_DIAG_BY_FAMILY | NLM_F_REQUEST|NLM_F_DUMP | seq 7 | pid 0
            72, 0, 0, 0, 20, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0,
            // AF_INET, IPPROTO_TCP, no extensions, pad | states 1 << 10
            2, 6, 0, 0, 0x00, 0x04, 0x00, 0x00,
            // inet_diag_sockid: all zero, matches every socket
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        if cfg!(target_endian = "little") {
            assert_eq!(req, want);
        }
        let msgs: Vec<_> = Messages::new(&req).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty(), SOCK_DIAG_BY_FAMILY);
        assert_eq!(msgs[0].flags(), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!((msgs[0].seq(), msgs[0].pid()), (7, 0));
        assert_eq!(msgs[0].payload().len(), field::inet_diag_req_v2::SIZE);
    }

    #[test]
    fn tcp_both_families_request_bytes() {
        let req = tcp_request_both_families(ext_bit(INET_DIAG_INFO), 0x1ffe, 9);
        #[rustfmt::skip]
        let want: [u8; 76] = [
            // len 76 | TCPDIAG_GETSOCK | NLM_F_REQUEST|NLM_F_DUMP | seq 9 | pid 0
            76, 0, 0, 0, 18, 0, 0x01, 0x03, 9, 0, 0, 0, 0, 0, 0, 0,
            // AF_INET (ignored by a dump), src_len, dst_len, ext INFO
            2, 0, 0, 0x02,
            // inet_diag_sockid: all zero
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            // states 0x1ffe | dbs 0
            0xfe, 0x1f, 0, 0, 0, 0, 0, 0,
        ];
        if cfg!(target_endian = "little") {
            assert_eq!(req, want);
        }
        let msgs: Vec<_> = Messages::new(&req).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty(), TCPDIAG_GETSOCK);
        assert_eq!(msgs[0].payload().len(), field::inet_diag_req::SIZE);
        // Its replies carry its type and are sockets like SOCK_DIAG_BY_FAMILY's.
        assert_eq!(msgs[0].reply(), Reply::Socket(msgs[0].payload()));
    }

    #[test]
    fn unix_request_bytes() {
        let req = unix_request(1 << 10, 9);
        let mut want = Vec::new();
        want.extend(40u32.to_ne_bytes());
        want.extend(20u16.to_ne_bytes());
        want.extend(0x301u16.to_ne_bytes());
        want.extend(9u32.to_ne_bytes());
        want.extend(0u32.to_ne_bytes());
        // AF_UNIX, protocol 0, pad
        want.extend([1, 0, 0, 0]);
        want.extend((1u32 << 10).to_ne_bytes());
        // udiag_ino 0; NAME | PEER | RQLEN | UID; cookie
        want.extend(0u32.to_ne_bytes());
        want.extend(0x55u32.to_ne_bytes());
        want.extend([0; 8]);
        assert_eq!(req[..], want[..]);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn captured_listener_every_field() {
        let mut datagram = CAPTURED_LISTENER.to_vec();
        datagram.extend_from_slice(&CAPTURED_DONE_ENOENT[..16]);
        datagram.extend(0i32.to_ne_bytes());
        let msgs: Vec<_> = Messages::new(&datagram).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 2);
        // SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, seq 7, our port
        let m = msgs[0];
        assert_eq!((m.ty(), m.flags(), m.seq(), m.pid()), (20, 2, 7, 0x34fa));
        let Reply::Socket(payload) = m.reply() else {
            panic!("not a socket: {m:?}");
        };
        assert_eq!(payload, &CAPTURED_LISTENER[16..]);
        assert_eq!(msgs[1].reply(), Reply::Done);

        let v = InetDiagMsg::new_checked(payload).unwrap();
        assert_eq!(
            (v.family(), v.state(), v.timer(), v.retrans()),
            (AF_INET, 10, 0, 0)
        );
        assert_eq!((v.sport(), v.dport()), (32995, 0));
        let mut src = [0; 16];
        src[..4].copy_from_slice(&[127, 77, 255, 1]);
        assert_eq!((v.src(), v.dst()), (src, [0; 16]));
        assert_eq!((v.ifindex(), v.expires()), (0, 0));
        assert_eq!((v.rqueue(), v.wqueue(), v.uid()), (0, 4096, 0));
        assert_eq!(v.inode(), 334_863);
        // SHUTDOWN (1 byte, padded), MARK, CGROUP_ID, SOCKOPT (2 bytes)
        let attrs: Vec<_> = Attrs::new(&payload[field::inet_diag_msg::SIZE..])
            .map(|(ty, value)| (ty, value.len()))
            .collect();
        assert_eq!(attrs, [(8, 1), (15, 4), (21, 8), (22, 2)]);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn done_carries_the_dumps_errno() {
        let msg = Messages::new(&CAPTURED_DONE_ENOENT)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(msg.reply(), Reply::Failed(ENOENT));
    }

    #[test]
    fn error_message_fails_and_ack_is_skipped() {
        fn reply(m: &[u8]) -> Reply<'_> {
            Messages::new(m).next().unwrap().unwrap().reply()
        }
        let error = |errno: i32| {
            let mut m = Vec::new();
            m.extend(36u32.to_ne_bytes());
            m.extend(NLMSG_ERROR.to_ne_bytes());
            m.extend([0; 10]);
            m.extend(errno.to_ne_bytes());
            m.extend([0; 16]); // the request's header
            m
        };
        let nack = error(-EACCES);
        let ack = error(0);
        assert_eq!(reply(&nack), Reply::Failed(EACCES));
        assert_eq!(reply(&ack), Reply::Skip);
        let mut short = nack[..16].to_vec();
        short[..4].copy_from_slice(&16u32.to_ne_bytes());
        assert_eq!(reply(&short), Reply::Malformed("short NLMSG_ERROR"));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn v6_established_every_field() {
        let v = InetDiagMsg::new_checked(&V6_ESTABLISHED).unwrap();
        assert_eq!(
            (v.family(), v.state(), v.timer(), v.retrans()),
            (AF_INET6, 1, 2, 3)
        );
        assert_eq!((v.sport(), v.dport()), (443, 51000));
        let ip = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        assert_eq!((v.src(), v.dst()), (ip("2001:db8::1"), ip("2001:db8::2")));
        assert_eq!((v.ifindex(), v.expires()), (0, 7000));
        assert_eq!((v.rqueue(), v.wqueue(), v.uid()), (5, 9, 1000));
        assert_eq!(v.inode(), 4242);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn unix_abstract_every_field_and_attribute() {
        let v = UnixDiagMsg::new_checked(&UNIX_ABSTRACT).unwrap();
        assert_eq!((v.family(), v.kind(), v.state()), (AF_UNIX, 5, 1));
        assert_eq!(v.inode(), 12345);
        let attrs: Vec<_> = v.attrs().collect();
        assert_eq!(
            attrs,
            [
                UnixAttr::Name(b"\0app\0one"),
                UnixAttr::Other(6),
                UnixAttr::Peer(Some(12346)),
                UnixAttr::RqLen(Some((3, 7))),
                UnixAttr::Uid(Some(1000)),
            ]
        );
        // A path's name keeps its NUL; nothing else is sent.
        let v = UnixDiagMsg::new_checked(&UNIX_PATH).unwrap();
        assert_eq!((v.family(), v.kind(), v.state(), v.inode()), (1, 1, 10, 21));
        let attrs: Vec<_> = v.attrs().collect();
        assert_eq!(attrs, [UnixAttr::Name(b"/tmp/a b/sock c\0")]);
    }

    #[test]
    fn short_attribute_values_read_as_none() {
        assert_eq!(
            UnixAttr::parse(UNIX_DIAG_PEER, &[1, 2, 3]),
            UnixAttr::Peer(None)
        );
        assert_eq!(UnixAttr::parse(UNIX_DIAG_UID, &[]), UnixAttr::Uid(None));
        assert_eq!(
            UnixAttr::parse(UNIX_DIAG_RQLEN, &[0; 7]),
            UnixAttr::RqLen(None)
        );
        assert_eq!(UnixAttr::parse(UNIX_DIAG_NAME, &[]), UnixAttr::Name(&[]));
        // The flag bits are not part of the type.
        let mut a = UNIX_ABSTRACT[field::unix_diag_msg::SIZE..].to_vec();
        a[3] |= 0xc0; // NLA_F_NESTED | NLA_F_NET_BYTEORDER on the name
        assert_eq!(
            Attrs::new(&a).next().map(|(ty, _)| ty),
            Some(UNIX_DIAG_NAME)
        );
    }

    #[test]
    fn truncated_input_gives_an_error_or_ends() {
        for n in 0..CAPTURED_LISTENER.len() {
            let short = &CAPTURED_LISTENER[..n];
            let first = Messages::new(short).next();
            assert!(
                matches!(first, None | Some(Err(_))),
                "prefix {n}: {first:?}"
            );
        }
        for n in 0..field::inet_diag_msg::SIZE {
            assert!(InetDiagMsg::new_checked(&V6_ESTABLISHED[..n]).is_err());
        }
        for n in 0..field::unix_diag_msg::SIZE {
            assert!(UnixDiagMsg::new_checked(&UNIX_ABSTRACT[..n]).is_err());
        }
        // A cut attribute ends the list; the earlier ones stay.
        let cut = &UNIX_ABSTRACT[..UNIX_ABSTRACT.len() - 1];
        let attrs: Vec<_> = UnixDiagMsg::new_checked(cut).unwrap().attrs().collect();
        assert_eq!(attrs.len(), 4);
        assert_eq!(attrs[3], UnixAttr::RqLen(Some((3, 7))));
    }

    #[test]
    fn impossible_lengths_end_iteration() {
        // nlmsg_len smaller than a header, and larger than the datagram.
        for len in [0u32, 15, 10_000] {
            let mut m = len.to_ne_bytes().to_vec();
            m.extend([0; 28]);
            let all: Vec<_> = Messages::new(&m).collect();
            assert_eq!(all.len(), 1);
            assert!(all[0].is_err());
        }
        // nla_len smaller than an attribute header, and past the end.
        for nla_len in [0u16, 3, 200] {
            let mut m = UNIX_PATH;
            m[16..18].copy_from_slice(&nla_len.to_ne_bytes());
            assert_eq!(Attrs::new(&m[16..]).count(), 0);
            assert_eq!(UnixDiagMsg::new_checked(&m).unwrap().attrs().count(), 0);
        }
    }

    /// Every accessor of every view the bytes frame.
    fn read_all(bytes: &[u8]) {
        let inet = |p: &[u8]| {
            if let Ok(v) = InetDiagMsg::new_checked(p) {
                let _ = (v.family(), v.state(), v.timer(), v.retrans(), v.sport());
                let _ = (v.dport(), v.src(), v.dst(), v.ifindex(), v.expires());
                let _ = (v.rqueue(), v.wqueue(), v.uid(), v.inode());
            }
        };
        let unix = |p: &[u8]| {
            if let Ok(v) = UnixDiagMsg::new_checked(p) {
                let _ = (v.family(), v.kind(), v.state(), v.inode());
                v.attrs().for_each(drop);
            }
        };
        for msg in Messages::new(bytes) {
            let Ok(msg) = msg else { break };
            let _ = (msg.ty(), msg.flags(), msg.seq(), msg.pid(), msg.reply());
            inet(msg.payload());
            read_inet_attrs(msg.payload());
            unix(msg.payload());
            Attrs::new(msg.payload()).for_each(drop);
        }
        inet(bytes);
        unix(bytes);
    }

    /// Every field of every attribute `InetAttr` reads.
    fn read_inet_attrs(payload: &[u8]) {
        if let Ok(v) = InetDiagMsg::new_checked(payload) {
            for a in v.attrs() {
                if let InetAttr::Info(t) = a {
                    let _ = (t.len(), t.state(), t.snd_wscale(), t.rtt_us());
                    let _ = (t.delivery_rate_app_limited(), t.bytes_acked());
                    let _ = (t.total_rto(), t.received_ce(), t.to_owned());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            read_all(&bytes);
        }

        /// Random bytes rarely frame a message; corrupting real ones
        /// reaches the views.
        #[test]
        fn corrupted_messages_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut datagram = CAPTURED_LISTENER.to_vec();
            let mut unix_msg = UNIX_ABSTRACT.to_vec();
            let mut info = captured_tcp_info_message();
            for (at, value) in edits {
                let n = datagram.len();
                datagram[at % n] = value;
                let n = unix_msg.len();
                unix_msg[at % n] = value;
                let n = info.len();
                info[at % n] = value;
            }
            read_all(&datagram[..cut % (datagram.len() + 1)]);
            read_all(&datagram);
            read_all(&unix_msg[..cut % (unix_msg.len() + 1)]);
            read_all(&info[..cut % (info.len() + 1)]);
            read_all(&info);
        }
    }

    #[test]
    fn sockid_fields_tile_and_sit_inside_the_message() {
        use field::inet_diag_sockid::*;
        assert_tiles(
            "inet_diag_sockid",
            &[SPORT, DPORT, SRC, DST, IF, COOKIE],
            SIZE,
        );
        assert_eq!(field::inet_diag_msg::ID.len(), SIZE);
        assert_eq!(field::inet_diag_req_v2::ID.len(), SIZE);
        assert_eq!(
            field::inet_diag_msg::ID.start,
            field::inet_diag_msg::SPORT.start
        );
        assert_eq!(
            field::inet_diag_msg::ID.end,
            field::inet_diag_msg::COOKIE.end
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn captured_listener_id_every_field() {
        let v = InetDiagMsg::new_checked(&CAPTURED_LISTENER[16..]).unwrap();
        let id = v.id();
        assert_eq!((id.sport(), id.dport()), (v.sport(), v.dport()));
        assert_eq!((id.src(), id.dst()), (v.src(), v.dst()));
        assert_eq!(id.ifindex(), 0);
        assert_eq!(id.cookie(), [0x77, 0xa2, 0x01, 0, 0, 0, 0, 0]);
        assert_eq!(id.as_bytes()[..], CAPTURED_LISTENER[20..68]);
        assert_eq!(SockId::from_bytes(*id.as_bytes()), id);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn destroy_request_bytes() {
        let v = InetDiagMsg::new_checked(&CAPTURED_LISTENER[16..]).unwrap();
        let req = destroy_request(AF_INET, IPPROTO_TCP, &v.id(), 9);
        #[rustfmt::skip]
        let want: [u8; 72] = [
            // len 72 | SOCK_DESTROY | NLM_F_REQUEST|NLM_F_ACK | seq 9 | pid 0
            72, 0, 0, 0, 21, 0, 0x05, 0x00, 9, 0, 0, 0, 0, 0, 0, 0,
            // AF_INET, IPPROTO_TCP, no extensions, pad | no state mask
            2, 6, 0, 0, 0, 0, 0, 0,
            // the dumped id: sport 32995, dport 0, src 127.77.255.1, dst 0
            0x80, 0xe3, 0x00, 0x00,
            0x7f, 0x4d, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            // if 0, cookie
            0, 0, 0, 0, 0x77, 0xa2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(req, want);
        let msgs: Vec<_> = Messages::new(&req).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty(), SOCK_DESTROY);
        assert_eq!(msgs[0].flags(), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(msgs[0].seq(), 9);
    }

    #[test]
    fn destroy_request_carries_any_id_whole() {
        let mut raw = [0u8; field::inet_diag_sockid::SIZE];
        for (i, b) in raw.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap().wrapping_mul(37) | 1;
        }
        let id = SockId::from_bytes(raw);
        let req = destroy_request(AF_INET6, IPPROTO_UDP, &id, u32::MAX);
        let body = &req[field::nlmsghdr::SIZE..];
        assert_eq!(body[field::inet_diag_req_v2::FAMILY], AF_INET6);
        assert_eq!(body[field::inet_diag_req_v2::PROTOCOL], IPPROTO_UDP);
        assert_eq!(body[field::inet_diag_req_v2::EXT], 0);
        assert_eq!(body[field::inet_diag_req_v2::STATES], [0; 4]);
        assert_eq!(body[field::inet_diag_req_v2::ID], raw);
        assert_eq!(req[field::nlmsghdr::SEQ], u32::MAX.to_ne_bytes());
    }

    /// A captured message, the layers of its vector joined.
    fn joined(name: &str) -> Vec<u8> {
        crate::wire::tests::vector(name).concat()
    }

    /// Linux 6.18, a bulk TCP sender (198.51.100.1:60110 ->
    /// 198.51.100.2:5001) behind `tc tbf rate 20mbit`, asked for
    /// `INET_DIAG_INFO`, `_CONG` and `_SKMEMINFO`.
    pub(crate) fn captured_tcp_info_message() -> Vec<u8> {
        joined("sock-diag-tcp-info.hex")
    }

    /// The same kernel, an unconnected UDP socket on 127.0.0.1:33582,
    /// asked for `INET_DIAG_SKMEMINFO`.
    pub(crate) fn captured_udp_skmem_message() -> Vec<u8> {
        joined("sock-diag-udp-skmem.hex")
    }

    #[test]
    fn ext_bits_and_request() {
        assert_eq!(ext_bit(INET_DIAG_INFO), 0x02);
        assert_eq!(ext_bit(INET_DIAG_CONG), 0x08);
        assert_eq!(ext_bit(INET_DIAG_SKMEMINFO), 0x40);
        assert_eq!((ext_bit(0), ext_bit(9), ext_bit(22)), (0, 0, 0));
        let ext = ext_bit(INET_DIAG_INFO) | ext_bit(INET_DIAG_CONG);
        let req = inet_request_ext(AF_INET6, IPPROTO_TCP, ext, 1 << 1, 3);
        let plain = inet_request(AF_INET6, IPPROTO_TCP, 1 << 1, 3);
        let body = nlmsghdr::SIZE;
        // Only idiag_ext differs.
        assert_eq!(req[body + inet_diag_req_v2::EXT], 0x0a);
        assert_eq!(req[..body + 2], plain[..body + 2]);
        assert_eq!(req[body + 3..], plain[body + 3..]);
        assert_eq!(plain[body + inet_diag_req_v2::EXT], 0);
    }

    #[test]
    fn sk_meminfo_tiles() {
        use field::sk_meminfo::*;
        let f = [
            RMEM_ALLOC,
            RCVBUF,
            WMEM_ALLOC,
            SNDBUF,
            FWD_ALLOC,
            WMEM_QUEUED,
            OPTMEM,
            BACKLOG,
            DROPS,
        ];
        assert_tiles("sk_meminfo", &f, SIZE);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn captured_tcp_info_reply_every_attribute() {
        let datagram = captured_tcp_info_message();
        let msgs: Vec<_> = Messages::new(&datagram).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 1);
        let Reply::Socket(payload) = msgs[0].reply() else {
            panic!("not a socket: {:?}", msgs[0]);
        };
        let v = InetDiagMsg::new_checked(payload).unwrap();
        assert_eq!((v.family(), v.state(), v.timer()), (AF_INET, 1, 1));
        assert_eq!((v.sport(), v.dport()), (60110, 5001));
        assert_eq!((v.rqueue(), v.wqueue(), v.inode()), (0, 841_448, 3_190_354));
        let attrs: Vec<_> = v.attrs().collect();
        assert_eq!(attrs.len(), 7, "{attrs:?}");
        // Sent unasked: SHUTDOWN, MARK, CGROUP_ID, SOCKOPT.
        assert_eq!(
            attrs[..4],
            [
                InetAttr::Other(8),
                InetAttr::Other(15),
                InetAttr::Other(21),
                InetAttr::Other(22)
            ]
        );
        assert_eq!(
            attrs[4],
            InetAttr::SkMemInfo(SkMemInfo {
                rmem_alloc: Some(0),
                rcvbuf: Some(131_072),
                wmem_alloc: Some(22_800),
                sndbuf: Some(967_680),
                fwd_alloc: Some(1304),
                wmem_queued: Some(854_760),
                optmem: Some(0),
                backlog: Some(0),
                drops: Some(0),
            })
        );
        let InetAttr::Info(info) = attrs[5] else {
            panic!("not INFO: {:?}", attrs[5]);
        };
        // Every field is checked in wire::tcp_info's tests.
        assert_eq!((info.len(), info.total_retrans()), (280, Some(55)));
        assert_eq!(attrs[6], InetAttr::Cong(b"bbr"));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn captured_udp_reply_has_memory_only() {
        let datagram = captured_udp_skmem_message();
        let msg = Messages::new(&datagram).next().unwrap().unwrap();
        let Reply::Socket(payload) = msg.reply() else {
            panic!("not a socket: {msg:?}");
        };
        let v = InetDiagMsg::new_checked(payload).unwrap();
        assert_eq!((v.state(), v.sport()), (7, 33582));
        let mem: Vec<_> = v
            .attrs()
            .filter_map(|a| match a {
                InetAttr::SkMemInfo(m) => Some(m),
                InetAttr::Info(_) | InetAttr::Cong(_) => panic!("{a:?}"),
                InetAttr::Other(_) => None,
            })
            .collect();
        let want = SkMemInfo {
            rcvbuf: Some(212_992),
            sndbuf: Some(212_992),
            ..SkMemInfo::parse(&[0; 36])
        };
        assert_eq!(mem, [want]);
    }

    #[test]
    fn short_attribute_values_lose_only_their_missing_figures() {
        let mut v = Vec::new();
        for n in 1u32..=9 {
            v.extend(n.to_ne_bytes());
        }
        let full = SkMemInfo::parse(&v);
        assert_eq!((full.rmem_alloc, full.drops), (Some(1), Some(9)));
        // Before Linux 4.x: no BACKLOG and DROPS.
        let old = SkMemInfo::parse(&v[..28]);
        assert_eq!((old.optmem, old.backlog, old.drops), (Some(7), None, None));
        let cut = SkMemInfo::parse(&v[..6]);
        assert_eq!((cut.rmem_alloc, cut.rcvbuf), (Some(1), None));
        assert_eq!(SkMemInfo::parse(&[]), SkMemInfo::default());
        // Congestion names: up to the NUL, or all of it without one.
        assert_eq!(
            InetAttr::parse(INET_DIAG_CONG, b"cubic\0"),
            InetAttr::Cong(b"cubic")
        );
        assert_eq!(
            InetAttr::parse(INET_DIAG_CONG, b"reno"),
            InetAttr::Cong(b"reno")
        );
        assert_eq!(
            InetAttr::parse(INET_DIAG_CONG, b"\0junk"),
            InetAttr::Cong(b"")
        );
        assert_eq!(InetAttr::parse(INET_DIAG_CONG, b""), InetAttr::Cong(b""));
        let InetAttr::Info(t) = InetAttr::parse(INET_DIAG_INFO, &[1, 2]) else {
            panic!()
        };
        assert_eq!(
            (t.state(), t.ca_state(), t.retransmits()),
            (Some(1), Some(crate::wire::tcp_info::CaState::Cwr), None)
        );
    }

    #[test]
    fn a_bad_attribute_loses_itself_and_what_follows() {
        let datagram = captured_tcp_info_message();
        let payload = &datagram[nlmsghdr::SIZE..];
        let count = |p: &[u8]| InetDiagMsg::new_checked(p).unwrap().attrs().count();
        assert_eq!(count(payload), 7);
        // Cut anywhere: the attributes wholly before the cut stay.
        // (start, end without padding) of each attribute.
        let spans: Vec<(usize, usize)> = {
            let mut at = field::inet_diag_msg::SIZE;
            let mut spans = Vec::new();
            while at < payload.len() {
                let len = usize::from(u16::from_ne_bytes([payload[at], payload[at + 1]]));
                spans.push((at, at + len));
                at += align4(len);
            }
            spans
        };
        assert_eq!(spans.len(), 7);
        let attr_starts: Vec<usize> = spans.iter().map(|s| s.0).collect();
        for cut in field::inet_diag_msg::SIZE..payload.len() {
            // Padding may be cut; the value may not.
            let whole = spans.iter().filter(|&&(_, end)| end <= cut).count();
            assert_eq!(count(&payload[..cut]), whole, "cut at {cut}");
        }
        // The INFO attribute's length lies (past the end): it and CONG go,
        // the memory before it stays.
        let mut bad = payload.to_vec();
        bad[attr_starts[5]..attr_starts[5] + 2].copy_from_slice(&2000u16.to_ne_bytes());
        let attrs: Vec<_> = InetDiagMsg::new_checked(&bad).unwrap().attrs().collect();
        assert_eq!(attrs.len(), 5);
        assert!(matches!(attrs[4], InetAttr::SkMemInfo(_)));
        // Shorter than its header: the list ends there.
        bad[attr_starts[5]..attr_starts[5] + 2].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(InetDiagMsg::new_checked(&bad).unwrap().attrs().count(), 5);
        // A shorter INFO (an older kernel) is still INFO, with fewer fields.
        let mut old = payload[..attr_starts[5]].to_vec();
        let info = &payload[attr_starts[5] + 4..attr_starts[5] + 4 + 168];
        old.extend(172u16.to_ne_bytes());
        old.extend(INET_DIAG_INFO.to_ne_bytes());
        old.extend(info);
        let attrs: Vec<_> = InetDiagMsg::new_checked(&old).unwrap().attrs().collect();
        let InetAttr::Info(t) = attrs[5] else {
            panic!("{attrs:?}")
        };
        assert_eq!(t.len(), 168);
        assert!(t.delivery_rate().is_some() && t.busy_time_us().is_none());
    }
}
