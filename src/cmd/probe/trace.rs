//! `nettool probe --trace HOST:PORT`: flags -> [`Settings`] ->
//! [`trace::run`] -> one line (or JSON line) per hop as it completes, then
//! the verdict from the [`Report`].

use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use anyhow::Result;
use serde_json::json;

use super::{parse_target, scoped, secs, setup_error, unicast};
use crate::Status;
use crate::addr;
use crate::cli::ProbeArgs;
use crate::cmd::usage;
use crate::output::Out;
use crate::probe::trace::{self, Ending, Event, Hop, Reply, Report, Settings, Unreachable};
use crate::probe::{ConnectOpts, ProbeError};
use crate::wire::rtnetlink::RouteType;

/// The `schema` of every `--trace --json` line.
const SCHEMA: &str = "nettool.probe.trace/1";

/// Defaults: traceroute's 30 hops and 3 probes per hop. Five silent hops
/// in a row: a router or two that never sends time exceeded (or
/// rate-limits it) is common on real paths, five in a row is not; and
/// since hops are probed concurrently, waiting for five costs about one
/// timeout, not five.
const MAX_HOPS: u32 = 30;
const QUERIES: u32 = 3;
const MAX_SILENT: u32 = 5;
/// `-q` above this would only load the routers (traceroute allows 10).
const MAX_QUERIES: u32 = 10;

/// The flags that belong to repeated attempts (or to scans), each with
/// whether it was given: none of them means anything to a trace.
/// (`-i` is refused by clap itself, given with any value: it has a
/// default, which only clap can tell from a value given.)
fn attempt_only(a: &ProbeArgs) -> [(&'static str, bool); 18] {
    [
        ("-c", a.count.is_some()),
        ("-t", a.until_stopped),
        ("-w", a.deadline.is_some()),
        ("--quiet-ok", a.quiet_ok),
        ("-r", a.re_resolve),
        ("--parallel", a.parallel.is_some()),
        ("--rate", a.rate.is_some()),
        ("--max-probes", a.max_probes.is_some()),
        ("--open", a.open),
        ("--keepalive", a.keepalive.is_some()),
        ("--user-timeout", a.user_timeout.is_some()),
        ("--hold", a.hold.is_some()),
        ("--send", a.send.is_some()),
        ("--expect-close", a.expect_close),
        ("--half-close", a.half_close),
        ("--rst", a.rst),
        ("--graceful", a.graceful),
        ("-v", a.verbose),
    ]
}

/// A count flag in `1..=max`, or the default.
fn count(flag: &str, v: Option<u32>, default: u32, max: u32, what: &str) -> Result<u8> {
    let n = v.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(usage(format!("{flag} {n}: give 1 to {max} {what}")));
    }
    Ok(u8::try_from(n).unwrap_or(u8::MAX))
}

/// The trace's [`Settings`] from the flags: the target's shape first,
/// then the flags, then the target itself (reading it may resolve a name).
///
/// # Errors
/// A usage error (exit 2) of one line that names the flag or the target.
pub fn settings(a: &ProbeArgs) -> Result<Settings> {
    let text = match a.targets.as_slice() {
        [] => return Err(usage("give HOST:PORT")),
        [one] => one.as_str(),
        many => {
            return Err(usage(format!(
                "--trace follows one path: give one HOST:PORT, not {}",
                many.len()
            )));
        }
    };
    if let Ok(split) = addr::split_host_port(text) {
        if split.port.is_some_and(|p| p.contains([',', '-'])) {
            return Err(usage(format!(
                "--trace '{text}': give one port, not a list or a range"
            )));
        }
        if split.host.contains('/') {
            return Err(usage(format!(
                "--trace '{text}': give one host, not a CIDR range"
            )));
        }
    }
    if let Some((flag, _)) = attempt_only(a).into_iter().find(|(_, given)| *given) {
        return Err(usage(format!(
            "--trace does not take {flag} (it is for repeated attempts); a trace takes --max-hops, -q, --max-silent, -W, -I, -s, -4/-6, --json"
        )));
    }
    if a.timestamp {
        return Err(usage(
            "--trace does not take -D: each hop's line carries its round trips",
        ));
    }
    let max_hops = count(
        "--max-hops",
        a.max_hops,
        MAX_HOPS,
        255,
        "(the TTL / hop limit is 8 bits)",
    )?;
    let queries = count("-q", a.queries, QUERIES, MAX_QUERIES, "probes per hop")?;
    let max_silent = count(
        "--max-silent",
        a.max_silent,
        MAX_SILENT,
        255,
        "silent hops in a row to stop after",
    )?;
    let timeout = secs("-W", a.timeout, false)?;
    match a.interface.as_deref() {
        Some("") => return Err(usage("-I '': give an interface name, e.g. -I eth0")),
        Some(i) if i.len() > 15 => {
            return Err(usage(format!(
                "-I '{i}': interface names are at most 15 bytes"
            )));
        }
        _ => {}
    }
    let source = a
        .source
        .as_deref()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| usage(format!("-s '{s}' is not an IP address")))
        })
        .transpose()?;
    let target = unicast(parse_target(text, a.ipv4, a.ipv6)?, "probe")?;
    let target = scoped(target, a.interface.as_deref(), " or -I IFACE")?;
    // An IPv4-mapped address goes out as IPv4, where only IP_TTL counts
    // (the kernel ignores IPV6_UNICAST_HOPS for it): trace it as IPv4.
    let target = match target {
        SocketAddr::V6(t) if t.ip().to_ipv4_mapped().is_some() => {
            SocketAddr::new(t.ip().to_canonical(), t.port())
        }
        t => t,
    };
    if target.ip().is_unspecified() {
        return Err(usage(format!(
            "the unspecified address {} is no destination: give the host to trace to",
            target.ip()
        )));
    }
    if let Some(src) = source.filter(|s| s.is_ipv4() != target.is_ipv4()) {
        return Err(usage(format!(
            "-s {src} and {target} are of different address families: give a source of the target's"
        )));
    }
    Ok(Settings {
        target,
        max_hops,
        queries,
        max_silent,
        connect: ConnectOpts {
            timeout,
            iface: a.interface.clone(),
            source,
            observe: std::time::Duration::ZERO,
        },
    })
}

/// `nettool probe --trace`: 0 when the destination answered SYN-ACK, 1
/// otherwise.
///
/// # Errors
/// Usage and setup errors (exit 2), a failure on our side, or a closed
/// stdout (which `main` keeps quiet).
pub fn run(a: &ProbeArgs) -> Result<Status> {
    let s = settings(a)?;
    let json = a.json;
    let mut out = Out::stdout();
    let report = trace::run(&s, &mut |e| {
        match e {
            Event::Started if json => {}
            Event::Started => writeln!(
                out,
                "TRACE {}: up to {} hops, {} probes per hop, timeout {} s",
                s.target,
                s.max_hops,
                s.queries,
                super::secs_text(s.connect.timeout)
            )?,
            Event::Hop(h) if json => {
                let v = json!({
                    "schema": SCHEMA,
                    "type": "hop",
                    "target": s.target.to_string(),
                    "hop": h.hop,
                    "probes": h.probes,
                });
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
            }
            Event::Hop(h) => writeln!(out, "{}", hop_line(&h))?,
        }
        out.flush()
    })
    .map_err(|e| -> anyhow::Error {
        match e {
            ProbeError::Setup { target, error } => setup_error(&error, target, &s.connect),
            ProbeError::Test(e) | ProbeError::Output(e) => e.into(),
        }
    })?;
    let said = verdict(&report);
    if json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("schema".into(), SCHEMA.into());
            m.insert("type".into(), "trace".into());
            m.insert("target".into(), report.target.to_string().into());
            m.insert("says".into(), said.into());
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{said}")?;
    }
    out.flush()?;
    Ok(if report.passed() {
        Status::Success
    } else {
        Status::NotFound
    })
}

/// A reply that ends the trace, as tagged on its hop's line.
fn tag(r: &Reply) -> Option<String> {
    match r {
        Reply::SynAck { .. } => Some("SYN-ACK".into()),
        Reply::Rst { .. } => Some("RST".into()),
        Reply::Unreachable {
            kind,
            icmp: Some(_),
            ..
        } => Some(format!("ICMP {}", kind.words())),
        Reply::Unreachable { kind, .. } => Some(format!("{} (our kernel)", kind.words())),
        Reply::Error { error, .. } => Some(format!("error: {error}")),
        Reply::TimeExceeded { .. } | Reply::None { .. } => None,
    }
}

/// ` 3  198.51.100.10  0.089 ms  0.070 ms  *`: traceroute's shape, the
/// address again where it changes, and what ended the trace in brackets.
fn hop_line(h: &Hop) -> String {
    let mut s = format!("{:2}", h.hop);
    let mut shown: Option<IpAddr> = None;
    let mut tags: Vec<String> = Vec::new();
    for p in &h.probes {
        match p.rtt_ms() {
            // Our own kernel's answer: no round trip, the tag says what.
            None if p.local() => s.push_str("  local"),
            None => s.push_str("  *"),
            Some(rtt) => {
                if let Some(f) = p.from().filter(|f| shown != Some(*f)) {
                    let _ = write!(s, "  {f}");
                    shown = Some(f);
                }
                let _ = write!(s, "  {rtt:.3} ms");
            }
        }
        if let Some(t) = tag(p).filter(|t| !tags.contains(t)) {
            tags.push(t);
        }
    }
    if !tags.is_empty() {
        let _ = write!(s, "  [{}]", tags.join(", "));
    }
    s
}

/// What an ICMP unreachable from a router (or the destination) means.
fn why_unreachable(kind: Unreachable, at_destination: bool) -> &'static str {
    match (kind, at_destination) {
        (Unreachable::AdminProhibited, false) => "a firewall on that router rejects the SYN",
        (Unreachable::AdminProhibited, true) => "a firewall on the destination rejects the SYN",
        (Unreachable::Port, false) => "a firewall on that router rejects the port",
        (Unreachable::Port, true) => "a firewall on the destination rejects the port",
        (Unreachable::Host, false) => {
            "that router cannot reach the destination (no ARP/NDP answer on its last link, or a reject)"
        }
        (Unreachable::Net, false) => "that router has no route to the destination",
        (Unreachable::Host | Unreachable::Net, true) => "the destination turns it away",
        (Unreachable::Other, _) => "it will not be passed on",
    }
}

/// What our own kernel's route says, when it explains the ending alone: a
/// route that refuses, or a next hop that never answered ARP / NDP.
fn local_verdict(r: &Report) -> Option<String> {
    let l = r.route.as_ref()?;
    let ip = r.target.ip();
    let see = format!("(see `ip route get {ip}`)");
    let arp = if ip.is_ipv4() { "ARP" } else { "NDP" };
    let iface = l.iface.as_deref().unwrap_or("?");
    Some(match l.kind {
        RouteType::Unreachable => {
            format!("no route to {ip} here: the route is `unreachable` {see}")
        }
        RouteType::Prohibit => {
            format!("the route to {ip} is `prohibit`: our own host refuses it {see}")
        }
        RouteType::Blackhole => {
            format!("the route to {ip} is a blackhole: our own host drops it {see}")
        }
        RouteType::Throw => {
            format!("no route to {ip} here: the lookup ends at a `throw` route {see}")
        }
        _ if !l.nobody() => return None,
        _ => match l.gateway {
            Some(g) => format!(
                "no {arp} reply from the gateway {g} (the router on {iface} is down or gone)"
            ),
            None => format!(
                "no {arp} reply from {ip} (no host at this address on {iface}): nothing to trace"
            ),
        },
    })
}

/// The last line: what happened, and where.
fn verdict(r: &Report) -> String {
    let target = r.target;
    match &r.ending {
        Ending::Open { hop, from } => format!("SYN-ACK from {from} at hop {hop}: open"),
        Ending::Closed {
            hop,
            from,
            from_hop: Some(router),
        } => format!(
            "RST from {from} at hop {hop}, but {from} answered as a router at hop {router}: something on the path resets the connection in its name; whether port {} listens is unknown",
            target.port()
        ),
        Ending::Closed { hop, from, .. } => format!(
            "RST from {from} at hop {hop}: refused: nothing listens on port {} there, or a firewall on the way resets the connection in its name",
            target.port()
        ),
        Ending::Unreachable {
            hop,
            kind,
            from: Some(from),
            from_hop,
            icmp,
        } => {
            let router = from_hop.map(|h| format!(" (hop {h})")).unwrap_or_default();
            let code = icmp
                .filter(|_| *kind == Unreachable::Other)
                .map(|i| format!(" (type {} code {})", i.icmp_type, i.code))
                .unwrap_or_default();
            format!(
                "ICMP {}{code} from {from}{router} at hop {hop}: {}",
                kind.words(),
                why_unreachable(*kind, *from == target.ip())
            )
        }
        Ending::Unreachable { hop, kind, .. } => local_verdict(r).unwrap_or_else(|| match kind {
            Unreachable::Net => format!(
                "net unreachable at hop {hop}, said by our own kernel: no route to {} here (see `ip route get {}`)",
                target.ip(),
                target.ip()
            ),
            k => format!(
                "{} at hop {hop}, said by our own kernel: no ARP/NDP answer from the next hop toward {}",
                k.words(),
                target.ip()
            ),
        }),
        Ending::Error { hop, error } => local_verdict(r)
            .unwrap_or_else(|| format!("error at hop {hop}, said by our own kernel: {error}")),
        Ending::Silent {
            after_hop: Some(h),
            last_from,
            silent_hops,
        } => {
            let from = last_from.map(|f| format!(" ({f})")).unwrap_or_default();
            format!(
                "no answer after hop {h}{from}: the SYN is dropped between hop {h} and the destination ({silent_hops} silent hops in a row)"
            )
        }
        Ending::Silent {
            after_hop: None,
            silent_hops,
            ..
        } => local_verdict(r).unwrap_or_else(|| match &r.route {
            Some(l) if l.on_link() => format!(
                "no answer from {}, which is on the local link ({}) with no router between: that host drops the SYN (a firewall on it)",
                target.ip(),
                l.iface.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "no answer from any hop ({silent_hops} silent hops in a row): the SYN is dropped before the first router, or no router on the path answers"
            ),
        }),
        Ending::MaxHops {
            max_hops,
            last_hop,
            last_from,
        } => {
            let last = match (last_hop, last_from) {
                (Some(h), Some(f)) => format!(" (last answer: hop {h}, {f})"),
                _ => String::new(),
            };
            format!(
                "no answer from {} within {max_hops} hops{last}: the path is longer (try --max-hops), or loops",
                target.ip()
            )
        }
        Ending::Interrupted => format!("interrupted after {} hops", r.hops),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_args as args;
    use super::*;
    use crate::cli::Cli;
    use crate::probe::Icmp;
    use crate::wire::rtnetlink::NudState;
    use clap::Parser as _;
    use std::time::Duration;

    fn trace_settings(argv: &[&str]) -> Result<Settings> {
        settings(&args(argv))
    }

    fn plain(target: &str) -> Settings {
        Settings {
            target: target.parse().unwrap(),
            max_hops: 30,
            queries: 3,
            max_silent: 5,
            connect: ConnectOpts {
                timeout: Duration::from_secs(1),
                iface: None,
                source: None,
                observe: Duration::ZERO,
            },
        }
    }

    #[test]
    fn settings_from_argv() {
        assert_eq!(
            trace_settings(&["--trace", "198.51.100.14:7000"]).unwrap(),
            plain("198.51.100.14:7000")
        );
        let mut s = plain("[2001:db8:3::2]:443");
        s.max_hops = 255;
        s.queries = 1;
        s.max_silent = 2;
        s.connect.timeout = Duration::from_millis(2500);
        s.connect.source = Some("2001:db8::1".parse().unwrap());
        s.connect.iface = Some("eth0".into());
        assert_eq!(
            trace_settings(&[
                "--trace",
                "--max-hops",
                "255",
                "-q",
                "1",
                "--max-silent",
                "2",
                "-W",
                "2.5",
                "-s",
                "2001:db8::1",
                "-I",
                "eth0",
                "--json",
                "[2001:db8:3::2]:443",
            ])
            .unwrap(),
            s
        );
        // -W 3 given is -W 3, not the trace's default.
        let mut s = plain("198.51.100.14:22");
        s.connect.timeout = Duration::from_secs(3);
        assert_eq!(
            trace_settings(&["-W", "3", "--trace", "198.51.100.14:22"]).unwrap(),
            s
        );
    }

    #[test]
    fn bad_argv_is_one_line_that_says_why() {
        let not_for_trace = |flag: &str| {
            format!(
                "--trace does not take {flag} (it is for repeated attempts); a trace takes --max-hops, -q, --max-silent, -W, -I, -s, -4/-6, --json"
            )
        };
        for (argv, said) in [
            (
                &["--trace", "198.51.100.14:22,80"][..],
                "--trace '198.51.100.14:22,80': give one port, not a list or a range".to_string(),
            ),
            (
                &["--trace", "[2001:db8::2]:1-1024"],
                "--trace '[2001:db8::2]:1-1024': give one port, not a list or a range".into(),
            ),
            (
                &["--trace", "198.51.100.0/28:22"],
                "--trace '198.51.100.0/28:22': give one host, not a CIDR range".into(),
            ),
            (
                &["--trace", "198.51.100.14:22", "198.51.100.15:22"],
                "--trace follows one path: give one HOST:PORT, not 2".into(),
            ),
            (
                &["--trace", "--max-hops", "0", "198.51.100.14:22"],
                "--max-hops 0: give 1 to 255 (the TTL / hop limit is 8 bits)".into(),
            ),
            (
                &["--trace", "--max-hops", "256", "198.51.100.14:22"],
                "--max-hops 256: give 1 to 255 (the TTL / hop limit is 8 bits)".into(),
            ),
            (
                &["--trace", "-q", "0", "198.51.100.14:22"],
                "-q 0: give 1 to 10 probes per hop".into(),
            ),
            (
                &["--trace", "-q", "11", "198.51.100.14:22"],
                "-q 11: give 1 to 10 probes per hop".into(),
            ),
            (
                &["--trace", "--max-silent", "0", "198.51.100.14:22"],
                "--max-silent 0: give 1 to 255 silent hops in a row to stop after".into(),
            ),
            (
                &["--trace", "-c", "3", "198.51.100.14:22"],
                not_for_trace("-c"),
            ),
            (
                &["--trace", "--keepalive", "1,1,3", "198.51.100.14:22"],
                not_for_trace("--keepalive"),
            ),
            (
                &["--trace", "--send", "x", "198.51.100.14:22"],
                not_for_trace("--send"),
            ),
            (
                &["--trace", "--rst", "198.51.100.14:22"],
                not_for_trace("--rst"),
            ),
            (
                &["--trace", "-W", "0", "198.51.100.14:22"],
                "-W 0: give 0.001 to 86400 seconds (fractions allowed)".into(),
            ),
            (
                &["--trace", "-6", "198.51.100.14:22"],
                "198.51.100.14 does not match -6".into(),
            ),
            (
                &["--trace", "224.0.0.1:22"],
                "cannot probe 224.0.0.1: a multicast address; TCP needs a unicast address".into(),
            ),
        ] {
            let e = trace_settings(argv).expect_err(&format!("{argv:?}"));
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{argv:?}: exit 2"
            );
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
        // The trace's own flags need --trace (clap says so, exit 2).
        let mut all = vec!["nettool", "probe", "--max-hops", "5", "198.51.100.14:22"];
        assert!(Cli::try_parse_from(&all).is_err());
        all[2] = "-q";
        assert!(Cli::try_parse_from(&all).is_err());
    }

    fn te(from: &str) -> Reply {
        let from: IpAddr = from.parse().unwrap();
        Reply::TimeExceeded {
            from,
            rtt_ms: 0.0894,
            icmp: Icmp {
                version: 4,
                icmp_type: 11,
                code: 0,
                from: Some(from),
            },
        }
    }

    #[test]
    fn hop_lines() {
        let h = Hop {
            hop: 3,
            probes: vec![
                te("198.51.100.10"),
                Reply::None { waited_ms: 1000.0 },
                te("198.51.100.10"),
            ],
        };
        assert_eq!(hop_line(&h), " 3  198.51.100.10  0.089 ms  *  0.089 ms");
        let h = Hop {
            hop: 12,
            probes: vec![
                te("198.51.100.10"),
                te("198.51.100.18"),
                Reply::SynAck {
                    from: "198.51.100.14".parse().unwrap(),
                    rtt_ms: 1.5,
                },
            ],
        };
        assert_eq!(
            hop_line(&h),
            "12  198.51.100.10  0.089 ms  198.51.100.18  0.089 ms  198.51.100.14  1.500 ms  [SYN-ACK]"
        );
        let h = Hop {
            hop: 1,
            probes: vec![Reply::None { waited_ms: 1.0 }; 2],
        };
        assert_eq!(hop_line(&h), " 1  *  *");
    }

    fn report(ending: Ending) -> Report {
        Report {
            target: "198.51.100.14:7000".parse().unwrap(),
            ending,
            hops: 4,
            probes_sent: 12,
            elapsed_s: 0.01,
            route: None,
        }
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "one table of endings and lines")]
    fn verdicts() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for (ending, said) in [
            (
                Ending::Open {
                    hop: 4,
                    from: ip("198.51.100.14"),
                },
                "SYN-ACK from 198.51.100.14 at hop 4: open",
            ),
            (
                Ending::Closed {
                    hop: 4,
                    from: ip("198.51.100.14"),
                    from_hop: None,
                },
                "RST from 198.51.100.14 at hop 4: refused: nothing listens on port 7000 there, or a firewall on the way resets the connection in its name",
            ),
            (
                Ending::Closed {
                    hop: 4,
                    from: ip("198.51.100.14"),
                    from_hop: Some(2),
                },
                "RST from 198.51.100.14 at hop 4, but 198.51.100.14 answered as a router at hop 2: something on the path resets the connection in its name; whether port 7000 listens is unknown",
            ),
            (
                Ending::Unreachable {
                    hop: 4,
                    kind: Unreachable::AdminProhibited,
                    from: Some(ip("198.51.100.10")),
                    from_hop: Some(3),
                    icmp: None,
                },
                "ICMP admin prohibited from 198.51.100.10 (hop 3) at hop 4: a firewall on that router rejects the SYN",
            ),
            (
                Ending::Unreachable {
                    hop: 4,
                    kind: Unreachable::Port,
                    from: Some(ip("198.51.100.14")),
                    from_hop: None,
                    icmp: None,
                },
                "ICMP port unreachable from 198.51.100.14 at hop 4: a firewall on the destination rejects the port",
            ),
            (
                Ending::Silent {
                    after_hop: Some(2),
                    last_from: Some(ip("198.51.100.6")),
                    silent_hops: 5,
                },
                "no answer after hop 2 (198.51.100.6): the SYN is dropped between hop 2 and the destination (5 silent hops in a row)",
            ),
            (
                Ending::MaxHops {
                    max_hops: 3,
                    last_hop: Some(3),
                    last_from: Some(ip("198.51.100.10")),
                },
                "no answer from 198.51.100.14 within 3 hops (last answer: hop 3, 198.51.100.10): the path is longer (try --max-hops), or loops",
            ),
            (
                Ending::Unreachable {
                    hop: 1,
                    kind: Unreachable::Net,
                    from: None,
                    from_hop: None,
                    icmp: None,
                },
                "net unreachable at hop 1, said by our own kernel: no route to 198.51.100.14 here (see `ip route get 198.51.100.14`)",
            ),
        ] {
            assert_eq!(verdict(&report(ending)), said);
        }
        // No hop answered: on the local link there is no router to hear
        // from, and the neighbour entry says whether anybody is there.
        let silent = || Ending::Silent {
            after_hop: None,
            last_from: None,
            silent_hops: 5,
        };
        assert_eq!(
            verdict(&report(silent())),
            "no answer from any hop (5 silent hops in a row): the SYN is dropped before the first router, or no router on the path answers"
        );
        let route = |kind, gateway: Option<&str>, neighbour| trace::LocalRoute {
            kind,
            gateway: gateway.map(ip),
            iface: Some("veth0".into()),
            neighbour,
        };
        let mut r = report(silent());
        r.route = Some(route(RouteType::Unicast, None, Some(NudState::Reachable)));
        assert_eq!(
            verdict(&r),
            "no answer from 198.51.100.14, which is on the local link (veth0) with no router between: that host drops the SYN (a firewall on it)"
        );
        r.route = Some(route(RouteType::Unicast, None, Some(NudState::Failed)));
        assert_eq!(
            verdict(&r),
            "no ARP reply from 198.51.100.14 (no host at this address on veth0): nothing to trace"
        );
        // Review of issue 14: a silent gateway was "dropped before the
        // first router".
        r.route = Some(route(
            RouteType::Unicast,
            Some("198.51.100.99"),
            Some(NudState::Incomplete),
        ));
        assert_eq!(
            verdict(&r),
            "no ARP reply from the gateway 198.51.100.99 (the router on veth0 is down or gone)"
        );
        // Routes that refuse, whatever errno the kernel gave.
        let local = |hop| Ending::Unreachable {
            hop,
            kind: Unreachable::Host,
            from: None,
            from_hop: None,
            icmp: None,
        };
        let error = Ending::Error {
            hop: 1,
            error: "Permission denied (os error 13)".into(),
        };
        for (ending, kind, said) in [
            (
                local(1),
                RouteType::Unreachable,
                "no route to 198.51.100.14 here: the route is `unreachable` (see `ip route get 198.51.100.14`)",
            ),
            (
                error.clone(),
                RouteType::Prohibit,
                "the route to 198.51.100.14 is `prohibit`: our own host refuses it (see `ip route get 198.51.100.14`)",
            ),
            (
                error.clone(),
                RouteType::Blackhole,
                "the route to 198.51.100.14 is a blackhole: our own host drops it (see `ip route get 198.51.100.14`)",
            ),
        ] {
            let mut r = report(ending);
            r.route = Some(trace::LocalRoute {
                kind,
                gateway: None,
                iface: None,
                neighbour: None,
            });
            assert_eq!(verdict(&r), said);
        }
        assert_eq!(
            verdict(&report(error)),
            "error at hop 1, said by our own kernel: Permission denied (os error 13)"
        );
    }

    #[test]
    fn our_kernels_replies_show_no_round_trip() {
        let h = Hop {
            hop: 1,
            probes: vec![
                Reply::Unreachable {
                    kind: Unreachable::Net,
                    from: None,
                    rtt_ms: None,
                    icmp: None,
                };
                2
            ],
        };
        assert_eq!(
            hop_line(&h),
            " 1  local  local  [net unreachable (our kernel)]"
        );
    }

    #[test]
    fn argv_for_the_review_of_issue_14() {
        // An IPv4-mapped target is traced (and named) as IPv4.
        assert_eq!(
            trace_settings(&["--trace", "[::ffff:203.0.113.2]:7000"]).unwrap(),
            plain("203.0.113.2:7000")
        );
        // -i with any value, its default too, is refused (clap: exit 2).
        for v in ["1", "0.5"] {
            let e =
                Cli::try_parse_from(["nettool", "probe", "--trace", "-i", v, "198.51.100.14:22"])
                    .expect_err(v);
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "-i {v}");
        }
        for (target, ip) in [
            ("0.0.0.0:1", "0.0.0.0"),
            ("[::]:1", "::"),
            ("[::ffff:0.0.0.0]:1", "0.0.0.0"),
        ] {
            let e = trace_settings(&["--trace", target]).expect_err(target);
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{target}: exit 2"
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "the unspecified address {ip} is no destination: give the host to trace to"
                )
            );
        }
    }
}
