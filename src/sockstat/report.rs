//! What [`super::run`] returns: the rows (with their owners), or the
//! summary. Plain data; its `Serialize` is the JSON document of README's
//! schemas `nettool.sockstat/1` and `nettool.sockstat.summary/1`, one
//! [`SocketRecord`] per socket, so every renderer shows the same fields.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::model::{Endpoint, Proto, Socket, TimerKind, UnixKind, UnixName};
use super::netns::Netns;
use super::owner::OwnerMap;
use super::summary::Summary;

/// The listing's JSON schema.
pub const SCHEMA: &str = "nettool.sockstat/1";
/// The summary's JSON schema (`-s --json`).
pub const SUMMARY_SCHEMA: &str = "nettool.sockstat.summary/1";

#[derive(Debug)]
pub enum Report {
    /// The rows that passed the filters.
    Sockets(Listing),
    /// `-s`: counts, the kernel's figures, the diagnosis.
    Summary(Summary),
}

#[derive(Debug)]
pub struct Listing {
    /// In source order: tables as asked for, rows as the kernel gave them.
    pub sockets: Vec<Socket>,
    /// With `-p`: every holder of every listed socket.
    pub owners: Option<OwnerMap>,
    /// Processes whose descriptors could not be read (not ours, and we are
    /// not root), counted only when some listed socket has no owner found:
    /// 0 when nothing is missing.
    pub uninspected: usize,
    /// With `-N`/`--all-netns`: the namespace of every row, span by span,
    /// in order (the spans' `rows` add up to `sockets.len()`); empty
    /// otherwise.
    pub namespaces: Vec<Span>,
}

/// `rows` consecutive rows of a listing, all from `netns`.
#[derive(Debug)]
pub struct Span {
    pub netns: Netns,
    pub rows: usize,
}

impl Listing {
    /// The JSON record of every socket, in order.
    pub fn records(&self) -> impl Iterator<Item = SocketRecord<'_>> {
        self.sockets
            .iter()
            .zip(self.row_namespaces())
            .map(|(s, ns)| {
                let mut r = SocketRecord::new(s, self.owners.as_ref());
                r.netns = ns;
                r
            })
    }

    /// The namespace of each row, in order: `None` for every row without
    /// `-N`/`--all-netns`.
    pub fn row_namespaces(&self) -> impl Iterator<Item = Option<&Netns>> {
        self.namespaces
            .iter()
            .flat_map(|sp| std::iter::repeat_n(Some(&sp.netns), sp.rows))
            .chain(std::iter::repeat(None))
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Report::Sockets(l) => l.serialize(ser),
            Report::Summary(summary) => SummaryDocument {
                schema: SUMMARY_SCHEMA,
                summary,
            }
            .serialize(ser),
        }
    }
}

impl Serialize for Listing {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(2))?;
        m.serialize_entry("schema", SCHEMA)?;
        m.serialize_entry("sockets", &Records(self))?;
        m.end()
    }
}

struct Records<'a>(&'a Listing);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.0.sockets.len()))?;
        for r in self.0.records() {
            seq.serialize_element(&r)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct SummaryDocument<'a> {
    schema: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// One socket in JSON (README documents the fields). Addresses are always
/// numeric; it borrows from the socket, so writing a row allocates only
/// the address text.
#[derive(Debug, Serialize)]
pub struct SocketRecord<'a> {
    proto: &'static str,
    family: &'static str,
    state: &'static str,
    /// `null` where the source cannot know (see `Socket`).
    recv_q: Option<u32>,
    send_q: Option<u32>,
    local: EndpointRecord<'a>,
    remote: EndpointRecord<'a>,
    uid: Option<u32>,
    inode: u64,
    timer: Option<TimerRecord>,
    unix_type: Option<&'static str>,
    peer_inode: Option<u64>,
    processes: Option<Vec<ProcessRecord<'a>>>,
    /// Only with `-N`/`--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a Netns>,
}

#[derive(Debug, Serialize)]
struct EndpointRecord<'a> {
    address: Option<String>,
    port: Option<u16>,
    path: Option<&'a str>,
    #[serde(rename = "abstract")]
    abstract_name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct TimerRecord {
    kind: &'static str,
    expires_ms: u64,
    retransmits: u32,
}

#[derive(Debug, Serialize)]
struct ProcessRecord<'a> {
    pid: u32,
    fd: u32,
    command: &'a str,
}

impl<'a> SocketRecord<'a> {
    /// `owners` is `None` without `-p` (the field is then `null`).
    pub fn new(s: &'a Socket, owners: Option<&'a OwnerMap>) -> SocketRecord<'a> {
        SocketRecord {
            proto: s.proto_label(),
            family: match (s.proto, s.v6) {
                (Proto::Unix, _) => "unix",
                (_, true) => "inet6",
                (_, false) => "inet",
            },
            state: s.state_label(),
            recv_q: s.recv_q,
            send_q: s.send_q,
            local: EndpointRecord::new(&s.local),
            remote: EndpointRecord::new(&s.remote),
            uid: s.uid,
            inode: s.inode,
            timer: s
                .timer
                .filter(|t| t.kind != TimerKind::Off)
                .map(|t| TimerRecord {
                    kind: t.kind.name(),
                    expires_ms: t.expires_ms,
                    retransmits: t.retrans,
                }),
            unix_type: s.unix_kind.map(UnixKind::name),
            // The kernel says 0 for a peer it cannot name (not accepted yet, or gone).
            peer_inode: s.peer_inode.filter(|&p| p != 0),
            processes: owners.map(|m| {
                m.get(s.inode)
                    .map(|o| ProcessRecord {
                        pid: o.pid,
                        fd: o.fd,
                        command: o.command,
                    })
                    .collect()
            }),
            netns: None,
        }
    }
}

impl<'a> EndpointRecord<'a> {
    fn new(ep: &'a Endpoint) -> EndpointRecord<'a> {
        let mut j = EndpointRecord {
            address: None,
            port: None,
            path: None,
            abstract_name: None,
        };
        match ep {
            Endpoint::Inet(sa) => {
                j.address = Some(sa.ip().to_string());
                j.port = Some(sa.port());
            }
            Endpoint::Unix(UnixName::Path(p)) => j.path = Some(p),
            Endpoint::Unix(UnixName::Abstract(a)) => j.abstract_name = Some(a),
            Endpoint::Unix(UnixName::Unnamed) => {}
        }
        j
    }
}
