//! rtnetlink (`NETLINK_ROUTE`): the two questions nettool asks the kernel
//! about its own network, and checked views over the answers.
//!
//! - "Which way to ADDR?" (`ip route get ADDR`): an `RTM_GETROUTE` request
//!   for one destination, answered by one `RTM_NEWROUTE` ([`RtMsg`]): the
//!   route's type, output interface, gateway (none on a directly connected
//!   network) and preferred source; or by an `NLMSG_ERROR` (no route).
//! - "What does the neighbour table hold?" (`ip neigh`): an `RTM_GETNEIGH`
//!   dump per family, optionally for one interface, answered by one
//!   `RTM_NEWNEIGH` ([`NdMsg`]) per entry: address, link-layer address and
//!   NUD state (REACHABLE, STALE, FAILED, INCOMPLETE, ...).
//!
//! ```text
//! request   | nlmsghdr | rtmsg (12) | RTA_DST | [RTA_OIF] |
//!           | nlmsghdr | ndmsg (12) | [NDA_IFINDEX] |
//! reply     | nlmsghdr | rtmsg | rtattr ... |   or   | nlmsghdr | ndmsg | nlattr ... |
//! ```
//! Headers are in host byte order, addresses in network order. Framing
//! (messages in a datagram, attributes after a header) is
//! [`sock_diag`](super::sock_diag)'s `Messages` and `Attrs`: the same
//! netlink, the same rules. Views borrow the datagram, check their fixed
//! part once in `new_checked`, and no accessor can panic; an attribute too
//! short for its type reads as `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::sock_diag::{AF_INET, AF_INET6, Attrs, Control, NLM_F_DUMP, NLM_F_REQUEST, NlMsg};
use super::{Field, MacAddr, WireError};

// linux/rtnetlink.h
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_GETNEIGH: u16 = 30;
/// In a route request: answer with the table the route came from, as
/// `ip route get` asks.
pub const RTM_F_LOOKUP_TABLE: u32 = 0x1000;
/// In a route reply: a route made for this lookup (a cache clone).
pub const RTM_F_CLONED: u32 = 0x200;
/// `AF_UNSPEC`: every family, in a dump request.
pub const AF_UNSPEC: u8 = 0;

// Route attributes (`enum rtattr_type_t`).
pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_TABLE: u16 = 15;
/// A gateway of another family (`struct rtvia`): IPv4 via IPv6.
pub const RTA_VIA: u16 = 18;

// Neighbour attributes (linux/neighbour.h).
pub const NDA_DST: u16 = 1;
pub const NDA_LLADDR: u16 = 2;
pub const NDA_CACHEINFO: u16 = 3;
pub const NDA_PROBES: u16 = 4;
/// In a dump request: only this interface's entries.
pub const NDA_IFINDEX: u16 = 8;

/// `ndm_flags`: the neighbour said it is a router (IPv6 NA R flag).
pub const NTF_ROUTER: u8 = 0x80;
/// `ndm_flags`: a proxy entry (answered for, not a neighbour).
pub const NTF_PROXY: u8 = 0x08;

/// Where each field of the kernel's structs lies, in bytes from the start
/// of its struct. One byte is a `usize`, more is a [`Field`].
pub mod field {
    /// `struct ndmsg` (`linux/neighbour.h`): starts every neighbour message.
    pub mod ndmsg {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        pub const PAD1: usize = 1;
        pub const PAD2: Field = 2..4;
        /// `__s32`; 0 in a request: every interface.
        pub const IFINDEX: Field = 4..8;
        /// One `NUD_*` value.
        pub const STATE: Field = 8..10;
        /// `NTF_*` bits.
        pub const FLAGS: usize = 10;
        /// `RTN_*`: unicast, multicast, ...
        pub const TYPE: usize = 11;
        pub const SIZE: usize = 12;
    }

    /// `struct nda_cacheinfo`, the value of `NDA_CACHEINFO`: ages in
    /// `USER_HZ` ticks (1/100 s).
    pub mod nda_cacheinfo {
        use crate::wire::Field;
        pub const CONFIRMED: Field = 0..4;
        pub const USED: Field = 4..8;
        pub const UPDATED: Field = 8..12;
        pub const REFCNT: Field = 12..16;
        pub const SIZE: usize = 16;
    }

    /// `struct rtmsg` (`linux/rtnetlink.h`): starts every route message.
    pub mod rtmsg {
        use crate::wire::Field;
        pub const FAMILY: usize = 0;
        /// Prefix length of `RTA_DST`: 32 or 128 for one address.
        pub const DST_LEN: usize = 1;
        pub const SRC_LEN: usize = 2;
        pub const TOS: usize = 3;
        /// The table, if below 256 (`RTA_TABLE` always has it).
        pub const TABLE: usize = 4;
        /// `RTPROT_*`: who made the route.
        pub const PROTOCOL: usize = 5;
        pub const SCOPE: usize = 6;
        /// `RTN_*`: unicast, local, unreachable, ...
        pub const TYPE: usize = 7;
        /// `RTM_F_*` bits.
        pub const FLAGS: Field = 8..12;
        pub const SIZE: usize = 12;
    }

    /// `struct rtvia`, the value of `RTA_VIA`: a family, then its address.
    pub mod rtvia {
        use crate::wire::Field;
        pub const FAMILY: Field = 0..2;
        pub const ADDR: usize = 2;
    }

    /// `struct nlattr` / `struct rtattr`: the same four bytes.
    pub use crate::wire::sock_diag::field::nlattr;
    /// `struct nlmsghdr`, as [`sock_diag`](crate::wire::sock_diag) names it.
    pub use crate::wire::sock_diag::field::nlmsghdr;
}

use field::{nda_cacheinfo, ndmsg, nlattr, nlmsghdr, rtmsg, rtvia};

enum_with_unknown! {
    /// A neighbour entry's NUD ("neighbour unreachability detection")
    /// state, `ndm_state`: one of these at a time.
    pub enum NudState(u16) {
        /// No state (an entry being made or gone).
        None = 0x00,
        /// A request is out, no reply yet.
        Incomplete = 0x01,
        /// Confirmed within `reachable_time`.
        Reachable = 0x02,
        /// Known but not confirmed lately; used as is.
        Stale = 0x04,
        /// Stale and used: confirmation awaited before probing.
        Delay = 0x08,
        /// Probing again by unicast.
        Probe = 0x10,
        /// Every probe went unanswered.
        Failed = 0x20,
        /// No resolution needed (loopback, point-to-point, multicast).
        NoArp = 0x40,
        /// Set by an administrator; never expires.
        Permanent = 0x80,
    }
}

impl NudState {
    /// The name `ip neigh` prints, lower case (`failed`, `reachable`, ...).
    pub fn name(self) -> String {
        match self {
            NudState::None => "none".into(),
            NudState::Incomplete => "incomplete".into(),
            NudState::Reachable => "reachable".into(),
            NudState::Stale => "stale".into(),
            NudState::Delay => "delay".into(),
            NudState::Probe => "probe".into(),
            NudState::Failed => "failed".into(),
            NudState::NoArp => "noarp".into(),
            NudState::Permanent => "permanent".into(),
            NudState::Unknown(n) => format!("0x{n:02x}"),
        }
    }
}

impl NudState {
    /// The name as `ip neigh` prints it, upper case (`REACHABLE`, `STALE`,
    /// ...); a state no name fits is its bits, `0x..`.
    pub fn ip_name(self) -> String {
        match self {
            NudState::Unknown(n) => format!("0x{n:02x}"),
            known => known.name().to_ascii_uppercase(),
        }
    }
}

impl serde::Serialize for NudState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

enum_with_unknown! {
    /// `rtm_type` (and `ndm_type`): what a route does with a packet.
    pub enum RouteType(u8) {
        Unspec = 0,
        /// A gateway or a directly connected network.
        Unicast = 1,
        /// One of our own addresses.
        Local = 2,
        Broadcast = 3,
        Anycast = 4,
        Multicast = 5,
        /// Dropped silently.
        Blackhole = 6,
        /// Refused: host unreachable.
        Unreachable = 7,
        /// Refused: administratively prohibited.
        Prohibit = 8,
        Throw = 9,
        Nat = 10,
    }
}

impl RouteType {
    /// The name `ip route` prints (`unicast`, `local`, ...).
    pub fn name(self) -> String {
        match self {
            RouteType::Unspec => "unspec".into(),
            RouteType::Unicast => "unicast".into(),
            RouteType::Local => "local".into(),
            RouteType::Broadcast => "broadcast".into(),
            RouteType::Anycast => "anycast".into(),
            RouteType::Multicast => "multicast".into(),
            RouteType::Blackhole => "blackhole".into(),
            RouteType::Unreachable => "unreachable".into(),
            RouteType::Prohibit => "prohibit".into(),
            RouteType::Throw => "throw".into(),
            RouteType::Nat => "nat".into(),
            RouteType::Unknown(n) => n.to_string(),
        }
    }
}

impl serde::Serialize for RouteType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// The `N` bytes of field `f` of a fixed-size struct `s` (`f` is a constant
/// of [`field`] inside `S`, so no panic is left once inlined).
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

/// An address attribute: 4 bytes are IPv4, 16 are IPv6, anything else is
/// not an address.
fn ip_of(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(get::<4>(value, 0..4)?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(get::<16>(value, 0..16)?))),
        _ => None,
    }
}

fn u32_of(value: &[u8]) -> Option<u32> {
    get(value, 0..4).map(u32::from_ne_bytes)
}

/// Netlink lengths are padded to 4 bytes.
#[inline]
fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

// ---------------------------------------------------------------------------
// Requests

/// A request: header, fixed struct, attributes (each padded), lengths set.
fn request(ty: u16, flags: u16, seq: u32, body: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let attrs_len: usize = attrs
        .iter()
        .map(|(_, v)| align4(nlattr::SIZE + v.len()))
        .sum();
    let len = nlmsghdr::SIZE + body.len() + attrs_len;
    let mut r = vec![0u8; len];
    // A few dozen bytes: the largest request is a header, a struct and two
    // short attributes.
    #[allow(clippy::cast_possible_truncation, reason = "a few dozen bytes")]
    r[nlmsghdr::LEN].copy_from_slice(&(len as u32).to_ne_bytes());
    r[nlmsghdr::TYPE].copy_from_slice(&ty.to_ne_bytes());
    r[nlmsghdr::FLAGS].copy_from_slice(&flags.to_ne_bytes());
    r[nlmsghdr::SEQ].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel fills in our port.
    let mut off = nlmsghdr::SIZE;
    r[off..off + body.len()].copy_from_slice(body);
    off += body.len();
    for (ty, v) in attrs {
        #[allow(clippy::cast_possible_truncation, reason = "at most 20 bytes")]
        let a_len = (nlattr::SIZE + v.len()) as u16;
        let a = &mut r[off..];
        a[nlattr::LEN].copy_from_slice(&a_len.to_ne_bytes());
        a[nlattr::TYPE].copy_from_slice(&ty.to_ne_bytes());
        a[nlattr::SIZE..nlattr::SIZE + v.len()].copy_from_slice(v);
        off += align4(usize::from(a_len));
    }
    r
}

fn family_of(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { AF_INET } else { AF_INET6 }
}

fn octets(addr: &IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match addr {
        IpAddr::V4(a) => {
            b[..4].copy_from_slice(&a.octets());
            (b, 4)
        }
        IpAddr::V6(a) => (a.octets(), 16),
    }
}

/// `RTM_GETROUTE` for the one address `dst` (what `ip route get DST [oif
/// N]` sends): the kernel answers with the route a packet to `dst` would
/// take now, or with an error (`ENETUNREACH`: no route).
pub fn route_request(dst: IpAddr, oif: Option<u32>, seq: u32) -> Vec<u8> {
    let mut body = [0u8; rtmsg::SIZE];
    body[rtmsg::FAMILY] = family_of(dst);
    body[rtmsg::DST_LEN] = if dst.is_ipv4() { 32 } else { 128 };
    body[rtmsg::FLAGS].copy_from_slice(&RTM_F_LOOKUP_TABLE.to_ne_bytes());
    let (b, n) = octets(&dst);
    let oif = oif.map(u32::to_ne_bytes);
    let mut attrs: Vec<(u16, &[u8])> = vec![(RTA_DST, &b[..n])];
    if let Some(o) = &oif {
        attrs.push((RTA_OIF, o));
    }
    request(RTM_GETROUTE, NLM_F_REQUEST, seq, &body, &attrs)
}

/// `RTM_GETNEIGH` dump of `family`'s neighbour table ([`AF_UNSPEC`]: every
/// family), only `ifindex`'s entries when given (as `ip neigh show dev`
/// asks: an `NDA_IFINDEX` attribute, which kernels with and without
/// strict checking both honour).
pub fn neigh_dump_request(family: u8, ifindex: Option<u32>, seq: u32) -> Vec<u8> {
    let mut body = [0u8; ndmsg::SIZE];
    body[ndmsg::FAMILY] = family;
    let idx = ifindex.map(u32::to_ne_bytes);
    let attrs: Vec<(u16, &[u8])> = idx.iter().map(|i| (NDA_IFINDEX, &i[..])).collect();
    request(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq, &body, &attrs)
}

// ---------------------------------------------------------------------------
// Replies

/// What a message means to a route lookup or a neighbour dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    Route(RtMsg<'a>),
    Neighbour(NdMsg<'a>),
    /// Nothing for us (NOOP, an ACK, another type).
    Skip,
    /// The end of a dump.
    Done,
    /// The kernel failed the request with this errno.
    Failed(i32),
    Malformed(&'static str),
}

/// Read one message of a reply.
pub fn reply<'a>(m: &NlMsg<'a>) -> Reply<'a> {
    let payload = m.payload();
    match m.ty() {
        RTM_NEWROUTE => {
            RtMsg::new_checked(payload).map_or(Reply::Malformed("rtmsg is 12 bytes"), Reply::Route)
        }
        RTM_NEWNEIGH => NdMsg::new_checked(payload)
            .map_or(Reply::Malformed("ndmsg is 12 bytes"), Reply::Neighbour),
        _ => match m.control() {
            Some(Control::Done) => Reply::Done,
            Some(Control::Failed(e)) => Reply::Failed(e),
            Some(Control::Malformed(why)) => Reply::Malformed(why),
            Some(Control::Skip) | None => Reply::Skip,
        },
    }
}

/// A checked view over an `ndmsg` and the attributes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdMsg<'a> {
    m: &'a [u8; ndmsg::SIZE],
    attrs: &'a [u8],
}

impl<'a> NdMsg<'a> {
    /// # Errors
    /// `Truncated` if `payload` is shorter than an `ndmsg`.
    pub fn new_checked(payload: &'a [u8]) -> Result<NdMsg<'a>, WireError> {
        match payload.split_first_chunk() {
            Some((m, attrs)) => Ok(NdMsg { m, attrs }),
            None => Err(WireError::Truncated("ndmsg is 12 bytes")),
        }
    }
    #[inline]
    pub fn family(&self) -> u8 {
        self.m[ndmsg::FAMILY]
    }
    /// The interface; the kernel's `int`, never negative in a reply.
    #[inline]
    pub fn ifindex(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, ndmsg::IFINDEX))
    }
    #[inline]
    pub fn state(&self) -> NudState {
        NudState::from(u16::from_ne_bytes(at(self.m, ndmsg::STATE)))
    }
    #[inline]
    pub fn flags(&self) -> u8 {
        self.m[ndmsg::FLAGS]
    }
    #[inline]
    pub fn kind(&self) -> RouteType {
        RouteType::from(self.m[ndmsg::TYPE])
    }
    /// The attributes; one that does not fit ends them.
    pub fn attrs(&self) -> impl Iterator<Item = NeighAttr<'a>> + use<'a> {
        Attrs::new(self.attrs).map(|(ty, value)| NeighAttr::parse(ty, value))
    }
}

/// `struct nda_cacheinfo`: how long ago (in `USER_HZ` ticks, 1/100 s) the
/// entry was confirmed, used and updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheInfo {
    pub confirmed: u32,
    pub used: u32,
    pub updated: u32,
    pub refcnt: u32,
}

/// An attribute of an `ndmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighAttr<'a> {
    /// `NDA_DST`: the neighbour's address (`None`: neither 4 nor 16 bytes).
    Dst(Option<IpAddr>),
    /// `NDA_LLADDR`: its link-layer address, as long as the link's.
    LlAddr(&'a [u8]),
    CacheInfo(Option<CacheInfo>),
    /// `NDA_PROBES`: probes sent since the state last changed.
    Probes(Option<u32>),
    Other(u16),
}

impl<'a> NeighAttr<'a> {
    pub fn parse(ty: u16, value: &'a [u8]) -> NeighAttr<'a> {
        let u = |f: Field| get(value, f).map(u32::from_ne_bytes);
        match ty {
            NDA_DST => NeighAttr::Dst(ip_of(value)),
            NDA_LLADDR => NeighAttr::LlAddr(value),
            NDA_CACHEINFO => NeighAttr::CacheInfo(
                (value.len() >= nda_cacheinfo::SIZE)
                    .then(|| {
                        Some(CacheInfo {
                            confirmed: u(nda_cacheinfo::CONFIRMED)?,
                            used: u(nda_cacheinfo::USED)?,
                            updated: u(nda_cacheinfo::UPDATED)?,
                            refcnt: u(nda_cacheinfo::REFCNT)?,
                        })
                    })
                    .flatten(),
            ),
            NDA_PROBES => NeighAttr::Probes(u32_of(value)),
            other => NeighAttr::Other(other),
        }
    }
}

/// One entry of the neighbour table, as a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Neighbour {
    pub addr: IpAddr,
    pub ifindex: u32,
    pub state: NudState,
    /// The Ethernet address, when the entry has one (not while INCOMPLETE
    /// or FAILED; not on links whose addresses are not 6 bytes).
    pub lladdr: Option<MacAddr>,
    /// It said it is a router (`NTF_ROUTER`).
    pub router: bool,
    /// `NTF_*` bits as the kernel gave them.
    pub flags: u8,
    pub probes: Option<u32>,
    pub cache: Option<CacheInfo>,
}

impl Neighbour {
    /// # Errors
    /// `Malformed` for an entry of a family other than IPv4/IPv6 (bridge
    /// fdb entries come the same way) or without a usable `NDA_DST`.
    pub fn parse(m: &NdMsg<'_>) -> Result<Neighbour, WireError> {
        if m.family() != AF_INET && m.family() != AF_INET6 {
            return Err(WireError::Malformed("neighbour of a non-IP family"));
        }
        let mut n = Neighbour {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ifindex: m.ifindex(),
            state: m.state(),
            lladdr: None,
            router: m.flags() & NTF_ROUTER != 0,
            flags: m.flags(),
            probes: None,
            cache: None,
        };
        let mut dst = None;
        for a in m.attrs() {
            match a {
                NeighAttr::Dst(d) => dst = d,
                NeighAttr::LlAddr(l) if l.len() == 6 => n.lladdr = MacAddr::from_slice(l),
                NeighAttr::CacheInfo(c) => n.cache = c,
                NeighAttr::Probes(p) => n.probes = p,
                NeighAttr::LlAddr(_) | NeighAttr::Other(_) => {}
            }
        }
        let addr = dst.ok_or(WireError::Malformed("neighbour without NDA_DST"))?;
        if family_of(addr) != m.family() {
            return Err(WireError::Malformed("NDA_DST of the wrong family"));
        }
        n.addr = addr;
        Ok(n)
    }
}

/// A checked view over an `rtmsg` and the attributes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtMsg<'a> {
    m: &'a [u8; rtmsg::SIZE],
    attrs: &'a [u8],
}

impl<'a> RtMsg<'a> {
    /// # Errors
    /// `Truncated` if `payload` is shorter than an `rtmsg`.
    pub fn new_checked(payload: &'a [u8]) -> Result<RtMsg<'a>, WireError> {
        match payload.split_first_chunk() {
            Some((m, attrs)) => Ok(RtMsg { m, attrs }),
            None => Err(WireError::Truncated("rtmsg is 12 bytes")),
        }
    }
    #[inline]
    pub fn family(&self) -> u8 {
        self.m[rtmsg::FAMILY]
    }
    #[inline]
    pub fn dst_len(&self) -> u8 {
        self.m[rtmsg::DST_LEN]
    }
    #[inline]
    pub fn src_len(&self) -> u8 {
        self.m[rtmsg::SRC_LEN]
    }
    #[inline]
    pub fn tos(&self) -> u8 {
        self.m[rtmsg::TOS]
    }
    #[inline]
    pub fn table(&self) -> u8 {
        self.m[rtmsg::TABLE]
    }
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.m[rtmsg::PROTOCOL]
    }
    #[inline]
    pub fn scope(&self) -> u8 {
        self.m[rtmsg::SCOPE]
    }
    #[inline]
    pub fn kind(&self) -> RouteType {
        RouteType::from(self.m[rtmsg::TYPE])
    }
    #[inline]
    pub fn flags(&self) -> u32 {
        u32::from_ne_bytes(at(self.m, rtmsg::FLAGS))
    }
    /// The attributes; one that does not fit ends them.
    pub fn attrs(&self) -> impl Iterator<Item = RouteAttr> + use<'a> {
        Attrs::new(self.attrs).map(|(ty, value)| RouteAttr::parse(ty, value))
    }
}

/// An attribute of an `rtmsg`; an address that is neither 4 nor 16 bytes,
/// or a number too short, reads as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAttr {
    Dst(Option<IpAddr>),
    Src(Option<IpAddr>),
    Oif(Option<u32>),
    Gateway(Option<IpAddr>),
    /// `RTA_VIA`: a gateway of the other family.
    Via(Option<IpAddr>),
    PrefSrc(Option<IpAddr>),
    Priority(Option<u32>),
    Table(Option<u32>),
    Other(u16),
}

impl RouteAttr {
    pub fn parse(ty: u16, value: &[u8]) -> RouteAttr {
        match ty {
            RTA_DST => RouteAttr::Dst(ip_of(value)),
            RTA_SRC => RouteAttr::Src(ip_of(value)),
            RTA_OIF => RouteAttr::Oif(u32_of(value)),
            RTA_GATEWAY => RouteAttr::Gateway(ip_of(value)),
            RTA_VIA => RouteAttr::Via(
                get(value, rtvia::FAMILY)
                    .and_then(|_: [u8; 2]| value.get(rtvia::ADDR..))
                    .and_then(ip_of),
            ),
            RTA_PREFSRC => RouteAttr::PrefSrc(ip_of(value)),
            RTA_PRIORITY => RouteAttr::Priority(u32_of(value)),
            RTA_TABLE => RouteAttr::Table(u32_of(value)),
            other => RouteAttr::Other(other),
        }
    }
}

/// The route the kernel picked for one destination, as a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    pub kind: RouteType,
    pub dst: Option<IpAddr>,
    /// The output interface (`None` for unreachable, blackhole, ...).
    pub oif: Option<u32>,
    /// The next hop; `None` on a directly connected network.
    pub gateway: Option<IpAddr>,
    /// The source address a connection would get.
    pub prefsrc: Option<IpAddr>,
    pub table: u32,
    pub flags: u32,
}

impl Route {
    pub fn parse(m: &RtMsg<'_>) -> Route {
        let mut r = Route {
            kind: m.kind(),
            dst: None,
            oif: None,
            gateway: None,
            prefsrc: None,
            table: u32::from(m.table()),
            flags: m.flags(),
        };
        for a in m.attrs() {
            match a {
                RouteAttr::Dst(d) => r.dst = d,
                RouteAttr::Oif(o) => r.oif = o,
                RouteAttr::Gateway(g) | RouteAttr::Via(g) => r.gateway = g,
                RouteAttr::PrefSrc(p) => r.prefsrc = p,
                RouteAttr::Table(Some(t)) => r.table = t,
                _ => {}
            }
        }
        r
    }

    /// Whom the kernel must resolve on the link to reach `dst`: the
    /// gateway, or `dst` itself on a directly connected network.
    pub fn next_hop(&self, dst: IpAddr) -> IpAddr {
        self.gateway.unwrap_or(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sock_diag::Messages;
    use crate::wire::tests::{assert_numeric_enum, vector};

    /// Bytes of one captured message, its layers joined.
    fn joined(name: &str) -> Vec<u8> {
        vector(name).concat()
    }

    fn one_reply(bytes: &[u8]) -> Reply<'_> {
        let mut msgs = Messages::new(bytes);
        let m = msgs.next().expect("a message").expect("framed");
        assert!(msgs.next().is_none());
        reply(&m)
    }

    fn neighbour(name: &str) -> Neighbour {
        let bytes = joined(name);
        let Reply::Neighbour(m) = one_reply(&bytes) else {
            panic!("{name}: not a neighbour")
        };
        Neighbour::parse(&m).unwrap()
    }

    fn route(name: &str) -> Route {
        let bytes = joined(name);
        let Reply::Route(m) = one_reply(&bytes) else {
            panic!("{name}: not a route")
        };
        Route::parse(&m)
    }

    pub(crate) fn assert_tiles(name: &str, fields: &[Field], size: usize) {
        let mut end = 0;
        for f in fields {
            assert_eq!(f.start, end, "{name}: gap or overlap before {f:?}");
            end = f.end;
        }
        assert_eq!(end, size, "{name}: fields do not fill the struct");
    }

    #[test]
    fn fields_tile_each_struct() {
        let one = |i: usize| i..i + 1;
        assert_tiles(
            "ndmsg",
            &[
                one(ndmsg::FAMILY),
                one(ndmsg::PAD1),
                ndmsg::PAD2,
                ndmsg::IFINDEX,
                ndmsg::STATE,
                one(ndmsg::FLAGS),
                one(ndmsg::TYPE),
            ],
            ndmsg::SIZE,
        );
        assert_tiles(
            "rtmsg",
            &[
                one(rtmsg::FAMILY),
                one(rtmsg::DST_LEN),
                one(rtmsg::SRC_LEN),
                one(rtmsg::TOS),
                one(rtmsg::TABLE),
                one(rtmsg::PROTOCOL),
                one(rtmsg::SCOPE),
                one(rtmsg::TYPE),
                rtmsg::FLAGS,
            ],
            rtmsg::SIZE,
        );
        assert_tiles(
            "nda_cacheinfo",
            &[
                nda_cacheinfo::CONFIRMED,
                nda_cacheinfo::USED,
                nda_cacheinfo::UPDATED,
                nda_cacheinfo::REFCNT,
            ],
            nda_cacheinfo::SIZE,
        );
    }

    #[test]
    fn numeric_enums_name_the_kernels_values() {
        use NudState as N;
        use RouteType as R;
        let nud = [
            (N::None, 0x00),
            (N::Incomplete, 0x01),
            (N::Reachable, 0x02),
            (N::Stale, 0x04),
            (N::Delay, 0x08),
            (N::Probe, 0x10),
            (N::Failed, 0x20),
            (N::NoArp, 0x40),
            (N::Permanent, 0x80),
        ];
        assert_numeric_enum(&nud, 0..=0x1ff, N::Unknown);
        assert_eq!(N::from(0x21).name(), "0x21");
        assert_eq!(N::from(0x21).ip_name(), "0x21");
        let upper: Vec<String> = nud.iter().map(|(n, _)| n.ip_name()).collect();
        assert_eq!(
            upper,
            [
                "NONE",
                "INCOMPLETE",
                "REACHABLE",
                "STALE",
                "DELAY",
                "PROBE",
                "FAILED",
                "NOARP",
                "PERMANENT"
            ]
        );
        assert_eq!(serde_json::to_string(&N::Failed).unwrap(), "\"failed\"");
        let rt = [
            (R::Unspec, 0),
            (R::Unicast, 1),
            (R::Local, 2),
            (R::Broadcast, 3),
            (R::Anycast, 4),
            (R::Multicast, 5),
            (R::Blackhole, 6),
            (R::Unreachable, 7),
            (R::Prohibit, 8),
            (R::Throw, 9),
            (R::Nat, 10),
        ];
        assert_numeric_enum(&rt, 0..=u8::MAX, R::Unknown);
    }

    /// The kernel's message, every field of the header and the struct.
    #[test]
    fn captured_stale_neighbour_every_field() {
        let bytes = joined("rtnl-neigh-v4-stale.hex");
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!((m.ty(), m.flags(), m.seq()), (RTM_NEWNEIGH, 0x2, 7));
        let Reply::Neighbour(v) = reply(&m) else {
            panic!()
        };
        assert_eq!(v.family(), AF_INET);
        assert_eq!(v.ifindex(), 3);
        assert_eq!(v.state(), NudState::Stale);
        assert_eq!(v.flags(), 0);
        assert_eq!(v.kind(), RouteType::Unicast);
        let n = Neighbour::parse(&v).unwrap();
        assert_eq!(
            n,
            Neighbour {
                addr: "198.51.100.2".parse().unwrap(),
                ifindex: 3,
                state: NudState::Stale,
                lladdr: Some("86:6b:41:b2:01:ea".parse().unwrap()),
                router: false,
                flags: 0,
                probes: Some(4),
                cache: Some(CacheInfo {
                    confirmed: 0x278f,
                    used: 0x278f,
                    updated: 0x168a,
                    refcnt: 0,
                }),
            }
        );
    }

    #[test]
    fn captured_failed_neighbours_have_no_lladdr() {
        let n = neighbour("rtnl-neigh-v4-failed.hex");
        assert_eq!(n.addr, "198.51.100.3".parse::<IpAddr>().unwrap());
        assert_eq!(
            (n.state, n.lladdr, n.probes),
            (NudState::Failed, None, Some(6))
        );
        let n = neighbour("rtnl-neigh-v6-failed.hex");
        assert_eq!(n.addr, "2001:db8::3".parse::<IpAddr>().unwrap());
        assert_eq!((n.state, n.lladdr, n.ifindex), (NudState::Failed, None, 3));
        let n = neighbour("rtnl-neigh-v6-stale.hex");
        assert_eq!(n.addr, "2001:db8::2".parse::<IpAddr>().unwrap());
        assert_eq!(n.state, NudState::Stale);
        assert_eq!(n.lladdr, Some("86:6b:41:b2:01:ea".parse().unwrap()));
        assert!(!n.router);
    }

    #[test]
    fn captured_routes_say_the_way() {
        let r = route("rtnl-route-v4-link.hex");
        assert_eq!(
            r,
            Route {
                kind: RouteType::Unicast,
                dst: Some("198.51.100.3".parse().unwrap()),
                oif: Some(3),
                gateway: None,
                prefsrc: Some("198.51.100.1".parse().unwrap()),
                table: 254,
                flags: RTM_F_CLONED,
            }
        );
        let dst: IpAddr = "198.51.100.3".parse().unwrap();
        assert_eq!(r.next_hop(dst), dst);
        let r = route("rtnl-route-v4-gateway.hex");
        assert_eq!(r.gateway, Some("198.51.100.9".parse().unwrap()));
        assert_eq!(
            r.next_hop("203.0.113.5".parse().unwrap()),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        let r = route("rtnl-route-v6-gateway.hex");
        assert_eq!(r.kind, RouteType::Unicast);
        assert_eq!(r.dst, Some("2001:db8:1::5".parse().unwrap()));
        assert_eq!(r.gateway, Some("2001:db8::9".parse().unwrap()));
        assert_eq!(r.prefsrc, Some("2001:db8::1".parse().unwrap()));
        assert_eq!((r.oif, r.table), (Some(3), 254));
        let r = route("rtnl-route-v4-local.hex");
        assert_eq!(
            (r.kind, r.oif, r.gateway),
            (RouteType::Local, Some(1), None)
        );
        // Every field of the struct of one of them.
        let bytes = joined("rtnl-route-v6-gateway.hex");
        let Reply::Route(v) = one_reply(&bytes) else {
            panic!()
        };
        assert_eq!(
            (v.family(), v.dst_len(), v.src_len(), v.tos()),
            (AF_INET6, 128, 128, 0)
        );
        assert_eq!(
            (v.table(), v.protocol(), v.scope(), v.kind(), v.flags()),
            (254, 3, 0, RouteType::Unicast, 0)
        );
    }

    #[test]
    fn no_route_is_the_kernels_errno() {
        let bytes = joined("rtnl-route-unreachable.hex");
        assert_eq!(one_reply(&bytes), Reply::Failed(101)); // ENETUNREACH
    }

    /// The bytes `ip route get` sent for the same question (strace, and
    /// quoted back in the kernel's error reply).
    #[test]
    fn route_request_bytes_are_ips() {
        let quoted = &vector("rtnl-route-unreachable.hex")[2];
        assert_eq!(
            &route_request("192.0.2.1".parse().unwrap(), None, 7),
            quoted
        );
        let v6 = route_request("2001:db8::3".parse().unwrap(), Some(3), 9);
        assert_eq!(
            v6,
            crate::wire::hex_bytes(
                "38 00 00 00 1a 00 01 00 09 00 00 00 00 00 00 00 \
                 0a 80 00 00 00 00 00 00 00 10 00 00 \
                 14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 03 \
                 08 00 04 00 03 00 00 00"
            )
            .unwrap()
        );
    }

    /// `ip neigh show` sends the plain dump; `ip neigh show dev X` adds
    /// `NDA_IFINDEX`.
    #[test]
    fn neigh_request_bytes_are_ips() {
        assert_eq!(
            neigh_dump_request(AF_UNSPEC, None, 0x6b11_68c9),
            crate::wire::hex_bytes(
                "1c 00 00 00 1e 00 01 03 c9 68 11 6b 00 00 00 00 \
                 00 00 00 00 00 00 00 00 00 00 00 00"
            )
            .unwrap()
        );
        assert_eq!(
            neigh_dump_request(AF_INET6, Some(3), 1),
            crate::wire::hex_bytes(
                "24 00 00 00 1e 00 01 03 01 00 00 00 00 00 00 00 \
                 0a 00 00 00 00 00 00 00 00 00 00 00 \
                 08 00 08 00 03 00 00 00"
            )
            .unwrap()
        );
    }

    #[test]
    fn short_and_odd_values_read_as_none() {
        assert_eq!(RouteAttr::parse(RTA_OIF, &[1, 0]), RouteAttr::Oif(None));
        assert_eq!(
            RouteAttr::parse(RTA_GATEWAY, &[1; 5]),
            RouteAttr::Gateway(None)
        );
        assert_eq!(
            RouteAttr::parse(
                RTA_VIA,
                &[10, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
            ),
            RouteAttr::Via(Some("fe80::1".parse().unwrap()))
        );
        assert_eq!(RouteAttr::parse(RTA_VIA, &[2]), RouteAttr::Via(None));
        assert_eq!(
            NeighAttr::parse(NDA_CACHEINFO, &[0; 15]),
            NeighAttr::CacheInfo(None)
        );
        assert_eq!(NeighAttr::parse(NDA_PROBES, &[]), NeighAttr::Probes(None));
        assert_eq!(NeighAttr::parse(99, &[]), NeighAttr::Other(99));
    }

    #[test]
    fn impossible_neighbours_are_refused() {
        let mut bytes = joined("rtnl-neigh-v4-stale.hex");
        let body = nlmsghdr::SIZE;
        // A bridge (AF_BRIDGE 7) entry.
        bytes[body + ndmsg::FAMILY] = 7;
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        let Reply::Neighbour(v) = reply(&m) else {
            panic!()
        };
        assert!(Neighbour::parse(&v).is_err());
        // An IPv6 entry with an IPv4 NDA_DST.
        bytes[body + ndmsg::FAMILY] = AF_INET6;
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        let Reply::Neighbour(v) = reply(&m) else {
            panic!()
        };
        assert!(Neighbour::parse(&v).is_err());
        // No attributes at all: no address.
        let short = &joined("rtnl-neigh-v4-stale.hex")[body..body + ndmsg::SIZE];
        assert!(Neighbour::parse(&NdMsg::new_checked(short).unwrap()).is_err());
        assert!(NdMsg::new_checked(&short[..11]).is_err());
        assert!(RtMsg::new_checked(&short[..11]).is_err());
    }

    #[test]
    fn truncated_messages_are_malformed_not_a_panic() {
        let bytes = joined("rtnl-route-v4-link.hex");
        for cut in 0..bytes.len() {
            let mut b = bytes[..cut].to_vec();
            // Make the header's length agree, so the cut is inside the body.
            if cut >= nlmsghdr::SIZE {
                #[allow(clippy::cast_possible_truncation)]
                b[nlmsghdr::LEN].copy_from_slice(&(cut as u32).to_ne_bytes());
            }
            for m in Messages::new(&b).flatten() {
                match reply(&m) {
                    Reply::Route(v) => {
                        let _ = Route::parse(&v);
                    }
                    Reply::Malformed(_) => assert!(cut < nlmsghdr::SIZE + rtmsg::SIZE),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    /// Every field a reader would use, from any bytes.
    pub(crate) fn read_all(bytes: &[u8]) {
        for m in Messages::new(bytes).flatten() {
            match reply(&m) {
                Reply::Route(v) => {
                    let _ = Route::parse(&v);
                    let _ = (v.family(), v.dst_len(), v.src_len(), v.tos(), v.scope());
                    let _ = (v.table(), v.protocol(), v.flags());
                }
                Reply::Neighbour(v) => {
                    let _ = Neighbour::parse(&v);
                    let _: Vec<_> = v.attrs().collect();
                }
                _ => {}
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            read_all(&bytes);
        }

        #[test]
        fn corrupted_captures_never_panic(
            which in 0usize..4,
            at in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let name = ["rtnl-neigh-v4-stale.hex", "rtnl-neigh-v6-failed.hex",
                        "rtnl-route-v6-gateway.hex", "rtnl-route-v4-gateway.hex"][which];
            let mut b = joined(name);
            let i = at % b.len();
            b[i] = byte;
            read_all(&b);
        }
    }
}
