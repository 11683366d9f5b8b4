//! `nettool probe`: flags -> [`Settings`] -> [`probe::run`] -> one line
//! (or JSON line) per attempt as its event comes, then the summary from
//! the [`Report`]; and `nettool probe serve` over [`serve::run`].

mod watch;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde_json::json;

use crate::Status;
use crate::addr::{self, AddrError, Host};
use crate::cli::{ProbeArgs, ProbeCommand, ServeArgs};
use crate::cmd::{seconds, usage};
use crate::output::Out;
use crate::probe::behave::{Finding, PeerClose, Verdict};
use crate::probe::name::{self, Family, Resolve};
use crate::probe::neighbour::NoNeighbour;
use crate::probe::serve::{self, ServeError};
use crate::probe::{
    self, AfterSend, CloseWith, ConnectOpts, Event, Keepalive, Outcome, PeerMove, ProbeError,
    Report, Settings,
};
use crate::sys::TcpInfo;

mod rounds;
mod scan;
mod trace;

/// Every wait probe takes: below a millisecond a wait rounds to nothing,
/// 0 (where allowed) or at least 0.001.
fn secs(flag: &str, v: f64, allow_zero: bool) -> Result<Duration> {
    seconds(flag, v, 0.001..=86_400.0, allow_zero)
}

/// `HOST:PORT` / `[V6]:PORT` as written: the host, not yet resolved nor
/// its zone looked up, and the port. Pure text (fuzzed).
///
/// # Errors
/// A usage error that quotes the argument: no port, a bad port, no host.
pub fn split_target(s: &str) -> Result<(Host<'_>, u16)> {
    let bracket = || usage(format!("'{s}': write [IPV6]:PORT"));
    let split = addr::split_host_port(s).map_err(|_| bracket())?;
    let Some(port) = split.port else {
        if split.bracketed {
            return Err(bracket());
        }
        return Err(usage(format!(
            "'{s}' has no port: write HOST:PORT or [IPV6]:PORT"
        )));
    };
    let port = addr::parse_port(port, false).map_err(|e| usage(e.to_string()))?;
    let host = Host::parse(split.host).map_err(|e| match e {
        AddrError::NoHost => usage(format!("'{s}' has no host")),
        AddrError::ZoneWithoutIpv6 => usage(format!("'{}': {e}", split.host)),
        e => usage(e.to_string()),
    })?;
    Ok((host, port))
}

/// `HOST:PORT` / `[V6]:PORT` -> address, resolving names only when a name
/// was given.
///
/// # Errors
/// A usage error: the text is no target, its zone names no interface
/// here, the address is not of the family asked for, or the name does not
/// resolve (to one of that family).
pub fn parse_target(s: &str, v4: bool, v6: bool) -> Result<SocketAddr> {
    let (host, port) = split_target(s)?;
    match host {
        // A scoped IPv6 literal, fe80::1%eth0 or fe80::1%2: a number must
        // name an interface of this namespace too.
        Host::Zoned { ip, zone } => {
            let scope_id = addr::zone_index(zone);
            // A name that is no interface is said first, then the family,
            // then an index that is none.
            if v4 && !matches!(scope_id, Err(AddrError::NoSuchInterface(_))) {
                return Err(usage(format!("{ip} does not match -4")));
            }
            let scope_id = scope_id.map_err(|e| {
                // The host as written, as the other messages quote it.
                let text = addr::split_host_port(s).map_or(s, |x| x.host);
                usage(format!("'{text}': {e}"))
            })?;
            Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope_id)))
        }
        Host::Ip(ip) => {
            if (v4 && ip.is_ipv6()) || (v6 && ip.is_ipv4()) {
                return Err(usage(format!(
                    "{ip} does not match -{}",
                    if v4 { 4 } else { 6 }
                )));
            }
            Ok(SocketAddr::new(ip, port))
        }
        Host::Name(host) => {
            name::resolve(host, port, Family::of(v4, v6)).map_err(|e| usage(e.to_string()))
        }
    }
}

/// A link-local IPv6 address names a link only with its interface: the
/// kernel refuses it without one (EINVAL), so ask for it instead.
/// `or` is the other way to name it, if the command has one.
fn scoped(target: SocketAddr, iface: Option<&str>, or: &str) -> Result<SocketAddr> {
    match target {
        SocketAddr::V6(t)
            if t.ip().is_unicast_link_local() && t.scope_id() == 0 && iface.is_none() =>
        {
            Err(usage(format!(
                "{} is link-local: name the interface, [{}%IFACE]:{}{or}",
                t.ip(),
                t.ip(),
                t.port()
            )))
        }
        t => Ok(t),
    }
}

/// TCP connects only to (and listens only on) unicast addresses: a
/// broadcast or multicast address is a usage error, said plainly rather
/// than as the kernel's "network unreachable".
fn unicast(addr: SocketAddr, doing: &str) -> Result<SocketAddr> {
    // ::ffff:255.255.255.255 is the IPv4 broadcast address all the same.
    let kind = match addr.ip().to_canonical() {
        IpAddr::V4(v4) if v4.is_broadcast() => Some("broadcast"),
        ip if ip.is_multicast() => Some("multicast"),
        _ => None,
    };
    match kind {
        Some(kind) => Err(usage(format!(
            "cannot {doing} {}: a {kind} address; TCP needs a unicast address",
            addr.ip()
        ))),
        None => Ok(addr),
    }
}

/// 0.0.0.0 and `::` name no host: Linux connects them to this host, which
/// is never what a probe of "0.0.0.0" meant to ask.
fn specified(addr: SocketAddr) -> Result<SocketAddr> {
    if addr.ip().to_canonical().is_unspecified() {
        return Err(usage(format!(
            "the unspecified address {} names no host: to probe this host give 127.0.0.1 or ::1",
            addr.ip()
        )));
    }
    Ok(addr)
}

/// `serve`'s `[ADDR:]PORT`: a bare port listens on all addresses, IPv6 and
/// IPv4.
fn listen_addr(s: &str) -> Result<SocketAddr> {
    let addr = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let port = addr::parse_port(s, false).map_err(|e| usage(e.to_string()))?;
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port))
    } else if !s.contains(':') {
        return Err(usage(format!(
            "'{s}' is not a port: give PORT (1-65535), ADDR:PORT or [IPV6]:PORT"
        )));
    } else {
        parse_target(s, false, false)?
    };
    scoped(unicast(addr, "listen on")?, None, "")
}

fn keepalive_spec(s: &str) -> Result<Keepalive> {
    let v: Vec<u32> = s
        .split(',')
        .map(|x| x.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            usage(format!(
                "--keepalive '{s}': write IDLE,INTVL,CNT, e.g. 1,1,3"
            ))
        })?;
    // The kernel's limits: TCP_KEEPIDLE and TCP_KEEPINTVL up to 32767 s,
    // TCP_KEEPCNT up to 127.
    match v.as_slice() {
        &[idle, intvl, cnt]
            if (1..=32767).contains(&idle)
                && (1..=32767).contains(&intvl)
                && (1..=127).contains(&cnt) =>
        {
            Ok(Keepalive { idle, intvl, cnt })
        }
        _ => Err(usage(format!(
            "--keepalive '{s}': IDLE and INTVL 1-32767 seconds, CNT 1-127 probes"
        ))),
    }
}

/// `TCP_USER_TIMEOUT` is an int of milliseconds; 0 would mean the kernel's
/// default, which tests nothing.
const MAX_USER_TIMEOUT_MS: u32 = i32::MAX as u32;

/// Why a socket for `target` could not be set up, in terms of the flags.
fn setup_error(e: &std::io::Error, target: SocketAddr, o: &ConnectOpts) -> anyhow::Error {
    match (e.raw_os_error(), &o.iface, o.source) {
        (Some(crate::sys::errno::ENODEV), Some(i), _) => {
            usage(format!("-I '{i}': no such interface here"))
        }
        (Some(crate::sys::errno::EADDRNOTAVAIL), _, Some(src)) => usage(format!(
            "-s {src}: not an address of this host (see `ip address`)"
        )),
        _ => usage(format!(
            "cannot set up a connection to {target}: {e} (check -I, -s and the address family)"
        )),
    }
}

/// The `schema` of every `--json` line (attempts and the summary).
const SCHEMA: &str = "nettool.probe/1";

/// How long an open connection is watched for the peer's first move (a
/// RST, a FIN, a banner): enough for a peer that resets or greets at once.
const WATCH: Duration = Duration::from_millis(25);

/// `-I IFACE` as the kernel takes it.
fn check_interface(iface: Option<&str>) -> Result<()> {
    match iface {
        Some("") => Err(usage("-I '': give an interface name, e.g. -I eth0")),
        // SO_BINDTODEVICE would quietly cut a longer name to IFNAMSIZ - 1.
        Some(i) if i.len() > 15 => Err(usage(format!(
            "-I '{i}': interface names are at most 15 bytes"
        ))),
        _ => Ok(()),
    }
}

/// `-s ADDR`: an address, never a name.
fn source_addr(s: Option<&str>) -> Result<Option<IpAddr>> {
    s.map(|s| {
        s.parse::<IpAddr>()
            .map_err(|_| usage(format!("-s '{s}' is not an IP address")))
    })
    .transpose()
}

/// The probe's [`Settings`] from the flags, checked in the order the
/// user is told about them: the flags first, then the target (reading it
/// may resolve a name), then the flags that depend on the target.
///
/// # Errors
/// A usage error (exit 2) of one line that names the flag or the target.
pub fn settings(a: &ProbeArgs) -> Result<Settings> {
    let target_text = match a.targets.as_slice() {
        [] => return Err(usage("give HOST:PORT")),
        [one] => one.as_str(),
        [..] => return Err(usage("give one HOST:PORT")),
    };
    check_interface(a.interface.as_deref())?;
    let (count, deadline) = until(a)?;
    let interval = secs("-i", a.interval, true)?;
    let timeout = secs("-W", a.timeout, false)?;
    let keepalive = a.keepalive.as_deref().map(keepalive_spec).transpose()?;
    let hold = a.hold.map(|h| secs("--hold", h, false)).transpose()?;
    let source = source_addr(a.source.as_deref())?;
    let resolve_name = re_resolved(a, target_text)?;
    let target = specified(unicast(
        parse_target(target_text, a.ipv4, a.ipv6)?,
        "probe",
    )?)?;
    let target = scoped(target, a.interface.as_deref(), " or -I IFACE")?;
    if let Some(src) = source.filter(|s| s.is_ipv4() != target.is_ipv4()) {
        return Err(usage(format!(
            "-s {src} and {target} are of different address families: give a source of the target's"
        )));
    }
    if let Some(ms) = a
        .user_timeout
        .filter(|ms| !(1..=MAX_USER_TIMEOUT_MS).contains(ms))
    {
        return Err(usage(format!(
            "--user-timeout {ms}: give 1 to {MAX_USER_TIMEOUT_MS} milliseconds (the kernel's limit)"
        )));
    }
    if a.user_timeout.is_some() && a.send.as_deref().is_none_or(str::is_empty) {
        return Err(usage(
            "--user-timeout needs --send DATA: the timeout is for sent data left unacknowledged",
        ));
    }
    if hold.is_some() && keepalive.is_none() && a.user_timeout.is_none() {
        return Err(usage(
            "--hold is how long --keepalive or --user-timeout hold the connection: give one of them",
        ));
    }
    if a.expect_close && a.send.is_none() {
        return Err(usage("--expect-close needs --send DATA"));
    }
    // Rapid probing closes with RST: a FIN close leaves a TIME_WAIT per
    // attempt on our side, and thousands of them exhaust the ephemeral
    // ports to one peer.
    let rst_close = a.rst || (interval.is_zero() && !a.graceful);
    let after_send = match a.user_timeout {
        Some(ms) => AfterSend::UserTimeout { ms },
        None if a.half_close => AfterSend::HalfClose,
        None if a.expect_close => AfterSend::ExpectClose,
        None => AfterSend::Nothing,
    };
    // With -s the name must keep to the source's family.
    let family = match (Family::of(a.ipv4, a.ipv6), source) {
        (Family::Any, Some(IpAddr::V4(_))) => Family::V4,
        (Family::Any, Some(IpAddr::V6(_))) => Family::V6,
        (f, _) => f,
    };
    Ok(Settings {
        target,
        count,
        interval,
        connect: ConnectOpts {
            timeout,
            iface: a.interface.clone(),
            source,
            // Watch for the peer's first move, never longer than the gap
            // between attempts.
            observe: if count == Some(1) {
                WATCH
            } else {
                interval.min(WATCH)
            },
        },
        keepalive,
        after_send,
        hold,
        send: a.send.clone().unwrap_or_default().into_bytes(),
        close: if rst_close {
            CloseWith::Rst
        } else {
            CloseWith::Fin
        },
        info_at_close: a.verbose,
        deadline,
        resolve: resolve_name.map(|(name, port)| Resolve { name, port, family }),
    })
}

/// How many attempts (`None`: until stopped, `-c 0` or `-t`) and the
/// deadline (`-w`, up to a year: how long a watch may run).
fn until(a: &ProbeArgs) -> Result<(Option<u64>, Option<Duration>)> {
    let count = match a.count {
        _ if a.until_stopped => None,
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(4),
    };
    let deadline = a
        .deadline
        .map(|w| seconds("-w", w, 0.001..=31_536_000.0, false))
        .transpose()?;
    quiet_ok_makes_sense(a, count)?;
    Ok((count, deadline))
}

/// With `-r`, the name (and port) to resolve again before each attempt;
/// an address has nothing to resolve.
fn re_resolved(a: &ProbeArgs, target_text: &str) -> Result<Option<(String, u16)>> {
    if !a.re_resolve {
        return Ok(None);
    }
    match split_target(target_text)? {
        (Host::Name(name), port) => Ok(Some((name.to_string(), port))),
        (Host::Ip(_) | Host::Zoned { .. }, _) => Err(usage(format!(
            "-r resolves a name again before each attempt, and '{target_text}' is an address: drop -r"
        ))),
    }
}

/// `--quiet-ok` prints changes instead of attempts: refused with the flags
/// whose output is per attempt, and with one attempt (no change to show).
fn quiet_ok_makes_sense(a: &ProbeArgs, count: Option<u64>) -> Result<()> {
    if !a.quiet_ok {
        return Ok(());
    }
    if count == Some(1) {
        return Err(usage(
            "--quiet-ok with -c 1: one attempt makes no state change to show; drop --quiet-ok",
        ));
    }
    let per_attempt = [
        (a.verbose, "-v"),
        (a.keepalive.is_some(), "--keepalive"),
        (a.user_timeout.is_some(), "--user-timeout"),
        (a.half_close, "--half-close"),
        (a.expect_close, "--expect-close"),
    ];
    if let Some((_, flag)) = per_attempt.iter().find(|(given, _)| *given) {
        return Err(usage(format!(
            "--quiet-ok hides each attempt's lines, which is where {flag} reports: drop one of them"
        )));
    }
    Ok(())
}

/// Lines of text (`-D`: each attempt's with a timestamp), or JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text { timestamp: bool },
    Json,
}

/// How attempts and the summary are shown: the flags that change only
/// the rendering.
struct View {
    format: Format,
    verbose: bool,
    /// `--rst` itself (not the RST chosen for `-i 0`): said on each line.
    rst: bool,
    /// Only the changes, not each attempt.
    quiet_ok: bool,
}

/// Why the probe stopped, for the user: setup problems in terms of the
/// flags (exit 2); an output error as itself, so a closed pipe stays
/// quiet.
fn probe_error(e: ProbeError, s: &Settings) -> anyhow::Error {
    match e {
        ProbeError::Setup { target, error } => setup_error(&error, target, &s.connect),
        ProbeError::Test(e) | ProbeError::Output(e) => e.into(),
    }
}

/// `nettool probe` and `nettool probe serve`: 0 when every attempt
/// connected and no behaviour test failed, 1 otherwise.
///
/// # Errors
/// Usage and setup errors (exit 2), a failure on our side, or a closed
/// stdout (which `main` keeps quiet).
pub fn run(a: &ProbeArgs) -> Result<Status> {
    metrics_make_sense(a)?;
    if let Some(ProbeCommand::Serve(s)) = &a.serve {
        return run_serve(s);
    }
    if a.trace {
        return trace::run(a);
    }
    if scan::wanted(a) {
        return scan::run(a);
    }
    let s = settings(a)?;
    if a.metrics.wanted() {
        return run_metrics(a, &s);
    }
    let view = View {
        format: if a.json {
            Format::Json
        } else {
            Format::Text {
                timestamp: a.timestamp,
            }
        },
        verbose: a.verbose,
        rst: a.rst,
        quiet_ok: a.quiet_ok,
    };
    let mut out = Out::stdout();
    let report = probe::run(&s, &mut |e| {
        render_event(&mut out, &s, &view, &e)?;
        out.flush()
    })
    .map_err(|e| probe_error(e, &s))?;
    render_report(&mut out, &report, view.format == Format::Json)?;
    out.flush()?;
    Ok(if report.passed() {
        Status::Success
    } else {
        Status::NotFound
    })
}

/// The flag that asked for metrics, as an error names it.
pub(super) fn metrics_flag(a: &ProbeArgs) -> &'static str {
    if a.metrics.prometheus {
        "--prometheus"
    } else {
        "--textfile"
    }
}

/// Metrics are one answer per (host, port): the modes that wait, trace or
/// test a connection's behaviour have none, and the flags that only shape
/// the lines have nothing to shape. Refused in one line (exit 2) rather
/// than written as something they are not.
fn metrics_make_sense(a: &ProbeArgs) -> Result<()> {
    if !a.metrics.wanted() {
        return Ok(());
    }
    let flag = metrics_flag(a);
    let why = if a.serve.is_some() {
        Some("probe serve answers probes and measures nothing".to_string())
    } else if a.trace {
        Some("--trace finds a path hop by hop, not one answer per port".to_string())
    } else if a.until_stopped || a.count == Some(0) {
        let given = if a.until_stopped { "-t" } else { "-c 0" };
        Some(format!(
            "{given} watches until stopped and a file is written at the end: run one probe per interval from a timer (contrib/systemd) instead"
        ))
    } else {
        [
            (a.keepalive.is_some(), "--keepalive"),
            (a.user_timeout.is_some(), "--user-timeout"),
            (a.hold.is_some(), "--hold"),
            (a.send.is_some(), "--send"),
            (a.half_close, "--half-close"),
            (a.expect_close, "--expect-close"),
        ]
        .into_iter()
        .find_map(|(given, f)| given.then_some(f))
        .map(|f| format!("{f} tests a connection's behaviour, which has no metric here"))
        .or_else(|| {
            [
                (a.quiet_ok, "--quiet-ok"),
                (a.verbose, "-v"),
                (a.timestamp, "-D"),
            ]
            .into_iter()
            .find_map(|(given, f)| given.then_some(f))
            .map(|f| format!("{f} shapes the lines, and metrics print none"))
        })
    };
    match why {
        Some(why) => Err(usage(format!("{flag}: {why}"))),
        None => Ok(()),
    }
}

/// The attempt loop with metrics instead of lines: the last attempt and
/// the counts ([`crate::output::prometheus::probe::single`]), the exit
/// status as without them.
fn run_metrics(a: &ProbeArgs, s: &Settings) -> Result<Status> {
    let mut last: Option<(SocketAddr, Outcome)> = None;
    let report = probe::run(s, &mut |e| {
        if let Event::Attempt(at) = e {
            last = Some((at.target.unwrap_or(s.target), at.outcome.clone()));
        }
        Ok(())
    })
    .map_err(|e| probe_error(e, s))?;
    let name = match a.targets.first().map(|t| split_target(t)) {
        Some(Ok((Host::Name(n), _))) => Some(n),
        _ => None,
    };
    let e = crate::output::prometheus::probe::single(
        &report,
        last.as_ref().map(|(t, o)| (*t, o)),
        name,
    )
    .map_err(anyhow::Error::from)?;
    // Ctrl-C before the count: the run did not do its job.
    let done = report.stopped_by != probe::Stop::Interrupt;
    crate::cmd::metrics::emit(&a.metrics, "probe", e, done)?;
    Ok(if report.passed() {
        Status::Success
    } else {
        Status::NotFound
    })
}

/// A wait as given, to the millisecond `secs()` allows, with at least one
/// decimal: `3.0`, `1.5`, `0.25`, `0.001`.
fn secs_text(d: Duration) -> String {
    let mut t = format!("{:.3}", d.as_secs_f64());
    while t.ends_with('0') && !t.ends_with(".0") {
        t.pop();
    }
    t
}

/// `[secs.micros] ` of the wall clock, for `-D`.
fn stamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("[{}.{:06}] ", d.as_secs(), d.subsec_micros())
}

/// The header, or an attempt's line(s) / JSON line, as it happens.
fn render_event(out: &mut Out, s: &Settings, view: &View, e: &Event) -> std::io::Result<()> {
    let stamp_text = || {
        if view.format == (Format::Text { timestamp: true }) {
            stamp()
        } else {
            String::new()
        }
    };
    match e {
        Event::Started if view.format == Format::Json => Ok(()),
        Event::Attempt(_) if view.quiet_ok => Ok(()),
        Event::Change { seq, change } if view.format == Format::Json => {
            serde_json::to_writer(&mut *out, &watch::change_json(SCHEMA, *seq, change))?;
            writeln!(out)
        }
        Event::Change { change, .. } => {
            writeln!(out, "{}{}", stamp_text(), watch::change_line(change))
        }
        Event::Started => {
            let how = match s.close {
                CloseWith::Rst => "closing with RST",
                CloseWith::Fin => "closing with FIN",
            };
            writeln!(
                out,
                "PROBE {}: {}, timeout {} s, {how}",
                watch::header_target(s),
                watch::how_many(s),
                secs_text(s.connect.timeout)
            )
        }
        Event::Attempt(at) if view.format == Format::Json => {
            let v = json!({
                "schema": SCHEMA,
                "type": "attempt",
                "seq": at.seq,
                "target": shown_target(s, at.target),
                "local": at.local.map(|l| l.to_string()),
                "outcome": at.outcome,
                "tcp_info": at.info.filter(|_| view.verbose),
                "tcp_info_at_close": at.info_at_close,
                "behaviour": at.findings,
                "closed_with": at.closed_with,
            });
            serde_json::to_writer(&mut *out, &v)?;
            writeln!(out)
        }
        Event::Attempt(at) => {
            writeln!(
                out,
                "{}{}",
                stamp_text(),
                attempt_line(at.seq, &shown_target(s, at.target), &at.outcome)
            )?;
            if view.verbose {
                if let Some(i) = at.info.filter(|_| at.outcome.is_open()) {
                    writeln!(out, "    TCP_INFO after handshake: {}", info_text(&i))?;
                }
                if let Some(i) = at.info_at_close {
                    writeln!(out, "    TCP_INFO before close:    {}", info_text(&i))?;
                }
            }
            for f in &at.findings {
                writeln!(out, "    {}", finding_text(f))?;
            }
            if at.closed_with == Some(CloseWith::Rst) && (view.rst || view.verbose) {
                writeln!(
                    out,
                    "    closed with RST (SO_LINGER 0): no FIN exchange, no TIME_WAIT on our side"
                )?;
            }
            Ok(())
        }
    }
}

/// The closing summary.
fn render_report(out: &mut Out, r: &Report, json: bool) -> std::io::Result<()> {
    if json {
        let mut v = json!({
            "schema": SCHEMA,
            "type": "summary",
            "target": r.target.to_string(),
            "attempts": r.attempts,
            "open": r.open,
            "failed": r.failed,
            "loss_pct": r.loss_pct,
            "handshake": r.handshake,
            "kernel_rtt": r.kernel_rtt,
            "elapsed_s": r.elapsed_s,
            "attempts_per_second": r.attempts_per_second,
            "clock": "CLOCK_MONOTONIC in user space, connect() to writable",
        });
        if let serde_json::Value::Object(m) = &mut v {
            m.extend(watch::summary_fields(r));
        }
        serde_json::to_writer(&mut *out, &v)?;
        return writeln!(out);
    }
    writeln!(out, "--- {} probe statistics ---", r.target)?;
    writeln!(
        out,
        "{} attempts, {} open, {} failed, {:.0}% loss, {:.2} s",
        r.attempts, r.open, r.failed, r.loss_pct, r.elapsed_s
    )?;
    if let Some(h) = r.handshake {
        writeln!(
            out,
            "handshake min/avg/max/mdev/p95 = {:.3}/{:.3}/{:.3}/{:.3}/{:.3} ms (user space, connect() to writable)",
            h.min_ms, h.avg_ms, h.max_ms, h.mdev_ms, h.p95_ms
        )?;
    }
    if let Some(r) = r.kernel_rtt {
        writeln!(
            out,
            "kernel rtt (TCP_INFO) min/avg/max = {:.3}/{:.3}/{:.3} ms",
            r.min_ms, r.avg_ms, r.max_ms
        )?;
    }
    for line in watch::summary_lines(r) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The address an attempt went to, or (when the name did not resolve)
/// the name and port.
fn shown_target(s: &Settings, tried: Option<SocketAddr>) -> String {
    match (tried, &s.resolve) {
        (Some(t), _) => t.to_string(),
        (None, Some(r)) => probe::watch::Key {
            host: r.name.clone(),
            port: r.port,
        }
        .to_string(),
        (None, None) => s.target.to_string(),
    }
}

fn attempt_line(n: u64, target: &str, o: &Outcome) -> String {
    format!("{n}: {}", outcome_line(target, o))
}

/// `TARGET LABEL  details: what it means`, as an attempt's line and a
/// scan's line say it.
fn outcome_line(target: &str, o: &Outcome) -> String {
    use std::fmt::Write as _;
    let ms = |us: f64| us / 1e3;
    match o {
        Outcome::Open {
            handshake_us,
            kernel_rtt_us,
            peer,
        } => {
            let mut s = format!(
                "{target} open  handshake {:.3} ms (kernel rtt {:.3} ms)",
                ms(*handshake_us),
                f64::from(*kernel_rtt_us) / 1e3
            );
            match peer {
                Some(PeerMove::Data { bytes }) => {
                    let _ = write!(s, ", peer spoke first ({bytes} bytes)");
                }
                Some(PeerMove::Fin) => s.push_str(", then the peer closed (FIN)"),
                None => {}
            }
            s
        }
        Outcome::ResetAfterAccept {
            handshake_us,
            reset_after_us,
        } => {
            let when = if *reset_after_us > 0.0 {
                format!("{:.3} ms later", ms(*reset_after_us))
            } else {
                "before we looked".to_string()
            };
            format!(
                "{target} reset after accept  handshake {:.3} ms, then RST {when}: something accepts and drops connections",
                ms(*handshake_us)
            )
        }
        Outcome::RefusedRst { after_us } => format!(
            "{target} refused (RST)  after {:.3} ms: the host is up, nothing listens on the port",
            ms(*after_us)
        ),
        Outcome::RefusedIcmp { after_us, icmp } => format!(
            "{target} refused (ICMP port unreachable)  {icmp}, after {:.3} ms: a firewall rejects the port",
            ms(*after_us)
        ),
        Outcome::Filtered {
            waited_us,
            syn_retransmits,
        } => format!(
            "{target} filtered (no answer after {syn_retransmits} SYN retransmits, {:.3} s): SYNs are dropped on the way, or the host is down",
            waited_us / 1e6
        ),
        Outcome::HostUnreachable { after_us, icmp } => match icmp {
            Some(i) => format!(
                "{target} host unreachable  {i}, after {:.3} ms",
                ms(*after_us)
            ),
            None => format!(
                "{target} host unreachable  (local: no ARP/NDP answer), after {:.3} ms",
                ms(*after_us)
            ),
        },
        Outcome::NetworkUnreachable { after_us, icmp } => match icmp {
            Some(i) => format!(
                "{target} network unreachable  {i}, after {:.3} ms",
                ms(*after_us)
            ),
            None => format!(
                "{target} network unreachable  (no route here), immediately ({:.3} ms)",
                ms(*after_us)
            ),
        },
        Outcome::AdminProhibited { after_us, icmp } => format!(
            "{target} administratively prohibited  {icmp}, after {:.3} ms: a firewall rejects it by policy",
            ms(*after_us)
        ),
        Outcome::Error { after_us, error } => {
            format!("{target} error: {error}, after {:.3} ms", ms(*after_us))
        }
        Outcome::NoNeighbour(nn) => no_neighbour_line(target, nn),
    }
}

/// "no ARP reply from ...": the target, or the gateway on the way.
fn no_neighbour_line(target: &str, nn: &NoNeighbour) -> String {
    let (p, who, iface, secs) = (
        nn.protocol.name(),
        nn.neighbour,
        &nn.iface,
        nn.after_us / 1e6,
    );
    if nn.gateway {
        format!(
            "{target} no {p} reply from the gateway {who} (the router on {iface} is down or gone), after {secs:.3} s"
        )
    } else {
        format!(
            "{target} no {p} reply from {who} (no host at this address on {iface}), after {secs:.3} s"
        )
    }
}

fn info_text(i: &TcpInfo) -> String {
    let state = crate::sockstat::TcpState::from_kernel(i.state).map_or("?", |s| s.netstat_name());
    format!(
        "state {state}, rtt {:.3} ms, rttvar {:.3} ms, rto {:.0} ms, retransmits {}, cwnd {}, mss {}",
        f64::from(i.rtt_us) / 1e3,
        f64::from(i.rttvar_us) / 1e3,
        f64::from(i.rto_us) / 1e3,
        i.total_retrans,
        i.snd_cwnd,
        i.snd_mss
    )
}

fn finding_text(f: &Finding) -> String {
    match f {
        Finding::Keepalive {
            verdict,
            after_s,
            expected_dead_s,
            probes,
            error,
        } => match verdict {
            Verdict::Alive => format!(
                "keepalive: peer alive after {after_s:.2} s (dead would be declared after {expected_dead_s:.0} s)"
            ),
            Verdict::Dead => format!(
                "keepalive: peer declared dead after {after_s:.2} s (expected IDLE + INTVL x CNT = {expected_dead_s:.0} s), {probes} probes unanswered (TCP_INFO), {}",
                error.as_deref().unwrap_or("ETIMEDOUT")
            ),
            Verdict::Reset => format!(
                "keepalive: connection reset after {after_s:.2} s (a probe was answered with RST: the peer lost the connection)"
            ),
            Verdict::Closed => format!("keepalive: the peer closed (FIN) after {after_s:.2} s"),
        },
        Finding::UserTimeout {
            verdict,
            after_s,
            timeout_ms,
            unacked,
            error,
        } => match verdict {
            Verdict::Alive => format!(
                "user timeout {timeout_ms} ms: connection still alive after {after_s:.2} s ({unacked} segments unacknowledged)"
            ),
            _ => format!(
                "user timeout {timeout_ms} ms: connection aborted after {after_s:.2} s with data unacknowledged ({})",
                error.as_deref().unwrap_or(verdict.as_str())
            ),
        },
        Finding::ExpectClose {
            how,
            after_s,
            bytes_received,
        } => match how {
            PeerClose::Fin => format!(
                "peer closed gracefully (FIN) {:.3} ms after our data, having sent {bytes_received} bytes",
                after_s * 1e3
            ),
            PeerClose::Rst => format!(
                "peer closed abortively (RST) {:.3} ms after our data, having sent {bytes_received} bytes",
                after_s * 1e3
            ),
            PeerClose::None => format!(
                "peer did not close within {after_s:.2} s ({bytes_received} bytes received)"
            ),
        },
        Finding::HalfClose {
            bytes_after_our_fin,
            peer_fin_after_s,
            reset,
        } => {
            let fin = match (peer_fin_after_s, reset) {
                (_, true) => "then reset the connection (RST)".to_string(),
                (Some(t), _) => format!(
                    "then sent its FIN {:.3} ms after ours: four-way close complete",
                    t * 1e3
                ),
                (None, _) => {
                    "and has not sent its FIN (half-closed: it may still send)".to_string()
                }
            };
            format!(
                "half-close: after our FIN (shutdown SHUT_WR) the peer sent {bytes_after_our_fin} bytes, {fin}"
            )
        }
    }
}

/// `probe serve`'s [`serve::Settings`] from its flags.
///
/// # Errors
/// A usage error (exit 2) of one line that names the flag or the address.
pub fn serve_settings(a: &ServeArgs) -> Result<serve::Settings> {
    if a.count == Some(0) {
        return Err(usage(
            "--count 0: give at least 1 connection, or leave --count out to serve until Ctrl-C",
        ));
    }
    if a.count.is_some() && a.behavior.served().is_none() {
        return Err(usage(
            "--count counts accepted connections, and no-accept accepts none: leave --count out (Ctrl-C ends it)",
        ));
    }
    Ok(serve::Settings {
        listen: listen_addr(&a.listen)?,
        behavior: a.behavior,
        count: a.count,
    })
}

/// A line on stdout, flushed; the stdout lock is taken per line, as
/// connection threads print too.
fn say_line(line: &dyn std::fmt::Display) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}")?;
    o.flush()
}

fn run_serve(a: &ServeArgs) -> Result<Status> {
    let s = serve_settings(a)?;
    let end = serve::run(&s, |e| match e {
        serve::Event::Listening { local, behavior } => say_line(&format_args!(
            "listening on {local}, behavior {behavior:?}, SO_REUSEADDR on"
        )),
        serve::Event::NeverAccepting => say_line(
            &"never accepting: the accept queue (backlog 1) fills after 2 connections; later SYNs go unanswered",
        ),
        serve::Event::Connection(handled) => say_line(&handled),
        serve::Event::AcceptTrouble { line, stopping } => {
            let stopped = if stopping { "; stopped" } else { "" };
            crate::say!("nettool: {line}{stopped}");
            Ok(())
        }
    })
    .map_err(|e| -> anyhow::Error {
        match e {
            e @ (ServeError::Listen { .. } | ServeError::ListenAny { .. }) => usage(e.to_string()),
            ServeError::Accept(e) | ServeError::Output(e) => e.into(),
            e => e.into(),
        }
    })?;
    match end {
        serve::End::Done => Ok(Status::Success),
        serve::End::Signal(signal) => {
            // Connections in progress are cut, as the signal's default
            // would.
            let _ = std::io::stdout().flush();
            std::process::exit(128 + signal);
        }
    }
}

/// `nettool probe ARGV...` as clap reads it, for the argv tests of every
/// mode's front end.
#[cfg(test)]
fn test_args(argv: &[&str]) -> ProbeArgs {
    use clap::Parser as _;
    let mut all = vec!["nettool", "probe"];
    all.extend_from_slice(argv);
    match crate::cli::Cli::try_parse_from(all)
        .expect("clap accepts it")
        .command
    {
        crate::cli::Command::Probe(a) => a,
        c => panic!("not probe: {c:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("198.51.100.2:80", false, false).unwrap(),
            "198.51.100.2:80".parse().unwrap()
        );
        assert_eq!(
            parse_target("[2001:db8::2]:443", false, false).unwrap(),
            "[2001:db8::2]:443".parse().unwrap()
        );
        for bad in [
            "198.51.100.2",
            "198.51.100.2:0",
            "198.51.100.2:70000",
            "[::1]",
            "2001:db8::2:80",
            ":80",
            "x:y",
            "198.51.100.2:+80",
            "[2001:db8::2]:+443",
        ] {
            assert!(parse_target(bad, false, false).is_err(), "{bad}");
        }
        assert!(parse_target("198.51.100.2:80", false, true).is_err());
        assert_eq!(listen_addr("7000").unwrap(), "[::]:7000".parse().unwrap());
        assert_eq!(
            listen_addr("127.0.0.1:7000").unwrap(),
            "127.0.0.1:7000".parse().unwrap()
        );
        for bad in [
            "0",
            "65536",
            "+7000",
            " 7000",
            "",
            "0.0.0.0:0",
            "255.255.255.255:7000",
            "[ff02::1]:7000",
            "[fe80::1]:7000",
        ] {
            assert!(listen_addr(bad).is_err(), "{bad:?}");
        }
        // lo is index 1 in every network namespace.
        let scoped_by_number = parse_target("[fe80::1%1]:80", false, false).unwrap();
        assert_eq!(
            scoped_by_number,
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 80, 0, 1))
        );
        let e = parse_target("[fe80::1%4000000000]:80", false, false).unwrap_err();
        assert!(
            e.to_string().contains("no interface with index 4000000000"),
            "{e}"
        );
        for bad in [
            "[198.51.100.1%7]:80",
            "[fe80::1%]:80",
            "[fe80::1%../lo]:80",
            "[fe80::1%nt-no-such-if]:80",
        ] {
            assert!(parse_target(bad, false, false).is_err(), "{bad}");
        }
        assert!(parse_target("[fe80::1%1]:80", true, false).is_err());
        for (bad, v4, said) in [
            ("[::1", false, "'[::1': write [IPV6]:PORT"),
            ("[::1]", false, "'[::1]': write [IPV6]:PORT"),
            (":80", false, "':80' has no host"),
            ("x:+1", false, "port '+1' is not valid: give 1-65535"),
            (
                "x%y:80",
                false,
                "'x%y': only an IPv6 address takes a %ZONE (an interface), e.g. fe80::1%eth0",
            ),
            (
                "[fe80::1%nt-no-such-if]:80",
                true,
                "'fe80::1%nt-no-such-if': no interface named 'nt-no-such-if' here (see `ip link`)",
            ),
            (
                "[FE80::0001%4000000000]:80",
                false,
                "'FE80::0001%4000000000': no interface with index 4000000000 here (see `ip link`)",
            ),
            ("[fe80::1%4000000000]:80", true, "fe80::1 does not match -4"),
            ("[2001:db8::2]:80", true, "2001:db8::2 does not match -4"),
            // Text with a ':' is an address or a mistake, never a name.
            ("[zz::]:80", false, "'zz::' is not an IPv6 address"),
        ] {
            let e = parse_target(bad, v4, false).unwrap_err();
            assert_eq!(e.to_string(), said, "{bad}");
        }
        assert_eq!(
            keepalive_spec("1,1,3").unwrap(),
            Keepalive {
                idle: 1,
                intvl: 1,
                cnt: 3
            }
        );
        assert!(
            keepalive_spec("1,1").is_err()
                && keepalive_spec("0,1,1").is_err()
                && keepalive_spec("a,b,c").is_err()
        );
    }

    use super::test_args as args;
    use crate::cli::Cli;
    use clap::Parser as _;

    fn probe_settings(argv: &[&str]) -> Result<Settings> {
        settings(&args(argv))
    }

    fn serve_args(argv: &[&str]) -> Result<serve::Settings> {
        match args(argv).serve {
            Some(ProbeCommand::Serve(s)) => serve_settings(&s),
            None => panic!("not serve: {argv:?}"),
        }
    }

    /// The defaults around a target, as `nettool probe TARGET` has them.
    fn plain(target: &str) -> Settings {
        Settings {
            target: target.parse().unwrap(),
            count: Some(4),
            interval: Duration::from_secs(1),
            connect: ConnectOpts {
                timeout: Duration::from_secs(3),
                iface: None,
                source: None,
                observe: WATCH,
            },
            keepalive: None,
            after_send: AfterSend::Nothing,
            hold: None,
            send: Vec::new(),
            close: CloseWith::Fin,
            info_at_close: false,
            deadline: None,
            resolve: None,
        }
    }

    #[test]
    fn settings_from_argv() {
        assert_eq!(
            probe_settings(&["-c", "3", "-i", "0.2", "198.51.100.2:22"]).unwrap(),
            Settings {
                count: Some(3),
                interval: Duration::from_millis(200),
                ..plain("198.51.100.2:22")
            }
        );
        // Back to back closes with RST; the watch is never longer than
        // the gap between attempts.
        let mut fast = plain("[2001:db8::2]:7000");
        fast.count = Some(1000);
        fast.interval = Duration::ZERO;
        fast.connect.observe = Duration::ZERO;
        fast.close = CloseWith::Rst;
        assert_eq!(
            probe_settings(&["-c", "1000", "-i", "0", "[2001:db8::2]:7000"]).unwrap(),
            fast
        );
        fast.close = CloseWith::Fin;
        assert_eq!(
            probe_settings(&["-c", "1000", "-i", "0", "--graceful", "[2001:db8::2]:7000"]).unwrap(),
            fast
        );
        let mut tests = plain("198.51.100.2:7000");
        tests.count = Some(1);
        tests.keepalive = Some(Keepalive {
            idle: 1,
            intvl: 2,
            cnt: 3,
        });
        tests.after_send = AfterSend::UserTimeout { ms: 1500 };
        tests.hold = Some(Duration::from_secs(10));
        tests.send = b"hello".to_vec();
        tests.close = CloseWith::Rst;
        tests.info_at_close = true;
        tests.connect.timeout = Duration::from_millis(500);
        tests.connect.source = Some("198.51.100.1".parse().unwrap());
        assert_eq!(
            probe_settings(&[
                "-c",
                "1",
                "-W",
                "0.5",
                "-v",
                "--rst",
                "-s",
                "198.51.100.1",
                "--keepalive",
                "1,2,3",
                "--user-timeout",
                "1500",
                "--hold",
                "10",
                "--send",
                "hello",
                "198.51.100.2:7000",
            ])
            .unwrap(),
            tests
        );
        let mut half = plain("198.51.100.2:7000");
        half.send = b"x".to_vec();
        half.after_send = AfterSend::HalfClose;
        assert_eq!(
            probe_settings(&["--half-close", "--send", "x", "198.51.100.2:7000"]).unwrap(),
            half
        );
        half.after_send = AfterSend::ExpectClose;
        assert_eq!(
            probe_settings(&["--expect-close", "--send", "x", "198.51.100.2:7000"]).unwrap(),
            half
        );
        assert_eq!(
            serve_args(&["serve", "7000"]).unwrap(),
            serve::Settings {
                listen: "[::]:7000".parse().unwrap(),
                behavior: serve::Behavior::Accept,
                count: None,
            }
        );
        assert_eq!(
            serve_args(&[
                "serve",
                "127.0.0.1:7000",
                "--behavior",
                "rst",
                "--count",
                "2"
            ])
            .unwrap(),
            serve::Settings {
                listen: "127.0.0.1:7000".parse().unwrap(),
                behavior: serve::Behavior::Rst,
                count: Some(2),
            }
        );
    }

    #[test]
    fn waits_are_shown_as_given() {
        for (ms, said) in [
            (3000, "3.0"),
            (1500, "1.5"),
            (250, "0.25"),
            (1, "0.001"),
            (86_400_000, "86400.0"),
        ] {
            assert_eq!(secs_text(Duration::from_millis(ms)), said);
        }
    }

    #[test]
    fn bad_argv_is_one_line_that_says_why() {
        for (argv, said) in [
            (
                &["-i", "1e300", "198.51.100.2:22"][..],
                "-i 1e300: give 0, or 0.001 to 86400 seconds (fractions allowed)",
            ),
            (
                &["-W", "0", "198.51.100.2:22"],
                "-W 0: give 0.001 to 86400 seconds (fractions allowed)",
            ),
            (
                &["198.51.100.2"],
                "'198.51.100.2' has no port: write HOST:PORT or [IPV6]:PORT",
            ),
            (&["198.51.100.2:0"], "port '0' is not valid: give 1-65535"),
            (
                &["--keepalive", "1,1", "198.51.100.2:22"],
                "--keepalive '1,1': IDLE and INTVL 1-32767 seconds, CNT 1-127 probes",
            ),
            (
                &["-I", "", "[::1"],
                "-I '': give an interface name, e.g. -I eth0",
            ),
            (
                &["-s", "2001:db8::1", "198.51.100.2:22"],
                "-s 2001:db8::1 and 198.51.100.2:22 are of different address families: give a source of the target's",
            ),
            (
                &["224.0.0.1:7000"],
                "cannot probe 224.0.0.1: a multicast address; TCP needs a unicast address",
            ),
            (
                &["0.0.0.0:7000"],
                "the unspecified address 0.0.0.0 names no host: to probe this host give 127.0.0.1 or ::1",
            ),
            (
                &["[fe80::1]:22"],
                "fe80::1 is link-local: name the interface, [fe80::1%IFACE]:22 or -I IFACE",
            ),
            (
                &["--hold", "1", "198.51.100.2:22"],
                "--hold is how long --keepalive or --user-timeout hold the connection: give one of them",
            ),
            (
                &["--user-timeout", "1000", "198.51.100.2:22"],
                "--user-timeout needs --send DATA: the timeout is for sent data left unacknowledged",
            ),
            (
                &["--expect-close", "198.51.100.2:22"],
                "--expect-close needs --send DATA",
            ),
        ] {
            let e = probe_settings(argv).expect_err(&format!("{argv:?}"));
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{argv:?}: exit 2"
            );
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
        for (argv, said) in [
            (
                &["serve", "7000", "--count", "0"][..],
                "--count 0: give at least 1 connection, or leave --count out to serve until Ctrl-C",
            ),
            (
                &["serve", "+7000"],
                "'+7000' is not a port: give PORT (1-65535), ADDR:PORT or [IPV6]:PORT",
            ),
            (
                &["serve", "255.255.255.255:7000"],
                "cannot listen on 255.255.255.255: a broadcast address; TCP needs a unicast address",
            ),
        ] {
            let e = serve_args(argv).expect_err(&format!("{argv:?}"));
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
    }

    #[test]
    fn until_stopped_settings_from_argv() {
        let mut watch = plain("198.51.100.2:22");
        watch.count = None;
        watch.interval = Duration::from_millis(100);
        assert_eq!(
            probe_settings(&["-c", "0", "-i", "0.1", "198.51.100.2:22"]).unwrap(),
            watch
        );
        assert_eq!(
            probe_settings(&["-t", "-i", "0.1", "198.51.100.2:22"]).unwrap(),
            watch
        );
        watch.deadline = Some(Duration::from_millis(2500));
        assert_eq!(
            probe_settings(&[
                "-t",
                "-i",
                "0.1",
                "-w",
                "2.5",
                "--quiet-ok",
                "198.51.100.2:22"
            ])
            .unwrap(),
            watch
        );
        // -w with a count: whichever ends first.
        let mut both = plain("198.51.100.2:22");
        both.deadline = Some(Duration::from_secs(10));
        assert_eq!(
            probe_settings(&["-w", "10", "198.51.100.2:22"]).unwrap(),
            both
        );
        // -r: the name (from /etc/hosts, no DNS) and its family; with -s,
        // the source's family.
        let r = probe_settings(&["-r", "-c", "0", "localhost:7000"]).unwrap();
        assert_eq!(
            r.resolve,
            Some(Resolve {
                name: "localhost".into(),
                port: 7000,
                family: Family::Any
            })
        );
        assert!(r.target.ip().is_loopback() && r.target.port() == 7000);
        let r = probe_settings(&["-r", "-4", "localhost:7000"]).unwrap();
        assert_eq!(r.resolve.map(|r| r.family), Some(Family::V4));
        let r = probe_settings(&["-r", "-s", "127.0.0.1", "localhost:7000"]).unwrap();
        assert_eq!(r.resolve.map(|r| r.family), Some(Family::V4));
    }

    #[test]
    fn until_stopped_bad_argv_is_one_line_that_says_why() {
        for (argv, said) in [
            (
                &["-c", "0", "-w", "0", "198.51.100.2:22"][..],
                "-w 0: give 0.001 to 31536000 seconds (fractions allowed)",
            ),
            (
                &["-w", "-3", "198.51.100.2:22"],
                "-w -3: give 0.001 to 31536000 seconds (fractions allowed)",
            ),
            (
                &["-t", "-w", "NaN", "198.51.100.2:22"],
                "-w NaN: give 0.001 to 31536000 seconds (fractions allowed)",
            ),
            (
                &["-r", "-c", "0", "198.51.100.2:22"],
                "-r resolves a name again before each attempt, and '198.51.100.2:22' is an address: drop -r",
            ),
            (
                &["-r", "[2001:db8::2]:22"],
                "-r resolves a name again before each attempt, and '[2001:db8::2]:22' is an address: drop -r",
            ),
            (
                &["-t", "--quiet-ok", "-v", "198.51.100.2:22"],
                "--quiet-ok hides each attempt's lines, which is where -v reports: drop one of them",
            ),
            (
                &[
                    "-t",
                    "--quiet-ok",
                    "--keepalive",
                    "1,1,3",
                    "198.51.100.2:22",
                ],
                "--quiet-ok hides each attempt's lines, which is where --keepalive reports: drop one of them",
            ),
            (
                &["-c", "1", "--quiet-ok", "198.51.100.2:22"],
                "--quiet-ok with -c 1: one attempt makes no state change to show; drop --quiet-ok",
            ),
        ] {
            let e = probe_settings(argv).expect_err(&format!("{argv:?}"));
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{argv:?}: exit 2"
            );
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
        // -t and -c together: clap says so (exit 2).
        let all = ["nettool", "probe", "-t", "-c", "3", "198.51.100.2:22"];
        assert!(Cli::try_parse_from(all).is_err());
    }

    #[test]
    fn no_neighbour_lines_name_who_did_not_answer() {
        use crate::probe::neighbour::{Resolution, Unresolved};
        let nn = |who: &str, gateway| {
            Outcome::NoNeighbour(Box::new(NoNeighbour {
                after_us: 3_001_000.0,
                protocol: Resolution::Arp,
                neighbour: who.parse().unwrap(),
                gateway,
                iface: "veth0".into(),
                state: Unresolved::Failed,
            }))
        };
        let t = "198.51.100.3:7000";
        assert_eq!(
            attempt_line(1, t, &nn("198.51.100.3", false)),
            "1: 198.51.100.3:7000 no ARP reply from 198.51.100.3 (no host at this address on veth0), after 3.001 s"
        );
        let t = "203.0.113.5:7000";
        assert_eq!(
            attempt_line(2, t, &nn("198.51.100.9", true)),
            "2: 203.0.113.5:7000 no ARP reply from the gateway 198.51.100.9 (the router on veth0 is down or gone), after 3.001 s"
        );
    }
}
