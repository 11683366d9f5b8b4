//! `nettool arp`: flags -> [`Settings`] -> a call in `arp::run` (probe,
//! announce, sweep or cache view) -> lines, table or JSON from its report.

use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use super::usage;
use crate::Status;
use crate::addr::{self, Cidr, Host};
use crate::arp::link::Drops;
use crate::arp::local6::Plan6;
use crate::arp::probe::{MAX_MACS, NAMED, Sample};
use crate::arp::report::{AnnounceReport, CacheReport, Local6Report, ProbeReport, SweepReport};
use crate::arp::run::{self, SweepEvent};
use crate::arp::sweep::{MAX_RETRIES, MAX_SWEEP_PREFIX, Plan};
use crate::arp::{
    self, AnnounceSettings, CacheSettings, Event, Job, Local6Settings, Networks, OurAddr,
    ProbeSettings, Settings, SweepSettings,
};
use crate::cli::{ArpArgs, MetricsArgs};
use crate::neigh::Family;
use crate::output::table::{Align, Table};
use crate::output::{self, Out, prometheus};
use crate::wire::MacAddr;

/// The clock every RTT comes from, said in the summary and the JSON.
const CLOCK: &str =
    "CLOCK_MONOTONIC in user space, from the request handed to the kernel to the reply read";

/// A library error for the user: setup problems are usage errors (exit
/// 2), a link failing mid-run is exit 1.
fn fail(e: arp::Error) -> anyhow::Error {
    match e {
        arp::Error::Setup(e) => usage(e.to_string()),
        arp::Error::Io(e) => e.into(),
        e @ arp::Error::Cache(_) => e.into(),
    }
}

/// Seconds for `-i` and `-w`.
const SECONDS: RangeInclusive<f64> = 0.001..=86_400.0;

/// `v` (as the user wrote it: `text`) checked by the shared validator;
/// the error keeps arp's words, with an example.
fn seconds(flag: &str, v: Option<f64>, text: &str) -> Result<Duration> {
    v.and_then(|v| super::seconds(flag, v, SECONDS, false).ok())
        .ok_or_else(|| {
            usage(format!(
                "{flag} {text}: give 0.001 to 86400 seconds, fractions allowed (e.g. 0.2)"
            ))
        })
}

/// A probe's or an announcement's address: IPv4 (ARP) or IPv6 (NDP),
/// with its zone (`fe80::2%eth0`: the interface, by name or index) if
/// written. Multicast and unspecified IPv6 addresses have no one link-layer
/// owner to ask about and are refused, as are ports and names.
fn parse_target(s: &str) -> Result<(IpAddr, Option<String>)> {
    if let Ok(addr::Split {
        host,
        port: Some(_),
        ..
    }) = addr::split_host_port(s)
        && let Ok(Host::Ip(ip)) = Host::parse(host)
    {
        return Err(usage(format!(
            "'{s}': {} takes an address, not address:port: give {ip}",
            proto(ip)
        )));
    }
    let (ip, zone) = match Host::parse(s) {
        Ok(Host::Ip(IpAddr::V4(ip))) => return Ok((IpAddr::V4(ip), None)),
        Ok(Host::Ip(IpAddr::V6(ip))) => (ip, None),
        Ok(Host::Zoned { ip, zone }) => (ip, Some(zone_name(s, zone)?)),
        _ if s.contains(':') => {
            return Err(usage(format!(
                "'{s}' is not an IP address: write e.g. 198.51.100.2, 2001:db8::2, or fe80::2%eth0 for a link-local neighbour"
            )));
        }
        _ => {
            return Err(usage(format!(
                "'{s}' is not an IPv4 address or network: write e.g. 198.51.100.2 or 198.51.100.0/24 (names are not resolved)"
            )));
        }
    };
    check_v6_target(ip)?;
    Ok((IpAddr::V6(ip), zone))
}

/// Refuse IPv6 addresses no single neighbour holds.
fn check_v6_target(ip: Ipv6Addr) -> Result<()> {
    if ip.is_multicast() {
        return Err(usage(format!(
            "{ip} is a multicast group, not a neighbour: give a unicast IPv6 address"
        )));
    }
    if ip.is_unspecified() {
        return Err(usage(
            ":: is the unspecified address, not a neighbour: give a unicast IPv6 address",
        ));
    }
    Ok(())
}

/// A zone as an interface name: a name as written, an index looked up.
fn zone_name(s: &str, zone: &str) -> Result<String> {
    if zone.is_empty() {
        return Err(usage(format!(
            "'{s}': the zone after % is empty: give an interface, e.g. fe80::2%eth0"
        )));
    }
    match zone.parse::<u32>() {
        Ok(n) => crate::sys::interface_name(n).ok_or_else(|| {
            usage(format!(
                "'{s}': no interface with index {n} here (see `ip link`)"
            ))
        }),
        Err(_) => Ok(zone.to_string()),
    }
}

/// The protocol that asks for `ip`.
fn proto(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ARP" } else { "NDP" }
}

/// An IPv4 network, `ADDR/LEN`. An IPv6 one is refused with the way to
/// find a link's IPv6 neighbours: a /64 cannot be swept.
fn parse_ipv4_net(s: &str) -> Result<Cidr> {
    match Cidr::parse(s) {
        Ok(n) if n.addr().is_ipv4() => Ok(n),
        Ok(_) => Err(usage(format!(
            "'{s}' is an IPv6 network, which cannot be swept address by address: to find the link's IPv6 neighbours give --localnet -6 [-I IFACE]"
        ))),
        Err(_) => Err(usage(format!(
            "'{s}' is not an IPv4 network: write ADDR/LEN, e.g. 198.51.100.0/24"
        ))),
    }
}

/// The validated settings of one run, from the flags. Everything that
/// needs no look at the system is checked here; the cache view's
/// interface is checked to exist too (any kind: the cache shows loopback
/// and NOARP entries).
///
/// # Errors
/// A [`UsageError`](crate::UsageError) saying which flag is wrong and what to give.
pub fn settings(a: &ArpArgs) -> Result<Settings> {
    if a.interface.len() > 1 {
        return Err(usage(
            "-I given more than once: only --watch watches several interfaces",
        ));
    }
    if a.count == Some(0) {
        return Err(usage("-c 0: give a count of at least 1"));
    }
    if !(a.timeout.is_finite() && a.timeout >= 0.0 && a.timeout <= 60.0) {
        return Err(usage(format!(
            "--timeout {}: give 0 to 60 seconds",
            a.timeout
        )));
    }
    if a.rate == 0 || a.rate > 1_000_000 {
        return Err(usage(format!(
            "--rate {}: give 1 to 1000000 requests per second",
            a.rate
        )));
    }
    if a.retries > MAX_RETRIES {
        return Err(usage(format!(
            "--retries {}: give 0 to {MAX_RETRIES} further rounds",
            a.retries
        )));
    }
    let job = if a.localnet && a.ipv6 {
        local6_settings(a)?
    } else if a.localnet {
        sweep_settings(a, Networks::Local)?
    } else if a.unsolicited || a.answer {
        announce_settings(a)?
    } else {
        match &a.target {
            None => Job::Cache(cache_settings(a)?),
            Some(t) if t.contains('/') => {
                let net = parse_ipv4_net(t)?;
                if net.prefix_len() < MAX_SWEEP_PREFIX {
                    return Err(usage(format!(
                        "{t} has {} addresses: sweeps go up to /{MAX_SWEEP_PREFIX}; sweep a narrower range",
                        net.size()
                    )));
                }
                sweep_settings(a, Networks::Given(vec![net]))?
            }
            Some(t) => {
                if a.cache {
                    return Err(usage("-a shows the cache: give no TARGET with it"));
                }
                let (target, zone) = parse_target(t)?;
                Job::Probe(ProbeSettings {
                    target,
                    dad: a.dad,
                    interface: interface(a, zone)?,
                    // Duplicate address detection asks from 0.0.0.0 (::).
                    source: if a.dad {
                        None
                    } else {
                        probe_source(a, target)?
                    },
                    count: a.count,
                    interval: interval(a)?,
                    deadline: deadline(a)?,
                    first: a.first,
                    strict: a.strict,
                    unicast: a.unicast,
                })
            }
        }
    };
    if (a.ipv4 || a.ipv6) && !matches!(job, Job::Cache(_) | Job::Local6(_)) {
        let flag = if a.ipv4 { "-4" } else { "-6" };
        let v6 = match &job {
            Job::Probe(p) => p.target.is_ipv6(),
            Job::Announce(AnnounceSettings {
                addr: OurAddr::Given { addr, .. },
                ..
            }) => addr.is_ipv6(),
            _ => false,
        };
        return Err(usage(if v6 {
            format!(
                "{flag} picks the family of the neighbour table (no TARGET); a TARGET's family is its address's"
            )
        } else {
            format!(
                "{flag} picks the family of the neighbour table (no TARGET); ARP requests are IPv4"
            )
        }));
    }
    if (a.strict || a.unicast) && !matches!(job, Job::Probe(_)) {
        let flag = if a.strict { "-d" } else { "--unicast" };
        return Err(usage(format!(
            "{flag} is about the replies to a probe of one TARGET: give an address to probe"
        )));
    }
    Ok(Settings {
        job,
        json: a.json,
        quiet: a.quiet,
    })
}

fn announce_settings(a: &ArpArgs) -> Result<Job> {
    let addr = match (&a.source, &a.target) {
        (Some(s), _) | (None, Some(s)) => Some(parse_target(s)?),
        (None, None) => None,
    };
    if a.answer && addr.as_ref().is_some_and(|(ip, _)| ip.is_ipv6()) {
        return Err(usage(
            "-A sends an ARP reply (IPv4 only): announce an IPv6 address with -U (an unsolicited neighbour advertisement)",
        ));
    }
    let addr = match (addr, a.interface.first()) {
        (Some((addr, zone)), _) => OurAddr::Given {
            addr,
            interface: interface(a, zone)?,
        },
        (None, Some(name)) => OurAddr::FirstOf(name.clone()),
        (None, None) => {
            return Err(usage(
                "-U/-A announce an address of ours: give it with -s ADDR (and -I IFACE)",
            ));
        }
    };
    Ok(Job::Announce(AnnounceSettings {
        addr,
        as_reply: a.answer,
        count: a.count,
        interval: interval(a)?,
        deadline: deadline(a)?,
    }))
}

/// `--localnet -6`: no address list to pace (one request per round and
/// source, so `--rate` has nothing to do) and every address of ours asks,
/// so `-s` is refused rather than ignored.
fn local6_settings(a: &ArpArgs) -> Result<Job> {
    if a.source.is_some() {
        return Err(usage(
            "-s: --localnet -6 asks from every IPv6 address of the interface; choose the interface with -I",
        ));
    }
    Ok(Job::Local6(Local6Settings {
        interface: a.interface.first().cloned(),
        plan: Plan6 {
            retries: a.retries,
            timeout: Duration::from_secs_f64(a.timeout),
        },
    }))
}

fn sweep_settings(a: &ArpArgs, networks: Networks) -> Result<Job> {
    Ok(Job::Sweep(SweepSettings {
        networks,
        interface: a.interface.first().cloned(),
        source: source(a)?,
        plan: Plan {
            rate: a.rate,
            retries: a.retries,
            timeout: Duration::from_secs_f64(a.timeout),
        },
    }))
}

/// The neighbour table's interface is `-I`. `-i` is the interval
/// everywhere: `arp -i IFACE` (net-tools' habit) is refused saying so,
/// rather than taken for one meaning or the other by the look of its value.
fn cache_settings(a: &ArpArgs) -> Result<CacheSettings> {
    if let Some(v) = &a.interval {
        return Err(usage(if v.parse::<f64>().is_ok() {
            format!(
                "-i {v}: -i is the seconds between requests to a TARGET; the neighbour table takes none"
            )
        } else {
            format!(
                "-i {v}: -i is the seconds between requests; to show one interface's neighbours give -I {v}"
            )
        }));
    }
    if let Some(name) = a.interface.first() {
        arp::check_interface_exists(name).map_err(|e| usage(e.to_string()))?;
    }
    Ok(CacheSettings {
        interface: a.interface.first().cloned(),
        family: match (a.ipv4, a.ipv6) {
            (true, _) => Some(Family::V4),
            (_, true) => Some(Family::V6),
            _ => None,
        },
        numeric: a.numeric,
    })
}

/// `-s` for a sweep: an IPv4 address (sweeps are ARP).
fn source(a: &ArpArgs) -> Result<Option<Ipv4Addr>> {
    a.source
        .as_deref()
        .map(|s| match Host::parse(s) {
            Ok(Host::Ip(IpAddr::V4(ip))) => Ok(ip),
            _ => Err(usage(format!(
                "-s {s}: a sweep asks from an IPv4 address of ours, e.g. 198.51.100.1"
            ))),
        })
        .transpose()
}

/// `-s` for a probe of `target`: an address of the same family.
fn probe_source(a: &ArpArgs, target: IpAddr) -> Result<Option<IpAddr>> {
    let Some(text) = a.source.as_deref() else {
        return Ok(None);
    };
    let Ok(Host::Ip(ip)) = Host::parse(text) else {
        return Err(usage(format!(
            "-s {text}: give an address of ours, e.g. 198.51.100.1 or 2001:db8::1"
        )));
    };
    if ip.is_ipv4() != target.is_ipv4() {
        return Err(usage(format!(
            "-s {ip} and TARGET {target} are of different families: give a source of the target's family"
        )));
    }
    Ok(Some(ip))
}

/// `-I`, or the target's zone; both must name the same interface.
fn interface(a: &ArpArgs, zone: Option<String>) -> Result<Option<String>> {
    match (a.interface.first(), zone) {
        (Some(i), Some(z)) if *i != z => Err(usage(format!(
            "-I {i} and the zone %{z} name different interfaces: give one"
        ))),
        (i, z) => Ok(z.or_else(|| i.cloned())),
    }
}

fn interval(a: &ArpArgs) -> Result<Duration> {
    a.interval
        .as_deref()
        .map_or(Ok(Duration::from_secs(1)), |v| {
            seconds("-i", v.parse().ok(), v).map_err(|e| {
                if v.parse::<f64>().is_ok() {
                    e
                } else {
                    usage(format!("{e}; the interface is -I {v}"))
                }
            })
        })
}

fn deadline(a: &ArpArgs) -> Result<Option<Duration>> {
    a.deadline
        .map(|d| seconds("-w", Some(d), &d.to_string()))
        .transpose()
}

/// Parse, validate, run, render.
///
/// # Errors
/// Bad flags and setup problems are [`UsageError`](crate::UsageError)s (exit 2); a link or
/// stdout failing mid-run is exit 1 (a closed pipe is exit 0 in `main`).
pub fn run(a: &ArpArgs) -> Result<Status> {
    if a.watch {
        return super::arp_watch::run(a);
    }
    let mut s = settings(a)?;
    let m = a.metrics.wanted().then_some(&a.metrics);
    if m.is_some() {
        let flag = if a.metrics.prometheus {
            "--prometheus"
        } else {
            "--textfile"
        };
        match &s.job {
            Job::Announce(_) => {
                return Err(usage(format!(
                    "{flag}: -U/-A send announcements and measure nothing"
                )));
            }
            // Metrics are written at the end: a probe that only Ctrl-C
            // ends would hang the timer that runs it.
            Job::Probe(p) if p.count.is_none() && p.deadline.is_none() => {
                return Err(usage(format!(
                    "{flag}: without -c N or -w SECS the probe runs until Ctrl-C: give one"
                )));
            }
            _ => {}
        }
        // Metrics instead of lines, tables and progress bars.
        s.quiet = true;
    }
    match &s.job {
        Job::Probe(p) => probe(&s, p, m),
        Job::Announce(p) => announce(&s, p),
        Job::Sweep(p) => sweep(&s, p, m),
        Job::Local6(p) => local6(&s, p, m),
        Job::Cache(c) => show_cache(&s, c, m),
    }
}

/// Metrics from a renderer, written where `m` says; the run did its job.
fn emit(
    m: &MetricsArgs,
    e: Result<prometheus::Exposition, prometheus::ExpositionError>,
) -> Result<()> {
    super::metrics::emit(m, "arp", e?, true)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[derive(Serialize)]
struct JsonReply {
    ip: IpAddr,
    mac: String,
    rtt_ms: Option<f64>,
    unsolicited: bool,
    duplicate: bool,
    /// The first few other MACs; `also_answered_by_more` counts the rest:
    /// exactly, or at least that many when `also_answered_by_at_least`
    /// (more MACs answered than are remembered).
    also_answered_by: Vec<String>,
    also_answered_by_more: usize,
    also_answered_by_at_least: bool,
}

/// "[a] [b] [c]", then "and N more" for MACs not named.
fn named_macs(macs: &[MacAddr], count: usize, at_least: bool) -> String {
    let mut text: Vec<String> = macs.iter().map(|m| format!("[{m}]")).collect();
    let more = count.saturating_sub(macs.len());
    if more > 0 || at_least {
        let plus = if at_least { "+" } else { "" };
        text.push(format!("and {more}{plus} more"));
    }
    text.join(" ")
}

/// The examples after a count: "they are: a, b" when they are all of
/// them, else "first N: a, b, ...".
fn examples(named: &[String], all: bool) -> String {
    if all {
        format!("they are: {}", named.join(", "))
    } else {
        format!("first {}: {}", named.len(), named.join(", "))
    }
}

/// A [`Sample`]'s examples: every item ("they are"), every distinct item
/// when the rest are repeats ("N distinct"), or the first distinct ones.
fn sample_examples<T: PartialEq>(s: &Sample<T>, show: impl Fn(&T) -> String) -> String {
    let named: Vec<String> = s.first.iter().map(show).collect();
    if s.count == named.len() as u64 {
        examples(&named, true)
    } else if s.all_kept() {
        format!("{} distinct: {}", named.len(), named.join(", "))
    } else {
        format!("first {} distinct: {}", named.len(), named.join(", "))
    }
}

/// The line for frames dropped unread, if any were: how many, and by whom.
fn drop_line(d: Drops) -> Option<String> {
    (d.total() > 0).then(|| {
        format!(
            "{} received frames dropped unread: more came than could be read (a flood): {} by the kernel (socket queue full), {} by nettool (its queue full)",
            d.total(),
            d.kernel,
            d.queue
        )
    })
}

const INVALID_WHY: &str = "a sender MAC that is zero, broadcast or multicast is no host's";

/// The line for one event of a probe on `iface`: the header, and the
/// first few replies of each request (the rest are counted).
fn event_line(target: IpAddr, iface: &str, ev: &Event) -> Option<String> {
    Some(match ev {
        Event::Ready { me, .. } => {
            let verb = if target.is_ipv4() { "ARPING" } else { "NDPING" };
            format!("{verb} {target} from {} [{}] on {iface}", me.ip, me.mac)
        }
        Event::Sent { .. }
        | Event::Invalid { listed: false, .. }
        | Event::Rejected { listed: false, .. } => return None,
        Event::Reply { reply, .. } if !reply.listed => return None,
        Event::Reply { from, reply } => {
            let mut line = format!("reply from {from} [{}] on {iface}", reply.mac);
            if let Some(rtt) = reply.rtt {
                let _ = write!(line, "  {:.3} ms", ms(rtt));
            }
            if reply.unsolicited {
                line.push_str("  (unsolicited: no request of ours was waiting)");
            }
            if reply.duplicate() {
                let _ = write!(
                    line,
                    "  DUPLICATE: {from} is also answered by {} (address conflict or {} spoofing)",
                    named_macs(&reply.others, reply.others_count, reply.others_at_least),
                    proto(target)
                );
            }
            line
        }
        Event::Invalid { from, mac, why, .. } => format!(
            "invalid reply from {from} [{mac}] on {iface}: a {} sender MAC is no host's (not taken as an answer)",
            why.as_str()
        ),
        Event::Rejected { from, mac, why, .. } => format!(
            "rejected advertisement for {from} from [{mac}] on {iface}: {why} (not taken as an answer)"
        ),
    })
}

fn probe(s: &Settings, p: &ProbeSettings, m: Option<&MetricsArgs>) -> Result<Status> {
    let mut out = Out::stdout();
    let lines = !s.json && !s.quiet;
    let mut name = String::new();
    let mut write_err = None;
    // A header that cannot be written ends the run before the first
    // request; a reply line that cannot, only the lines.
    let header_failed = Cell::new(false);
    let report = run::probe(
        p,
        &mut |ev| {
            if let Event::Ready { interface, .. } = ev {
                crate::sys::catch_interrupt();
                name.clone_from(interface);
            }
            if !lines || write_err.is_some() {
                return;
            }
            let Some(line) = event_line(p.target, &name, ev) else {
                return;
            };
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                header_failed.set(matches!(ev, Event::Ready { .. }));
                write_err = Some(e);
            }
        },
        &|| header_failed.get() || crate::sys::interrupted(),
    )
    .map_err(fail)?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Some(m) = m {
        emit(m, prometheus::arp::probe(&report))?;
    } else if s.json {
        output::json(&mut out, &probe_json(&report))?;
    } else {
        write_summary(&mut out, &report, lines)?;
    }
    out.flush()?;
    if p.strict && report.suspicious() {
        return Ok(Status::NotFound);
    }
    Ok(match (report.dad, report.in_use()) {
        (true, false) | (false, true) => Status::Success,
        _ => Status::NotFound,
    })
}

fn probe_json(r: &ProbeReport) -> serde_json::Value {
    let replies: Vec<JsonReply> = r
        .replies
        .iter()
        .map(|l| JsonReply {
            ip: l.from,
            mac: l.reply.mac.to_string(),
            rtt_ms: l.reply.rtt.map(ms),
            unsolicited: l.reply.unsolicited,
            duplicate: l.reply.duplicate(),
            also_answered_by: l.reply.others.iter().map(MacAddr::to_string).collect(),
            also_answered_by_more: l.reply.others_count.saturating_sub(l.reply.others.len()),
            also_answered_by_at_least: l.reply.others_at_least,
        })
        .collect();
    let mut doc = json!({
        "schema": "nettool.arp/1",
        "mode": if r.dad { "dad" } else { "probe" },
        "interface": r.interface,
        "source": { "ip": r.source.ip, "mac": r.source.mac.to_string() },
        "target": r.target,
        "sent": r.sent,
        "received": r.received,
        "loss_pct": r.loss_pct(),
        "replies": replies,
        "replies_not_listed": r.unlisted,
        "macs": r.macs.iter().map(|(m, n)| json!({"mac": m.to_string(), "replies": n})).collect::<Vec<_>>(),
        "distinct_macs": r.macs.len(),
        // Past MAX_MACS, replies are counted, not MACs.
        "distinct_macs_at_least": r.not_kept > 0,
        "replies_from_macs_not_kept": r.not_kept,
        "invalid": {
            "count": r.invalid.count,
            "first": r.invalid.first.iter().map(|(m, why)| json!({"mac": m.to_string(), "reason": why.as_str()})).collect::<Vec<_>>(),
        },
        "dropped_frames": r.dropped.total(),
        "dropped_by_kernel": r.dropped.kernel,
        "rtt": r.rtt,
        "clock": CLOCK,
        "in_use": if r.dad { Some(r.in_use()) } else { None },
    });
    // Only NDP has advertisements to reject: IPv4 documents stay as they
    // were.
    if r.target.is_ipv6() {
        doc["rejected"] = json!({
            "count": r.rejected.count,
            "first": r.rejected.first.iter().map(|(m, why)| json!({"mac": m.to_string(), "reason": why.to_string()})).collect::<Vec<_>>(),
        });
    }
    doc
}

fn write_summary(out: &mut dyn Write, r: &ProbeReport, lines: bool) -> std::io::Result<()> {
    let target = r.target;
    let proto = proto(target);
    writeln!(out, "--- {target} {proto} statistics ---")?;
    writeln!(
        out,
        "{} sent, {} received, {:.0}% loss",
        r.sent,
        r.received,
        r.loss_pct()
    )?;
    if let Some(s) = r.rtt {
        writeln!(
            out,
            "rtt min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms ({CLOCK})",
            s.min_ms, s.avg_ms, s.max_ms, s.mdev_ms
        )?;
    }
    if r.macs.len() > 1 {
        let named: Vec<String> = r
            .macs
            .iter()
            .take(NAMED)
            .map(|(m, n)| format!("{m} ({n} replies)"))
            .collect();
        let count = if r.not_kept > 0 {
            format!("more than {}", r.macs.len())
        } else {
            r.macs.len().to_string()
        };
        write!(
            out,
            "WARNING: duplicate: {count} distinct MACs answered for {target} ({}): two hosts claim the address, or one is spoofing {proto}",
            examples(&named, r.not_kept == 0 && r.macs.len() <= NAMED)
        )?;
        if r.not_kept > 0 {
            write!(
                out,
                "; {} replies came from MACs past the first {MAX_MACS}, counted but not remembered",
                r.not_kept
            )?;
        }
        writeln!(out)?;
    }
    if lines && r.unlisted > 0 {
        writeln!(
            out,
            "{} further replies not listed (at most {NAMED} are listed per request)",
            r.unlisted
        )?;
    }
    if r.invalid.count > 0 {
        writeln!(
            out,
            "{} invalid replies for {target}, not taken as answers ({INVALID_WHY})",
            r.invalid.count
        )?;
    }
    if r.rejected.count > 0 {
        writeln!(
            out,
            "{} advertisements for {target} rejected, not taken as answers: they fail NDP's checks (forged, forwarded or corrupted) ({})",
            r.rejected.count,
            sample_examples(&r.rejected, |(m, why)| format!("[{m}] {why}"))
        )?;
    }
    if let Some(line) = drop_line(r.dropped) {
        writeln!(out, "{line}")?;
    }
    if r.dad {
        match r.macs.first() {
            Some((m, _)) => writeln!(out, "{target} is in use by {m}")?,
            None => writeln!(out, "{target} is free: no reply to {} probes", r.sent)?,
        }
    }
    Ok(())
}

fn announce(s: &Settings, p: &AnnounceSettings) -> Result<Status> {
    let r = run::announce(
        p,
        &mut |ev| {
            if let Event::Ready { .. } = ev {
                crate::sys::catch_interrupt();
            }
        },
        &crate::sys::interrupted,
    )
    .map_err(fail)?;
    let mut out = Out::stdout();
    write_announce(&mut out, &r, s)?;
    out.flush()?;
    Ok(Status::Success)
}

fn write_announce(out: &mut dyn Write, r: &AnnounceReport, s: &Settings) -> Result<()> {
    let kind = if r.source.ip.is_ipv6() {
        "advertisement"
    } else if r.as_reply {
        "reply"
    } else {
        "request"
    };
    if s.json {
        let mut v = json!({
            "schema": "nettool.arp/1",
            "mode": "announce",
            "interface": r.interface,
            "source": { "ip": r.source.ip, "mac": r.source.mac.to_string() },
            "operation": kind,
            "sent": r.sent,
        });
        if r.source.ip.is_ipv6() {
            // An advertisement's router flag; ARP has none.
            v["router"] = json!(r.router);
        }
        output::json(out, &v)?;
    } else if !s.quiet {
        let what = if r.source.ip.is_ipv6() {
            "unsolicited neighbour"
        } else {
            "gratuitous ARP"
        };
        let router = if r.router {
            " (router flag set: this host forwards IPv6 there)"
        } else {
            ""
        };
        writeln!(
            out,
            "sent {} {what} {kind}(s) announcing {} is at {} on {}{router}",
            r.sent, r.source.ip, r.source.mac, r.interface
        )?;
    }
    Ok(())
}

/// A progress bar on a terminal, for sweeps that take over a second.
#[allow(
    clippy::cast_precision_loss,
    reason = "an estimate from target and retry counts far below 2^52"
)]
fn progress_bar(s: &Settings, targets: usize, plan: Plan) -> Option<indicatif::ProgressBar> {
    let rounds = (u64::from(plan.retries) + 1) as f64;
    let estimate =
        targets as f64 / f64::from(plan.rate) * rounds + plan.timeout.as_secs_f64() * rounds;
    (std::io::stderr().is_terminal() && !s.json && !s.quiet && estimate > 1.0).then(|| {
        let total = targets as u64 * (u64::from(plan.retries) + 1);
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} sweeping {pos}/{len} requests [{bar:30}] {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

fn sweep(s: &Settings, p: &SweepSettings, m: Option<&MetricsArgs>) -> Result<Status> {
    let mut bar = None;
    let report = run::sweep(
        p,
        &mut |ev| match ev {
            SweepEvent::Ready { targets, plan } => {
                crate::sys::catch_interrupt();
                bar = progress_bar(s, *targets, *plan);
            }
            SweepEvent::Sent { sent, .. } => {
                if let Some(b) = &bar {
                    b.set_position(*sent);
                }
            }
        },
        &crate::sys::interrupted,
    )
    .map_err(fail)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut out = Out::stdout();
    if let Some(m) = m {
        emit(m, prometheus::arp::sweep(&report))?;
    } else if s.json {
        output::json(&mut out, &sweep_json(&report))?;
    } else {
        if !s.quiet {
            let tty = out.tty;
            sweep_table(&report).write(&mut out, tty)?;
        }
        write_sweep_summary(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.hosts.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

fn sweep_json(r: &SweepReport) -> serde_json::Value {
    let hosts: Vec<_> = r
        .hosts
        .iter()
        .map(|f| {
            let h = &f.host;
            json!({
                "ip": h.ip,
                "mac": h.mac.to_string(),
                "vendor": f.vendor,
                "rtt_ms": ms(h.rtt),
                "duplicate": !h.others.is_empty(),
                "macs": std::iter::once(h.mac).chain(h.others.iter().copied()).map(|m| m.to_string()).collect::<Vec<_>>(),
                "macs_at_least": h.others_not_kept > 0,
                "replies_from_macs_not_kept": h.others_not_kept,
            })
        })
        .collect();
    let unsolicited: Vec<_> = r
        .unsolicited
        .first
        .iter()
        .map(|(ip, m)| json!({"ip": ip, "mac": m.to_string()}))
        .collect();
    let invalid: Vec<_> = r
        .invalid
        .first
        .iter()
        .map(|(ip, m, why)| json!({"ip": ip, "mac": m.to_string(), "reason": why.as_str()}))
        .collect();
    let networks: Vec<String> = r.networks.iter().map(Cidr::to_string).collect();
    json!({
        "schema": "nettool.arp.sweep/1",
        "interface": r.interface,
        "source": { "ip": r.source.ip, "mac": r.source.mac.to_string() },
        "networks": networks,
        "hosts": hosts,
        "scanned": r.scanned,
        "responded": r.hosts.len(),
        "sent": r.sent,
        "elapsed_ms": ms(r.elapsed),
        "unsolicited": { "count": r.unsolicited.count, "first": unsolicited },
        "invalid": { "count": r.invalid.count, "first": invalid },
        "dropped_frames": r.dropped.total(),
        "dropped_by_kernel": r.dropped.kernel,
        "clock": CLOCK,
    })
}

fn sweep_table(r: &SweepReport) -> Table {
    let mut t = Table::new(&[
        ("IP", Align::Left),
        ("MAC", Align::Left),
        ("Vendor", Align::Left),
        ("RTT", Align::Right),
        ("Dup", Align::Left),
    ]);
    for f in &r.hosts {
        let h = &f.host;
        t.cell(|b| {
            let _ = write!(b, "{}", h.ip);
        });
        t.cell(|b| {
            let _ = write!(b, "{}", h.mac);
        });
        t.cell_str(&f.vendor);
        t.cell(|b| {
            let _ = write!(b, "{:.3} ms", ms(h.rtt));
        });
        t.cell(|b| {
            if h.others.is_empty() {
                b.push('-');
            } else {
                let named = &h.others[..h.others.len().min(NAMED)];
                let _ = write!(
                    b,
                    "DUPLICATE: also {}",
                    named_macs(named, h.others.len(), h.others_not_kept > 0)
                );
            }
        });
    }
    t
}

fn write_sweep_summary(out: &mut dyn Write, r: &SweepReport) -> std::io::Result<()> {
    let networks: Vec<String> = r.networks.iter().map(Cidr::to_string).collect();
    writeln!(
        out,
        "{} of {} addresses answered on {} ({}) in {:.2} s, {} requests sent",
        r.hosts.len(),
        r.scanned,
        r.interface,
        networks.join(", "),
        r.elapsed.as_secs_f64(),
        r.sent
    )?;
    let u = &r.unsolicited;
    if u.count > 0 {
        writeln!(
            out,
            "{} unsolicited replies, not hosts: they answered no request of ours (for an address not asked yet, or never asked) ({})",
            u.count,
            sample_examples(u, |(ip, m)| format!("{ip} [{m}]"))
        )?;
    }
    let inv = &r.invalid;
    if inv.count > 0 {
        writeln!(
            out,
            "{} invalid replies, not hosts: {INVALID_WHY} ({})",
            inv.count,
            sample_examples(inv, |(ip, m, why)| format!("{ip} [{m}] {}", why.as_str()))
        )?;
    }
    if let Some(line) = drop_line(r.dropped) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn local6(s: &Settings, p: &Local6Settings, m: Option<&MetricsArgs>) -> Result<Status> {
    let report = run::local6(
        p,
        &mut crate::sys::catch_interrupt,
        &crate::sys::interrupted,
    )
    .map_err(fail)?;
    let mut out = Out::stdout();
    if let Some(m) = m {
        emit(m, prometheus::arp::local6(&report))?;
    } else if s.json {
        output::json(&mut out, &local6_json(&report))?;
    } else {
        if !s.quiet {
            let tty = out.tty;
            local6_table(&report).write(&mut out, tty)?;
        }
        write_local6_summary(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.stations.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

/// What `--localnet -6` asks, said in the summary and the JSON.
const LOCAL6_METHOD: &str = "an ICMPv6 echo request to all nodes (ff02::1)";

fn local6_json(r: &Local6Report) -> serde_json::Value {
    let hosts: Vec<_> = r
        .stations
        .iter()
        .map(|f| {
            let h = &f.station;
            json!({
                "ip": h.addrs.first(),
                "ips": h.addrs,
                "mac": h.mac.to_string(),
                "vendor": f.vendor,
                "rtt_ms": ms(h.rtt),
                "duplicate": !f.shared.is_empty(),
                "shared_ips": f.shared,
            })
        })
        .collect();
    let invalid: Vec<_> = r
        .invalid
        .first
        .iter()
        .map(|(ip, m, why)| json!({"ip": ip, "mac": m.to_string(), "reason": why.as_str()}))
        .collect();
    json!({
        "schema": "nettool.arp.sweep6/1",
        "interface": r.interface,
        "source": { "ips": r.sources, "mac": r.mac.to_string() },
        "method": LOCAL6_METHOD,
        "hosts": hosts,
        "responded": r.stations.len(),
        "hosts_not_kept": r.not_kept,
        "sent": r.sent,
        "elapsed_ms": ms(r.elapsed),
        "invalid": { "count": r.invalid.count, "first": invalid },
        "dropped_frames": r.dropped.total(),
        "dropped_by_kernel": r.dropped.kernel,
        "clock": CLOCK,
    })
}

fn local6_table(r: &Local6Report) -> Table {
    let mut t = Table::new(&[
        ("IP", Align::Left),
        ("MAC", Align::Left),
        ("Vendor", Align::Left),
        ("RTT", Align::Right),
        ("Dup", Align::Left),
    ]);
    for f in &r.stations {
        let h = &f.station;
        t.cell(|b| {
            let addrs: Vec<String> = h.addrs.iter().map(ToString::to_string).collect();
            b.push_str(&addrs.join(", "));
        });
        t.cell(|b| {
            let _ = write!(b, "{}", h.mac);
        });
        t.cell_str(&f.vendor);
        t.cell(|b| {
            let _ = write!(b, "{:.3} ms", ms(h.rtt));
        });
        t.cell(|b| {
            if f.shared.is_empty() {
                b.push('-');
            } else {
                let addrs: Vec<String> = f.shared.iter().map(ToString::to_string).collect();
                let _ = write!(b, "DUPLICATE: {} also from another MAC", addrs.join(", "));
            }
        });
    }
    t
}

fn write_local6_summary(out: &mut dyn Write, r: &Local6Report) -> std::io::Result<()> {
    let from: Vec<String> = r.sources.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "{} hosts answered {LOCAL6_METHOD} from {} on {} in {:.2} s, {} requests sent",
        r.stations.len(),
        from.join(", "),
        r.interface,
        r.elapsed.as_secs_f64(),
        r.sent
    )?;
    if r.stations.is_empty() {
        writeln!(
            out,
            "hosts that ignore multicast echoes (net.ipv6.icmp.echo_ignore_multicast=1, a firewall) are not found this way; try `nettool arp -6` for the neighbour table"
        )?;
    }
    if r.not_kept > 0 {
        writeln!(out, "{} more MACs answered, not kept", r.not_kept)?;
    }
    let inv = &r.invalid;
    if inv.count > 0 {
        writeln!(
            out,
            "{} invalid replies, not hosts: {INVALID_WHY} ({})",
            inv.count,
            sample_examples(inv, |(ip, m, why)| format!("{ip} [{m}] {}", why.as_str()))
        )?;
    }
    if let Some(line) = drop_line(r.dropped) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn show_cache(s: &Settings, c: &CacheSettings, m: Option<&MetricsArgs>) -> Result<Status> {
    let report = run::cache_view(c).map_err(fail)?;
    let mut out = Out::stdout();
    if let Some(m) = m {
        emit(m, prometheus::arp::cache(&report))?;
    } else if s.json {
        output::json(&mut out, &cache_json(&report))?;
    } else {
        let tty = out.tty;
        cache_table(&report).write(&mut out, tty)?;
    }
    out.flush()?;
    Ok(if report.entries.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

/// The neighbour table's JSON: an array of entries, their fields named
/// as `--help` says (`ip -j neigh`'s content, in plainer words).
fn cache_json(r: &CacheReport) -> serde_json::Value {
    r.entries
        .iter()
        .map(|e| {
            json!({
                "family": e.family.name(),
                "address": e.address,
                "mac": e.mac.map(|m| m.to_string()),
                "state": e.state.ip_name(),
                "router": e.router,
                "iface": e.iface,
                "name": e.name,
                "used_s": e.ages.map(|a| a.used),
                "confirmed_s": e.ages.map(|a| a.confirmed),
                "updated_s": e.ages.map(|a| a.updated),
                "probes": e.probes,
            })
        })
        .collect()
}

fn cache_table(r: &CacheReport) -> Table {
    let mut cols = vec![("Address", Align::Left)];
    if !r.numeric {
        cols.push(("Name", Align::Left));
    }
    cols.extend([
        ("MAC", Align::Left),
        ("State", Align::Left),
        ("Flags", Align::Left),
        ("Iface", Align::Left),
        ("Used/Confirmed/Updated", Align::Right),
    ]);
    let mut t = Table::new(&cols);
    for e in &r.entries {
        t.cell(|b| {
            let _ = write!(b, "{}", e.address);
        });
        if !r.numeric {
            t.cell_str(e.name.as_deref().unwrap_or("-"));
        }
        t.cell(|b| match e.mac {
            Some(m) => {
                let _ = write!(b, "{m}");
            }
            None => b.push_str("(incomplete)"),
        });
        t.cell_str(&e.state.ip_name());
        t.cell_str(if e.router { "router" } else { "-" });
        t.cell_str(&e.iface);
        t.cell(|b| match e.ages {
            // Whole seconds, as `ip -s neigh` shows them.
            Some(a) => {
                let _ = write!(
                    b,
                    "{}/{}/{} s ago",
                    a.used.trunc(),
                    a.confirmed.trunc(),
                    a.updated.trunc()
                );
            }
            None => b.push('-'),
        });
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UsageError;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// `nettool arp ARGV...` -> its settings. Interface names are not
    /// looked at except in the cache view, which checks `lo` exists.
    fn settings_of(argv: &[&str]) -> Result<Settings> {
        let cli = Cli::try_parse_from(["nettool", "arp"].iter().chain(argv))
            .unwrap_or_else(|e| panic!("clap refused {argv:?}: {e}"));
        let Command::Arp(a) = cli.command else {
            panic!("not arp: {argv:?}")
        };
        settings(&a)
    }

    fn ok(argv: &[&str]) -> Settings {
        settings_of(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    }

    fn ip(d: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, d)
    }

    fn lines(job: Job) -> Settings {
        Settings {
            job,
            json: false,
            quiet: false,
        }
    }

    #[test]
    fn a_probe_with_count_deadline_interval_and_interface() {
        assert_eq!(
            ok(&[
                "-c",
                "3",
                "-w",
                "5",
                "-i",
                "0.2",
                "-I",
                "veth0",
                "198.51.100.2"
            ]),
            lines(Job::Probe(ProbeSettings {
                target: ip(2).into(),
                dad: false,
                interface: Some("veth0".into()),
                source: None,
                count: Some(3),
                interval: Duration::from_millis(200),
                deadline: Some(Duration::from_secs(5)),
                first: false,
                strict: false,
                unicast: false,
            }))
        );
        let s = ok(&["-q", "-f", "-s", "198.51.100.1", "198.51.100.2"]);
        assert!(s.quiet && !s.json);
        let Job::Probe(p) = s.job else {
            panic!("{s:?}")
        };
        assert_eq!(
            (p.source, p.first, p.count),
            (Some(ip(1).into()), true, None)
        );
        assert_eq!((p.interval, p.deadline), (Duration::from_secs(1), None));
    }

    #[test]
    fn ipv6_targets_with_zones_sources_and_the_new_flags() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let Job::Probe(p) = ok(&["-d", "--unicast", "-s", "2001:db8::1", "2001:db8::2"]).job else {
            panic!()
        };
        assert_eq!(
            (p.target, p.source, p.strict, p.unicast, p.interface),
            (v6("2001:db8::2"), Some(v6("2001:db8::1")), true, true, None)
        );
        // The zone is the interface; an index is looked up (1 is lo in
        // every namespace), and -I naming the same one agrees.
        for argv in [
            &["fe80::2%lo"][..],
            &["fe80::2%1"],
            &["-I", "lo", "fe80::2%lo"],
        ] {
            let Job::Probe(p) = ok(argv).job else {
                panic!("{argv:?}")
            };
            assert_eq!(
                (p.target, p.interface.as_deref()),
                (v6("fe80::2"), Some("lo"))
            );
        }
        // DAD of an IPv6 address asks from :: whatever -s says.
        let Job::Probe(p) = ok(&["-D", "-s", "2001:db8::1", "2001:db8::9"]).job else {
            panic!()
        };
        assert_eq!((p.dad, p.source), (true, None));
        // -U with an IPv6 address of ours.
        assert_eq!(
            ok(&["-U", "-c", "1", "-s", "2001:db8::1"]).job,
            Job::Announce(AnnounceSettings {
                addr: OurAddr::Given {
                    addr: v6("2001:db8::1"),
                    interface: None
                },
                as_reply: false,
                count: Some(1),
                interval: Duration::from_secs(1),
                deadline: None,
            })
        );
    }

    #[test]
    fn dad_asks_from_no_source_whatever_dash_s_says() {
        assert_eq!(
            ok(&["-D", "-c", "2", "-s", "198.51.100.9", "198.51.100.7"]),
            lines(Job::Probe(ProbeSettings {
                target: ip(7).into(),
                dad: true,
                interface: None,
                source: None,
                count: Some(2),
                interval: Duration::from_secs(1),
                deadline: None,
                first: false,
                strict: false,
                unicast: false,
            }))
        );
    }

    #[test]
    fn announcements_name_the_address_or_the_interface() {
        let announce = |addr, as_reply| {
            lines(Job::Announce(AnnounceSettings {
                addr,
                as_reply,
                count: Some(1),
                interval: Duration::from_secs(1),
                deadline: None,
            }))
        };
        assert_eq!(
            ok(&["-U", "-c", "1", "-s", "198.51.100.1", "-I", "veth0"]),
            announce(
                OurAddr::Given {
                    addr: ip(1).into(),
                    interface: Some("veth0".into())
                },
                false
            )
        );
        // -s wins over TARGET; without -I the route to it decides.
        assert_eq!(
            ok(&["-U", "-c", "1", "-s", "198.51.100.1", "198.51.100.2"]),
            announce(
                OurAddr::Given {
                    addr: ip(1).into(),
                    interface: None
                },
                false
            )
        );
        assert_eq!(
            ok(&["-A", "-c", "1", "-I", "veth0"]),
            announce(OurAddr::FirstOf("veth0".into()), true)
        );
    }

    #[test]
    fn a_sweep_of_a_cidr_and_of_the_local_networks() {
        let plan = Plan {
            rate: 500,
            retries: 2,
            timeout: Duration::from_millis(500),
        };
        let s = ok(&[
            "--rate",
            "500",
            "--retries",
            "2",
            "--timeout",
            "0.5",
            "198.51.100.77/24",
        ]);
        assert_eq!(
            s,
            lines(Job::Sweep(SweepSettings {
                networks: Networks::Given(vec![Cidr::parse("198.51.100.77/24").unwrap()]),
                interface: None,
                source: None,
                plan,
            }))
        );
        let Job::Sweep(SweepSettings {
            networks: Networks::Given(nets),
            ..
        }) = &s.job
        else {
            panic!("{s:?}")
        };
        assert_eq!(nets[0].to_string(), "198.51.100.0/24");
        assert_eq!(
            ok(&["--localnet", "-I", "veth0", "-s", "198.51.100.1", "--json"]),
            Settings {
                job: Job::Sweep(SweepSettings {
                    networks: Networks::Local,
                    interface: Some("veth0".into()),
                    source: Some(ip(1)),
                    plan: Plan {
                        rate: 2000,
                        retries: 1,
                        timeout: Duration::from_millis(250),
                    },
                }),
                json: true,
                quiet: false,
            }
        );
    }

    #[test]
    fn localnet_dash_6_asks_all_nodes_and_localnet_alone_stays_ipv4() {
        assert_eq!(
            ok(&[
                "--localnet",
                "-6",
                "-I",
                "veth0",
                "--retries",
                "2",
                "--timeout",
                "0.1"
            ]),
            lines(Job::Local6(Local6Settings {
                interface: Some("veth0".into()),
                plan: Plan6 {
                    retries: 2,
                    timeout: Duration::from_millis(100),
                },
            }))
        );
        assert!(matches!(ok(&["--localnet"]).job, Job::Sweep(_)));
        let e = settings_of(&["--localnet", "-6", "-s", "2001:db8::1"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("every IPv6 address of the interface"), "{e}");
        let e = settings_of(&["--localnet", "-4"]).unwrap_err().to_string();
        assert!(e.contains("-4 picks the family"), "{e}");
    }

    #[test]
    fn the_neighbour_table_with_a_family_and_an_interface() {
        let cache = |interface: Option<&str>, family, numeric| {
            lines(Job::Cache(CacheSettings {
                interface: interface.map(str::to_string),
                family,
                numeric,
            }))
        };
        assert_eq!(ok(&[]), cache(None, None, false));
        assert_eq!(ok(&["-a"]), cache(None, None, false));
        assert_eq!(ok(&["-a", "-4"]), cache(None, Some(Family::V4), false));
        assert_eq!(
            ok(&["-n", "--ipv6", "-I", "lo"]),
            cache(Some("lo"), Some(Family::V6), true)
        );
        assert_eq!(
            ok(&["-an", "--interface", "lo"]),
            cache(Some("lo"), None, true)
        );
        let s = ok(&["-6", "--json"]);
        assert!(s.json);
        assert_eq!(s.job, cache(None, Some(Family::V6), false).job);
    }

    /// `-4 -6` together is clap's refusal (exit 2), not one of them silently.
    #[test]
    fn dash_4_and_dash_6_exclude_each_other() {
        let e = Cli::try_parse_from(["nettool", "arp", "-4", "-6"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    /// A sweep's settings given to a watch are refused, not ignored; their
    /// defaults do not count.
    #[test]
    fn sweep_settings_are_refused_with_watch() {
        for flag in [["--rate", "5"], ["--retries", "2"], ["--timeout", "1"]] {
            let argv = ["nettool", "arp", "--watch", flag[0], flag[1]];
            let e = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{flag:?}"
            );
        }
        assert!(settings_of(&["--watch", "-c", "1"]).is_ok());
    }

    #[test]
    fn bad_ipv6_targets_and_mixed_families_are_one_line() {
        for (argv, want) in [
            (
                &["ff02::1"][..],
                "ff02::1 is a multicast group, not a neighbour: give a unicast IPv6 address",
            ),
            (
                &["-D", "::"],
                ":: is the unspecified address, not a neighbour: give a unicast IPv6 address",
            ),
            (
                &["fe80::2%"],
                "'fe80::2%': the zone after % is empty: give an interface, e.g. fe80::2%eth0",
            ),
            (
                &["-I", "veth0", "fe80::2%veth1"],
                "-I veth0 and the zone %veth1 name different interfaces: give one",
            ),
            (
                &["-s", "2001:db8::1", "198.51.100.2"],
                "-s 2001:db8::1 and TARGET 198.51.100.2 are of different families: give a source of the target's family",
            ),
            (
                &["[2001:db8::2]:80"],
                "'[2001:db8::2]:80': NDP takes an address, not address:port: give 2001:db8::2",
            ),
            (
                &["2001:db8::zz"],
                "'2001:db8::zz' is not an IP address: write e.g. 198.51.100.2, 2001:db8::2, or fe80::2%eth0 for a link-local neighbour",
            ),
            (
                &["-6", "2001:db8::2"],
                "-6 picks the family of the neighbour table (no TARGET); a TARGET's family is its address's",
            ),
            (
                &["-A", "-s", "2001:db8::1"],
                "-A sends an ARP reply (IPv4 only): announce an IPv6 address with -U (an unsolicited neighbour advertisement)",
            ),
            (
                &["-s", "2001:db8::1", "198.51.100.0/30"],
                "-s 2001:db8::1: a sweep asks from an IPv4 address of ours, e.g. 198.51.100.1",
            ),
            (
                &["-d", "198.51.100.0/30"],
                "-d is about the replies to a probe of one TARGET: give an address to probe",
            ),
        ] {
            let e = settings_of(argv).expect_err(&format!("{argv:?}"));
            assert!(e.downcast_ref::<UsageError>().is_some(), "{argv:?}: exit 2");
            assert_eq!(e.to_string(), want, "{argv:?}");
        }
    }

    #[test]
    fn bad_flags_are_one_line_saying_what_to_give() {
        for (argv, want) in [
            (
                &["-c", "0", "198.51.100.2"][..],
                "-c 0: give a count of at least 1",
            ),
            (
                &["-c", "1", "198.51.100.2:80"],
                "'198.51.100.2:80': ARP takes an address, not address:port: give 198.51.100.2",
            ),
            (
                &["-i", "0", "198.51.100.2"],
                "-i 0: give 0.001 to 86400 seconds, fractions allowed (e.g. 0.2)",
            ),
            (
                &["-w", "-1", "198.51.100.2"],
                "-w -1: give 0.001 to 86400 seconds, fractions allowed (e.g. 0.2)",
            ),
            (
                &["198.51.0.0/15"],
                "198.51.0.0/15 has 131072 addresses: sweeps go up to /16; sweep a narrower range",
            ),
            (
                &["198.51.100.0/33"],
                "'198.51.100.0/33' is not an IPv4 network: write ADDR/LEN, e.g. 198.51.100.0/24",
            ),
            (
                &["--retries", "101", "198.51.100.0/30"],
                "--retries 101: give 0 to 100 further rounds",
            ),
            (
                &["-a", "198.51.100.2"],
                "-a shows the cache: give no TARGET with it",
            ),
            (
                &["2001:db8::/64"],
                "'2001:db8::/64' is an IPv6 network, which cannot be swept address by address: to find the link's IPv6 neighbours give --localnet -6 [-I IFACE]",
            ),
            (
                &["[198.51.100.2]:80"],
                "'[198.51.100.2]:80': ARP takes an address, not address:port: give 198.51.100.2",
            ),
            (
                &["198.51.100.2%lo"],
                "'198.51.100.2%lo' is not an IPv4 address or network: write e.g. 198.51.100.2 or 198.51.100.0/24 (names are not resolved)",
            ),
            (
                &["host.example"],
                "'host.example' is not an IPv4 address or network: write e.g. 198.51.100.2 or 198.51.100.0/24 (names are not resolved)",
            ),
            // What to announce is asked before -i is read.
            (
                &["-U", "-i", "x"],
                "-U/-A announce an address of ours: give it with -s ADDR (and -I IFACE)",
            ),
            // -i is the interval everywhere; the neighbour table's
            // interface is -I, and arp(8)'s `-i IFACE` habit is told so.
            (
                &["-i", "eth0"],
                "-i eth0: -i is the seconds between requests; to show one interface's neighbours give -I eth0",
            ),
            (
                &["-a", "-n", "-i", "lo"],
                "-i lo: -i is the seconds between requests; to show one interface's neighbours give -I lo",
            ),
            (
                &["--json", "-i", "0.5"],
                "-i 0.5: -i is the seconds between requests to a TARGET; the neighbour table takes none",
            ),
            (
                &["-c", "1", "-i", "eth0", "198.51.100.2"],
                "-i eth0: give 0.001 to 86400 seconds, fractions allowed (e.g. 0.2); the interface is -I eth0",
            ),
            (
                &["-6", "198.51.100.2"],
                "-6 picks the family of the neighbour table (no TARGET); ARP requests are IPv4",
            ),
            (
                &["-4", "198.51.100.0/30"],
                "-4 picks the family of the neighbour table (no TARGET); ARP requests are IPv4",
            ),
        ] {
            let e = settings_of(argv).expect_err(&format!("{argv:?}"));
            assert!(e.downcast_ref::<UsageError>().is_some(), "{argv:?}: exit 2");
            assert_eq!(e.to_string(), want, "{argv:?}");
        }
        // The neighbour table's interface is checked before the dump.
        let e = settings_of(&["-a", "-I", "nt-no-such-if"]).unwrap_err();
        assert!(e.downcast_ref::<UsageError>().is_some(), "exit 2");
        assert!(
            e.to_string()
                .starts_with("no interface named nt-no-such-if: the interfaces here are "),
            "{e}"
        );
    }
}
