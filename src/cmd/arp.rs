//! `nettool arp`: flags -> probe, sweep or cache view -> lines, table or
//! JSON.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use crate::arp::link::Drops;
use crate::arp::probe::{MAX_MACS, Me, NAMED, RttStats, Sample};
use crate::arp::sweep::{self, Net, Plan};
use crate::arp::{self, ArpError, Event, Iface, Mode, ProbeConfig, cache, link::PnetLink, oui};
use crate::cli::ArpArgs;
use crate::output::table::{Align, Table};
use crate::output::{self, Out};
use crate::sockstat::names::Names;
use crate::wire::MacAddr;
use crate::{Status, UsageError};

/// The clock every RTT comes from, said in the summary and the JSON.
const CLOCK: &str =
    "CLOCK_MONOTONIC in user space, from the request handed to the kernel to the reply read";

/// Most further rounds a sweep makes (arp-scan's default is 2 in all).
const MAX_RETRIES: u32 = 100;

/// Largest sweep: a /16.
const MAX_SWEEP_PREFIX: u8 = 16;

enum Job {
    Cache { iface: Option<String> },
    Probe { target: Ipv4Addr },
    Announce { addr: Option<Ipv4Addr> },
    Sweep { nets: Vec<Net> },
    LocalNet,
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn setup(e: ArpError) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

fn seconds(flag: &str, v: &str) -> Result<Duration> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.001..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(usage(format!(
            "{flag} {v}: give 0.001 to 86400 seconds, fractions allowed (e.g. 0.2)"
        ))),
    }
}

fn parse_ipv4(s: &str) -> Result<Ipv4Addr> {
    if let Some((addr, _port)) = s.rsplit_once(':')
        && let Ok(addr) = addr.parse::<Ipv4Addr>()
    {
        return Err(usage(format!(
            "'{s}': ARP takes an address, not address:port: give {addr}"
        )));
    }
    if s.parse::<std::net::Ipv6Addr>().is_ok() || s.contains(':') {
        return Err(usage(format!(
            "{s} is IPv6: ARP is IPv4 only (IPv6 neighbours are found with NDP: `ip -6 neigh`)"
        )));
    }
    s.parse().map_err(|_| {
        usage(format!(
            "'{s}' is not an IPv4 address or network: write e.g. 198.51.100.2 or 198.51.100.0/24 (names are not resolved)"
        ))
    })
}

fn job(a: &ArpArgs) -> Result<Job> {
    if a.localnet {
        return Ok(Job::LocalNet);
    }
    if a.unsolicited || a.answer {
        let addr = match (&a.source, &a.target) {
            (Some(s), _) | (None, Some(s)) => Some(parse_ipv4(s)?),
            (None, None) => None,
        };
        return Ok(Job::Announce { addr });
    }
    match &a.target {
        None => Ok(Job::Cache {
            iface: a.interval.clone().or_else(|| a.interface.clone()),
        }),
        Some(t) if t.contains('/') => {
            let net = Net::parse(t).map_err(usage)?;
            if net.len < MAX_SWEEP_PREFIX {
                return Err(usage(format!(
                    "{t} has {} addresses: sweeps go up to /{MAX_SWEEP_PREFIX}; sweep a narrower range",
                    net.size()
                )));
            }
            Ok(Job::Sweep { nets: vec![net] })
        }
        Some(t) => {
            if a.cache {
                return Err(usage("-a shows the cache: give no TARGET with it"));
            }
            Ok(Job::Probe {
                target: parse_ipv4(t)?,
            })
        }
    }
}

pub fn run(a: &ArpArgs) -> Result<Status> {
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
    match job(a)? {
        Job::Cache { iface } => {
            if let Some(name) = &iface {
                arp::check_interface_exists(name).map_err(|e| {
                    let mut msg = e.to_string();
                    if a.interval.as_deref() == Some(name.as_str()) && name.parse::<f64>().is_ok() {
                        msg.push_str(
                            " (-i is the seconds between requests only when probing a TARGET; \
                             without one it names the interface whose cache entries to show)",
                        );
                    }
                    usage(msg)
                })?;
            }
            show_cache(a, iface.as_deref())
        }
        Job::Probe { target } => probe(a, target),
        Job::Announce { addr } => announce(a, addr),
        Job::Sweep { nets } => {
            let iface = match &a.interface {
                Some(name) => arp::interface(name).map_err(setup)?,
                None => arp::interface_for(nets[0].network(), None).map_err(setup)?,
            };
            sweep_nets(a, iface, nets)
        }
        Job::LocalNet => {
            let iface = match &a.interface {
                Some(name) => arp::interface(name).map_err(setup)?,
                None => default_interface()?,
            };
            let nets: Vec<Net> = iface
                .v4
                .iter()
                .map(|(addr, len)| Net {
                    addr: *addr,
                    len: *len,
                })
                .collect();
            if nets.is_empty() {
                return Err(setup(ArpError::NoSource(iface.name().to_string())));
            }
            if let Some(n) = nets.iter().find(|n| n.len < MAX_SWEEP_PREFIX) {
                return Err(usage(format!(
                    "{n} on {} is wider than /{MAX_SWEEP_PREFIX}: sweep a narrower range by CIDR instead",
                    iface.name()
                )));
            }
            sweep_nets(a, iface, nets)
        }
    }
}

/// The interface of the default route, else the first that can do ARP.
fn default_interface() -> Result<Iface> {
    let routes = arp::route::read_routes().unwrap_or_default();
    if let Some(r) = routes.iter().find(|r| r.prefix_len() == 0) {
        return arp::interface(&r.iface).map_err(setup);
    }
    pnet_datalink::interfaces()
        .into_iter()
        .find_map(|i| arp::interface(&i.name).ok())
        .ok_or_else(|| usage("no interface that does ARP is up: name one with -I"))
}

fn interval(a: &ArpArgs) -> Result<Duration> {
    a.interval
        .as_deref()
        .map_or(Ok(Duration::from_secs(1)), |v| seconds("-i", v))
}

fn deadline(a: &ArpArgs) -> Result<Option<Duration>> {
    a.deadline
        .map(|d| seconds("-w", &d.to_string()))
        .transpose()
}

/// Resolve the interface and our address for a target, checking `-s`.
fn resolve(a: &ArpArgs, target: Ipv4Addr, dad: bool) -> Result<(Iface, Me)> {
    let iface = arp::interface_for(target, a.interface.as_deref()).map_err(setup)?;
    let ip = if dad {
        Ipv4Addr::UNSPECIFIED
    } else {
        match &a.source {
            Some(s) => ours(&iface, parse_ipv4(s)?)?,
            None => iface
                .source_for(target)
                .ok_or_else(|| setup(ArpError::NoSource(iface.name().to_string())))?,
        }
    };
    let me = Me { mac: iface.mac, ip };
    Ok((iface, me))
}

/// `ip` if it is one of `iface`'s addresses, else the error naming them.
fn ours(iface: &Iface, ip: Ipv4Addr) -> Result<Ipv4Addr> {
    if iface.v4.iter().any(|(a, _)| *a == ip) {
        return Ok(ip);
    }
    Err(setup(ArpError::ForeignSource {
        addr: ip,
        iface: iface.name().to_string(),
        have: have(iface),
    }))
}

fn have(iface: &Iface) -> String {
    let v: Vec<String> = iface.v4.iter().map(|(a, l)| format!("{a}/{l}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn open(iface: &Iface) -> Result<PnetLink> {
    PnetLink::open(&iface.raw).map_err(setup)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[derive(Serialize)]
struct JsonReply {
    ip: Ipv4Addr,
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

fn probe(a: &ArpArgs, target: Ipv4Addr) -> Result<Status> {
    let mode = if a.dad { Mode::Dad } else { Mode::Probe };
    let (iface, me) = resolve(a, target, a.dad)?;
    let cfg = ProbeConfig {
        mode,
        me,
        target,
        count: a.count,
        interval: interval(a)?,
        deadline: deadline(a)?,
        first: a.first,
    };
    let mut link = open(&iface)?;
    crate::sys::catch_interrupt();
    let mut out = Out::stdout();
    let name = iface.name().to_string();
    let lines = !a.json && !a.quiet;
    if lines {
        writeln!(out, "ARPING {target} from {} [{}] on {name}", me.ip, me.mac)?;
        out.flush()?;
    }
    // Only listed replies (the first few per request) are kept or shown:
    // the rest are counted by the tracker.
    let mut replies = Vec::new();
    let mut write_err = None;
    let tracker = arp::run_probe(&mut link, &cfg, &mut |ev| {
        if !listed(ev) {
            return;
        }
        let line = match ev {
            Event::Reply { from, reply } => {
                let mut line = format!("reply from {from} [{}] on {name}", reply.mac);
                if let Some(rtt) = reply.rtt {
                    let _ = write!(line, "  {:.3} ms", ms(rtt));
                }
                if reply.unsolicited {
                    line.push_str("  (unsolicited: no request of ours was waiting)");
                }
                if reply.duplicate() {
                    let _ = write!(
                        line,
                        "  DUPLICATE: {from} is also answered by {} (address conflict or ARP spoofing)",
                        named_macs(&reply.others, reply.others_count, reply.others_at_least)
                    );
                }
                replies.push(JsonReply {
                    ip: *from,
                    mac: reply.mac.to_string(),
                    rtt_ms: reply.rtt.map(ms),
                    unsolicited: reply.unsolicited,
                    duplicate: reply.duplicate(),
                    also_answered_by: reply.others.iter().map(MacAddr::to_string).collect(),
                    also_answered_by_more: reply.others_count.saturating_sub(reply.others.len()),
                    also_answered_by_at_least: reply.others_at_least,
                });
                line
            }
            Event::Invalid { from, mac, why, .. } => format!(
                "invalid reply from {from} [{mac}] on {name}: a {} sender MAC is no host's (not taken as an answer)",
                why.as_str()
            ),
        };
        if lines
            && write_err.is_none()
            && let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush())
        {
            write_err = Some(e);
        }
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let stats = tracker.stats();
    let in_use = tracker.received > 0;
    if a.json {
        let v = json!({
            "schema": "nettool.arp/1",
            "mode": if a.dad { "dad" } else { "probe" },
            "interface": name,
            "source": { "ip": me.ip, "mac": me.mac.to_string() },
            "target": target,
            "sent": tracker.sent,
            "received": tracker.received,
            "loss_pct": tracker.loss_pct(),
            "replies": replies,
            "replies_not_listed": tracker.unlisted,
            "macs": tracker.macs.iter().map(|(m, n)| json!({"mac": m.to_string(), "replies": n})).collect::<Vec<_>>(),
            "distinct_macs": tracker.macs.len(),
            // Past MAX_MACS, replies are counted, not MACs.
            "distinct_macs_at_least": tracker.not_kept > 0,
            "replies_from_macs_not_kept": tracker.not_kept,
            "invalid": {
                "count": tracker.invalid.count,
                "first": tracker.invalid.first.iter().map(|(m, why)| json!({"mac": m.to_string(), "reason": why.as_str()})).collect::<Vec<_>>(),
            },
            "dropped_frames": tracker.dropped.total(),
            "dropped_by_kernel": tracker.dropped.kernel,
            "rtt": stats,
            "clock": CLOCK,
            "in_use": if a.dad { Some(in_use) } else { None },
        });
        output::json(&mut out, &v)?;
    } else {
        write_summary(&mut out, target, &tracker, stats, a.dad, lines)?;
    }
    out.flush()?;
    Ok(match (a.dad, in_use) {
        (true, false) | (false, true) => Status::Success,
        _ => Status::NotFound,
    })
}

/// Whether the loop's event is one of the first few, shown one by one.
fn listed(ev: &Event) -> bool {
    match ev {
        Event::Reply { reply, .. } => reply.listed,
        Event::Invalid { listed, .. } => *listed,
    }
}

fn write_summary(
    out: &mut dyn Write,
    target: Ipv4Addr,
    t: &arp::probe::Tracker,
    stats: Option<RttStats>,
    dad: bool,
    lines: bool,
) -> std::io::Result<()> {
    writeln!(out, "--- {target} ARP statistics ---")?;
    writeln!(
        out,
        "{} sent, {} received, {:.0}% loss",
        t.sent,
        t.received,
        t.loss_pct()
    )?;
    if let Some(s) = stats {
        writeln!(
            out,
            "rtt min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms ({CLOCK})",
            s.min_ms, s.avg_ms, s.max_ms, s.mdev_ms
        )?;
    }
    if t.macs.len() > 1 {
        let named: Vec<String> = t
            .macs
            .iter()
            .take(NAMED)
            .map(|(m, n)| format!("{m} ({n} replies)"))
            .collect();
        let count = if t.not_kept > 0 {
            format!("more than {}", t.macs.len())
        } else {
            t.macs.len().to_string()
        };
        write!(
            out,
            "WARNING: duplicate: {count} distinct MACs answered for {target} ({}): two hosts claim the address, or one is spoofing ARP",
            examples(&named, t.not_kept == 0 && t.macs.len() <= NAMED)
        )?;
        if t.not_kept > 0 {
            write!(
                out,
                "; {} replies came from MACs past the first {MAX_MACS}, counted but not remembered",
                t.not_kept
            )?;
        }
        writeln!(out)?;
    }
    if lines && t.unlisted > 0 {
        writeln!(
            out,
            "{} further replies not listed (at most {NAMED} are listed per request)",
            t.unlisted
        )?;
    }
    if t.invalid.count > 0 {
        writeln!(
            out,
            "{} invalid replies for {target}, not taken as answers ({INVALID_WHY})",
            t.invalid.count
        )?;
    }
    if let Some(line) = drop_line(t.dropped) {
        writeln!(out, "{line}")?;
    }
    if dad {
        match t.macs.first() {
            Some((m, _)) => writeln!(out, "{target} is in use by {m}")?,
            None => writeln!(out, "{target} is free: no reply to {} probes", t.sent)?,
        }
    }
    Ok(())
}

fn announce(a: &ArpArgs, addr: Option<Ipv4Addr>) -> Result<Status> {
    let iface = match (&a.interface, addr) {
        (Some(name), _) => arp::interface(name).map_err(setup)?,
        (None, Some(ip)) => arp::interface_for(ip, None).map_err(setup)?,
        (None, None) => {
            return Err(usage(
                "-U/-A announce an address of ours: give it with -s ADDR (and -I IFACE)",
            ));
        }
    };
    let ip = match addr {
        Some(ip) => ours(&iface, ip)?,
        None => *iface
            .v4
            .first()
            .map(|(a, _)| a)
            .ok_or_else(|| setup(ArpError::NoSource(iface.name().to_string())))?,
    };
    let me = Me { mac: iface.mac, ip };
    let cfg = ProbeConfig {
        mode: Mode::Announce { as_reply: a.answer },
        me,
        target: ip,
        count: a.count,
        interval: interval(a)?,
        deadline: deadline(a)?,
        first: false,
    };
    let mut link = open(&iface)?;
    crate::sys::catch_interrupt();
    let t = arp::run_probe(&mut link, &cfg, &mut |_| {})?;
    let kind = if a.answer { "reply" } else { "request" };
    let mut out = Out::stdout();
    if a.json {
        let v = json!({
            "schema": "nettool.arp/1",
            "mode": "announce",
            "interface": iface.name(),
            "source": { "ip": ip, "mac": me.mac.to_string() },
            "operation": kind,
            "sent": t.sent,
        });
        output::json(&mut out, &v)?;
    } else if !a.quiet {
        writeln!(
            out,
            "sent {} gratuitous ARP {kind}(s) announcing {ip} is at {} on {}",
            t.sent,
            me.mac,
            iface.name()
        )?;
    }
    out.flush()?;
    Ok(Status::Success)
}

fn sweep_nets(a: &ArpArgs, iface: Iface, nets: Vec<Net>) -> Result<Status> {
    let src = match &a.source {
        Some(s) => ours(&iface, parse_ipv4(s)?)?,
        None => iface
            .source_for(nets[0].network())
            .ok_or_else(|| setup(ArpError::NoSource(iface.name().to_string())))?,
    };
    let me = Me {
        mac: iface.mac,
        ip: src,
    };
    let mut targets: Vec<Ipv4Addr> = nets
        .iter()
        .flat_map(|n| n.hosts())
        .filter(|ip| !iface.v4.iter().any(|(mine, _)| mine == ip))
        .collect();
    targets.sort();
    targets.dedup();
    let plan = Plan {
        rate: a.rate,
        retries: a.retries,
        timeout: Duration::from_secs_f64(a.timeout),
    };
    let mut link = open(&iface)?;
    crate::sys::catch_interrupt();

    // A progress bar on a terminal, for sweeps that take over a second.
    let rounds = (u64::from(plan.retries) + 1) as f64;
    let estimate =
        targets.len() as f64 / f64::from(plan.rate) * rounds + plan.timeout.as_secs_f64() * rounds;
    let bar =
        (std::io::stderr().is_terminal() && !a.json && !a.quiet && estimate > 1.0).then(|| {
            let total = targets.len() as u64 * (u64::from(plan.retries) + 1);
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} sweeping {pos}/{len} requests [{bar:30}] {eta} left",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
    let outcome = sweep::run(
        &mut link,
        me,
        &targets,
        plan,
        &mut |sent, _| {
            if let Some(b) = &bar {
                b.set_position(sent);
            }
        },
        &crate::sys::interrupted,
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let vendors = oui::vendors(
        outcome
            .hosts
            .iter()
            .flat_map(|h| std::iter::once(h.mac).chain(h.others.iter().copied())),
    );
    let mut out = Out::stdout();
    let nets_text: Vec<String> = nets.iter().map(Net::to_string).collect();
    if a.json {
        let hosts: Vec<_> = outcome
            .hosts
            .iter()
            .map(|h| {
                json!({
                    "ip": h.ip,
                    "mac": h.mac.to_string(),
                    "vendor": oui::label(h.mac, &vendors),
                    "rtt_ms": ms(h.rtt),
                    "duplicate": !h.others.is_empty(),
                    "macs": std::iter::once(h.mac).chain(h.others.iter().copied()).map(|m| m.to_string()).collect::<Vec<_>>(),
                    "macs_at_least": h.others_not_kept > 0,
                    "replies_from_macs_not_kept": h.others_not_kept,
                })
            })
            .collect();
        let unsolicited: Vec<_> = outcome
            .unsolicited
            .first
            .iter()
            .map(|(ip, m)| json!({"ip": ip, "mac": m.to_string()}))
            .collect();
        let invalid: Vec<_> = outcome
            .invalid
            .first
            .iter()
            .map(|(ip, m, why)| json!({"ip": ip, "mac": m.to_string(), "reason": why.as_str()}))
            .collect();
        let v = json!({
            "schema": "nettool.arp.sweep/1",
            "interface": iface.name(),
            "source": { "ip": src, "mac": me.mac.to_string() },
            "networks": nets_text,
            "hosts": hosts,
            "scanned": outcome.scanned,
            "responded": outcome.hosts.len(),
            "sent": outcome.sent,
            "elapsed_ms": ms(outcome.elapsed),
            "unsolicited": { "count": outcome.unsolicited.count, "first": unsolicited },
            "invalid": { "count": outcome.invalid.count, "first": invalid },
            "dropped_frames": outcome.dropped.total(),
            "dropped_by_kernel": outcome.dropped.kernel,
            "clock": CLOCK,
        });
        output::json(&mut out, &v)?;
    } else {
        if !a.quiet {
            let mut t = Table::new(&[
                ("IP", Align::Left),
                ("MAC", Align::Left),
                ("Vendor", Align::Left),
                ("RTT", Align::Right),
                ("Dup", Align::Left),
            ]);
            for h in &outcome.hosts {
                t.cell(|b| {
                    let _ = write!(b, "{}", h.ip);
                });
                t.cell(|b| {
                    let _ = write!(b, "{}", h.mac);
                });
                t.cell_str(&oui::label(h.mac, &vendors));
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
            let tty = out.tty;
            t.write(&mut out, tty)?;
        }
        writeln!(
            out,
            "{} of {} addresses answered on {} ({}) in {:.2} s, {} requests sent",
            outcome.hosts.len(),
            outcome.scanned,
            iface.name(),
            nets_text.join(", "),
            outcome.elapsed.as_secs_f64(),
            outcome.sent
        )?;
        let u = &outcome.unsolicited;
        if u.count > 0 {
            writeln!(
                out,
                "{} unsolicited replies, not hosts: they answered no request of ours (for an address not asked yet, or never asked) ({})",
                u.count,
                sample_examples(u, |(ip, m)| format!("{ip} [{m}]"))
            )?;
        }
        let inv = &outcome.invalid;
        if inv.count > 0 {
            writeln!(
                out,
                "{} invalid replies, not hosts: {INVALID_WHY} ({})",
                inv.count,
                sample_examples(inv, |(ip, m, why)| format!("{ip} [{m}] {}", why.as_str()))
            )?;
        }
        if let Some(line) = drop_line(outcome.dropped) {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(if outcome.hosts.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

fn show_cache(a: &ArpArgs, iface: Option<&str>) -> Result<Status> {
    let mut warn = |w: String| crate::say!("nettool: {w}");
    let mut entries =
        cache::read(&mut warn).map_err(|e| anyhow::anyhow!("cannot read /proc/net/arp: {e}"))?;
    if let Some(name) = iface {
        entries.retain(|e| e.iface == name);
    }
    entries.sort_by_key(|e| e.ip);
    let names = if a.numeric {
        None
    } else {
        Some(Names::load(std::path::Path::new("/etc")))
    };
    let mut out = Out::stdout();
    if a.json {
        let v: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "ip": e.ip,
                    "mac": e.mac.map(|m| m.to_string()),
                    "hw_type": e.hw_type,
                    "flags": e.flag_names(),
                    "interface": e.iface,
                })
            })
            .collect();
        output::json(
            &mut out,
            &json!({"schema": "nettool.arp.cache/1", "entries": v}),
        )?;
    } else {
        let mut cols = vec![("Address", Align::Left)];
        if names.is_some() {
            cols.push(("Name", Align::Left));
        }
        cols.extend([
            ("HWaddress", Align::Left),
            ("Flags", Align::Left),
            ("Iface", Align::Left),
        ]);
        let mut t = Table::new(&cols);
        for e in &entries {
            t.cell(|b| {
                let _ = write!(b, "{}", e.ip);
            });
            if let Some(n) = &names {
                t.cell_str(n.host(e.ip.into()).unwrap_or("-"));
            }
            t.cell(|b| match e.mac {
                Some(m) => {
                    let _ = write!(b, "{m}");
                }
                None => b.push_str("(incomplete)"),
            });
            t.cell_str(&e.flag_names().join(","));
            t.cell_str(&e.iface);
        }
        let tty = out.tty;
        t.write(&mut out, tty)?;
    }
    out.flush()?;
    Ok(if entries.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}
