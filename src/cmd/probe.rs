//! `nettool probe`: flags -> attempts -> one line each (or JSON lines) ->
//! summary; and `nettool probe serve`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{ProbeArgs, ProbeCommand, ServeArgs};
use crate::output::Out;
use crate::probe::behave::{self, Finding};
use crate::probe::serve::{self, Served};
use crate::probe::{self as pr, ConnectOpts, Outcome, PeerMove, Summary};
use crate::sys::TcpInfo;
use crate::{Status, UsageError};

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn secs(flag: &str, v: f64, allow_zero: bool) -> Result<Duration> {
    // Below a millisecond a wait rounds to nothing: 0 (where allowed) or
    // at least 0.001.
    if v.is_finite() && ((0.001..=86_400.0).contains(&v) || (allow_zero && v == 0.0)) {
        Ok(Duration::from_secs_f64(v))
    } else {
        // 1e300 as 1e300, not as its 301 digits.
        let shown = if v.abs() >= 1e9 {
            format!("{v:e}")
        } else {
            v.to_string()
        };
        Err(usage(format!(
            "{flag} {shown}: give {}0.001 to 86400 seconds (fractions allowed)",
            if allow_zero { "0, or " } else { "" }
        )))
    }
}

/// `HOST:PORT` / `[V6]:PORT` -> address, resolving names only when a name
/// was given.
pub fn parse_target(s: &str, v4: bool, v6: bool) -> Result<SocketAddr> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| usage(format!("'{s}': write [IPV6]:PORT")))?;
        (h, p)
    } else {
        s.rsplit_once(':')
            .filter(|(h, _)| !h.contains(':'))
            .ok_or_else(|| usage(format!("'{s}' has no port: write HOST:PORT or [IPV6]:PORT")))?
    };
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let port: u16 = match port.parse::<u32>() {
        Ok(p) if digits && (1..=65535).contains(&p) => p as u16,
        _ => return Err(usage(format!("port '{port}' is not valid: give 1-65535"))),
    };
    // A scoped IPv6 literal, fe80::1%eth0 or fe80::1%2: a number must name
    // an interface of this namespace too.
    if let Some((ip, scope_id)) = super::parse_zoned_v6(host)? {
        if v4 {
            return Err(usage(format!("{ip} does not match -4")));
        }
        if crate::sys::interface_name(scope_id).is_none() {
            return Err(usage(format!(
                "'{host}': no interface with index {scope_id} here (see `ip link`)"
            )));
        }
        return Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope_id)));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if (v4 && ip.is_ipv6()) || (v6 && ip.is_ipv4()) {
            return Err(usage(format!(
                "{ip} does not match -{}",
                if v4 { 4 } else { 6 }
            )));
        }
        return Ok(SocketAddr::new(ip, port));
    }
    if host.is_empty() {
        return Err(usage(format!("'{s}' has no host")));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| usage(format!("cannot resolve '{host}': {e}")))?
        .collect();
    addrs
        .into_iter()
        .find(|a| (!v4 || a.is_ipv4()) && (!v6 || a.is_ipv6()))
        .ok_or_else(|| usage(format!("'{host}' has no address of the asked family")))
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

/// `serve`'s `[ADDR:]PORT`: a bare port listens on all addresses, IPv6 and
/// IPv4.
fn listen_addr(s: &str) -> Result<SocketAddr> {
    let addr = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        match s.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => {
                SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, p as u16))
            }
            _ => return Err(usage(format!("port '{s}' is not valid: give 1-65535"))),
        }
    } else if !s.contains(':') {
        return Err(usage(format!(
            "'{s}' is not a port: give PORT (1-65535), ADDR:PORT or [IPV6]:PORT"
        )));
    } else {
        parse_target(s, false, false)?
    };
    scoped(unicast(addr, "listen on")?, None, "")
}

fn keepalive_spec(s: &str) -> Result<(u32, u32, u32)> {
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
        [i, n, c]
            if (1..=32767).contains(i) && (1..=32767).contains(n) && (1..=127).contains(c) =>
        {
            Ok((*i, *n, *c))
        }
        _ => Err(usage(format!(
            "--keepalive '{s}': IDLE and INTVL 1-32767 seconds, CNT 1-127 probes"
        ))),
    }
}

/// TCP_USER_TIMEOUT is an int of milliseconds; 0 would mean the kernel's
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

pub fn run(a: &ProbeArgs) -> Result<Status> {
    if let Some(ProbeCommand::Serve(s)) = &a.serve {
        return run_serve(s);
    }
    let target_text = a.target.as_deref().ok_or_else(|| usage("give HOST:PORT"))?;
    // The flags first: reading the target may resolve a name.
    match a.interface.as_deref() {
        Some("") => return Err(usage("-I '': give an interface name, e.g. -I eth0")),
        // SO_BINDTODEVICE would quietly cut a longer name to IFNAMSIZ - 1.
        Some(i) if i.len() > 15 => {
            return Err(usage(format!(
                "-I '{i}': interface names are at most 15 bytes"
            )));
        }
        _ => {}
    }
    if a.count == 0 {
        return Err(usage("-c 0: give at least 1 attempt"));
    }
    let interval = secs("-i", a.interval, true)?;
    let timeout = secs("-W", a.timeout, false)?;
    let keepalive = a.keepalive.as_deref().map(keepalive_spec).transpose()?;
    let hold = a.hold.map(|h| secs("--hold", h, false)).transpose()?;
    let source = a
        .source
        .as_deref()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| usage(format!("-s '{s}' is not an IP address")))
        })
        .transpose()?;
    let target = unicast(parse_target(target_text, a.ipv4, a.ipv6)?, "probe")?;
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
    let opts = ConnectOpts {
        timeout,
        iface: a.interface.clone(),
        source,
        // Watch for the peer's first move, never longer than the gap
        // between attempts.
        observe: if a.count > 1 {
            interval.min(WATCH)
        } else {
            WATCH
        },
    };
    pr::check_setup(target, &opts).map_err(|e| setup_error(&e, target, &opts))?;
    crate::sys::catch_interrupt();
    let mut out = Out::stdout();
    let stamp = |ts: bool| -> String {
        if !ts {
            return String::new();
        }
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        format!("[{}.{:06}] ", d.as_secs(), d.subsec_micros())
    };
    if !a.json {
        let how = if rst_close {
            "closing with RST"
        } else {
            "closing with FIN"
        };
        writeln!(
            out,
            "PROBE {target}: {} attempts, timeout {:.1} s, {how}",
            a.count,
            timeout.as_secs_f64()
        )?;
        out.flush()?;
    }
    let mut handshakes = Vec::new();
    let mut rtts = Vec::new();
    let (mut open, mut failed, mut peer_failed) = (0u64, 0u64, false);
    let started = Instant::now();
    for n in 1..=a.count {
        if crate::sys::interrupted() {
            break;
        }
        let t_attempt = Instant::now();
        let at = match pr::attempt(target, &opts) {
            Ok(at) => at,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
            Err(e) => return Err(setup_error(&e, target, &opts)),
        };
        let mut findings: Vec<Finding> = Vec::new();
        let mut close_info: Option<TcpInfo> = None;
        if let Some(s) = at.socket {
            let data = a.send.clone().unwrap_or_default().into_bytes();
            if let Some((i, n2, c)) = keepalive {
                let expected = Duration::from_secs(u64::from(i) + u64::from(n2) * u64::from(c));
                let hold = hold.unwrap_or(expected + expected / 2 + Duration::from_secs(2));
                findings.push(behave::keepalive(&s, i, n2, c, hold)?);
            }
            if let Some(ms) = a.user_timeout {
                let hold = hold
                    .unwrap_or(Duration::from_millis(u64::from(ms)) * 2 + Duration::from_secs(2));
                findings.push(behave::user_timeout(&s, ms, &data, hold)?);
            } else if a.half_close {
                findings.push(behave::half_close(&s, &data, timeout)?);
            } else if a.expect_close {
                findings.push(behave::expect_close(&s, &data, timeout)?);
            } else if !data.is_empty() {
                use std::io::Write as _;
                let mut w: &socket2::Socket = &s;
                let _ = w.write_all(&data);
            }
            if a.verbose {
                close_info = crate::sys::tcp_info(std::os::fd::AsFd::as_fd(&s)).ok();
            }
            pr::close(s, rst_close);
        }
        peer_failed |= findings.iter().any(Finding::is_failure);
        match &at.outcome {
            Outcome::Open {
                handshake_us,
                kernel_rtt_us,
                ..
            } => {
                open += 1;
                handshakes.push(*handshake_us);
                rtts.push(f64::from(*kernel_rtt_us));
            }
            _ => failed += 1,
        }
        if a.json {
            let v = json!({
                "schema": SCHEMA,
                "type": "attempt",
                "seq": n,
                "target": target.to_string(),
                "local": at.local.map(|l| l.to_string()),
                "outcome": at.outcome,
                "tcp_info": at.info.filter(|_| a.verbose),
                "tcp_info_at_close": close_info,
                "behaviour": findings,
                "closed_with": if at.outcome.is_open() { Some(if rst_close { "rst" } else { "fin" }) } else { None },
            });
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{}{}",
                stamp(a.timestamp),
                attempt_line(n, target, &at.outcome)
            )?;
            if a.verbose {
                if let Some(i) = at.info.filter(|_| at.outcome.is_open()) {
                    writeln!(out, "    TCP_INFO after handshake: {}", info_text(&i))?;
                }
                if let Some(i) = close_info {
                    writeln!(out, "    TCP_INFO before close:    {}", info_text(&i))?;
                }
            }
            for f in &findings {
                writeln!(out, "    {}", finding_text(f))?;
            }
            if at.outcome.is_open() && (a.rst || rst_close && a.verbose) {
                writeln!(
                    out,
                    "    closed with RST (SO_LINGER 0): no FIN exchange, no TIME_WAIT on our side"
                )?;
            }
        }
        out.flush()?;
        if n < a.count {
            let next = t_attempt + interval;
            while Instant::now() < next && !crate::sys::interrupted() {
                std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
            }
        }
    }
    let attempts = open + failed;
    let loss = if attempts == 0 {
        0.0
    } else {
        100.0 * failed as f64 / attempts as f64
    };
    let hs = Summary::of(&handshakes);
    let rtt = Summary::of(&rtts);
    let elapsed = started.elapsed().as_secs_f64();
    if a.json {
        let v = json!({
            "schema": SCHEMA,
            "type": "summary",
            "target": target.to_string(),
            "attempts": attempts,
            "open": open,
            "failed": failed,
            "loss_pct": loss,
            "handshake": hs,
            "kernel_rtt": rtt,
            "elapsed_s": elapsed,
            "attempts_per_second": attempts as f64 / elapsed.max(1e-9),
            "clock": "CLOCK_MONOTONIC in user space, connect() to writable",
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "--- {target} probe statistics ---")?;
        writeln!(
            out,
            "{attempts} attempts, {open} open, {failed} failed, {loss:.0}% loss, {:.2} s",
            elapsed
        )?;
        if let Some(h) = hs {
            writeln!(
                out,
                "handshake min/avg/max/mdev/p95 = {:.3}/{:.3}/{:.3}/{:.3}/{:.3} ms (user space, connect() to writable)",
                h.min_ms, h.avg_ms, h.max_ms, h.mdev_ms, h.p95_ms
            )?;
        }
        if let Some(r) = rtt {
            writeln!(
                out,
                "kernel rtt (TCP_INFO) min/avg/max = {:.3}/{:.3}/{:.3} ms",
                r.min_ms, r.avg_ms, r.max_ms
            )?;
        }
    }
    out.flush()?;
    Ok(if failed == 0 && !peer_failed && attempts > 0 {
        Status::Success
    } else {
        Status::NotFound
    })
}

fn attempt_line(n: u64, target: SocketAddr, o: &Outcome) -> String {
    let ms = |us: f64| us / 1e3;
    match o {
        Outcome::Open {
            handshake_us,
            kernel_rtt_us,
            peer,
        } => {
            let mut s = format!(
                "{n}: {target} open  handshake {:.3} ms (kernel rtt {:.3} ms)",
                ms(*handshake_us),
                f64::from(*kernel_rtt_us) / 1e3
            );
            match peer {
                Some(PeerMove::Data { bytes }) => {
                    s.push_str(&format!(", peer spoke first ({bytes} bytes)"))
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
                "{n}: {target} reset after accept  handshake {:.3} ms, then RST {when}: something accepts and drops connections",
                ms(*handshake_us)
            )
        }
        Outcome::RefusedRst { after_us } => format!(
            "{n}: {target} refused (RST)  after {:.3} ms: the host is up, nothing listens on the port",
            ms(*after_us)
        ),
        Outcome::RefusedIcmp { after_us, icmp } => format!(
            "{n}: {target} refused (ICMP port unreachable)  {icmp}, after {:.3} ms: a firewall rejects the port",
            ms(*after_us)
        ),
        Outcome::Filtered {
            waited_us,
            syn_retransmits,
        } => format!(
            "{n}: {target} filtered (no answer after {syn_retransmits} SYN retransmits, {:.3} s): SYNs are dropped on the way, or the host is down",
            waited_us / 1e6
        ),
        Outcome::HostUnreachable { after_us, icmp } => match icmp {
            Some(i) => format!(
                "{n}: {target} host unreachable  {i}, after {:.3} ms",
                ms(*after_us)
            ),
            None => format!(
                "{n}: {target} host unreachable  (local: no ARP/NDP answer), after {:.3} ms",
                ms(*after_us)
            ),
        },
        Outcome::NetworkUnreachable { after_us, icmp } => match icmp {
            Some(i) => format!(
                "{n}: {target} network unreachable  {i}, after {:.3} ms",
                ms(*after_us)
            ),
            None => format!(
                "{n}: {target} network unreachable  (no route here), immediately ({:.3} ms)",
                ms(*after_us)
            ),
        },
        Outcome::AdminProhibited { after_us, icmp } => format!(
            "{n}: {target} administratively prohibited  {icmp}, after {:.3} ms: a firewall rejects it by policy",
            ms(*after_us)
        ),
        Outcome::Error { after_us, error } => {
            format!(
                "{n}: {target} error: {error}, after {:.3} ms",
                ms(*after_us)
            )
        }
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
        } => match *verdict {
            "alive" => format!(
                "keepalive: peer alive after {after_s:.2} s (dead would be declared after {expected_dead_s:.0} s)"
            ),
            "dead" => format!(
                "keepalive: peer declared dead after {after_s:.2} s (expected IDLE + INTVL x CNT = {expected_dead_s:.0} s), {probes} probes unanswered (TCP_INFO), {}",
                error.as_deref().unwrap_or("ETIMEDOUT")
            ),
            "reset" => format!(
                "keepalive: connection reset after {after_s:.2} s (a probe was answered with RST: the peer lost the connection)"
            ),
            _ => format!("keepalive: the peer closed (FIN) after {after_s:.2} s"),
        },
        Finding::UserTimeout {
            verdict,
            after_s,
            timeout_ms,
            unacked,
            error,
        } => match *verdict {
            "alive" => format!(
                "user timeout {timeout_ms} ms: connection still alive after {after_s:.2} s ({unacked} segments unacknowledged)"
            ),
            _ => format!(
                "user timeout {timeout_ms} ms: connection aborted after {after_s:.2} s with data unacknowledged ({})",
                error.as_deref().unwrap_or(verdict)
            ),
        },
        Finding::ExpectClose {
            how,
            after_s,
            bytes_received,
        } => match *how {
            "fin" => format!(
                "peer closed gracefully (FIN) {:.3} ms after our data, having sent {bytes_received} bytes",
                after_s * 1e3
            ),
            "rst" => format!(
                "peer closed abortively (RST) {:.3} ms after our data, having sent {bytes_received} bytes",
                after_s * 1e3
            ),
            _ => format!(
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

/// A kept connection whose peer has not closed or reset it.
fn peer_still_there(c: &TcpStream) -> bool {
    use std::os::fd::AsFd;
    crate::sys::poll_one(c.as_fd(), libc::POLLRDHUP, Some(Duration::ZERO))
        .is_ok_and(|ev| ev & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) == 0)
}

fn run_serve(a: &ServeArgs) -> Result<Status> {
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
    let addr = listen_addr(&a.listen)?;
    let listener = match serve::listen(addr, a.behavior) {
        Ok(l) => l,
        Err(e) if addr.ip().is_unspecified() && addr.is_ipv6() => {
            // No IPv6 here: fall back to IPv4 any.
            let v4 = SocketAddr::from(([0, 0, 0, 0], addr.port()));
            serve::listen(v4, a.behavior)
                .map_err(|e4| usage(format!("cannot listen on {addr} ({e}) or {v4} ({e4})")))?
        }
        Err(e) => return Err(usage(format!("cannot listen on {addr}: {e}"))),
    };
    let local = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    // Connection threads print too: take the stdout lock per line, never
    // across the accept loop.
    let say = |line: &str| -> std::io::Result<()> {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{line}")?;
        o.flush()
    };
    say(&format!(
        "listening on {local}, behavior {:?}, SO_REUSEADDR on",
        a.behavior
    ))?;
    let Some(behavior) = a.behavior.served() else {
        say(
            "never accepting: the accept queue (backlog 1) fills after 2 connections; later SYNs go unanswered",
        )?;
        crate::sys::catch_interrupt();
        while !crate::sys::interrupted() {
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(Status::Success);
    };
    let listener: std::net::TcpListener = listener.into();
    let mut keep: Vec<TcpStream> = Vec::new();
    let mut served = 0u64;
    let mut threads = Vec::new();
    let mut failures = serve::AcceptFailures::default();
    // Without SA_RESTART: Ctrl-C or SIGTERM ends a blocked accept, so the
    // failures not yet said are said before serve exits.
    crate::sys::catch_termination().context("cannot catch SIGINT and SIGTERM")?;
    let signal = loop {
        if let Some(signal) = crate::sys::termination() {
            break Some(signal);
        }
        let (conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Out of descriptors or memory, or a connection gone before we
            // took it: keep serving, back off, and say so now and then.
            Err(e) if serve::keeps_serving(&e) => {
                let (line, sleep) = failures.failed(Instant::now(), &e);
                if let Some(line) = line {
                    crate::say!("nettool: {line}");
                }
                // Silent connections whose peer left give descriptors back.
                keep.retain(peer_still_there);
                std::thread::sleep(sleep);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(line) = failures.accepted(Instant::now()) {
            crate::say!("nettool: {line}");
        }
        served += 1;
        if matches!(behavior, Served::Silent | Served::Rst) {
            // Silent connections are kept open; drop those whose peer left.
            keep.retain(peer_still_there);
            say(&serve::handle(conn, peer, behavior, &mut keep))?;
        } else {
            // Finished connections give their threads back at once: a long
            // run must not pile up thread stacks until spawning fails.
            threads.retain(|t: &std::thread::JoinHandle<()>| !t.is_finished());
            let spawned = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let line = serve::handle(conn, peer, behavior, &mut Vec::new());
                    let mut o = std::io::stdout().lock();
                    let _ = writeln!(o, "{line}");
                    let _ = o.flush();
                });
            threads.push(spawned.context("cannot start a thread for the connection")?);
        }
        if a.count.is_some_and(|c| served >= c) {
            break None;
        }
    };
    if let Some(line) = failures.finish() {
        crate::say!("nettool: {line}; stopped");
    }
    if let Some(signal) = signal {
        // Connections in progress are cut, as the signal's default would.
        let _ = std::io::stdout().flush();
        std::process::exit(128 + signal);
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(Status::Success)
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
        assert_eq!(keepalive_spec("1,1,3").unwrap(), (1, 1, 3));
        assert!(
            keepalive_spec("1,1").is_err()
                && keepalive_spec("0,1,1").is_err()
                && keepalive_spec("a,b,c").is_err()
        );
    }
}
