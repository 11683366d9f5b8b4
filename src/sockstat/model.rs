//! The socket record every source produces and every renderer consumes.
//!
//! Both sources (netlink `sock_diag` and the /proc/net text tables) fill the
//! same [`Socket`] value, so filters, owners, the table and JSON never care
//! where a row came from. States are kept as the kernel's numbers
//! (`include/net/tcp_states.h`) and named only when shown.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::wire::sock_diag::SkMemInfo;
use crate::wire::tcp_info::{TcpInfo, TcpInfoBytes};

/// Transport protocol of a socket table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Raw,
    Unix,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Raw => "raw",
            Proto::Unix => "unix",
        }
    }

    /// The table's name: `tcp`, `tcp6`, `udp`, `udp6`, `raw`, `raw6`,
    /// `unix`. It is also the /proc/net file name and the Proto column.
    pub fn table(self, v6: bool) -> &'static str {
        match (self, v6) {
            (Proto::Tcp, false) => "tcp",
            (Proto::Tcp, true) => "tcp6",
            (Proto::Udp, false) => "udp",
            (Proto::Udp, true) => "udp6",
            (Proto::Raw, false) => "raw",
            (Proto::Raw, true) => "raw6",
            (Proto::Unix, _) => "unix",
        }
    }
}

crate::wire::enum_with_unknown! {
    /// A TCP state as the kernel numbers it. UDP, raw and UNIX sockets reuse
    /// the same numbers: `Established` for connected, `Close` for unconnected,
    /// `Listen` for a listening UNIX socket. Sources keep only the named
    /// states ([`TcpState::from_kernel`]), so rows never hold `Unknown`.
    #[derive(PartialOrd, Ord)]
    pub enum TcpState(u8) {
        Established = 1,
        SynSent = 2,
        SynRecv = 3,
        FinWait1 = 4,
        FinWait2 = 5,
        TimeWait = 6,
        Close = 7,
        CloseWait = 8,
        LastAck = 9,
        Listen = 10,
        Closing = 11,
        NewSynRecv = 12,
    }
}

impl TcpState {
    pub const ALL: [TcpState; 11] = [
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Closing,
    ];

    /// The state numbered `n`; `None` for a number without a name.
    #[inline]
    pub fn from_kernel(n: u8) -> Option<TcpState> {
        match TcpState::from(n) {
            TcpState::Unknown(_) => None,
            known => Some(known),
        }
    }

    /// Bit of this state in a `sock_diag` `idiag_states` mask (none for an
    /// unknown number past the mask's 32 bits).
    pub fn bit(self) -> u32 {
        1u32.checked_shl(u32::from(u8::from(self))).unwrap_or(0)
    }

    /// The name netstat prints (and `--state` accepts, case-insensitive,
    /// with `_` or `-`).
    pub fn netstat_name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv | TcpState::NewSynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
            TcpState::Unknown(_) => "UNKNOWN",
        }
    }

    /// The `--state` spelling, as ss writes it.
    pub fn filter_name(self) -> &'static str {
        match self {
            TcpState::Established => "established",
            TcpState::SynSent => "syn-sent",
            TcpState::SynRecv | TcpState::NewSynRecv => "syn-recv",
            TcpState::FinWait1 => "fin-wait-1",
            TcpState::FinWait2 => "fin-wait-2",
            TcpState::TimeWait => "time-wait",
            TcpState::Close => "close",
            TcpState::CloseWait => "close-wait",
            TcpState::LastAck => "last-ack",
            TcpState::Listen => "listen",
            TcpState::Closing => "closing",
            TcpState::Unknown(_) => "unknown",
        }
    }
}

/// Kind of a UNIX socket (`SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnixKind {
    Stream,
    Dgram,
    SeqPacket,
    Other(u16),
}

impl UnixKind {
    pub fn from_kernel(n: u16) -> UnixKind {
        match n {
            1 => UnixKind::Stream,
            2 => UnixKind::Dgram,
            5 => UnixKind::SeqPacket,
            n => UnixKind::Other(n),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            UnixKind::Stream => "stream",
            UnixKind::Dgram => "dgram",
            UnixKind::SeqPacket => "seqpacket",
            UnixKind::Other(_) => "other",
        }
    }
}

/// Name a UNIX socket is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnixName {
    /// Not bound (most client ends).
    Unnamed,
    /// A filesystem path, kept byte-for-byte (spaces included).
    Path(String),
    /// An abstract name, without the leading NUL; shown as `@name`.
    Abstract(String),
}

impl fmt::Display for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixName::Unnamed => f.write_str("*"),
            UnixName::Path(p) => f.write_str(p),
            UnixName::Abstract(a) => write!(f, "@{a}"),
        }
    }
}

/// Which timer is pending on a TCP socket (netstat's `-o` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Off,
    /// Retransmission (or SYN-ACK) timer.
    On,
    Keepalive,
    TimeWait,
    Probe,
}

impl TimerKind {
    pub fn from_kernel(n: u8) -> TimerKind {
        match n {
            1 => TimerKind::On,
            2 => TimerKind::Keepalive,
            3 => TimerKind::TimeWait,
            // Zero-window probing (ICSK_TIME_PROBE0), same number in /proc
            // and netlink.
            4 => TimerKind::Probe,
            _ => TimerKind::Off,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Off => "off",
            TimerKind::On => "on",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "timewait",
            TimerKind::Probe => "probe",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    /// Time until the timer fires, in milliseconds.
    pub expires_ms: u64,
    /// Unanswered retransmits or keepalive probes so far.
    pub retrans: u32,
}

/// One endpoint: an IP socket address or a UNIX name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Inet(SocketAddr),
    Unix(UnixName),
}

impl Endpoint {
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Inet(sa) => Some(sa.ip()),
            Endpoint::Unix(_) => None,
        }
    }
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Inet(sa) => Some(sa.port()),
            Endpoint::Unix(_) => None,
        }
    }
}

/// One socket, from either source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub proto: Proto,
    /// The table it came from was IPv6 (`tcp6`, `udp6`, `raw6`), even when
    /// its addresses are IPv4-mapped and so shown as IPv4.
    pub v6: bool,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub state: TcpState,
    /// Recv-Q and Send-Q: on a listener the accept queue and the backlog,
    /// else bytes unread / unacknowledged (see README). `None` where the
    /// source cannot know: /proc/net/unix has no queue columns, and
    /// /proc/net/tcp prints `write_seq - snd_una` for a listener, not its
    /// backlog.
    pub recv_q: Option<u32>,
    pub send_q: Option<u32>,
    /// The owner's uid; `None` where the source cannot know (/proc/net/unix
    /// has no uid column, and kernels before 5.3 do not report it for UNIX
    /// sockets).
    pub uid: Option<u32>,
    /// 0 for sockets no process owns (`TIME_WAIT`, orphans).
    pub inode: u64,
    pub timer: Option<Timer>,
    /// Only for `Proto::Unix`.
    pub unix_kind: Option<UnixKind>,
    /// Peer's inode, for UNIX sockets seen through netlink.
    pub peer_inode: Option<u64>,
    /// What `-i`/`-m` asked the kernel for: `None` unless asked and sent
    /// (netlink only), so a plain listing pays one null pointer a row.
    pub internals: Option<Box<Internals>>,
}

impl Socket {
    /// Proto column: `tcp`, `tcp6`, `udp`, `udp6`, `raw`, `raw6`, `unix`.
    pub fn proto_label(&self) -> &'static str {
        self.proto.table(self.v6)
    }

    /// Listening as netstat means it: a TCP listener, an unconnected UDP or
    /// raw socket, or a UNIX socket accepting connections.
    pub fn is_listening(&self) -> bool {
        match self.proto {
            Proto::Tcp | Proto::Unix => self.state == TcpState::Listen,
            Proto::Udp | Proto::Raw => self.state == TcpState::Close,
        }
    }

    /// The State column. UDP, raw and UNIX sockets have no TCP state: they
    /// show UNCONN / ESTABLISHED / LISTEN as ss does.
    pub fn state_label(&self) -> &'static str {
        match (self.proto, self.state) {
            (Proto::Tcp, s) => s.netstat_name(),
            (_, TcpState::Close) => "UNCONN",
            (_, TcpState::SynSent) => "CONNECTING",
            (_, s) => s.netstat_name(),
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it
/// stands for; any other address unchanged.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Build an endpoint from raw address bytes as the kernel stores them
/// (network order), unmapping IPv4-mapped IPv6.
#[inline]
pub fn inet_endpoint(v6: bool, addr: [u8; 16], port: u16) -> Endpoint {
    let ip = if v6 {
        unmap(IpAddr::V6(Ipv6Addr::from(addr)))
    } else {
        IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]))
    };
    Endpoint::Inet(SocketAddr::new(ip, port))
}

/// One inet socket's internals from `sock_diag`: what `-i` (TCP only) and
/// `-m` asked for and the kernel sent. One allocation a socket, no more:
/// the `tcp_info` bytes and the name are kept inline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Internals {
    /// `INET_DIAG_INFO`: `struct tcp_info`, as many bytes as the kernel
    /// sent (a field past them reads as `None`).
    pub tcp_info: Option<TcpInfo<TcpInfoBytes>>,
    /// `INET_DIAG_CONG`: the congestion control (`cubic`, `bbr`, ...).
    pub congestion: Option<CongestionName>,
    /// `INET_DIAG_SKMEMINFO`: socket memory, in bytes.
    pub memory: Option<SkMemInfo>,
}

impl Internals {
    pub fn is_empty(&self) -> bool {
        self.tcp_info.is_none() && self.congestion.is_none() && self.memory.is_none()
    }
}

/// A congestion control's name, inline: the kernel's are at most 15
/// bytes (`TCP_CA_NAME_MAX` 16 with the NUL); longer ones are cut there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CongestionName {
    len: u8,
    bytes: [u8; 16],
}

impl CongestionName {
    pub fn new(name: &[u8]) -> CongestionName {
        let mut bytes = [0; 16];
        let n = name.len().min(bytes.len());
        bytes[..n].copy_from_slice(&name[..n]);
        #[allow(clippy::cast_possible_truncation, reason = "n <= 16")]
        let len = n as u8;
        CongestionName { len, bytes }
    }

    /// The name as text; bytes that are not UTF-8 become U+FFFD.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes.get(..usize::from(self.len)).unwrap_or_default())
    }
}

impl fmt::Debug for CongestionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CongestionName({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_show_as_ipv4() {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(
            inet_endpoint(true, b, 80),
            Endpoint::Inet("127.0.0.1:80".parse().unwrap())
        );
    }

    #[test]
    fn state_numbers_round_trip() {
        for s in TcpState::ALL {
            assert_eq!(TcpState::from_kernel(u8::from(s)), Some(s));
        }
        assert_eq!(TcpState::from_kernel(0), None);
        assert_eq!(TcpState::from_kernel(13), None);
        // ALL is in kernel order, 1 to 11.
        let mut named: Vec<(TcpState, u8)> = TcpState::ALL.into_iter().zip(1..).collect();
        named.push((TcpState::NewSynRecv, 12));
        crate::wire::tests::assert_numeric_enum(&named, 0..=u8::MAX, TcpState::Unknown);
        assert_eq!(TcpState::NewSynRecv.bit(), 1 << 12);
        assert_eq!(TcpState::from(200).bit(), 0);
    }

    #[test]
    fn congestion_names_are_inline_and_cut_at_16_bytes() {
        assert_eq!(CongestionName::new(b"cubic").as_str(), "cubic");
        assert_eq!(CongestionName::new(b"").as_str(), "");
        let long = CongestionName::new(b"a_very_long_name_past_sixteen");
        assert_eq!(long.as_str(), "a_very_long_name");
        assert_eq!(CongestionName::new(b"b\xffr").as_str(), "b\u{fffd}r");
        assert_eq!(
            format!("{:?}", CongestionName::new(b"bbr")),
            "CongestionName(\"bbr\")"
        );
        assert!(Internals::default().is_empty());
    }

    /// README promises about 400 bytes a socket with -i/-m, and a plain
    /// listing one pointer more than before.
    #[test]
    fn internals_stay_small() {
        assert!(std::mem::size_of::<Internals>() <= 400);
        assert_eq!(
            std::mem::size_of::<Option<Box<Internals>>>(),
            std::mem::size_of::<usize>()
        );
    }
}
