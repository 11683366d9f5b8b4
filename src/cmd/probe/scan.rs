//! `nettool probe` over many ports and hosts: flags -> [`scan::Settings`]
//! -> [`scan::run`] -> one line (or JSON attempt record) per (host, port),
//! sorted by host then port, then the counts per host.
//!
//! A run is a scan when it has several TARGETs, a TARGET written with a
//! port list, a range or a network (`22,80`, `1-1024`, `198.51.100.0/28`),
//! or a flag only scans take (`--open`, `--parallel`, `--rate`,
//! `--max-probes`); one TARGET with one port stays the attempt loop of
//! [`super::run`], its output unchanged. With `-t`, `-c N`, `-w` a scan
//! goes in rounds ([`super::rounds`]); without, it is this one round.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::Status;
use crate::addr::{self, Cidr};
use crate::cli::ProbeArgs;
use crate::cmd::usage;
use crate::output::Out;
use crate::output::table::{Align, Table};
use crate::probe::scan::{
    self, Counts, Event, HostCounts, Hosts, Probed, Report, ScanError, Settings, State, Target,
};
use crate::probe::targets::{self, HostPart};
use crate::probe::{CloseWith, ConnectOpts};

/// Probes in one run without `--max-probes`.
const MAX_PROBES: u64 = 65_536;

/// `--parallel` unless given.
const PARALLEL: u32 = 256;

/// Whether the arguments ask for a scan rather than the attempt loop: by
/// how they are written, before anything is resolved.
pub fn wanted(a: &ProbeArgs) -> bool {
    let written_as_many = |t: &String| {
        addr::split_host_port(t)
            .is_ok_and(|s| s.host.contains('/') || s.port.is_some_and(|p| p.contains([',', '-'])))
    };
    a.targets.len() > 1
        || a.targets.iter().any(written_as_many)
        || a.open
        || a.parallel.is_some()
        || a.rate.is_some()
        || a.max_probes.is_some()
}

/// The flags of the attempt loop that a scan has no use for, as named in
/// the error, when given.
fn single_only(a: &ProbeArgs) -> Option<&'static str> {
    [
        (a.keepalive.is_some(), "--keepalive"),
        (a.user_timeout.is_some(), "--user-timeout"),
        (a.hold.is_some(), "--hold"),
        (a.send.is_some(), "--send"),
        (a.expect_close, "--expect-close"),
        (a.half_close, "--half-close"),
        (a.re_resolve, "-r"),
        (a.timestamp, "-D"),
        (a.verbose, "-v"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// The attempt loop's flags that a scan has no use for (`-c`, `-t`,
/// `-w`, `-i` and `--quiet-ok` make rounds: [`super::rounds::plan`]).
fn attempt_flags(a: &ProbeArgs) -> Result<()> {
    if let Some(flag) = single_only(a) {
        return Err(usage(format!(
            "{flag} works on one HOST:PORT, not on a scan of many"
        )));
    }
    Ok(())
}

/// A scan's [`Settings`] from the flags: the flags first, then the
/// targets as text (their count is checked before any name is resolved),
/// then each target's addresses.
///
/// # Errors
/// A usage error (exit 2) of one line that names the flag or the target.
pub fn settings(a: &ProbeArgs) -> Result<Settings> {
    attempt_flags(a)?;
    super::check_interface(a.interface.as_deref())?;
    let parallel = match a.parallel.unwrap_or(PARALLEL) {
        0 => return Err(usage("--parallel 0: give at least 1 probe in flight")),
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let rate = match a.rate {
        Some(r) if !(r.is_finite() && r > 0.0) => {
            return Err(usage(format!(
                "--rate {r}: give a positive number of new probes per second, e.g. --rate 1000"
            )));
        }
        r => r,
    };
    let max = match a.max_probes {
        Some(0) => return Err(usage("--max-probes 0: give at least 1")),
        m => m,
    };
    let timeout = super::secs("-W", a.timeout, false)?;
    let source = super::source_addr(a.source.as_deref())?;
    let specs = a
        .targets
        .iter()
        .map(|t| {
            targets::parse(t)
                .map(|spec| (t.as_str(), spec))
                .map_err(|e| usage(format!("'{t}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let probes: u128 = specs.iter().map(|(_, s)| s.probes()).sum();
    match max {
        None if probes > u128::from(MAX_PROBES) => {
            return Err(usage(format!(
                "{probes} probes in one run, more than {MAX_PROBES}: give --max-probes N to allow more"
            )));
        }
        Some(m) if probes > u128::from(m) => {
            return Err(usage(format!(
                "{probes} probes in one run, more than --max-probes {m}"
            )));
        }
        _ => {}
    }
    let mut merged: Vec<Target> = Vec::with_capacity(specs.len());
    for (text, spec) in specs {
        let hosts = hosts(text, &spec, a)?;
        if let Some(ip) = source.filter(|s| s.is_ipv4() != hosts_are_v4(&hosts)) {
            return Err(usage(format!(
                "-s {ip} and {text} are of different address families: give a source of the target's"
            )));
        }
        // The same hosts twice: one target with both port lists.
        match merged.iter_mut().find(|t| t.hosts == hosts) {
            Some(t) => t.ports.union(&spec.ports),
            None => merged.push(Target {
                hosts,
                ports: spec.ports,
            }),
        }
    }
    Ok(Settings {
        targets: merged,
        parallel,
        rate,
        connect: ConnectOpts {
            timeout,
            iface: a.interface.clone(),
            source,
            // A scan classifies the handshake only: no wait for the
            // peer's first move.
            observe: Duration::ZERO,
        },
        close: if a.graceful {
            CloseWith::Fin
        } else {
            CloseWith::Rst
        },
    })
}

fn hosts_are_v4(h: &Hosts) -> bool {
    match h {
        Hosts::One { ip, .. } => ip.is_ipv4(),
        Hosts::Net(net) => net.addr().is_ipv4(),
    }
}

/// A target's hosts: a network checked as the attempt loop checks one
/// address (family, unicast, a link for link-local), or one address
/// (a name resolved by the attempt loop's own [`super::parse_target`]).
fn hosts(text: &str, spec: &targets::Spec<'_>, a: &ProbeArgs) -> Result<Hosts> {
    // The port list as written (after the last ':'), for messages.
    let ports = text.rsplit_once(':').map_or("", |(_, p)| p);
    let (ip, scope_id) = match spec.host {
        HostPart::Net(net) => {
            check_net(net, a)?;
            return Ok(Hosts::Net(net));
        }
        HostPart::Host(_) => {
            // Resolve (or look up the zone of) the host alone: the port
            // here is a stand-in, never used.
            let one = if spec.host_text.contains(':') {
                format!("[{}]:1", spec.host_text)
            } else {
                format!("{}:1", spec.host_text)
            };
            match super::parse_target(&one, a.ipv4, a.ipv6)? {
                SocketAddr::V6(v6) => (IpAddr::V6(*v6.ip()), v6.scope_id()),
                SocketAddr::V4(v4) => (IpAddr::V4(*v4.ip()), 0),
            }
        }
    };
    super::specified(super::unicast(SocketAddr::new(ip, 1), "probe")?)?;
    if let IpAddr::V6(v6) = ip {
        if v6.is_unicast_link_local() && scope_id == 0 && a.interface.is_none() {
            return Err(usage(format!(
                "{v6} is link-local: name the interface, [{v6}%IFACE]:{ports} or -I IFACE"
            )));
        }
    }
    Ok(Hosts::One { ip, scope_id })
}

/// A network's family, that it is all unicast, and the link of a
/// link-local one.
fn check_net(net: Cidr, a: &ProbeArgs) -> Result<()> {
    let first = net.network();
    if (a.ipv4 && first.is_ipv6()) || (a.ipv6 && first.is_ipv4()) {
        return Err(usage(format!(
            "{net} does not match -{}",
            if a.ipv4 { 4 } else { 6 }
        )));
    }
    let last = net.addresses().last().unwrap_or(first);
    if first.to_canonical().is_unspecified() {
        return Err(usage(format!(
            "cannot probe {net}: it holds the unspecified address {first}, which names no host"
        )));
    }
    let kind = if first.is_multicast() || last.is_multicast() {
        Some("multicast")
    } else if last == IpAddr::from([255, 255, 255, 255]) {
        Some("broadcast")
    } else {
        None
    };
    if let Some(kind) = kind {
        return Err(usage(format!(
            "cannot probe {net}: it holds {kind} addresses; TCP needs unicast addresses"
        )));
    }
    if let IpAddr::V6(v6) = first {
        if v6.is_unicast_link_local() && a.interface.is_none() {
            return Err(usage(format!(
                "{net} is link-local: name the interface with -I IFACE"
            )));
        }
    }
    Ok(())
}

/// Why the scan stopped, for the user.
pub(super) fn scan_error(e: ScanError, s: &Settings) -> anyhow::Error {
    match e {
        ScanError::Setup { target, error } => super::setup_error(&error, target, &s.connect),
        ScanError::Wait(e) | ScanError::Output(e) => e.into(),
    }
}

/// The scan: its settings, the library call, the sorted lines and the
/// counts; 0 when every probe was open (with `--open`: at least one), 1
/// otherwise. With `-t`, `-c N`, `-w`: the scan in rounds
/// ([`super::rounds`]).
///
/// # Errors
/// Usage and setup errors (exit 2), a failure on our side, or a closed
/// stdout.
pub fn run(a: &ProbeArgs) -> Result<Status> {
    let s = match super::rounds::plan(a)? {
        super::rounds::Plan::Once(s) => s,
        super::rounds::Plan::Rounds(_) if a.metrics.wanted() => {
            return Err(usage(format!(
                "{}: a scan in rounds (-c N, -w, -i) has no one answer per port: scan once per interval from a timer (contrib/systemd) instead",
                super::metrics_flag(a)
            )));
        }
        super::rounds::Plan::Rounds(r) => return super::rounds::run(a, &r),
    };
    let json = a.json;
    // Metrics instead of the header, the lines and the counts.
    let metrics = a.metrics.wanted();
    let mut out = Out::stdout();
    let report = scan::run(&s, &mut |e| match e {
        Event::ParallelLowered {
            asked,
            allowed,
            limit,
        } => {
            crate::say!(
                "nettool: --parallel {asked} lowered to {allowed}: the open-files limit (RLIMIT_NOFILE) is {limit}, even raised to its hard limit (raise it with `ulimit -Hn` as root, or in limits.conf)"
            );
            Ok(())
        }
        Event::Started { .. } if json || metrics => Ok(()),
        Event::Started { probes, parallel } => {
            header(&mut out, &s, probes, parallel)?;
            out.flush()
        }
        Event::Probed(_) => Ok(()),
    })
    .map_err(|e| scan_error(e, &s))?;
    if metrics {
        let e = crate::output::prometheus::probe::scan(&report, a.open)?;
        // An interrupted scan did not do its job: its file says so.
        crate::cmd::metrics::emit(&a.metrics, "probe", e, !report.interrupted)?;
    } else if json {
        write_json(&mut out, &report, &s, a.open)?;
    } else {
        write_text(&mut out, &report, a.open)?;
    }
    out.flush()?;
    Ok(if report.passed(a.open) {
        Status::Success
    } else {
        Status::NotFound
    })
}

pub(super) fn header(
    out: &mut Out,
    s: &Settings,
    probes: u64,
    parallel: usize,
) -> std::io::Result<()> {
    let rate = s
        .rate
        .map(|r| format!(", at most {r} new per second"))
        .unwrap_or_default();
    let close = match s.close {
        CloseWith::Rst => "RST",
        CloseWith::Fin => "FIN",
    };
    writeln!(
        out,
        "SCAN {probes} probes, at most {parallel} in flight{rate}, timeout {} s, closing with {close}",
        super::secs_text(s.connect.timeout)
    )
}

fn write_text(out: &mut Out, r: &Report, open_only: bool) -> std::io::Result<()> {
    for p in &r.results {
        if !open_only || p.outcome.is_open() {
            writeln!(
                out,
                "{}",
                super::outcome_line(&p.target.to_string(), &p.outcome)
            )?;
        }
    }
    let hosts = r.hosts.len();
    writeln!(
        out,
        "--- scan: {} probes of {hosts} host{}, {:.2} s ({:.0} probes/s), at most {} in flight ---",
        r.probes,
        if hosts == 1 { "" } else { "s" },
        r.elapsed_s,
        r.probes_per_second,
        r.parallel
    )?;
    if r.interrupted {
        writeln!(out, "interrupted: the probes not made are not listed")?;
    }
    counts_table(out, &r.hosts, &r.total)
}

/// The counts per host (and in total, for several hosts) as a table.
pub(super) fn counts_table(
    out: &mut Out,
    hosts: &[HostCounts],
    total: &Counts,
) -> std::io::Result<()> {
    // Open always; the other states when some probe ended so.
    let shown: Vec<State> = State::ALL
        .into_iter()
        .filter(|&st| st == State::Open || total.get(st) > 0)
        .collect();
    let mut columns: Vec<(&'static str, Align)> = vec![("HOST", Align::Left)];
    columns.extend(shown.iter().map(|&st| (st.label(), Align::Right)));
    let mut table = Table::new(&columns).with_capacity(hosts.len() + 1);
    let mut row = |name: &str, c: &Counts| {
        table.cell_str(name);
        for &st in &shown {
            table.cell_num(c.get(st));
        }
    };
    for h in hosts {
        row(&h.host.to_string(), &h.counts);
    }
    if hosts.len() > 1 {
        row("total", total);
    }
    let tty = out.tty;
    table.write(out, tty)
}

/// A probe's attempt record (`seq`: its round), as the attempt loop
/// writes them plus `host` and `port`.
pub(super) fn attempt_json(seq: u64, p: &Probed) -> serde_json::Value {
    json!({
        "schema": super::SCHEMA,
        "type": "attempt",
        "seq": seq,
        "target": p.target.to_string(),
        "host": p.target.ip().to_string(),
        "port": p.target.port(),
        "local": p.local.map(|l| l.to_string()),
        "outcome": p.outcome,
        "tcp_info": null,
        "tcp_info_at_close": null,
        "behaviour": [],
        "closed_with": p.closed_with,
    })
}

/// An attempt record per (host, port), as the attempt loop writes them
/// plus `host` and `port`; then the `scan_summary` record.
fn write_json(out: &mut Out, r: &Report, s: &Settings, open_only: bool) -> std::io::Result<()> {
    for p in &r.results {
        if open_only && !p.outcome.is_open() {
            continue;
        }
        serde_json::to_writer(&mut *out, &attempt_json(1, p))?;
        writeln!(out)?;
    }
    let hosts: Vec<_> = r
        .hosts
        .iter()
        .map(|h| json!({"host": h.host.to_string(), "states": h.counts}))
        .collect();
    let v = json!({
        "schema": super::SCHEMA,
        "type": "scan_summary",
        "probes": r.probes,
        "open": r.total.open,
        "states": r.total,
        "hosts": hosts,
        "parallel": r.parallel,
        "rate": s.rate,
        "timeout_s": s.connect.timeout.as_secs_f64(),
        "elapsed_s": r.elapsed_s,
        "probes_per_second": r.probes_per_second,
        "interrupted": r.interrupted,
    });
    serde_json::to_writer(&mut *out, &v)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_args as args;
    use super::*;
    use crate::probe::targets::Ports;

    fn scan(argv: &[&str]) -> Result<Settings> {
        let a = args(argv);
        assert!(wanted(&a), "{argv:?} is a scan");
        settings(&a)
    }

    fn one(ip: &str, ports: &str) -> Target {
        Target {
            hosts: Hosts::One {
                ip: ip.parse().unwrap(),
                scope_id: 0,
            },
            ports: Ports::parse(ports).unwrap(),
        }
    }

    fn plain(targets: Vec<Target>) -> Settings {
        Settings {
            targets,
            parallel: 256,
            rate: None,
            connect: ConnectOpts {
                timeout: Duration::from_secs(3),
                iface: None,
                source: None,
                observe: Duration::ZERO,
            },
            close: CloseWith::Rst,
        }
    }

    #[test]
    fn what_makes_a_scan() {
        for argv in [
            &["198.51.100.2:22"][..],
            &["[2001:db8::2]:443"],
            &["-c", "3", "my-host:80"],
            &["198.51.100.2"],
            &["198.51.100.2:0"],
        ] {
            assert!(!wanted(&args(argv)), "{argv:?}");
        }
        for argv in [
            &["198.51.100.2:22", "198.51.100.3:22"][..],
            &["198.51.100.2:22,80"],
            &["198.51.100.2:1-1024"],
            &["198.51.100.0/28:22"],
            &["[2001:db8::/120]:22"],
            &["--open", "198.51.100.2:22"],
            &["--parallel", "8", "198.51.100.2:22"],
            &["--rate", "10", "198.51.100.2:22"],
            &["--max-probes", "10", "198.51.100.2:22"],
            &["198.51.100.2:22,,80"],
        ] {
            assert!(wanted(&args(argv)), "{argv:?}");
        }
    }

    #[test]
    fn settings_from_argv() {
        assert_eq!(
            scan(&["198.51.100.2:22,80", "[2001:db8::2]:1-1024"]).unwrap(),
            plain(vec![
                one("198.51.100.2", "22,80"),
                one("2001:db8::2", "1-1024")
            ])
        );
        // The same host twice is one target; a network is kept whole.
        let mut s = plain(vec![
            one("198.51.100.2", "22,80,443"),
            Target {
                hosts: Hosts::Net(Cidr::parse("198.51.100.0/28").unwrap()),
                ports: Ports::one(22),
            },
        ]);
        s.parallel = 1000;
        s.rate = Some(500.5);
        s.connect.timeout = Duration::from_millis(500);
        s.connect.source = Some("198.51.100.1".parse().unwrap());
        s.connect.iface = Some("eth0".into());
        s.close = CloseWith::Fin;
        assert_eq!(
            scan(&[
                "--parallel",
                "1000",
                "--rate",
                "500.5",
                "-W",
                "0.5",
                "-s",
                "198.51.100.1",
                "-I",
                "eth0",
                "--graceful",
                "--open",
                "-c",
                "1",
                "198.51.100.2:22,80",
                "198.51.100.0/28:22",
                "198.51.100.2:443,80",
            ])
            .unwrap(),
            s
        );
        // Link-local with -I; a zone names its link (lo is index 1).
        let ll = scan(&["[fe80::1%1]:22,80"]).unwrap();
        assert_eq!(
            ll.targets[0].hosts,
            Hosts::One {
                ip: "fe80::1".parse().unwrap(),
                scope_id: 1
            }
        );
        assert!(scan(&["-I", "lo", "[fe80::/120]:22"]).is_ok());
        // Exactly the cap, and above it with --max-probes.
        assert!(scan(&["198.51.0.0/16:7"]).is_ok());
        assert!(scan(&["--max-probes", "131072", "198.51.0.0/16:7,8"]).is_ok());
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "a table of cases")]
    fn bad_argv_is_one_line_that_says_why() {
        for (argv, said) in [
            (
                &["198.51.100.2:0,22"][..],
                "'198.51.100.2:0,22': port '0' is not valid: give 1-65535",
            ),
            (
                &["198.51.100.2:22", "198.51.100.3:70000"],
                "'198.51.100.3:70000': port '70000' is not valid: give 1-65535",
            ),
            (
                &["198.51.100.2:90-80"],
                "'198.51.100.2:90-80': port range '90-80' is reversed: write 80-90",
            ),
            (
                &["198.51.100.2:22,,80"],
                "'198.51.100.2:22,,80': an empty item in the port list '22,,80': separate ports and ranges with single commas",
            ),
            (
                &["198.51.100.0/24:1-257"],
                "65792 probes in one run, more than 65536: give --max-probes N to allow more",
            ),
            (
                &["--max-probes", "100", "198.51.100.0/24:1-2"],
                "512 probes in one run, more than --max-probes 100",
            ),
            (
                &["198.50.0.0/15:22"],
                "'198.50.0.0/15:22': 198.50.0.0/15 spans 131072 addresses: at most 65536 in one target (an IPv4 /16, an IPv6 /112)",
            ),
            (
                &["--parallel", "0", "198.51.100.2:22,80"],
                "--parallel 0: give at least 1 probe in flight",
            ),
            (
                &["--rate", "0", "198.51.100.2:22,80"],
                "--rate 0: give a positive number of new probes per second, e.g. --rate 1000",
            ),
            (
                &["--rate", "-5", "198.51.100.2:22,80"],
                "--rate -5: give a positive number of new probes per second, e.g. --rate 1000",
            ),
            (
                &["--rate", "NaN", "198.51.100.2:22,80"],
                "--rate NaN: give a positive number of new probes per second, e.g. --rate 1000",
            ),
            (
                &["--max-probes", "0", "198.51.100.2:22,80"],
                "--max-probes 0: give at least 1",
            ),
            (
                &["--keepalive", "1,1,3", "198.51.100.2:22,80"],
                "--keepalive works on one HOST:PORT, not on a scan of many",
            ),
            (
                &["-4", "[2001:db8::2]:22,80"],
                "2001:db8::2 does not match -4",
            ),
            (
                &["-6", "198.51.100.0/30:22"],
                "198.51.100.0/30 does not match -6",
            ),
            (
                &["224.0.0.0/30:22"],
                "cannot probe 224.0.0.0/30: it holds multicast addresses; TCP needs unicast addresses",
            ),
            (
                &["[::]:22,80"],
                "the unspecified address :: names no host: to probe this host give 127.0.0.1 or ::1",
            ),
            (
                &["0.0.0.0/30:22"],
                "cannot probe 0.0.0.0/30: it holds the unspecified address 0.0.0.0, which names no host",
            ),
            (
                &["255.255.255.0/24:22"],
                "cannot probe 255.255.255.0/24: it holds broadcast addresses; TCP needs unicast addresses",
            ),
            (
                &["198.51.100.2:22", "255.255.255.255:22"],
                "cannot probe 255.255.255.255: a broadcast address; TCP needs a unicast address",
            ),
            (
                &["[fe80::1]:22,80"],
                "fe80::1 is link-local: name the interface, [fe80::1%IFACE]:22,80 or -I IFACE",
            ),
            (
                &["[fe80::/120]:22"],
                "fe80::/120 is link-local: name the interface with -I IFACE",
            ),
            (
                &["-s", "2001:db8::1", "198.51.100.2:22,80"],
                "-s 2001:db8::1 and 198.51.100.2:22,80 are of different address families: give a source of the target's",
            ),
            (
                &["198.51.100.2"; 2],
                "'198.51.100.2': no ports: write HOST:PORTS or [IPV6]:PORTS, e.g. 198.51.100.2:22,80 or [2001:db8::2]:1-1024",
            ),
        ] {
            let e = scan(argv).expect_err(&format!("{argv:?}"));
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "{argv:?}: exit 2"
            );
            assert_eq!(e.to_string(), said, "{argv:?}");
        }
    }
}
