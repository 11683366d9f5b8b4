//! Parsers for the /proc/net socket tables: tcp, tcp6, udp, udp6, raw,
//! raw6 and unix.
//!
//! Each table is read from a `BufRead` (so tests feed literal rows) and the
//! path is attached to errors. A malformed line is reported through `warn`
//! with its file and line number and skipped; it never stops the table.
//! A table that does not exist (no IPv6 in this kernel) is simply empty.
//!
//! Bounded by construction: a table must be a regular file (a FIFO would
//! block, a device like /dev/zero never ends); at most [`MAX_TABLE_BYTES`]
//! of it are read and one line holds at most [`MAX_LINE_BYTES`], so memory
//! does not grow with the input, and at most [`MAX_SOCKETS`] sockets are
//! kept; after [`MAX_WARNINGS`] warnings the rest of a table's bad lines
//! are counted in one last line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::model::{Endpoint, Proto, Socket, TcpState, Timer, TimerKind, UnixKind, UnixName};
use super::{Error, StateSet};

/// The most bytes read from one table. A row is ~150 bytes, so this is
/// well over a million sockets (a table of 80,000 TCP sockets is ~12 MB);
/// past it the rest is ignored with a warning.
pub const MAX_TABLE_BYTES: u64 = 256 << 20;

/// The most sockets one listing keeps from the /proc tables, all tables
/// together: each takes about 110 bytes, so at most ~110 MB (plus the
/// vector's growth slack). A busy server with 80,000 sockets is far below;
/// rows past it are counted in one warning per table and dropped.
pub const MAX_SOCKETS: usize = 1_000_000;

/// The longest line kept. Real rows are under 300 bytes (a UNIX path is at
/// most 108); a longer line is skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 4096;

/// Malformed lines reported one by one per table; the rest are counted.
pub const MAX_WARNINGS: usize = 5;

/// Open `<root>/net/<name>`; `None` when the table does not exist.
fn open_table(root: &Path, name: &str) -> Result<Option<(BufReader<File>, PathBuf)>, Error> {
    open_in(&root.join("net"), name)
}

/// Open `<dir>/<name>` where `dir` is a net directory (`/proc/net`, or
/// `/proc/thread-self/net` in another namespace), checked as a table.
pub(super) fn open_in(dir: &Path, name: &str) -> Result<Option<(BufReader<File>, PathBuf)>, Error> {
    let path = dir.join(name);
    // Opened without waiting (a FIFO would wait for a writer), then looked
    // at: what was opened is what is checked.
    let f = match crate::sys::open_read_nonblocking(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    match f.metadata() {
        Ok(m) => regular(&path, &m)?,
        Err(source) => return Err(Error::Read { path, source }),
    }
    Ok(Some((BufReader::with_capacity(128 * 1024, f), path)))
}

/// Tables are regular files (procfs says so too, with size 0).
fn regular(path: &Path, m: &std::fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_file() {
        return Ok(());
    }
    let kind = if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    };
    Err(Error::NotATable {
        path: path.to_path_buf(),
        kind,
    })
}

/// Read one inet table from `<root>/net/`.
pub fn read_inet(
    root: &Path,
    proto: Proto,
    v6: bool,
    states: StateSet,
    out: &mut Vec<Socket>,
    warn: &mut dyn FnMut(String),
) -> Result<(), Error> {
    match open_table(root, proto.table(v6))? {
        Some((r, path)) => read_inet_from(r, &path, proto, v6, states, out, warn),
        None => Ok(()),
    }
}

/// Read one inet table from any reader; `path` names it in messages.
pub fn read_inet_from<R: BufRead>(
    r: R,
    path: &Path,
    proto: Proto,
    v6: bool,
    states: StateSet,
    out: &mut Vec<Socket>,
    warn: &mut dyn FnMut(String),
) -> Result<(), Error> {
    let mut dropped = 0u64;
    for_each_line(r, path, warn, |line| {
        match parse_inet_line(line, proto, v6)? {
            Some(s) if states.contains(s.state) => {
                keep(out, s, &mut dropped);
                Ok(())
            }
            _ => Ok(()),
        }
    })?;
    warn_dropped(path, dropped, warn);
    Ok(())
}

/// Keep `s` unless the listing holds [`MAX_SOCKETS`] already; count it
/// then.
fn keep(out: &mut Vec<Socket>, s: Socket, dropped: &mut u64) {
    if out.len() < MAX_SOCKETS {
        out.push(s);
    } else {
        *dropped += 1;
    }
}

fn warn_dropped(path: &Path, dropped: u64, warn: &mut dyn FnMut(String)) {
    if dropped > 0 {
        warn(format!(
            "warning: {}: {dropped} sockets not listed: a listing keeps at most {MAX_SOCKETS}",
            path.display()
        ));
    }
}

/// Read `<root>/net/unix`.
pub fn read_unix(
    root: &Path,
    states: StateSet,
    out: &mut Vec<Socket>,
    warn: &mut dyn FnMut(String),
) -> Result<(), Error> {
    match open_table(root, "unix")? {
        Some((r, path)) => read_unix_from(r, &path, states, out, warn),
        None => Ok(()),
    }
}

pub fn read_unix_from<R: BufRead>(
    r: R,
    path: &Path,
    states: StateSet,
    out: &mut Vec<Socket>,
    warn: &mut dyn FnMut(String),
) -> Result<(), Error> {
    let mut dropped = 0u64;
    for_each_line(r, path, warn, |line| {
        let s = parse_unix_line(line)?;
        if states.contains(s.state) {
            keep(out, s, &mut dropped);
        }
        Ok(())
    })?;
    warn_dropped(path, dropped, warn);
    Ok(())
}

/// Drive `f` over every line but the header. Lines that are not UTF-8,
/// too long, or that `f` rejects are reported and skipped: the first
/// [`MAX_WARNINGS`] one by one, the rest in one count at the end.
fn for_each_line<R: BufRead>(
    r: R,
    path: &Path,
    warn: &mut dyn FnMut(String),
    f: impl FnMut(&str) -> Result<(), &'static str>,
) -> Result<(), Error> {
    for_each_line_after(r, path, 1, warn, f)
}

/// [`for_each_line`] skipping `header` lines instead of one.
fn for_each_line_after<R: BufRead>(
    r: R,
    path: &Path,
    header: usize,
    warn: &mut dyn FnMut(String),
    f: impl FnMut(&str) -> Result<(), &'static str>,
) -> Result<(), Error> {
    for_each_line_capped(r, path, header, MAX_TABLE_BYTES, warn, f)
}

/// [`for_each_line_after`] reading at most `max_bytes`.
fn for_each_line_capped<R: BufRead>(
    r: R,
    path: &Path,
    header: usize,
    max_bytes: u64,
    warn: &mut dyn FnMut(String),
    mut f: impl FnMut(&str) -> Result<(), &'static str>,
) -> Result<(), Error> {
    let failed = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut r = r.take(max_bytes);
    let mut buf = Vec::with_capacity(256);
    let mut lineno = 0usize;
    let mut bad = 0usize;
    loop {
        buf.clear();
        let n = (&mut r)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(failed)?;
        if n == 0 {
            break;
        }
        // The cap cut this line short: it is not a row (the warning below
        // says the rest is ignored).
        if buf.last() != Some(&b'\n')
            && r.limit() == 0
            && !r.get_mut().fill_buf().map_err(failed)?.is_empty()
        {
            break;
        }
        lineno += 1;
        let outcome = if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            skip_line(&mut r).map_err(failed)?;
            Err("line longer than 4096 bytes")
        } else if lineno <= header {
            continue;
        } else {
            match std::str::from_utf8(&buf) {
                Ok(line) => {
                    let line = line.trim_end_matches(['\n', '\r']);
                    if line.trim().is_empty() {
                        Ok(())
                    } else {
                        f(line)
                    }
                }
                Err(_) => Err("not UTF-8"),
            }
        };
        if let Err(why) = outcome {
            bad += 1;
            if bad <= MAX_WARNINGS {
                warn(format!(
                    "warning: {} line {lineno}: {why}; line skipped",
                    path.display()
                ));
            }
        }
    }
    if bad > MAX_WARNINGS {
        warn(format!(
            "warning: ... and {} more malformed lines in {}",
            bad - MAX_WARNINGS,
            path.display()
        ));
    }
    if r.limit() == 0 && !r.into_inner().fill_buf().map_err(failed)?.is_empty() {
        warn(format!(
            "warning: {}: stopped after {} MiB, more than any socket table holds; the rest is ignored",
            path.display(),
            max_bytes >> 20
        ));
    }
    Ok(())
}

/// Consume the rest of an overlong line, up to and including its `\n`,
/// without keeping it.
fn skip_line(r: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            return Ok(());
        }
        let n = chunk.len();
        r.consume(n);
    }
}

fn hex_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

fn hex_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// `0100007F:0016` (v4) or 32 hex digits `:` port (v6). The kernel prints
/// each 32-bit word of the address as it sits in memory, read as a native
/// integer, so converting each word back with `to_ne_bytes` restores
/// network byte order.
fn parse_addr(s: &str, v6: bool) -> Option<([u8; 16], u16)> {
    let (addr, port) = s.split_once(':')?;
    let words = if v6 { 4 } else { 1 };
    if addr.len() != words * 8 || port.len() != 4 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for i in 0..words {
        let w = hex_u32(addr.get(i * 8..i * 8 + 8)?)?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
    }
    Some((bytes, u16::from_str_radix(port, 16).ok()?))
}

/// Parse one row of `/proc/net/{tcp,udp,raw}[6]`:
/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`.
/// `Ok(None)` for a state this build does not know (skipped quietly).
pub fn parse_inet_line(line: &str, proto: Proto, v6: bool) -> Result<Option<Socket>, &'static str> {
    let mut it = line.split_ascii_whitespace();
    let sl = it.next().ok_or("empty line")?;
    if !sl.ends_with(':') {
        return Err("no slot number");
    }
    let (laddr, lport) =
        parse_addr(it.next().ok_or("no local address")?, v6).ok_or("bad local address")?;
    let (raddr, rport) =
        parse_addr(it.next().ok_or("no remote address")?, v6).ok_or("bad remote address")?;
    let st = it.next().ok_or("no state")?;
    if st.len() != 2 {
        return Err("bad state");
    }
    let st = u8::from_str_radix(st, 16).map_err(|_| "bad state")?;
    let (tx, rx) = it
        .next()
        .and_then(|q| q.split_once(':'))
        .ok_or("bad queue columns")?;
    let send_q = hex_u32(tx).ok_or("bad tx_queue")?;
    let recv_q = hex_u32(rx).ok_or("bad rx_queue")?;
    let (tr, when) = it
        .next()
        .and_then(|t| t.split_once(':'))
        .ok_or("bad timer columns")?;
    let tr = u8::from_str_radix(tr, 16).map_err(|_| "bad timer")?;
    // tm->when is in clock ticks (USER_HZ, 100 per second on Linux).
    let when = hex_u64(when).ok_or("bad timer expiry")?;
    let retrans = hex_u32(it.next().ok_or("no retransmit count")?).ok_or("bad retransmit count")?;
    let uid: u32 = it.next().ok_or("no uid")?.parse().map_err(|_| "bad uid")?;
    let _timeout = it.next().ok_or("no timeout")?;
    let inode: u64 = it
        .next()
        .ok_or("no inode")?
        .parse()
        .map_err(|_| "bad inode")?;
    let Some(state) = TcpState::from_kernel(st) else {
        return Ok(None);
    };
    let timer = (tr != 0).then(|| Timer {
        kind: TimerKind::from_kernel(tr),
        expires_ms: when.saturating_mul(10),
        retrans,
    });
    // For a TCP listener the kernel prints write_seq - snd_una as tx, not
    // the backlog that netlink reports: unknown here.
    let send_q = (!(proto == Proto::Tcp && state == TcpState::Listen)).then_some(send_q);
    Ok(Some(Socket {
        proto,
        v6,
        local: super::model::inet_endpoint(v6, laddr, lport),
        remote: super::model::inet_endpoint(v6, raddr, rport),
        state,
        recv_q: Some(recv_q),
        send_q,
        uid: Some(uid),
        inode,
        timer,
        unix_kind: None,
        peer_inode: None,
        internals: None,
    }))
}

/// `__SO_ACCEPTCON`: the socket is listening.
const UNIX_FLAG_ACCEPTCON: u32 = 1 << 16;

/// Parse one row of /proc/net/unix:
/// `Num RefCount Protocol Flags Type St Inode [Path]`. The path is the rest
/// of the line after the inode and one space, kept intact (spaces
/// included); abstract names are printed by the kernel with a leading `@`.
pub fn parse_unix_line(line: &str) -> Result<Socket, &'static str> {
    let mut rest = line.trim_start();
    let mut field = || -> Option<&str> {
        let s = rest.trim_start_matches(' ');
        let end = s.find(' ').unwrap_or(s.len());
        let (f, r) = s.split_at(end);
        rest = r;
        (!f.is_empty()).then_some(f)
    };
    let num = field().ok_or("empty line")?;
    if !num.ends_with(':') {
        return Err("no slot number");
    }
    let _refcount = field().ok_or("no refcount")?;
    let _protocol = field().ok_or("no protocol")?;
    let flags = hex_u32(field().ok_or("no flags")?).ok_or("bad flags")?;
    let kind = u16::from_str_radix(field().ok_or("no type")?, 16).map_err(|_| "bad type")?;
    let st = u8::from_str_radix(field().ok_or("no state")?, 16).map_err(|_| "bad state")?;
    let inode: u64 = field()
        .ok_or("no inode")?
        .parse()
        .map_err(|_| "bad inode")?;
    let path = rest.strip_prefix(' ').unwrap_or(rest);
    let name = if path.is_empty() {
        UnixName::Unnamed
    } else if let Some(a) = path.strip_prefix('@') {
        UnixName::Abstract(a.to_string())
    } else {
        UnixName::Path(path.to_string())
    };
    // St is the socket's SS_* state: 1 unconnected, 2 connecting,
    // 3 connected, 4 disconnecting.
    let state = if flags & UNIX_FLAG_ACCEPTCON != 0 {
        TcpState::Listen
    } else {
        match st {
            2 => TcpState::SynSent,
            3 => TcpState::Established,
            _ => TcpState::Close,
        }
    };
    Ok(Socket {
        proto: Proto::Unix,
        v6: false,
        local: Endpoint::Unix(name),
        remote: Endpoint::Unix(UnixName::Unnamed),
        state,
        // /proc/net/unix has neither queue nor uid columns.
        recv_q: None,
        send_q: None,
        uid: None,
        inode,
        timer: None,
        unix_kind: Some(UnixKind::from_kernel(kind)),
        peer_inode: None,
        internals: None,
    })
}

/// Figures from /proc/net/sockstat and sockstat6: `(section, key, value)`
/// in file order, e.g. `("TCP", "tw", 12)`. A line that is not UTF-8 is
/// reported through `warn` and skipped, as in the socket tables.
pub fn read_sockstat(
    root: &Path,
    name: &str,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(String, String, u64)>, Error> {
    let mut out = Vec::new();
    if let Some((r, path)) = open_table(root, name)? {
        for_each_line_after(r, &path, 0, warn, |line| {
            parse_sockstat_line(line, &mut out);
            Ok(())
        })?;
    }
    Ok(out)
}

/// `TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1` -> key/value triples.
pub fn parse_sockstat(text: &str) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        parse_sockstat_line(line, &mut out);
    }
    out
}

/// One line of /proc/net/sockstat; a line without `section:` adds nothing.
fn parse_sockstat_line(line: &str, out: &mut Vec<(String, String, u64)>) {
    let Some((section, rest)) = line.split_once(':') else {
        return;
    };
    let toks: Vec<&str> = rest.split_ascii_whitespace().collect();
    for pair in toks.chunks(2) {
        if let [k, v] = pair
            && let Ok(v) = v.parse()
        {
            out.push((section.trim().to_string(), (*k).to_string(), v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn a_last_line_cut_by_the_byte_cap_is_not_parsed() {
        let head = b"Num RefCount Protocol Flags Type St Inode Path\n".to_vec();
        let row = b"0: 0 0 0 1 1 1 /run/a-long-socket-name\n";
        // The cap falls inside the second row, after its path began.
        let cap = (head.len() + row.len() + 20) as u64;
        let mut text = head;
        text.extend_from_slice(row);
        text.extend_from_slice(row);
        let (mut rows, mut warnings) = (Vec::new(), Vec::new());
        for_each_line_capped(
            &text[..],
            Path::new("unix"),
            1,
            cap,
            &mut |w| warnings.push(w),
            |line| {
                rows.push(line.to_string());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(rows, ["0: 0 0 0 1 1 1 /run/a-long-socket-name"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("stopped after"), "{warnings:?}");
    }

    fn inet(line: &str, proto: Proto, v6: bool) -> Socket {
        parse_inet_line(line, proto, v6).unwrap().unwrap()
    }

    fn sa(s: &str) -> Endpoint {
        Endpoint::Inet(s.parse::<SocketAddr>().unwrap())
    }

    #[test]
    fn tcp_v4_listen_row_with_queue_columns() {
        // A listener on 127.0.0.1:631 with 3 connections waiting to be
        // accepted (rx = accept queue). Its tx is write_seq - snd_una, not
        // the backlog, so Send-Q is unknown.
        let s = inet(
            "   0: 0100007F:0277 00000000:0000 0A 00000080:00000003 00:00000000 00000000     0        0 23183 1 0000000000000000 100 0 0 10 0",
            Proto::Tcp,
            false,
        );
        assert_eq!(s.local, sa("127.0.0.1:631"));
        assert_eq!(s.remote, sa("0.0.0.0:0"));
        assert_eq!(s.state, TcpState::Listen);
        assert_eq!((s.recv_q, s.send_q), (Some(3), None));
        assert_eq!(s.inode, 23183);
        assert_eq!(s.uid, Some(0));
        assert_eq!(s.timer, None);
        assert!(s.is_listening());
    }

    #[test]
    fn tcp_time_wait_has_inode_zero_and_timer() {
        let s = inet(
            "   5: 0100007F:1F90 0100007F:A0B2 06 00000000:00000000 03:000016B5 00000000     0        0 0 3 0000000000000000",
            Proto::Tcp,
            false,
        );
        assert_eq!(s.state, TcpState::TimeWait);
        assert_eq!(s.inode, 0);
        assert_eq!(s.local, sa("127.0.0.1:8080"));
        assert_eq!(s.remote, sa("127.0.0.1:41138"));
        let t = s.timer.unwrap();
        assert_eq!(t.kind, TimerKind::TimeWait);
        assert_eq!(t.expires_ms, 0x16b5 * 10);
    }

    #[test]
    fn tcp6_row_and_established_keepalive() {
        // [2001:db8::1]:443 <- [2001:db8::2]:50000, keepalive timer,
        // 5 bytes unread.
        let s = inet(
            "   1: B80D0120000000000000000001000000:01BB B80D0120000000000000000002000000:C350 01 00000000:00000005 02:00000BB8 00000000  1000        0 99 1 0000000000000000 20 4 30 10 -1",
            Proto::Tcp,
            true,
        );
        assert_eq!(s.local, sa("[2001:db8::1]:443"));
        assert_eq!(s.remote, sa("[2001:db8::2]:50000"));
        assert_eq!(s.state, TcpState::Established);
        assert_eq!((s.recv_q, s.send_q), (Some(5), Some(0)));
        assert_eq!(s.uid, Some(1000));
        assert_eq!(s.timer.unwrap().kind, TimerKind::Keepalive);
        assert_eq!(s.proto_label(), "tcp6");
    }

    #[test]
    fn ipv4_mapped_shows_as_ipv4_but_stays_tcp6() {
        let s = inet(
            "   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 30 10 -1",
            Proto::Tcp,
            true,
        );
        assert_eq!(s.local, sa("127.0.0.1:8080"));
        assert_eq!(s.remote, sa("127.0.0.1:54321"));
        assert_eq!(s.proto_label(), "tcp6");
    }

    #[test]
    fn udp_row_unconnected() {
        let s = inet(
            " 1234: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 17316 2 0000000000000000 0",
            Proto::Udp,
            false,
        );
        assert_eq!(s.state, TcpState::Close);
        assert_eq!(s.state_label(), "UNCONN");
        assert!(s.is_listening());
        assert_eq!(s.local, sa("0.0.0.0:68"));
    }

    #[test]
    fn every_hex_state_maps() {
        for (hex, st) in [
            ("01", TcpState::Established),
            ("02", TcpState::SynSent),
            ("03", TcpState::SynRecv),
            ("04", TcpState::FinWait1),
            ("05", TcpState::FinWait2),
            ("06", TcpState::TimeWait),
            ("07", TcpState::Close),
            ("08", TcpState::CloseWait),
            ("09", TcpState::LastAck),
            ("0A", TcpState::Listen),
            ("0B", TcpState::Closing),
            ("0C", TcpState::NewSynRecv),
        ] {
            let line = format!(
                "   0: 0100007F:0277 00000000:0000 {hex} 00000000:00000000 00:00000000 00000000     0        0 1 1"
            );
            assert_eq!(inet(&line, Proto::Tcp, false).state, st, "state {hex}");
        }
        let unknown = "   0: 0100007F:0277 00000000:0000 3F 00000000:00000000 00:00000000 00000000     0        0 1 1";
        assert_eq!(parse_inet_line(unknown, Proto::Tcp, false), Ok(None));
    }

    #[test]
    fn truncated_and_garbage_rows_are_errors() {
        for bad in [
            "   0:",
            "   0: 0100007F:0277",
            "   0: 0100007F:0277 00000000:0000 0A",
            "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0",
            "   0: 0100007Z:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "   0: 0100007F0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            "   0: 0100007F:0277 00000000:0000 0A 00000000 00:00000000 00000000 0 0 1",
            "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 x 0 1",
            "garbage",
            "0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
        ] {
            assert!(parse_inet_line(bad, Proto::Tcp, false).is_err(), "{bad:?}");
        }
        // A v4 address in a v6 table is malformed too.
        assert!(
            parse_inet_line(
                "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                Proto::Tcp,
                true
            )
            .is_err()
        );
    }

    #[test]
    fn bad_line_is_skipped_with_file_and_line_and_rest_kept() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n\
   1: ZZZ\n\
   2: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n";
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        read_inet_from(
            table.as_bytes(),
            Path::new("/proc/net/tcp"),
            Proto::Tcp,
            false,
            StateSet::ALL,
            &mut out,
            &mut |w| warnings.push(w),
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("/proc/net/tcp line 3"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn state_filter_applies_while_reading() {
        let table = "header\n\
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n\
   1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n";
        let mut out = Vec::new();
        read_inet_from(
            table.as_bytes(),
            Path::new("t"),
            Proto::Tcp,
            false,
            StateSet::of(&[TcpState::Listen]),
            &mut out,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, TcpState::Listen);
    }

    #[test]
    fn unix_rows_paths_with_spaces_and_abstract_names() {
        let listen = parse_unix_line(
            "0000000000000000: 00000002 00000000 00010000 0001 01 30210 /run/my app/control socket",
        )
        .unwrap();
        assert_eq!(
            listen.local,
            Endpoint::Unix(UnixName::Path("/run/my app/control socket".into()))
        );
        assert_eq!(listen.state, TcpState::Listen);
        assert_eq!(listen.unix_kind, Some(UnixKind::Stream));
        assert_eq!(listen.inode, 30210);

        let abs = parse_unix_line(
            "0000000000000000: 00000002 00000000 00000000 0002 01 123 @/tmp/.X11-unix/X0",
        )
        .unwrap();
        assert_eq!(
            abs.local,
            Endpoint::Unix(UnixName::Abstract("/tmp/.X11-unix/X0".into()))
        );
        assert_eq!(abs.unix_kind, Some(UnixKind::Dgram));
        assert_eq!(abs.state, TcpState::Close);

        let conn =
            parse_unix_line("0000000000000000: 00000003 00000000 00000000 0001 03 555").unwrap();
        assert_eq!(conn.local, Endpoint::Unix(UnixName::Unnamed));
        assert_eq!(conn.state, TcpState::Established);
    }

    #[test]
    fn unix_garbage_is_an_error() {
        for bad in [
            "",
            "0000: 00000002",
            "0000000000000000: 00000002 00000000 0001000Z 0001 01 30210 /x",
            "0000000000000000: 00000002 00000000 00010000 0001 01 notanumber",
            "nocolon 00000002 00000000 00010000 0001 01 1",
        ] {
            assert!(parse_unix_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sockstat_figures() {
        let text =
            "sockets: used 290\nTCP: inuse 5 orphan 1 tw 2 alloc 7 mem 3\nUDP: inuse 4 mem 2\n";
        let v = parse_sockstat(text);
        assert!(v.contains(&("TCP".into(), "tw".into(), 2)));
        assert!(v.contains(&("TCP".into(), "orphan".into(), 1)));
        assert!(v.contains(&("sockets".into(), "used".into(), 290)));
    }

    proptest::proptest! {
        #[test]
        fn inet_parser_never_panics(line in "\\PC{0,200}") {
            let _ = parse_inet_line(&line, Proto::Tcp, false);
            let _ = parse_inet_line(&line, Proto::Udp, true);
        }

        #[test]
        fn inet_parser_never_panics_on_near_valid_rows(
            cols in proptest::collection::vec("[0-9A-Fa-f:x ]{0,40}", 0..14)
        ) {
            let line = cols.join(" ");
            let _ = parse_inet_line(&line, Proto::Tcp, true);
            let _ = parse_unix_line(&line);
        }

        #[test]
        fn unix_parser_never_panics(line in "\\PC{0,200}") {
            let _ = parse_unix_line(&line);
        }

        #[test]
        fn table_reader_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut out = Vec::new();
            let _ = read_inet_from(&bytes[..], Path::new("t"), Proto::Tcp, false, StateSet::ALL, &mut out, &mut |_| {});
            let _ = read_unix_from(&bytes[..], Path::new("u"), StateSet::ALL, &mut out, &mut |_| {});
        }
    }
}
