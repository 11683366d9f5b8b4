//! The kernel's protocol counters (what `nstat` and `netstat -s` read):
//! /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6, the change
//! between two readings, and a one-line meaning for the counters that
//! matter to an SRE ([`MEANINGS`], which the diagnosis uses too).
//!
//! Invariants:
//! - Content never fails a reading: a malformed line or section is one
//!   warning and is skipped. Only a file that exists but cannot be read is
//!   an error; a missing one is no counters (IPv6 off: no snmp6).
//! - Every key the kernel prints is kept, in the kernel's order, with its
//!   sign (Tcp `MaxConn` is -1), as `i128`, which holds both the `%lu` and
//!   the `%ld` the kernel prints them with.
//! - The reader takes a net *directory* (`/proc/net`, `$PROC_ROOT/net`,
//!   `/proc/thread-self/net` from a thread inside another namespace): the
//!   counters are per network namespace.
//! - A counter that went down between two readings is a [`Reset`], never a
//!   huge or negative delta; only the gauges in [`GAUGES`] may fall.
//!
//! Why not procfs: procfs 0.18 parses /proc/net/snmp into a fixed struct:
//! a key it does not know (Ip `OutTransmits`, Icmp `OutRateLimitHost`) is
//! dropped, one it expects but a kernel lacks fails the whole file, and
//! it has no parser for /proc/net/netstat at all. Both files have the same
//! two-line shape, so one generic parser reads both, keeps every key a
//! newer kernel adds, and reads any net directory.

use std::io::{self, BufRead, Read};
use std::path::Path;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::Error;

/// The most bytes read from one counters file (today's are under 8 KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The longest line kept: the `TcpExt` names line is over 2 KiB and grows with
/// every kernel.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Malformed lines reported one by one per file; the rest are counted.
pub const MAX_WARNINGS: usize = 5;

/// Values that are not counters but levels or settings: they may go down
/// between two readings without being reset.
pub const GAUGES: &[(&str, &str)] = &[
    ("Ip", "Forwarding"),
    ("Ip", "DefaultTTL"),
    ("Tcp", "RtoAlgorithm"),
    ("Tcp", "RtoMin"),
    ("Tcp", "RtoMax"),
    ("Tcp", "MaxConn"),
    ("Tcp", "CurrEstab"),
];

/// Whether `section.key` is a gauge (see [`GAUGES`]).
pub fn is_gauge(section: &str, key: &str) -> bool {
    GAUGES.iter().any(|&(s, k)| s == section && k == key)
}

/// The counters `-s` shows, section by section in this order, with what
/// each means in one line. The `Udp` lines stand for `Udp6` as well.
/// Every `TcpExt TCPFastOpen*` key present is shown too.
pub const MEANINGS: &[(&str, &str, &str)] = &[
    (
        "Tcp",
        "ActiveOpens",
        "connections this host opened (connect(): SYN sent)",
    ),
    (
        "Tcp",
        "PassiveOpens",
        "connections listeners here took (SYN-ACK sent)",
    ),
    (
        "Tcp",
        "AttemptFails",
        "connection attempts that failed: refused (RST to the SYN) or half-open ones reset",
    ),
    (
        "Tcp",
        "EstabResets",
        "established connections that were reset",
    ),
    (
        "Tcp",
        "CurrEstab",
        "connections now ESTABLISHED or CLOSE_WAIT (a level, not a counter)",
    ),
    ("Tcp", "RetransSegs", "segments retransmitted"),
    (
        "Tcp",
        "InErrs",
        "segments received with errors (bad checksum or header)",
    ),
    (
        "Tcp",
        "InCsumErrors",
        "segments received with a bad checksum",
    ),
    (
        "Tcp",
        "OutRsts",
        "RSTs sent (to closed ports, or aborting connections)",
    ),
    (
        "TcpExt",
        "ListenOverflows",
        "SYNs or handshake ACKs dropped: a listener's accept queue was full",
    ),
    (
        "TcpExt",
        "ListenDrops",
        "SYNs dropped at listeners for any reason (overflows included)",
    ),
    (
        "TcpExt",
        "TCPBacklogDrop",
        "segments dropped: a socket's backlog was full while its program held it",
    ),
    (
        "TcpExt",
        "TCPTimeouts",
        "retransmission timeouts (the RTO fired)",
    ),
    ("TcpExt", "TCPSynRetrans", "SYNs and SYN-ACKs retransmitted"),
    (
        "TcpExt",
        "TCPAbortOnTimeout",
        "connections given up after too many retransmissions or keepalive probes",
    ),
    (
        "TcpExt",
        "TCPAbortOnData",
        "connections reset: data arrived after the program closed",
    ),
    (
        "TcpExt",
        "TCPAbortOnClose",
        "connections reset: the program closed with unread data",
    ),
    (
        "TcpExt",
        "TCPAbortOnMemory",
        "connections aborted for lack of TCP memory (tcp_mem) or too many orphans",
    ),
    (
        "TcpExt",
        "TCPAbortOnLinger",
        "connections reset by close() with SO_LINGER (zero, or its time ran out)",
    ),
    (
        "TcpExt",
        "TCPMemoryPressures",
        "times TCP entered memory pressure (tcp_mem's middle value)",
    ),
    (
        "TcpExt",
        "SyncookiesSent",
        "SYN cookies sent: a listener's SYN queue was full",
    ),
    (
        "TcpExt",
        "SyncookiesRecv",
        "valid SYN cookies that came back",
    ),
    ("TcpExt", "SyncookiesFailed", "invalid SYN cookies received"),
    ("TcpExt", "TW", "TIME_WAIT sockets that finished their wait"),
    (
        "TcpExt",
        "TWRecycled",
        "TIME_WAIT ports reused for new outgoing connections (tcp_tw_reuse)",
    ),
    (
        "TcpExt",
        "TCPFastOpenActive",
        "outgoing connections that sent data in the SYN (Fast Open)",
    ),
    (
        "TcpExt",
        "TCPFastOpenActiveFail",
        "Fast Open attempts the peer did not take",
    ),
    (
        "TcpExt",
        "TCPFastOpenPassive",
        "incoming Fast Open connections accepted with data",
    ),
    (
        "TcpExt",
        "TCPFastOpenPassiveFail",
        "incoming Fast Open SYNs refused (bad cookie)",
    ),
    (
        "TcpExt",
        "TCPFastOpenListenOverflow",
        "Fast Open SYNs over a listener's fastopen queue limit",
    ),
    (
        "TcpExt",
        "TCPFastOpenCookieReqd",
        "Fast Open cookies requested by clients",
    ),
    (
        "TcpExt",
        "TCPFastOpenBlackhole",
        "times Fast Open was turned off after a suspected middlebox blackhole",
    ),
    (
        "Udp",
        "InErrors",
        "datagrams dropped on receive (full buffer, bad checksum, ...)",
    ),
    (
        "Udp",
        "RcvbufErrors",
        "datagrams dropped: the receiving socket's buffer was full",
    ),
    (
        "Udp",
        "SndbufErrors",
        "sends that failed: the socket's send buffer was full",
    ),
    (
        "Udp",
        "NoPorts",
        "datagrams to a port no socket has (ICMP port unreachable sent)",
    ),
    (
        "Udp",
        "InCsumErrors",
        "datagrams received with a bad checksum",
    ),
];

/// The sections the table shows, in order (`Udp6` only from snmp6).
pub const SHOWN_SECTIONS: &[&str] = &["Tcp", "TcpExt", "Udp", "Udp6"];

/// What `key` of `section` means, if [`MEANINGS`] says.
pub fn meaning(section: &str, key: &str) -> Option<&'static str> {
    let section = if section == "Udp6" { "Udp" } else { section };
    MEANINGS
        .iter()
        .find(|&&(s, k, _)| s == section && k == key)
        .map(|&(_, _, m)| m)
}

/// Whether `-s` shows `section.key` without `--interval`.
pub fn is_shown(section: &str, key: &str) -> bool {
    SHOWN_SECTIONS.contains(&section)
        && (meaning(section, key).is_some()
            || (section == "TcpExt" && key.starts_with("TCPFastOpen")))
}

/// Named values in named sections, both in the order first seen. Its
/// `Serialize` is `{"Tcp": {"RetransSegs": 12, ...}, ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sections<T> {
    sections: Vec<(String, Vec<(String, T)>)>,
}

impl<T> Default for Sections<T> {
    fn default() -> Self {
        Sections {
            sections: Vec::new(),
        }
    }
}

impl<T: Copy> Sections<T> {
    pub fn get(&self, section: &str, key: &str) -> Option<T> {
        self.section(section)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, v)| v)
    }

    /// The keys and values of one section, in order.
    pub fn section(&self, section: &str) -> Option<&[(String, T)]> {
        self.sections
            .iter()
            .find(|(s, _)| s == section)
            .map(|(_, kv)| kv.as_slice())
    }

    /// Every section with its keys, in order.
    pub fn sections(&self) -> impl Iterator<Item = (&str, &[(String, T)])> {
        self.sections
            .iter()
            .map(|(s, kv)| (s.as_str(), kv.as_slice()))
    }

    /// Every `(section, key, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, T)> {
        self.sections
            .iter()
            .flat_map(|(s, kv)| kv.iter().map(move |(k, v)| (s.as_str(), k.as_str(), *v)))
    }

    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|(_, kv)| kv.is_empty())
    }

    /// Set `section.key`; `false` when it was there already (the new value
    /// replaces it).
    pub fn insert(&mut self, section: &str, key: &str, value: T) -> bool {
        let i = self
            .sections
            .iter()
            .position(|(s, _)| s == section)
            .unwrap_or_else(|| {
                self.sections.push((section.to_string(), Vec::new()));
                self.sections.len() - 1
            });
        let kv = &mut self.sections[i].1;
        if let Some(slot) = kv.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
            return false;
        }
        kv.push((key.to_string(), value));
        true
    }
}

impl<T: Serialize> Serialize for Sections<T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        struct Keys<'a, T>(&'a [(String, T)]);
        impl<T: Serialize> Serialize for Keys<'_, T> {
            fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                let mut m = ser.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let mut m = ser.serialize_map(Some(self.sections.len()))?;
        for (s, kv) in &self.sections {
            m.serialize_entry(s, &Keys(kv))?;
        }
        m.end()
    }
}

/// One reading of the counters: section -> key -> value.
pub type Counters = Sections<i128>;

/// Whether `section.key` is a setting rather than a count (the [`GAUGES`]
/// but `CurrEstab`): the sum of several namespaces' settings means nothing.
pub fn is_setting(section: &str, key: &str) -> bool {
    is_gauge(section, key) && !(section == "Tcp" && key == "CurrEstab")
}

impl Sections<i128> {
    /// Add `other` in, key by key: several namespaces' counters as one
    /// total. Settings ([`is_setting`]) are left out of it.
    pub fn add(&mut self, other: &Sections<i128>) {
        for (s, k, v) in other.iter() {
            if !is_setting(s, k) {
                let sum = self.get(s, k).unwrap_or(0).saturating_add(v);
                self.insert(s, k, sum);
            }
        }
    }
}

/// Read `snmp`, `netstat` and `snmp6` in the net directory `net_dir`
/// (e.g. `/proc/net`); a file that does not exist adds nothing.
///
/// # Errors
/// [`Error::Read`] for a file that exists but cannot be read,
/// [`Error::NotATable`] for one that is not a regular file.
pub fn read(net_dir: &Path, warn: &mut dyn FnMut(String)) -> Result<Counters, Error> {
    let mut out = Counters::default();
    for name in ["snmp", "netstat", "snmp6"] {
        let Some((r, path)) = super::procnet::open_in(net_dir, name)? else {
            continue;
        };
        let parsed = if name == "snmp6" {
            parse_flat(r, &path, &mut out, warn)
        } else {
            parse_pairs(r, &path, &mut out, warn)
        };
        parsed.map_err(|source| Error::Read { path, source })?;
    }
    Ok(out)
}

/// A signed decimal as the kernel prints it (`%lu` or `%ld`).
fn number(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = s.parse().ok()?;
    // Within what a 64-bit counter can print, either way.
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&v)
        .then_some(v)
}

/// /proc/net/snmp and /proc/net/netstat: pairs of lines,
/// `Tcp: RtoAlgorithm RtoMin ...` then `Tcp: 1 200 ...`.
///
/// A values line that does not follow a names line of the same section,
/// a names line without its values, a count mismatch or a value that is
/// not a number: one warning, that section (or line) skipped.
///
/// # Errors
/// Only the reader's.
pub fn parse_pairs<R: BufRead>(
    r: R,
    path: &Path,
    out: &mut Counters,
    warn: &mut dyn FnMut(String),
) -> io::Result<()> {
    // The names line waiting for its values: (line number, section, names).
    let mut names: Option<(usize, String, Vec<String>)> = None;
    let mut w = Warnings::new(path, warn);
    for_each_line(r, &mut w, |lineno, line, w| {
        let Some((section, rest)) = line.split_once(':') else {
            return Err("not `Section: ...`".into());
        };
        let section = section.trim();
        if section.is_empty() || section.contains(char::is_whitespace) {
            return Err("no section name before ':'".into());
        }
        let toks: Vec<&str> = rest.split_ascii_whitespace().collect();
        match names.take() {
            Some((_, s, keys)) if s == section => {
                if keys.len() != toks.len() {
                    return Err(format!(
                        "{section} has {} names but {} values; section skipped",
                        keys.len(),
                        toks.len()
                    ));
                }
                let values: Option<Vec<i128>> = toks.iter().map(|t| number(t)).collect();
                let Some(values) = values else {
                    return Err(format!(
                        "{section}: a value is not a number; section skipped"
                    ));
                };
                for (k, v) in keys.iter().zip(values) {
                    if !out.insert(section, k, v) {
                        w.say(
                            lineno,
                            &format!("{section} {k} appears twice; the last is kept"),
                        );
                    }
                }
                Ok(())
            }
            pending => {
                if let Some((at, s, _)) = pending {
                    w.say(
                        at,
                        &format!("{s} has names but no values line; section skipped"),
                    );
                }
                if toks.first().is_some_and(|t| number(t).is_some()) {
                    return Err(format!("{section}: values without a names line"));
                }
                names = Some((
                    lineno,
                    section.to_string(),
                    toks.iter().map(|t| (*t).to_string()).collect(),
                ));
                Ok(())
            }
        }
    })?;
    if let Some((at, s, _)) = names {
        w.say(
            at,
            &format!("{s} has names but no values line; section skipped"),
        );
    }
    w.finish();
    Ok(())
}

/// Sections of /proc/net/snmp6, by the prefix of its names
/// (`Udp6InErrors` is `Udp6` `InErrors`, as nstat names it).
const SNMP6_SECTIONS: &[&str] = &["Ip6", "Icmp6", "Udp6", "UdpLite6"];

/// /proc/net/snmp6: one `Udp6InErrors   0` per line. A name with none of
/// the known prefixes is kept whole in section `Snmp6`.
///
/// # Errors
/// Only the reader's.
pub fn parse_flat<R: BufRead>(
    r: R,
    path: &Path,
    out: &mut Counters,
    warn: &mut dyn FnMut(String),
) -> io::Result<()> {
    let mut w = Warnings::new(path, warn);
    for_each_line(r, &mut w, |lineno, line, w| {
        let toks: Vec<&str> = line.split_ascii_whitespace().collect();
        let [name, value] = toks[..] else {
            return Err("not `Name value`".into());
        };
        let Some(v) = number(value) else {
            return Err(format!("{name}: the value is not a number"));
        };
        let (section, key) = SNMP6_SECTIONS
            .iter()
            .filter_map(|p| Some((*p, name.strip_prefix(p)?)))
            .find(|(_, k)| !k.is_empty())
            .unwrap_or(("Snmp6", name));
        if !out.insert(section, key, v) {
            w.say(lineno, &format!("{name} appears twice; the last is kept"));
        }
        Ok(())
    })?;
    w.finish();
    Ok(())
}

/// Per-file warnings: the first [`MAX_WARNINGS`] one by one, then a count.
struct Warnings<'a> {
    path: &'a Path,
    warn: &'a mut dyn FnMut(String),
    count: usize,
}

impl<'a> Warnings<'a> {
    fn new(path: &'a Path, warn: &'a mut dyn FnMut(String)) -> Self {
        Warnings {
            path,
            warn,
            count: 0,
        }
    }

    fn say(&mut self, lineno: usize, why: &str) {
        self.count += 1;
        if self.count <= MAX_WARNINGS {
            (self.warn)(format!(
                "warning: {} line {lineno}: {why}",
                self.path.display()
            ));
        }
    }

    fn finish(&mut self) {
        if self.count > MAX_WARNINGS {
            (self.warn)(format!(
                "warning: ... and {} more problems in {}",
                self.count - MAX_WARNINGS,
                self.path.display()
            ));
        }
    }
}

/// Call `f` with each non-blank line (numbered from 1) of at most
/// [`MAX_LINE_BYTES`], reading at most [`MAX_FILE_BYTES`]; a line `f`
/// rejects, an overlong or non-UTF-8 line is a warning.
fn for_each_line<R: BufRead>(
    r: R,
    w: &mut Warnings<'_>,
    mut f: impl FnMut(usize, &str, &mut Warnings<'_>) -> Result<(), String>,
) -> io::Result<()> {
    let mut r = r.take(MAX_FILE_BYTES);
    let mut buf = Vec::with_capacity(4096);
    let mut lineno = 0;
    loop {
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        lineno += 1;
        if buf.len() > MAX_LINE_BYTES {
            // Skip the rest of it without keeping it.
            loop {
                buf.clear();
                let n = (&mut r)
                    .take(MAX_LINE_BYTES as u64)
                    .read_until(b'\n', &mut buf)?;
                if n == 0 || buf.last() == Some(&b'\n') {
                    break;
                }
            }
            w.say(
                lineno,
                &format!("longer than {MAX_LINE_BYTES} bytes; skipped"),
            );
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            w.say(lineno, "not UTF-8; skipped");
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if let Err(why) = f(lineno, line, w) {
            w.say(lineno, &why);
        }
    }
    if r.limit() == 0 && !r.into_inner().fill_buf()?.is_empty() {
        w.say(
            lineno,
            &format!(
                "stopped after {} MiB; the rest is ignored",
                MAX_FILE_BYTES >> 20
            ),
        );
    }
    Ok(())
}

/// A counter that went down between two readings: reset (its namespace
/// made anew, a module reloaded) or wrapped. No delta is made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reset {
    pub before: i128,
    pub after: i128,
}

/// Two readings `seconds` apart: what changed. Keys in only one of them
/// (a module loaded in between) have no delta.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Measured between the starts of the two readings.
    pub seconds: f64,
    /// Every key in both readings: `after - before`. Never negative but
    /// for a gauge ([`GAUGES`]).
    pub deltas: Sections<i128>,
    /// Counters that went down.
    pub resets: Sections<Reset>,
}

impl Interval {
    /// Add another namespace's interval in: deltas and resets summed, the
    /// longer of the two times (the namespaces were read one after another
    /// over about the same span).
    pub fn add(&mut self, other: &Interval) {
        self.seconds = self.seconds.max(other.seconds);
        self.deltas.add(&other.deltas);
        for (s, k, r) in other.resets.iter() {
            let sum = match self.resets.get(s, k) {
                Some(was) => Reset {
                    before: was.before.saturating_add(r.before),
                    after: was.after.saturating_add(r.after),
                },
                None => r,
            };
            self.resets.insert(s, k, sum);
        }
    }

    pub fn between(before: &Counters, after: &Counters, seconds: f64) -> Interval {
        let mut i = Interval {
            seconds,
            deltas: Sections::default(),
            resets: Sections::default(),
        };
        for (s, k, v) in after.iter() {
            let Some(was) = before.get(s, k) else {
                continue;
            };
            if v < was && !is_gauge(s, k) {
                i.resets.insert(
                    s,
                    k,
                    Reset {
                        before: was,
                        after: v,
                    },
                );
            } else {
                i.deltas.insert(s, k, v - was);
            }
        }
        i
    }

    /// `delta` per second.
    #[allow(
        clippy::cast_precision_loss,
        reason = "a rate to show: counters far below 2^52 per interval"
    )]
    pub fn rate(&self, delta: i128) -> f64 {
        if self.seconds > 0.0 {
            delta as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut rates = Sections::<f64>::default();
        for (s, k, d) in self.deltas.iter() {
            // Three decimals: a rate, not a measurement to the femtosecond.
            rates.insert(s, k, (self.rate(d) * 1000.0).round() / 1000.0);
        }
        let mut m = ser.serialize_map(Some(4))?;
        m.serialize_entry("interval_s", &((self.seconds * 1e6).round() / 1e6))?;
        m.serialize_entry("deltas", &self.deltas)?;
        m.serialize_entry("rates_per_s", &rates)?;
        m.serialize_entry("resets", &self.resets)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a 6.18 kernel, with `MaxConn` -1.
    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives InHdrErrors
Ip: 2 64 61184093 0
Icmp: InMsgs InErrors
Icmp: 623 0
IcmpMsg: InType3 OutType3
IcmpMsg: 623 617
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 627653 596806 30744 1170749 0 2495576 2493495 10 0 623803 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 58687057 617 0 58688386 0 0 0 0 0
";

    const NETSTAT: &str = "\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPFastOpenActive TCPBrandNewCounter
TcpExt: 0 0 17 18446744073709551615 3 5
IpExt: InNoRoutes InOctets
IpExt: 0 123
";

    fn parse(text: &str, flat: bool) -> (Counters, Vec<String>) {
        let (mut c, mut w) = (Counters::default(), Vec::new());
        let path = Path::new("/proc/net/x");
        if flat {
            parse_flat(text.as_bytes(), path, &mut c, &mut |m| w.push(m)).unwrap();
        } else {
            parse_pairs(text.as_bytes(), path, &mut c, &mut |m| w.push(m)).unwrap();
        }
        (c, w)
    }

    #[test]
    fn snmp_every_key_in_order_and_negative_values() {
        let (c, w) = parse(SNMP, false);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("Tcp", "MaxConn"), Some(-1));
        assert_eq!(c.get("Tcp", "RetransSegs"), Some(10));
        assert_eq!(c.get("Tcp", "OutRsts"), Some(623_803));
        assert_eq!(c.get("IcmpMsg", "OutType3"), Some(617));
        assert_eq!(c.get("Udp", "MemErrors"), Some(0));
        let sections: Vec<&str> = c.sections().map(|(s, _)| s).collect();
        assert_eq!(sections, ["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp"]);
        assert_eq!(c.section("Tcp").unwrap().len(), 15);
        assert_eq!(c.section("Tcp").unwrap()[3].0, "MaxConn");
    }

    #[test]
    fn netstat_keeps_unknown_keys_and_full_u64() {
        let (c, w) = parse(NETSTAT, false);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("TcpExt", "ListenOverflows"), Some(17));
        assert_eq!(c.get("TcpExt", "ListenDrops"), Some(i128::from(u64::MAX)));
        assert_eq!(c.get("TcpExt", "TCPBrandNewCounter"), Some(5));
        assert_eq!(c.get("IpExt", "InOctets"), Some(123));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["TcpExt"]["ListenDrops"], serde_json::json!(u64::MAX));
        assert_eq!(json["IpExt"]["InOctets"], 123);
    }

    #[test]
    fn snmp6_splits_names_by_prefix() {
        let text = "Ip6InReceives                   \t3374\nUdp6InErrors 2\nUdpLite6NoPorts 1\nUdp6RcvbufErrors 7\nIcmp6InType1 6\nMpls6Odd 4\n";
        let (c, w) = parse(text, true);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.get("Ip6", "InReceives"), Some(3374));
        assert_eq!(c.get("Udp6", "RcvbufErrors"), Some(7));
        assert_eq!(c.get("UdpLite6", "NoPorts"), Some(1));
        assert_eq!(c.get("Icmp6", "InType1"), Some(6));
        assert_eq!(c.get("Snmp6", "Mpls6Odd"), Some(4));
    }

    #[test]
    fn mismatched_and_garbage_lines_are_warnings_and_the_rest_is_kept() {
        let text = "\
Tcp: A B C
Tcp: 1 2
Udp: X Y
Udp: 1 zz
Ip: 5 6
garbage without a colon
Icmp: InMsgs
Udp: 1
TcpExt: ListenOverflows
TcpExt: 9
IpExt: InOctets
";
        let (c, w) = parse(text, false);
        assert_eq!(c.get("TcpExt", "ListenOverflows"), Some(9));
        assert!(
            c.section("Tcp").is_none() && c.section("Udp").is_none(),
            "{c:?}"
        );
        assert!(c.section("Icmp").is_none() && c.section("IpExt").is_none());
        let want = [
            "line 2: Tcp has 3 names but 2 values; section skipped",
            "line 4: Udp: a value is not a number; section skipped",
            "line 5: Ip: values without a names line",
            "line 6: not `Section: ...`",
            "line 7: Icmp has names but no values line; section skipped",
            "... and 2 more problems in /proc/net/x",
        ];
        assert_eq!(w.len(), want.len(), "{w:#?}");
        for (got, want) in w.iter().zip(want) {
            assert!(got.ends_with(want), "{got:?} should end with {want:?}");
            assert!(got.starts_with("warning: "), "{got}");
        }
        let (_, w) = parse("Tcp: A\n", false);
        assert_eq!(
            w,
            ["warning: /proc/net/x line 1: Tcp has names but no values line; section skipped"]
        );
        let (c, w) = parse("Udp6InErrors\nUdp6NoPorts -\nUdp6X 1 2\n\nUdp6Y 3\n", true);
        assert_eq!(c.iter().collect::<Vec<_>>(), [("Udp6", "Y", 3)]);
        assert_eq!(w.len(), 3, "{w:?}");
    }

    #[test]
    fn non_utf8_overlong_and_out_of_range() {
        let mut text = b"Tcp: A\nTcp: 1\n\xff\xfe: x\n".to_vec();
        text.extend(std::iter::repeat_n(b'A', MAX_LINE_BYTES + 10));
        text.extend(b"\nUdp: B\nUdp: 99999999999999999999999\n");
        let (mut c, mut w) = (Counters::default(), Vec::new());
        parse_pairs(&text[..], Path::new("p"), &mut c, &mut |m| w.push(m)).unwrap();
        assert_eq!(c.iter().collect::<Vec<_>>(), [("Tcp", "A", 1)]);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("line 3: not UTF-8"), "{w:?}");
        assert!(w[1].contains("line 4: longer than 65536 bytes"), "{w:?}");
        assert!(
            w[2].contains("line 6: Udp: a value is not a number"),
            "{w:?}"
        );
        assert_eq!(number("-1"), Some(-1));
        assert_eq!(number("18446744073709551616"), None);
        assert_eq!(number("-9223372036854775809"), None);
        assert_eq!(number("+1"), None);
        assert_eq!(number("-"), None);
    }

    #[test]
    fn read_takes_a_net_directory_and_skips_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("snmp"), SNMP).unwrap();
        std::fs::write(dir.path().join("snmp6"), "Udp6NoPorts 4\n").unwrap();
        let c = read(dir.path(), &mut |w| panic!("{w}")).unwrap();
        assert_eq!(c.get("Tcp", "ActiveOpens"), Some(627_653));
        assert_eq!(c.get("Udp6", "NoPorts"), Some(4));
        assert!(c.section("TcpExt").is_none());
        std::fs::create_dir(dir.path().join("netstat")).unwrap();
        assert!(matches!(
            read(dir.path(), &mut |_| {}),
            Err(Error::NotATable { .. })
        ));
    }

    #[test]
    fn deltas_resets_and_gauges() {
        let (before, _) = parse(
            "Tcp: CurrEstab ActiveOpens RetransSegs\nTcp: 5 100 7\nUdp: NoPorts\nUdp: 3\n",
            false,
        );
        let (after, _) = parse(
            "Tcp: CurrEstab ActiveOpens RetransSegs OutRsts\nTcp: 2 130 2 9\nUdp: NoPorts\nUdp: 3\n",
            false,
        );
        let i = Interval::between(&before, &after, 2.0);
        assert_eq!(i.deltas.get("Tcp", "ActiveOpens"), Some(30));
        assert_eq!(
            i.deltas.get("Tcp", "CurrEstab"),
            Some(-3),
            "a gauge may fall"
        );
        assert_eq!(i.deltas.get("Tcp", "RetransSegs"), None, "reset: no delta");
        assert_eq!(
            i.resets.get("Tcp", "RetransSegs"),
            Some(Reset {
                before: 7,
                after: 2
            })
        );
        assert_eq!(i.deltas.get("Tcp", "OutRsts"), None, "only in one reading");
        assert_eq!(i.deltas.get("Udp", "NoPorts"), Some(0));
        assert!((i.rate(30) - 15.0).abs() < 1e-9);
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["interval_s"], 2.0);
        assert_eq!(json["deltas"]["Tcp"]["ActiveOpens"], 30);
        assert_eq!(json["rates_per_s"]["Tcp"]["ActiveOpens"], 15.0);
        assert_eq!(json["resets"]["Tcp"]["RetransSegs"]["before"], 7);
        assert!(json["deltas"]["Tcp"].get("RetransSegs").is_none());
    }

    #[test]
    fn meanings_cover_what_is_shown() {
        assert!(meaning("Udp6", "RcvbufErrors").is_some());
        assert!(is_shown("TcpExt", "TCPFastOpenPassiveAltKey"));
        assert!(!is_shown("TcpExt", "DelayedACKs"));
        assert!(!is_shown("IpExt", "InOctets"));
        for &(s, k, m) in MEANINGS {
            assert!(SHOWN_SECTIONS.contains(&s), "{s}");
            assert!(!m.is_empty() && !m.ends_with('.'), "{s} {k}");
            assert_eq!(
                MEANINGS
                    .iter()
                    .filter(|&&(s2, k2, _)| s2 == s && k2 == k)
                    .count(),
                1,
                "{s} {k} twice"
            );
        }
    }
}
