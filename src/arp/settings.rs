//! What `nettool arp` is asked to do, as plain data: built and validated
//! from the flags by `cmd::arp::settings`, read by the library calls in
//! [`super::run`]. Nothing here has looked at the system yet
//! except the cache view's interface name: which interface and source
//! address a probe uses is resolved by the call itself.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::sweep::Plan;
use crate::addr::Cidr;

/// One `nettool arp` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub job: Job,
    /// `--json`: one document at the end instead of lines and tables.
    pub json: bool,
    /// `-q`: no per-reply lines and no sweep table, only the summary.
    pub quiet: bool,
}

/// The four things `nettool arp` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Ask for an address (arping), or check it is free (`-D`).
    Probe(ProbeSettings),
    /// Gratuitous ARP for an address of ours (`-U`, `-A`).
    Announce(AnnounceSettings),
    /// Ask every address of networks (a CIDR, or `--localnet`).
    Sweep(SweepSettings),
    /// Ask every IPv6 node on the link at once (`--localnet -6`).
    Local6(Local6Settings),
    /// Show the kernel's neighbour table (`-a`, or no target).
    Cache(CacheSettings),
}

#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "flags: each bool is one independent switch"
)]
pub struct ProbeSettings {
    /// IPv4 (ARP) or IPv6 (NDP): neither multicast nor unspecified.
    pub target: IpAddr,
    /// Duplicate address detection: sender 0.0.0.0 (`::`), stop at the
    /// first reply.
    pub dad: bool,
    /// `-I` or the target's zone; else the interface of the route to
    /// `target`.
    pub interface: Option<String>,
    /// `-s`, to be one of the interface's addresses, of the target's
    /// family; always `None` with `dad` (it asks from 0.0.0.0 or `::`).
    pub source: Option<IpAddr>,
    pub count: Option<u64>,
    pub interval: Duration,
    pub deadline: Option<Duration>,
    /// `-f`: stop at the first reply.
    pub first: bool,
    /// `-d`: a duplicate or invalid reply makes the run fail.
    pub strict: bool,
    /// `--unicast`: after the first reply, ask its MAC directly.
    pub unicast: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnnounceSettings {
    /// The address of ours to announce, and on which interface.
    pub addr: OurAddr,
    /// `-A`: the announcement is a reply, not a request.
    pub as_reply: bool,
    pub count: Option<u64>,
    pub interval: Duration,
    pub deadline: Option<Duration>,
}

/// Which address of ours an announcement is for.
#[derive(Debug, Clone, PartialEq)]
pub enum OurAddr {
    /// `-s ADDR`, else TARGET, on `-I` or else the interface of the route
    /// to it (IPv4) or that holds it (IPv6): an unsolicited neighbour
    /// advertisement for IPv6.
    Given {
        addr: IpAddr,
        interface: Option<String>,
    },
    /// `-I IFACE` alone: its first IPv4 address.
    FirstOf(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    pub networks: Networks,
    /// `-I`; else the interface of the route to the first network (or, for
    /// `--localnet`, of the default route).
    pub interface: Option<String>,
    /// `-s`, to be one of the interface's addresses.
    pub source: Option<Ipv4Addr>,
    pub plan: Plan,
}

/// `--localnet -6`: an echo request to all nodes, from each of our
/// IPv6 addresses on the interface.
#[derive(Debug, Clone, PartialEq)]
pub struct Local6Settings {
    /// `-I`; else the interface of the default route.
    pub interface: Option<String>,
    pub plan: super::local6::Plan6,
}

/// Which networks a sweep asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Networks {
    /// Given on the command line: IPv4, each at most
    /// /[`super::sweep::MAX_SWEEP_PREFIX`] wide.
    Given(Vec<Cidr>),
    /// `--localnet`: every IPv4 network on the interface.
    Local,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    /// Only this interface's entries (`-I`); checked to exist.
    pub interface: Option<String>,
    /// Only this family's entries (`-4`, `-6`); `None`: both.
    pub family: Option<crate::neigh::Family>,
    /// `-n`: no names from /etc/hosts.
    pub numeric: bool,
}
