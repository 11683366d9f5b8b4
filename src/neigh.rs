//! The kernel's view of the local network, over rtnetlink: which way a
//! packet to an address goes ([`route_to`], as `ip route get`), and what
//! the neighbour table (ARP for IPv4, NDP for IPv6) holds ([`neighbours`],
//! [`lookup`], as `ip neigh`).
//!
//! Each call opens one `NETLINK_ROUTE` socket ([`crate::sys::netlink`]) in
//! the calling thread's network namespace, sends one request and reads the
//! answer: a route lookup is one round trip, a neighbour lookup one dump of
//! one interface's entries. The bytes are [`crate::wire::rtnetlink`]'s;
//! messages that are not answers to our request (another sequence number)
//! are ignored, entries of other families (bridge fdb) are skipped.
//! Nothing is sent on any network: the kernel answers from its tables.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::netlink::{Netlink, Protocol};
use crate::wire::rtnetlink::{
    self, AF_UNSPEC, NdMsg, Neighbour, Reply, Route, neigh_dump_request, route_request,
};
use crate::wire::sock_diag::{AF_INET, AF_INET6, Messages};

/// An address family, for a neighbour dump. IPv4 sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// ARP entries.
    V4,
    /// NDP entries.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// `ipv4` or `ipv6`, as the JSON says it.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

/// Route replies quote no more than a few hundred bytes, neighbour dump
/// datagrams are sized to what we read (32 KiB at most, the kernel's cap).
const BUF_LEN: usize = 64 * 1024;

fn next_seq() -> u32 {
    static SEQ: AtomicU32 = AtomicU32::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn invalid(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The route the kernel would use now for a packet to `addr` (out of
/// interface `oif` when given, as a socket bound to it or an IPv6 scope
/// would): what `ip route get ADDR [oif DEV]` prints.
///
/// # Errors
/// The kernel's: `ENETUNREACH` (no route), `ENODEV` (no such `oif`), ...;
/// or what the netlink socket failed with.
pub fn route_to(addr: IpAddr, oif: Option<u32>) -> io::Result<Route> {
    let sock = Netlink::open(Protocol::Route)?;
    let seq = next_seq();
    sock.send(&route_request(addr, oif, seq))?;
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let datagram = sock.recv(&mut buf)?;
        if let Some(route) = route_in(datagram, seq)? {
            return Ok(route);
        }
    }
}

/// The answer to route request `seq` in one datagram, if it holds it.
///
/// # Errors
/// The kernel's errno, or a reply that does not frame.
pub fn route_in(datagram: &[u8], seq: u32) -> io::Result<Option<Route>> {
    if datagram.is_empty() {
        return Err(invalid("empty netlink datagram"));
    }
    for msg in Messages::new(datagram) {
        let msg = msg.map_err(|_| invalid("netlink reply does not frame"))?;
        if msg.seq() != seq {
            continue;
        }
        match rtnetlink::reply(&msg) {
            Reply::Route(m) => return Ok(Some(Route::parse(&m))),
            Reply::Failed(errno) => return Err(io::Error::from_raw_os_error(errno)),
            Reply::Malformed(why) => return Err(invalid(why)),
            Reply::Done => return Err(invalid("route lookup answered by NLMSG_DONE")),
            Reply::Neighbour(_) | Reply::Skip => {}
        }
    }
    Ok(None)
}

/// The neighbour table: every entry of `family` (`None`: IPv4 and IPv6),
/// of interface `ifindex` only when given, as `ip neigh show nud all`
/// lists them, in the kernel's order.
///
/// # Errors
/// The kernel's errno, or what the netlink socket failed with.
pub fn neighbours(family: Option<Family>, ifindex: Option<u32>) -> io::Result<Vec<Neighbour>> {
    let mut out = Vec::new();
    dump(family, ifindex, &mut |n| {
        out.push(n);
        true
    })?;
    Ok(out)
}

/// The entry for `addr` on interface `ifindex`, if the kernel has one.
///
/// # Errors
/// As [`neighbours`].
pub fn lookup(addr: IpAddr, ifindex: u32) -> io::Result<Option<Neighbour>> {
    let mut found = None;
    dump(Some(Family::of(addr)), Some(ifindex), &mut |n| {
        if n.addr == addr && n.ifindex == ifindex {
            found = Some(n);
        }
        // The dump is read to its end all the same: the socket is closed
        // after, and a half-read dump costs nothing more.
        true
    })?;
    Ok(found)
}

/// One neighbour dump, each entry handed to `on` (which says whether it
/// wants more; the dump is still read to its end).
fn dump(
    family: Option<Family>,
    ifindex: Option<u32>,
    on: &mut dyn FnMut(Neighbour) -> bool,
) -> io::Result<()> {
    let af = match family {
        None => AF_UNSPEC,
        Some(Family::V4) => AF_INET,
        Some(Family::V6) => AF_INET6,
    };
    let sock = Netlink::open(Protocol::Route)?;
    let seq = next_seq();
    sock.send(&neigh_dump_request(af, ifindex, seq))?;
    let mut buf = vec![0u8; BUF_LEN];
    let mut wanted = true;
    let mut keep = |n: Neighbour| {
        // A kernel that ignores NDA_IFINDEX (older than 4.20) sends all.
        if wanted && ifindex.is_none_or(|i| i == n.ifindex) {
            wanted = on(n);
        }
    };
    loop {
        let datagram = sock.recv(&mut buf)?;
        if neighbours_in(datagram, seq, &mut keep)? {
            return Ok(());
        }
    }
}

/// The entries of neighbour dump `seq` in one datagram, each handed to
/// `on`; `true` once the dump's end was seen. An entry that does not parse
/// (another family, no address) is skipped.
///
/// # Errors
/// The kernel's errno, or a datagram that does not frame.
pub fn neighbours_in(datagram: &[u8], seq: u32, on: &mut dyn FnMut(Neighbour)) -> io::Result<bool> {
    if datagram.is_empty() {
        return Err(invalid("empty netlink datagram"));
    }
    for msg in Messages::new(datagram) {
        let msg = msg.map_err(|_| invalid("netlink reply does not frame"))?;
        if msg.seq() != seq {
            continue;
        }
        match rtnetlink::reply(&msg) {
            Reply::Neighbour(m) => {
                if let Ok(n) = Neighbour::parse(&m) {
                    on(n);
                }
            }
            Reply::Done => return Ok(true),
            Reply::Failed(errno) => return Err(io::Error::from_raw_os_error(errno)),
            Reply::Malformed(why) => return Err(invalid(why)),
            Reply::Route(_) | Reply::Skip => {}
        }
    }
    Ok(false)
}

/// Parse one `ndmsg` payload (for tests and fuzzing of the value layer).
///
/// # Errors
/// As [`Neighbour::parse`].
pub fn parse_neighbour(payload: &[u8]) -> Result<Neighbour, crate::wire::WireError> {
    Neighbour::parse(&NdMsg::new_checked(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rtnetlink::{NudState, RouteType};
    use crate::wire::tests::vector;

    fn datagram(names: &[&str]) -> Vec<u8> {
        names.iter().flat_map(|n| vector(n).concat()).collect()
    }

    #[test]
    fn a_dump_datagram_gives_its_entries_until_done() {
        let mut d = datagram(&["rtnl-neigh-v4-stale.hex", "rtnl-neigh-v4-failed.hex"]);
        let mut seen = Vec::new();
        assert!(!neighbours_in(&d, 7, &mut |n| seen.push(n)).unwrap());
        assert_eq!(
            seen.iter().map(|n| n.state).collect::<Vec<_>>(),
            [NudState::Stale, NudState::Failed]
        );
        // Another request's messages are not ours.
        seen.clear();
        assert!(!neighbours_in(&d, 8, &mut |n| seen.push(n)).unwrap());
        assert!(seen.is_empty());
        // NLMSG_DONE (status 0) ends it.
        d.extend(
            crate::wire::hex_bytes("14 00 00 00 03 00 02 00 07 00 00 00 00 00 00 00 00 00 00 00")
                .unwrap(),
        );
        assert!(neighbours_in(&d, 7, &mut |n| seen.push(n)).unwrap());
        assert_eq!(seen.len(), 2);
        assert!(neighbours_in(&[], 7, &mut |_| {}).is_err());
    }

    #[test]
    fn a_route_reply_or_the_kernels_errno() {
        let d = datagram(&["rtnl-route-v4-link.hex"]);
        let r = route_in(&d, 7).unwrap().unwrap();
        assert_eq!(
            (r.kind, r.oif, r.gateway),
            (RouteType::Unicast, Some(3), None)
        );
        assert!(route_in(&d, 6).unwrap().is_none());
        let e = route_in(&datagram(&["rtnl-route-unreachable.hex"]), 7).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(crate::sys::errno::ENETUNREACH));
    }

    /// The kernel of this test's namespace: loopback is a local route, and
    /// a neighbour dump of `lo` works (whatever it holds).
    #[test]
    fn the_kernel_answers_for_loopback() {
        let r = route_to("127.0.0.1".parse().unwrap(), None).unwrap();
        assert_eq!(r.kind, RouteType::Local);
        let lo = crate::sys::interface_index("lo").unwrap();
        for n in neighbours(None, Some(lo)).unwrap() {
            assert_eq!(n.ifindex, lo);
        }
        assert!(lookup("127.0.0.2".parse().unwrap(), lo).unwrap().is_none());
    }
}
