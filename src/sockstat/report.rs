//! What [`super::run`] returns: the rows (with their owners), or the
//! summary. Plain data; its `Serialize` is the JSON document of README's
//! schemas `nettool.sockstat/1` and `nettool.sockstat.summary/1`, one
//! [`SocketRecord`] per socket, so every renderer shows the same fields.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::Extensions;
use super::model::{Endpoint, Internals, Proto, Socket, TimerKind, UnixKind, UnixName};
use super::netns::Netns;
use super::owner::OwnerMap;
use super::summary::Summary;
use crate::wire::sock_diag::SkMemInfo;
use crate::wire::tcp_info::{self as ti, TcpInfoBytes};

/// The listing's JSON schema.
pub const SCHEMA: &str = "nettool.sockstat/1";
/// The summary's JSON schema (`-s --json`).
pub const SUMMARY_SCHEMA: &str = "nettool.sockstat.summary/1";
/// `--diagnose --json`'s schema.
pub const DIAGNOSIS_SCHEMA: &str = "nettool.sockstat.diagnosis/1";

#[derive(Debug)]
pub enum Report {
    /// The rows that passed the filters.
    Sockets(Listing),
    /// `-s`: counts, the kernel's figures, the diagnosis.
    Summary(Summary),
    /// `--diagnose`: the findings.
    Diagnosis(Diagnosis),
}

/// What `--diagnose` found, most severe first.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub findings: Vec<super::diagnose::Finding>,
    /// Between the two readings (the longest of any namespace's).
    pub interval_s: f64,
    /// TCP and UDP sockets looked at (the second reading).
    pub sockets: u64,
    /// Namespaces looked at, with `-N`/`--all-netns` (else 0).
    pub namespaces: usize,
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
    /// `-i`/`-m`: each record then has `tcp_info`/`memory` (`null` where
    /// the kernel sent none); without them the keys are left out.
    pub extensions: Extensions,
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
                let mut r =
                    SocketRecord::new(s, self.owners.as_ref()).with_internals(s, self.extensions);
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
            Report::Diagnosis(d) => DiagnosisDocument {
                schema: DIAGNOSIS_SCHEMA,
                diagnosis: d,
            }
            .serialize(ser),
        }
    }
}

#[derive(Serialize)]
struct DiagnosisDocument<'a> {
    schema: &'static str,
    #[serde(flatten)]
    diagnosis: &'a Diagnosis,
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
    /// With `-i` only (`null` where the kernel sent none: not TCP,
    /// `TIME_WAIT`, a request socket).
    #[serde(skip_serializing_if = "Asked::is_not_asked")]
    tcp_info: Asked<TcpInfoRecord<'a>>,
    /// With `-m` only, as `tcp_info`.
    #[serde(skip_serializing_if = "Asked::is_not_asked")]
    memory: Asked<MemoryRecord>,
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
            tcp_info: Asked::NotAsked,
            memory: Asked::NotAsked,
        }
    }

    /// Adds `netns` (with `-N`/`--all-netns`): the record's namespace.
    #[must_use]
    pub fn with_netns(mut self, ns: Option<&'a Netns>) -> SocketRecord<'a> {
        self.netns = ns;
        self
    }

    /// Adds `tcp_info` (with `ext.info`) and `memory` (with `ext.memory`)
    /// from `s`, which must be the record's socket.
    #[must_use]
    pub fn with_internals(mut self, s: &'a Socket, ext: Extensions) -> SocketRecord<'a> {
        let i = s.internals.as_deref();
        if ext.info {
            self.tcp_info = Asked::Got(i.and_then(TcpInfoRecord::new));
        }
        if ext.memory {
            self.memory = Asked::Got(i.and_then(|i| i.memory).map(MemoryRecord::new));
        }
        self
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

/// `-i`: the kernel's `tcp_info` and congestion control, every field named
/// with its unit (README lists them). `null`: the kernel did not send the
/// field (an older kernel's shorter struct), or a rate is unlimited.
#[derive(Debug, Serialize)]
struct TcpInfoRecord<'a> {
    congestion: Option<std::borrow::Cow<'a, str>>,
    ca_state: Option<&'static str>,
    retransmits: Option<u8>,
    probes: Option<u8>,
    backoff: Option<u8>,
    options: Option<TcpOptions>,
    snd_wscale: Option<u8>,
    rcv_wscale: Option<u8>,
    rto_us: Option<u32>,
    ato_us: Option<u32>,
    rtt_us: Option<u32>,
    rttvar_us: Option<u32>,
    min_rtt_us: Option<u32>,
    rcv_rtt_us: Option<u32>,
    #[serde(rename = "snd_mss_bytes")]
    snd_mss: Option<u32>,
    #[serde(rename = "rcv_mss_bytes")]
    rcv_mss: Option<u32>,
    #[serde(rename = "advmss_bytes")]
    advmss: Option<u32>,
    #[serde(rename = "pmtu_bytes")]
    pmtu: Option<u32>,
    #[serde(rename = "snd_cwnd_segs")]
    snd_cwnd: Option<u32>,
    #[serde(rename = "snd_ssthresh_segs")]
    snd_ssthresh: Option<u32>,
    #[serde(rename = "rcv_ssthresh_bytes")]
    rcv_ssthresh: Option<u32>,
    #[serde(rename = "rcv_space_bytes")]
    rcv_space: Option<u32>,
    #[serde(rename = "snd_wnd_bytes")]
    snd_wnd: Option<u32>,
    #[serde(rename = "rcv_wnd_bytes")]
    rcv_wnd: Option<u32>,
    #[serde(rename = "unacked_segs")]
    unacked: Option<u32>,
    #[serde(rename = "sacked_segs")]
    sacked: Option<u32>,
    #[serde(rename = "lost_segs")]
    lost: Option<u32>,
    #[serde(rename = "retrans_segs")]
    retrans: Option<u32>,
    #[serde(rename = "total_retrans_segs")]
    total_retrans: Option<u32>,
    #[serde(rename = "reordering_segs")]
    reordering: Option<u32>,
    reord_seen: Option<u32>,
    dsack_dups: Option<u32>,
    rcv_ooopack: Option<u32>,
    bytes_sent: Option<u64>,
    bytes_acked: Option<u64>,
    bytes_received: Option<u64>,
    bytes_retrans: Option<u64>,
    notsent_bytes: Option<u32>,
    segs_out: Option<u32>,
    segs_in: Option<u32>,
    data_segs_out: Option<u32>,
    data_segs_in: Option<u32>,
    #[serde(rename = "delivered_segs")]
    delivered: Option<u32>,
    #[serde(rename = "delivered_ce_segs")]
    delivered_ce: Option<u32>,
    delivery_rate_bytes_per_s: Option<u64>,
    app_limited: Option<bool>,
    pacing_rate_bytes_per_s: Option<u64>,
    max_pacing_rate_bytes_per_s: Option<u64>,
    busy_time_us: Option<u64>,
    rwnd_limited_us: Option<u64>,
    sndbuf_limited_us: Option<u64>,
    last_data_sent_ms: Option<u32>,
    last_data_recv_ms: Option<u32>,
    last_ack_recv_ms: Option<u32>,
    rehash: Option<u32>,
    total_rto: Option<u16>,
    total_rto_recoveries: Option<u16>,
    total_rto_time_ms: Option<u32>,
    received_ce: Option<u32>,
    fastopen_client_fail: Option<u8>,
}

/// A rate in bytes per second, `None` for the kernel's "no limit" (`~0`).
pub fn limited_rate(rate: Option<u64>) -> Option<u64> {
    rate.filter(|&r| r != u64::MAX)
}

impl<'a> TcpInfoRecord<'a> {
    /// `None` when the kernel sent neither the struct nor the name.
    fn new(i: &'a Internals) -> Option<TcpInfoRecord<'a>> {
        let congestion = i.congestion.as_ref().map(|c| c.as_str());
        if i.tcp_info.is_none() && congestion.is_none() {
            return None;
        }
        // An empty view reads every field as absent.
        let empty = ti::TcpInfo::new(TcpInfoBytes::new(&[]));
        let t = i.tcp_info.as_ref().unwrap_or(&empty);
        Some(TcpInfoRecord {
            congestion,
            ca_state: t.ca_state().map(ti::CaState::name),
            retransmits: t.retransmits(),
            probes: t.probes(),
            backoff: t.backoff(),
            options: t.options().map(TcpOptions),
            snd_wscale: t.snd_wscale(),
            rcv_wscale: t.rcv_wscale(),
            rto_us: t.rto_us(),
            ato_us: t.ato_us(),
            rtt_us: t.rtt_us(),
            rttvar_us: t.rttvar_us(),
            min_rtt_us: t.min_rtt_us(),
            rcv_rtt_us: t.rcv_rtt_us(),
            snd_mss: t.snd_mss(),
            rcv_mss: t.rcv_mss(),
            advmss: t.advmss(),
            pmtu: t.pmtu(),
            snd_cwnd: t.snd_cwnd(),
            snd_ssthresh: t.snd_ssthresh(),
            rcv_ssthresh: t.rcv_ssthresh(),
            rcv_space: t.rcv_space(),
            snd_wnd: t.snd_wnd(),
            rcv_wnd: t.rcv_wnd(),
            unacked: t.unacked(),
            sacked: t.sacked(),
            lost: t.lost(),
            retrans: t.retrans(),
            total_retrans: t.total_retrans(),
            reordering: t.reordering(),
            reord_seen: t.reord_seen(),
            dsack_dups: t.dsack_dups(),
            rcv_ooopack: t.rcv_ooopack(),
            bytes_sent: t.bytes_sent(),
            bytes_acked: t.bytes_acked(),
            bytes_received: t.bytes_received(),
            bytes_retrans: t.bytes_retrans(),
            notsent_bytes: t.notsent_bytes(),
            segs_out: t.segs_out(),
            segs_in: t.segs_in(),
            data_segs_out: t.data_segs_out(),
            data_segs_in: t.data_segs_in(),
            delivered: t.delivered(),
            delivered_ce: t.delivered_ce(),
            delivery_rate_bytes_per_s: t.delivery_rate(),
            app_limited: t.delivery_rate_app_limited(),
            pacing_rate_bytes_per_s: limited_rate(t.pacing_rate()),
            max_pacing_rate_bytes_per_s: limited_rate(t.max_pacing_rate()),
            busy_time_us: t.busy_time_us(),
            rwnd_limited_us: t.rwnd_limited_us(),
            sndbuf_limited_us: t.sndbuf_limited_us(),
            last_data_sent_ms: t.last_data_sent_ms(),
            last_data_recv_ms: t.last_data_recv_ms(),
            last_ack_recv_ms: t.last_ack_recv_ms(),
            rehash: t.rehash(),
            total_rto: t.total_rto(),
            total_rto_recoveries: t.total_rto_recoveries(),
            total_rto_time_ms: t.total_rto_time_ms(),
            received_ce: t.received_ce(),
            fastopen_client_fail: t.fastopen_client_fail(),
        })
    }
}

/// The `TCPI_OPT_*` bits, written as a list of names.
#[derive(Debug, Clone, Copy)]
struct TcpOptions(u8);

/// Each `TCPI_OPT_*` bit and its name, in bit order.
pub const TCP_OPTION_NAMES: [(u8, &str); 8] = [
    (ti::TCPI_OPT_TIMESTAMPS, "ts"),
    (ti::TCPI_OPT_SACK, "sack"),
    (ti::TCPI_OPT_WSCALE, "wscale"),
    (ti::TCPI_OPT_ECN, "ecn"),
    (ti::TCPI_OPT_ECN_SEEN, "ecn_seen"),
    (ti::TCPI_OPT_SYN_DATA, "syn_data"),
    (ti::TCPI_OPT_USEC_TS, "usec_ts"),
    (ti::TCPI_OPT_TFO_CHILD, "tfo_child"),
];

impl Serialize for TcpOptions {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let names = TCP_OPTION_NAMES.iter().filter(|(bit, _)| self.0 & bit != 0);
        let mut seq = ser.serialize_seq(None)?;
        for (_, name) in names {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// `-m`: `SK_MEMINFO_*`, in bytes but `drops` (packets).
#[derive(Debug, Serialize)]
struct MemoryRecord {
    rmem_alloc_bytes: Option<u32>,
    rcvbuf_bytes: Option<u32>,
    wmem_alloc_bytes: Option<u32>,
    sndbuf_bytes: Option<u32>,
    fwd_alloc_bytes: Option<u32>,
    wmem_queued_bytes: Option<u32>,
    optmem_bytes: Option<u32>,
    backlog_bytes: Option<u32>,
    drops: Option<u32>,
}

impl MemoryRecord {
    fn new(m: SkMemInfo) -> MemoryRecord {
        MemoryRecord {
            rmem_alloc_bytes: m.rmem_alloc,
            rcvbuf_bytes: m.rcvbuf,
            wmem_alloc_bytes: m.wmem_alloc,
            sndbuf_bytes: m.sndbuf,
            fwd_alloc_bytes: m.fwd_alloc,
            wmem_queued_bytes: m.wmem_queued,
            optmem_bytes: m.optmem,
            backlog_bytes: m.backlog,
            drops: m.drops,
        }
    }
}

/// A key of a record that only some flags add: left out when not asked
/// for, else the value or `null`.
#[derive(Debug)]
enum Asked<T> {
    NotAsked,
    Got(Option<T>),
}

impl<T> Asked<T> {
    fn is_not_asked(&self) -> bool {
        matches!(self, Asked::NotAsked)
    }
}

impl<T: Serialize> Serialize for Asked<T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Asked::NotAsked | Asked::Got(None) => ser.serialize_none(),
            Asked::Got(Some(v)) => v.serialize(ser),
        }
    }
}
