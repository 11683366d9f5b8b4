//! `nettool tftp get|put`: the command line -> validated [`Settings`]
//! (URL and host parsing, local file safety: no clobbering, safe default
//! names) -> [`tftp::transfer`] -> the progress bar, the `--verbose`
//! lines, and the final line or JSON record.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use super::usage;
use crate::Status;
use crate::addr::{self, AddrError};
use crate::cli::{TftpArgs, TftpCommon, TftpGetArgs, TftpMode, TftpOp, TftpPutArgs};
use crate::tftp::session::{self, Config, Mode, Requested, TftpError};
use crate::tftp::sink::NAME_MAX;
use crate::tftp::transport::{LocalEnd, PortRange};
use crate::tftp::{self, Destination, Direction, Event, Origin, Report};

/// `tftp get|put` as validated from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The transfer; with `--dir`, one per file, in order.
    pub transfers: Vec<tftp::Settings>,
    /// `--dir`: several files in one run, each reported as it ends, then
    /// a total (`--json`: one line each, then a summary line).
    pub batch: bool,
    /// `--json`: the final record as JSON.
    pub json: bool,
    /// `--verbose`: every packet, notes, and the final line even when
    /// standard error is no terminal.
    pub verbose: bool,
    /// The transfers (by index) whose request goes without its options,
    /// which would make it this many bytes long (said with `--verbose`).
    pub without_options: Vec<(usize, usize)>,
}

/// # Errors
/// A usage error (exit status 2) for bad arguments or a local side that
/// cannot be set up; the failed transfer otherwise.
pub fn run(a: &TftpArgs) -> Result<Status> {
    if let TftpOp::Serve(serve) = &a.op {
        return super::tftp_serve::run(serve);
    }
    let s = settings(a)?;
    if s.verbose {
        for &(i, with) in &s.without_options {
            let name = if s.batch {
                format!(" of '{}'", s.transfers[i].session.filename)
            } else {
                String::new()
            };
            crate::say!(
                "note: with its options the request{name} would take {with} bytes (more than {}): sending it without options",
                session::MAX_REQUEST
            );
        }
    }
    if s.batch {
        return run_batch(&s);
    }
    let bar = progress_bar(&s);
    let result = tftp::transfer(&s.transfers[0], &mut |e| show(bar.as_ref(), e));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(report) => finish(&s, &report),
        Err(tftp::Error::Setup(msg)) => Err(usage(msg)),
        // The temporary file is dealt with: say so, and the status 128 +
        // the signal, as shells expect.
        Err(
            e @ tftp::Error::Transfer {
                error: TftpError::Interrupted(signal),
                ..
            },
        ) => {
            crate::say!(
                "nettool: {e}: interrupted by {}",
                crate::sys::signal_name(signal)
            );
            Ok(Status::Interrupted(u8::try_from(signal).unwrap_or(u8::MAX)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The validated settings of `tftp get|put`: every check that needs no
/// network, in the order the user meets them. The server is resolved by
/// the transfer, after the local file is set up.
///
/// # Errors
/// A usage error (exit status 2) naming what is wrong.
pub fn settings(a: &TftpArgs) -> Result<Settings> {
    match &a.op {
        TftpOp::Get(g) => get_settings(g),
        TftpOp::Put(p) => put_settings(p),
        TftpOp::Serve(_) => Err(usage("tftp serve has its own settings (cmd::tftp_serve)")),
    }
}

fn get_settings(a: &TftpGetArgs) -> Result<Settings> {
    let local_end = local_end(&a.common)?;
    if let Some(dir) = &a.dir {
        return get_many(a, dir, local_end);
    }
    if a.files.len() > 2 {
        return Err(usage(format!(
            "{} names after HOST: write get HOST FILE [LOCAL], or get HOST FILE... --dir DIR for several files",
            a.files.len()
        )));
    }
    let (file, local) = (a.files.first().cloned(), a.files.get(1).cloned());
    let (host, port, remote, local) = if let Some((h, p, path)) = parse_url(&a.host)? {
        if local.is_some() {
            return Err(usage(
                "with a tftp:// URL give at most one more argument, LOCAL",
            ));
        }
        (h, p, path, file)
    } else {
        let (h, p) = split_host(&a.host)?;
        let file =
            file.ok_or_else(|| usage("which file? write: nettool tftp get HOST FILE [LOCAL]"))?;
        (h, p, file, local)
    };
    let to_stdout = local.as_deref() == Some("-");
    if remote.is_empty() {
        return Err(usage("the remote FILE is empty: name the remote file"));
    }
    let to = if to_stdout {
        // The remote name need not name a file: it only labels the output.
        Destination::Stdout
    } else {
        let target = match &local {
            Some(l) => PathBuf::from(l),
            None => PathBuf::from(default_local_name(&remote)?),
        };
        check_target(&target, a.force)?;
        Destination::File {
            path: target,
            force: a.force,
            keep_partial: a.keep_partial,
        }
    };
    let (transfer, without) = get_one(a, host, port, remote, to, local_end)?;
    Ok(front(&a.common, vec![transfer], false, without))
}

/// One download's settings, once its destination is checked.
fn get_one(
    a: &TftpGetArgs,
    host: String,
    port: u16,
    remote: String,
    to: Destination,
    local: LocalEnd,
) -> Result<(tftp::Settings, Option<usize>)> {
    let c = &a.common;
    // tftpd-hpa refuses tsize in netascii (ERROR 8): do not ask then.
    let tsize = (!a.no_tsize && c.mode != TftpMode::Netascii).then_some(0);
    let mut cfg = config(c, remote, tsize, a.max_size)?;
    let without_options = check_remote(&mut cfg, false)?;
    let t = one(c, Direction::Get(to), host, port, cfg, local);
    Ok((t, without_options))
}

/// `get HOST FILE... --dir DIR`: each FILE into DIR under its last
/// component; every name and target checked before anything is sent.
fn get_many(a: &TftpGetArgs, dir: &std::path::Path, local: LocalEnd) -> Result<Settings> {
    let (host, port) = batch_host(&a.host, "get HOST[:PORT] FILE... --dir DIR")?;
    if a.files.is_empty() {
        return Err(usage(
            "which files? write: nettool tftp get HOST FILE... --dir DIR",
        ));
    }
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(usage(format!(
                "--dir {}: not a directory: name the directory to download into",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(usage(format!(
                "--dir {}: {e}: name an existing directory (mkdir it first)",
                dir.display()
            )));
        }
    }
    let mut names: Vec<(String, &str)> = Vec::new();
    let mut transfers = Vec::new();
    let mut without = Vec::new();
    for remote in &a.files {
        let name = name_in_dir(remote)?;
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            return Err(usage(format!(
                "'{first}' and '{remote}' would both be saved as {}: get them in two runs",
                dir.join(&name).display()
            )));
        }
        let target = dir.join(&name);
        names.push((name, remote));
        check_target(&target, a.force)?;
        let to = Destination::File {
            path: target,
            force: a.force,
            keep_partial: a.keep_partial,
        };
        let (t, w) = get_one(a, host.clone(), port, remote.clone(), to, local)?;
        if let Some(w) = w {
            without.push((transfers.len(), w));
        }
        transfers.push(t);
    }
    Ok(Settings {
        without_options: without,
        ..front(&a.common, transfers, true, None)
    })
}

/// The local name a remote FILE gets under `--dir`: its last component.
/// A name with a `..` component or one that ends in no file name is
/// refused: with several names from one command line, none may so much as
/// look as if it reached outside DIR. An absolute name is the server's
/// business (PXE trees often use them); only its last component is ours.
///
/// # Errors
/// A usage error naming the refused FILE.
pub fn name_in_dir(remote: &str) -> Result<String> {
    let parts: Vec<&str> = remote.split(['/', '\\']).collect();
    if parts.contains(&"..") {
        return Err(usage(format!(
            "'{remote}': a name with a '..' component is refused with --dir: name the file without '..'"
        )));
    }
    match parts.last() {
        Some(name) if !name.is_empty() && *name != "." => Ok((*name).to_string()),
        _ => Err(usage(format!(
            "'{remote}' ends in no file name: with --dir every FILE must name a file"
        ))),
    }
}

/// The server of a `--dir` run: a HOST, not a URL (one URL names one file).
fn batch_host(host: &str, form: &str) -> Result<(String, u16)> {
    if parse_url(host)?.is_some() {
        return Err(usage(format!(
            "--dir takes a HOST, not a tftp:// URL: write {form}"
        )));
    }
    split_host(host)
}

/// A local file a download may go to: a name the file system takes, not
/// a dangling link (without `--force`), a directory, or an existing file
/// (without `--force`).
fn check_target(target: &std::path::Path, force: bool) -> Result<()> {
    let name = target.file_name().map_or(0, std::ffi::OsStr::len);
    if name > NAME_MAX {
        return Err(usage(format!(
            "the local file name is {name} bytes long, and a file name takes at most {NAME_MAX}: name a shorter LOCAL"
        )));
    }
    let dangling = std::fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink())
        && !target.exists();
    if dangling && !force {
        return Err(usage(format!(
            "{} is a dangling symbolic link: use --force to replace the link, or name another LOCAL",
            target.display()
        )));
    }
    if target.is_dir() {
        return Err(usage(format!(
            "{} is a directory: name a file as LOCAL",
            target.display()
        )));
    }
    if target.exists() && !force {
        return Err(usage(format!(
            "{} exists: use --force to overwrite it",
            target.display()
        )));
    }
    Ok(())
}

fn put_settings(a: &TftpPutArgs) -> Result<Settings> {
    let local_end = local_end(&a.common)?;
    if let Some(dir) = &a.dir {
        return put_many(a, dir, local_end);
    }
    if a.files.len() > 2 {
        return Err(usage(format!(
            "{} names after HOST: write put HOST LOCAL [REMOTE], or put HOST LOCAL... --dir DIR for several files",
            a.files.len()
        )));
    }
    let local = a.files.first().cloned().unwrap_or_default();
    let remote = a.files.get(1).cloned();
    let (host, port, remote_from_url) = if let Some((h, p, path)) = parse_url(&a.host)? {
        (h, p, Some(path))
    } else {
        let (h, p) = split_host(&a.host)?;
        (h, p, None)
    };
    if remote_from_url.is_some() && remote.is_some() {
        return Err(usage(
            "with a tftp:// URL the remote name is in the URL: give only LOCAL",
        ));
    }
    let from_stdin = local == "-";
    let remote = match (remote_from_url, remote) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) if from_stdin => return Err(usage("reading stdin: name the REMOTE file")),
        (None, None) => default_local_name(&local)?,
    };
    let (t, without) = put_one(a, host, port, &local, remote, local_end)?;
    Ok(front(&a.common, vec![t], false, without))
}

/// One upload's settings: `local` (`-`: stdin) as `remote`.
fn put_one(
    a: &TftpPutArgs,
    host: String,
    port: u16,
    local: &str,
    remote: String,
    local_end: LocalEnd,
) -> Result<(tftp::Settings, Option<usize>)> {
    let c = &a.common;
    let announce = a.tsize && c.mode == TftpMode::Octet;
    let (from, size) = if local == "-" {
        (Origin::Stdin, None)
    } else {
        // The transfer opens the file; its size is needed now, for the
        // request's length.
        let meta =
            std::fs::metadata(local).map_err(|e| usage(format!("cannot read {local}: {e}")))?;
        if meta.is_dir() {
            return Err(usage(format!("{local} is a directory: give a file")));
        }
        let from = Origin::File {
            path: local.to_string(),
            size: meta.len(),
            exact: announce,
        };
        (from, Some(meta.len()))
    };
    let tsize = if announce { size } else { None };
    let mut cfg = config(c, remote, tsize, None)?;
    let without_options = check_remote(&mut cfg, true)?;
    let t = one(c, Direction::Put(from), host, port, cfg, local_end);
    Ok((t, without_options))
}

/// `put HOST LOCAL... --dir DIR`: each LOCAL as DIR/NAME (NAME: its file
/// name; `.` or nothing for DIR: just NAME), like tftp-hpa's `put FILE...
/// REMOTE-DIR`, but with the directory named by a flag so that two names
/// keep meaning LOCAL REMOTE.
fn put_many(a: &TftpPutArgs, dir: &str, local_end: LocalEnd) -> Result<Settings> {
    let (host, port) = batch_host(&a.host, "put HOST[:PORT] LOCAL... --dir DIR")?;
    let mut transfers: Vec<tftp::Settings> = Vec::new();
    let mut without = Vec::new();
    for local in &a.files {
        if local == "-" {
            return Err(usage(
                "stdin (-) cannot be one of the files of --dir: send it alone with put HOST - REMOTE",
            ));
        }
        let name = match local.rsplit('/').next() {
            Some(n) if !n.is_empty() && n != "." && n != ".." => n,
            _ => {
                return Err(usage(format!(
                    "'{local}' ends in no file name: with --dir every LOCAL must name a file"
                )));
            }
        };
        let remote = if dir.is_empty() || dir == "." {
            name.to_string()
        } else {
            format!("{}/{name}", dir.trim_end_matches('/'))
        };
        if let Some(other) = transfers.iter().find(|t| t.session.filename == remote) {
            let Direction::Put(Origin::File { path, .. }) = &other.direction else {
                unreachable!("every transfer here is a put of a file")
            };
            return Err(usage(format!(
                "'{path}' and '{local}' would both be sent as '{remote}': put them in two runs"
            )));
        }
        let (t, w) = put_one(a, host.clone(), port, local, remote, local_end)?;
        if let Some(w) = w {
            without.push((transfers.len(), w));
        }
        transfers.push(t);
    }
    Ok(Settings {
        without_options: without,
        ..front(&a.common, transfers, true, None)
    })
}

/// `--bind` and `--port-range`.
fn local_end(c: &TftpCommon) -> Result<LocalEnd> {
    let addr = match &c.bind {
        None => None,
        Some(b) => Some(bind_addr(b)?),
    };
    let ports = match &c.port_range {
        None => None,
        Some(r) => Some(port_range(r)?),
    };
    Ok(LocalEnd { addr, ports })
}

/// `--bind ADDR`: an IPv4 or IPv6 address, IPv6 with a zone
/// (`fe80::1%eth0`); never a name (a bind is no reason for a DNS query).
fn bind_addr(b: &str) -> Result<std::net::SocketAddr> {
    let bad = || {
        usage(format!(
            "--bind '{b}': give an IP address of this machine (e.g. 127.0.0.2, 2001:db8::1, fe80::1%eth0)"
        ))
    };
    let b = b.trim_start_matches('[').trim_end_matches(']');
    match addr::Host::parse(b).map_err(|_| bad())? {
        addr::Host::Ip(ip) => Ok(std::net::SocketAddr::new(ip, 0)),
        addr::Host::Zoned { ip, zone } => {
            let scope = addr::zone_index(zone).map_err(|e| usage(format!("--bind '{b}': {e}")))?;
            Ok(std::net::SocketAddrV6::new(ip, 0, 0, scope).into())
        }
        addr::Host::Name(_) => Err(bad()),
    }
}

/// `--port-range LO:HI`, 1 <= LO <= HI <= 65535.
///
/// # Errors
/// A usage error saying what is wrong with the range.
pub fn port_range(r: &str) -> Result<PortRange> {
    let bad = |why: &str| usage(format!("--port-range '{r}': {why}"));
    let (lo, hi) = r
        .split_once(':')
        .ok_or_else(|| bad("write LO:HI, e.g. 50000:50100"))?;
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| bad(&format!("'{p}' is not a port: give 1-65535")))
    };
    let (lo, hi) = (port(lo)?, port(hi)?);
    if lo > hi {
        return Err(bad("LO is above HI: write the lower port first"));
    }
    Ok(PortRange { lo, hi })
}

/// The settings from what all transfers share.
fn front(
    c: &TftpCommon,
    transfers: Vec<tftp::Settings>,
    batch: bool,
    without_options: Option<usize>,
) -> Settings {
    Settings {
        transfers,
        batch,
        json: c.json,
        verbose: c.verbose,
        without_options: without_options.map(|w| (0, w)).into_iter().collect(),
    }
}

/// One transfer's settings.
fn one(
    c: &TftpCommon,
    direction: Direction,
    host: String,
    port: u16,
    session: Config,
    local: LocalEnd,
) -> tftp::Settings {
    tftp::Settings {
        direction,
        host,
        port,
        session,
        busy_poll: Duration::from_micros(u64::from(c.busy_poll)),
        blksize: c.blksize.unwrap_or(session::DEFAULT_BLKSIZE),
        windowsize: c.windowsize.unwrap_or(1),
        local,
        trace: c.verbose,
    }
}

/// `HOST`, `HOST:PORT`, `[V6]:PORT`, `V6` -> (host, port). An IPv6
/// address may carry a zone (`fe80::1%eth0`).
///
/// # Errors
/// A usage error: an unclosed bracket, a bad port, text with colons that
/// is no IPv6 address.
pub fn split_host(s: &str) -> Result<(String, u16)> {
    let split = addr::split_host_port(s).map_err(|e| usage(format!("'{s}': {e}")))?;
    let port = match split.port {
        None => 69,
        Some(p) => addr::parse_port(p, false).map_err(|e| match e {
            AddrError::BadPort(p) => usage(format!("'{p}' is not a port: give 1-65535")),
            e => usage(format!("'{s}': {e}")),
        })?,
    };
    // Colons without brackets are an IPv6 address (a port needs the
    // brackets then), checked now rather than taken for a name.
    let address = split.host.split_once('%').map_or(split.host, |(a, _)| a);
    if !split.bracketed
        && split.host.contains(':')
        && address.parse::<std::net::Ipv6Addr>().is_err()
    {
        return Err(usage(format!(
            "'{s}' is not an IPv6 address: check it, and write a port as [ADDR]:PORT"
        )));
    }
    Ok((split.host.to_string(), port))
}

/// `tftp://HOST[:PORT]/PATH` -> (host, port, path); the scheme in any
/// case, and no other scheme.
///
/// # Errors
/// A usage error: another scheme, no file, a bad host or port.
pub fn parse_url(s: &str) -> Result<Option<(String, u16, String)>> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("tftp") {
        return Err(usage(format!(
            "'{s}': only tftp:// URLs are understood, not {scheme}://"
        )));
    }
    let path = match rest.split_once('/') {
        Some((authority, path)) if !path.is_empty() => Some((authority, path)),
        _ => None,
    };
    let Some((authority, path)) = path else {
        return Err(usage(format!(
            "'{s}': the URL needs a file: tftp://HOST[:PORT]/FILE"
        )));
    };
    let (host, port) = split_host(authority)?;
    Ok(Some((host, port, path.to_string())))
}

/// The default local name: the last component of the remote path, refused
/// when it is empty, `.` or `..` (it could not name a file here).
///
/// # Errors
/// A usage error when the remote name gives no usable file name.
pub fn default_local_name(remote: &str) -> Result<String> {
    let name = remote.rsplit(['/', '\\']).next().unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(usage(format!(
            "'{remote}' gives no usable local file name: name one as LOCAL"
        )));
    }
    Ok(name.to_string())
}

fn config(
    c: &TftpCommon,
    filename: String,
    tsize: Option<u64>,
    max_size: Option<u64>,
) -> Result<Config> {
    let timeout = match c.timeout {
        None => Duration::from_secs(1),
        Some(t) => super::seconds("--timeout", t, 0.001..=255.0, false)?,
    };
    let dally = super::seconds("--dally", c.dally, 0.0..=60.0, true)?;
    let options = if c.no_options {
        Requested::default()
    } else {
        Requested {
            blksize: c.blksize,
            windowsize: c.windowsize,
            // Within 1..=255 by the clamp.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            timeout: c.timeout.map(|t| t.ceil().clamp(1.0, 255.0) as u8),
            tsize,
        }
    };
    Ok(Config {
        filename,
        mode: match c.mode {
            TftpMode::Octet => Mode::Octet,
            TftpMode::Netascii => Mode::Netascii,
        },
        options,
        retries: c.retries,
        timeout,
        max_size,
        dally,
        fallback: true,
    })
}

/// Refuse a remote name no server could take: empty, or making a plain
/// request (name and mode) longer than RFC 2347's 512 bytes. A name that
/// leaves no room for the options goes without them: then the length the
/// request would have had with them.
fn check_remote(cfg: &mut Config, write: bool) -> Result<Option<usize>> {
    let side = if write { "REMOTE" } else { "the remote FILE" };
    if cfg.filename.is_empty() {
        return Err(usage(format!("{side} is empty: name the remote file")));
    }
    let len = session::request_len(cfg, write, false);
    if len > session::MAX_REQUEST {
        return Err(usage(format!(
            "{side} is {} bytes long: a TFTP request (name and mode) must fit in {} bytes, this one takes {len}: name a shorter file",
            cfg.filename.len(),
            session::MAX_REQUEST
        )));
    }
    let with = session::request_len(cfg, write, true);
    if with > session::MAX_REQUEST {
        cfg.options = Requested::default();
        return Ok(Some(with));
    }
    Ok(None)
}

fn progress_bar(s: &Settings) -> Option<indicatif::ProgressBar> {
    (io::stderr().is_terminal() && !s.json && !s.verbose).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{bar:30}] {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

/// One event of the transfer: the progress bar, a `--verbose` line, or
/// where partial data was kept.
fn show(bar: Option<&indicatif::ProgressBar>, e: Event) {
    match e {
        Event::Progress { done, total } => {
            if let Some(b) = bar {
                if let Some(t) = total {
                    b.set_length(t);
                }
                b.set_position(done);
            }
        }
        Event::Sent { to, packet } => crate::say!("-> {to}  {packet}"),
        Event::Received { from, packet } => crate::say!("<- {from}  {packet}"),
        Event::Kept {
            path,
            instead: None,
        } => crate::say!("nettool: kept the partial data as {}", path.display()),
        Event::Kept {
            path,
            instead: Some(why),
        } => crate::say!(
            "nettool: {why}: kept the partial data as {}",
            path.display()
        ),
    }
}

/// The final line (on a terminal, or with `--verbose`) or the JSON record.
fn finish(s: &Settings, r: &Report) -> Result<Status> {
    if s.json {
        let text = serde_json::to_string_pretty(&record(r))?;
        let data_on_stdout = s.transfers[0].direction == Direction::Get(Destination::Stdout);
        if data_on_stdout {
            crate::say!("{text}");
        } else {
            let mut out = io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    } else if io::stderr().is_terminal() || s.verbose {
        say_done(r);
    }
    Ok(Status::Success)
}

/// A finished transfer's `nettool.tftp/1` record.
fn record(r: &Report) -> serde_json::Value {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    json!({
        "schema": "nettool.tftp/1",
        "operation": r.operation.name(),
        "server": r.server.to_string(),
        "remote": r.remote,
        "local": r.local,
        "bytes": r.stats.bytes,
        "wire_bytes": r.stats.wire_bytes,
        "blocks": r.stats.blocks,
        "elapsed_ms": secs * 1e3,
        "megabytes_per_second": mbps(r.stats.wire_bytes, secs),
        "retransmits": r.stats.retransmits,
        "timeouts": r.stats.timeouts,
        "duplicates": r.stats.duplicates,
        "strangers": r.stats.strangers,
        "fell_back_to_no_options": r.stats.fell_back,
        "busy_poll": {
            "max_us": r.busy_poll.max.as_micros(),
            "polled": r.busy_poll.polled,
            "slept": r.busy_poll.slept,
        },
        "window_nap": {
            "naps": r.window_nap.naps,
            "late_wakes": r.window_nap.late_wakes,
        },
        "negotiated": r.negotiated,
    })
}

/// MB/s (10^6 bytes) of `bytes` in `secs`.
fn mbps(bytes: u64, secs: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // a rate: 2^53 bytes is plenty
    let b = bytes as f64;
    b / secs.max(1e-9) / 1e6
}

/// A finished transfer's line on stderr (after a note when it fell back
/// to no options).
fn say_done(r: &Report) {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let n = r.negotiated;
    let mut opts = vec![
        format!("blksize {}", n.blksize),
        format!("windowsize {}", n.windowsize),
    ];
    if let Some(t) = n.timeout {
        opts.push(format!("timeout {t}"));
    }
    if let Some(t) = n.tsize {
        opts.push(format!("tsize {t}"));
    }
    if !n.oack {
        opts.push("(no OACK: RFC 1350 defaults)".into());
    }
    if r.stats.fell_back {
        crate::say!("note: the server refused or ignored our options; retried without them");
    }
    crate::say!(
        "{} {}: {} bytes in {:.3} s ({:.2} MB/s), {} retransmits; {}",
        r.operation.name(),
        r.remote,
        r.stats.bytes,
        secs,
        mbps(r.stats.wire_bytes, secs),
        r.stats.retransmits,
        opts.join(", ")
    );
}

/// `--dir`: the transfers one after another, each reported as it ends
/// (its line, or a `"type":"transfer"` / `"type":"failure"` JSON line; a
/// failure's message always), then the total (a `"type":"summary"` line
/// with `--json`) and, when any failed, a closing line saying how many.
/// Exit 1 when any failed, 128 + the signal when one stopped the run.
fn run_batch(s: &Settings) -> Result<Status> {
    let bar = progress_bar(s);
    let lines = io::stderr().is_terminal() || s.verbose;
    let mut out = io::stdout().lock();
    let mut written: io::Result<()> = Ok(());
    let result = tftp::batch::transfer_all(
        &s.transfers,
        &mut |_, e| {
            // The next file's first event starts the bar afresh.
            if let Some(b) = bar.as_ref().filter(|b| b.is_finished()) {
                b.set_length(0);
                b.reset();
            }
            show(bar.as_ref(), e);
        },
        &mut |i, r| {
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let line = match r {
                Ok(report) => {
                    if lines && !s.json {
                        say_done(&report);
                    }
                    let mut v = record(&report);
                    v["type"] = "transfer".into();
                    v
                }
                Err(e) => {
                    let msg = one_line(&e);
                    crate::say!("nettool: {}", crate::output::escape_control(&msg));
                    failure_record(&s.transfers[i], &msg)
                }
            };
            if s.json && written.is_ok() {
                written = writeln!(out, "{line}").and_then(|()| out.flush());
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let b = match result {
        Ok(b) => b,
        Err(tftp::Error::Setup(msg)) => return Err(usage(msg)),
        Err(e) => return Err(e.into()),
    };
    written?;
    let secs = b.elapsed.as_secs_f64();
    if s.json {
        writeln!(out, "{}", summary_record(&b))?;
        out.flush()?;
    } else if lines {
        crate::say!(
            "{} {} of {} files: {} bytes in {secs:.3} s ({:.2} MB/s)",
            b.operation.name(),
            b.transferred,
            b.files,
            b.bytes,
            mbps(b.bytes, secs)
        );
    }
    if let Some(signal) = b.interrupted {
        crate::say!(
            "nettool: interrupted by {}: {} of {} transfers done, {} not started",
            crate::sys::signal_name(signal),
            b.transferred,
            b.files,
            b.not_started
        );
        return Ok(Status::Interrupted(u8::try_from(signal).unwrap_or(u8::MAX)));
    }
    if b.failed > 0 {
        crate::say!("nettool: {} of {} transfers failed", b.failed, b.files);
        return Ok(Status::NotFound);
    }
    Ok(Status::Success)
}

/// The `"type":"failure"` record of a `--dir` transfer that failed with
/// `msg`: what was asked, and the error; no counters.
fn failure_record(t: &tftp::Settings, msg: &str) -> serde_json::Value {
    let (operation, local) = match &t.direction {
        Direction::Get(Destination::File { path, .. }) => ("get", path.display().to_string()),
        Direction::Put(Origin::File { path, .. }) => ("put", path.clone()),
        Direction::Get(Destination::Stdout) => ("get", "-".into()),
        Direction::Put(Origin::Stdin) => ("put", "-".into()),
    };
    json!({
        "schema": "nettool.tftp/1",
        "type": "failure",
        "operation": operation,
        "remote": t.session.filename,
        "local": local,
        "error": msg,
    })
}

/// The `"type":"summary"` record that ends a `--dir` run.
fn summary_record(b: &tftp::batch::BatchReport) -> serde_json::Value {
    let secs = b.elapsed.as_secs_f64();
    json!({
        "schema": "nettool.tftp/1",
        "type": "summary",
        "operation": b.operation.name(),
        "server": b.server.to_string(),
        "files": b.files,
        "transferred": b.transferred,
        "failed": b.failed,
        "not_started": b.not_started,
        "bytes": b.bytes,
        "elapsed_ms": secs * 1e3,
        "megabytes_per_second": mbps(b.bytes, secs),
        "interrupted_by": b.interrupted.map(crate::sys::signal_name),
    })
}

/// An error and its causes on one line, as `main` prints them.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// `tftp` argv -> settings, or the one-line error.
    fn parsed(argv: &[&str]) -> Result<Settings, String> {
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let Command::Tftp(tftp) = cli.command else {
            panic!("not tftp: {argv:?}")
        };
        settings(&tftp).map_err(|e| {
            assert!(
                e.downcast_ref::<crate::UsageError>().is_some(),
                "a usage error: {e}"
            );
            e.to_string()
        })
    }

    /// What `get` settles on with no flags: tsize asked, the defaults.
    fn get_of(host: &str, port: u16, remote: &str, to: Destination) -> Settings {
        Settings {
            transfers: vec![tftp::Settings {
                direction: Direction::Get(to),
                host: host.into(),
                port,
                session: Config {
                    filename: remote.into(),
                    mode: Mode::Octet,
                    options: Requested {
                        tsize: Some(0),
                        ..Requested::default()
                    },
                    retries: 5,
                    timeout: Duration::from_secs(1),
                    max_size: None,
                    dally: Duration::ZERO,
                    fallback: true,
                },
                busy_poll: Duration::from_micros(100),
                blksize: 512,
                windowsize: 1,
                local: LocalEnd::default(),
                trace: false,
            }],
            batch: false,
            json: false,
            verbose: false,
            without_options: Vec::new(),
        }
    }

    #[test]
    fn get_a_url_to_a_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pxe.0");
        let s = parsed(&[
            "nettool",
            "tftp",
            "get",
            "tftp://198.51.100.2:6969/boot/pxelinux.0",
            out.to_str().unwrap(),
        ])
        .unwrap();
        let to = Destination::File {
            path: out,
            force: false,
            keep_partial: false,
        };
        assert_eq!(s, get_of("198.51.100.2", 6969, "boot/pxelinux.0", to));
    }

    #[test]
    fn get_host_file_local_with_block_and_window_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("disk.img");
        let s = parsed(&[
            "nettool",
            "tftp",
            "get",
            "198.51.100.2",
            "images/disk.img",
            out.to_str().unwrap(),
            "--blksize",
            "8192",
            "--windowsize",
            "16",
            "--force",
            "--keep-partial",
            "--json",
        ])
        .unwrap();
        let to = Destination::File {
            path: out,
            force: true,
            keep_partial: true,
        };
        let mut want = get_of("198.51.100.2", 69, "images/disk.img", to);
        want.transfers[0].session.options.blksize = Some(8192);
        want.transfers[0].session.options.windowsize = Some(16);
        (want.transfers[0].blksize, want.transfers[0].windowsize) = (8192, 16);
        want.json = true;
        assert_eq!(s, want);
    }

    #[test]
    fn ipv6_servers_in_every_form() {
        // tftp has no -4/-6: the address family is the server's.
        for (arg, port) in [
            ("[2001:db8::2]:6969", 6969),
            ("[2001:db8::2]", 69),
            ("2001:db8::2", 69),
            ("tftp://[2001:db8::2]:70/notes.txt", 70),
        ] {
            let file = if arg.starts_with("tftp:") {
                None
            } else {
                Some("notes.txt")
            };
            let mut argv = vec!["nettool", "tftp", "get", arg];
            argv.extend(file);
            argv.extend(["-", "-m", "netascii", "--verbose"]);
            let mut want = get_of("2001:db8::2", port, "notes.txt", Destination::Stdout);
            want.transfers[0].session.mode = Mode::Netascii;
            // tftpd-hpa refuses tsize in netascii: not asked.
            want.transfers[0].session.options.tsize = None;
            want.transfers[0].trace = true;
            want.verbose = true;
            assert_eq!(parsed(&argv).unwrap(), want, "{arg}");
        }
    }

    #[test]
    fn put_a_file_with_its_size_announced() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("config.txt");
        std::fs::write(&local, b"0123456789").unwrap();
        let local = local.to_str().unwrap();
        let s = parsed(&[
            "nettool",
            "tftp",
            "put",
            "198.51.100.2:69",
            local,
            "backups/config.txt",
            "--tsize",
            "--timeout",
            "2.5",
            "--retries",
            "3",
            "--busy-poll",
            "0",
        ])
        .unwrap();
        let mut want = get_of(
            "198.51.100.2",
            69,
            "backups/config.txt",
            Destination::Stdout,
        );
        let t = &mut want.transfers[0];
        t.direction = Direction::Put(Origin::File {
            path: local.into(),
            size: 10,
            exact: true,
        });
        t.session.options.tsize = Some(10);
        t.session.options.timeout = Some(3);
        t.session.timeout = Duration::from_millis(2500);
        t.session.retries = 3;
        t.busy_poll = Duration::ZERO;
        assert_eq!(s, want);
        // Without a REMOTE, LOCAL's file name; without --tsize, no size.
        let s = parsed(&["nettool", "tftp", "put", "198.51.100.2", local]).unwrap();
        assert_eq!(s.transfers[0].session.filename, "config.txt");
        assert_eq!(s.transfers[0].session.options.tsize, None);
        assert_eq!(
            s.transfers[0].direction,
            Direction::Put(Origin::File {
                path: local.into(),
                size: 10,
                exact: false,
            })
        );
    }

    #[test]
    fn a_name_too_long_for_options_goes_without_them() {
        let remote = "r".repeat(490);
        let s = parsed(&[
            "nettool",
            "tftp",
            "get",
            "198.51.100.2",
            &remote,
            "-",
            "--blksize",
            "1468",
        ])
        .unwrap();
        assert_eq!(s.transfers[0].session.options, Requested::default());
        assert_eq!(s.transfers[0].blksize, 1468, "the buffers are still sized");
        assert!(
            matches!(s.without_options[..], [(0, n)] if n > 512),
            "{s:?}"
        );
    }

    #[test]
    fn bad_command_lines_get_one_line_each() {
        for (argv, want) in [
            (
                &["nettool", "tftp", "get", "tftp://198.51.100.2/x", "a", "b"][..],
                "with a tftp:// URL give at most one more argument, LOCAL",
            ),
            (
                &["nettool", "tftp", "get", "198.51.100.2:0", "f", "-"],
                "'0' is not a port: give 1-65535",
            ),
            (
                &["nettool", "tftp", "put", "198.51.100.2", "-"],
                "reading stdin: name the REMOTE file",
            ),
            (
                &["nettool", "tftp", "get", "http://198.51.100.2/x"],
                "'http://198.51.100.2/x': only tftp:// URLs are understood, not http://",
            ),
            (
                &[
                    "nettool",
                    "tftp",
                    "get",
                    "198.51.100.2",
                    "f",
                    "-",
                    "--timeout",
                    "300",
                ],
                "--timeout 300: give 0.001 to 255 seconds (fractions allowed)",
            ),
            (
                &["nettool", "tftp", "get", "2001:db8::2::1", "f", "-"],
                "'2001:db8::2::1' is not an IPv6 address: check it, and write a port as [ADDR]:PORT",
            ),
        ] {
            assert_eq!(parsed(argv).unwrap_err(), want, "{argv:?}");
        }
    }

    #[test]
    fn hosts_and_urls() {
        assert_eq!(
            split_host("198.51.100.2").unwrap(),
            ("198.51.100.2".into(), 69)
        );
        assert_eq!(
            split_host("198.51.100.2:6969").unwrap(),
            ("198.51.100.2".into(), 6969)
        );
        assert_eq!(
            split_host("[2001:db8::2]:6969").unwrap(),
            ("2001:db8::2".into(), 6969)
        );
        assert_eq!(
            split_host("[2001:db8::2]").unwrap(),
            ("2001:db8::2".into(), 69)
        );
        assert_eq!(
            split_host("2001:db8::2").unwrap(),
            ("2001:db8::2".into(), 69)
        );
        assert_eq!(split_host(":69").unwrap(), (String::new(), 69));
        for (bad, want) in [
            ("host:0", "'0' is not a port: give 1-65535"),
            ("host:99999", "'99999' is not a port: give 1-65535"),
            ("host:", "'' is not a port: give 1-65535"),
            ("[::1", "'[::1': an IPv6 address in brackets needs its ']'"),
            ("[::1]x", "'[::1]x': write [ADDR]:PORT"),
        ] {
            assert_eq!(split_host(bad).unwrap_err().to_string(), want, "{bad}");
        }
        assert_eq!(
            parse_url("tftp://198.51.100.2:70/a/b.bin").unwrap(),
            Some(("198.51.100.2".into(), 70, "a/b.bin".into()))
        );
        assert_eq!(
            parse_url("tftp://[2001:db8::1]/x").unwrap(),
            Some(("2001:db8::1".into(), 69, "x".into()))
        );
        assert!(parse_url("tftp://host").is_err());
        assert!(parse_url("tftp://host/").is_err());
        assert_eq!(parse_url("host").unwrap(), None);
    }

    #[test]
    fn local_names_never_escape() {
        assert_eq!(default_local_name("boot/pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(default_local_name("c:\\qwerq.qwe").unwrap(), "qwerq.qwe");
        assert_eq!(default_local_name("../../etc/passwd").unwrap(), "passwd");
        for bad in ["", "dir/", "..", "a/..", ".", "x\\."] {
            assert!(default_local_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zoned_ipv6_addresses_are_hosts_not_ports() {
        use crate::tftp::client::resolve;
        use std::net::SocketAddr;
        assert_eq!(split_host("fe80::1%lo").unwrap(), ("fe80::1%lo".into(), 69));
        assert_eq!(
            split_host("[fe80::1%lo]:6969").unwrap(),
            ("fe80::1%lo".into(), 6969)
        );
        let lo = crate::sys::interface_index("lo").expect("a loopback interface");
        let SocketAddr::V6(a) = resolve("fe80::1%lo", 69).unwrap() else {
            panic!("not IPv6")
        };
        assert_eq!(*a.ip(), "fe80::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!((a.scope_id(), a.port()), (lo, 69));
        let SocketAddr::V6(a) = resolve(&format!("fe80::1%{lo}"), 70).unwrap() else {
            panic!("not IPv6")
        };
        assert_eq!((a.scope_id(), a.port()), (lo, 70));
        let e = resolve("fe80::1%no-such-if0", 69).unwrap_err().to_string();
        assert_eq!(
            e,
            "'fe80::1%no-such-if0': no interface named 'no-such-if0' here (see `ip link`)"
        );
        let e = resolve("", 69).unwrap_err().to_string();
        assert_eq!(e, "no host given: write HOST, HOST:PORT or [IPV6]:PORT");
        let e = split_host("fe80::1::2").unwrap_err().to_string();
        assert!(
            e.contains("not an IPv6 address") && e.contains("[ADDR]:PORT"),
            "{e}"
        );
    }

    #[test]
    fn url_schemes_are_case_insensitive_and_only_tftp() {
        for url in ["TFTP://127.0.0.1/x", "Tftp://127.0.0.1/x"] {
            assert_eq!(
                parse_url(url).unwrap(),
                Some(("127.0.0.1".into(), 69, "x".into())),
                "{url}"
            );
        }
        let e = parse_url("http://127.0.0.1/x").unwrap_err().to_string();
        assert!(e.contains("only tftp:// URLs"), "{e}");
    }

    #[test]
    fn bind_and_port_range_on_get_and_put() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fw.bin");
        let s = parsed(&[
            "nettool",
            "tftp",
            "get",
            "198.51.100.2",
            "fw.bin",
            out.to_str().unwrap(),
            "--bind",
            "198.51.100.1",
            "--port-range",
            "50000:50010",
        ])
        .unwrap();
        let to = Destination::File {
            path: out.clone(),
            force: false,
            keep_partial: false,
        };
        let mut want = get_of("198.51.100.2", 69, "fw.bin", to);
        want.transfers[0].local = LocalEnd {
            addr: Some("198.51.100.1:0".parse().unwrap()),
            ports: Some(PortRange {
                lo: 50000,
                hi: 50010,
            }),
        };
        assert_eq!(s, want);
        // IPv6, bracketed or not, with a zone; a range of one port.
        let lo = crate::sys::interface_index("lo").expect("a loopback interface");
        for (bind, want) in [
            ("2001:db8::1", "[2001:db8::1]:0".to_string()),
            ("[2001:db8::1]", "[2001:db8::1]:0".to_string()),
            ("fe80::1%lo", format!("[fe80::1%{lo}]:0")),
        ] {
            let s = parsed(&[
                "nettool",
                "tftp",
                "get",
                "[2001:db8::2]:69",
                "f",
                "-",
                "--bind",
                bind,
                "--port-range",
                "69:69",
            ])
            .unwrap();
            let l = s.transfers[0].local;
            assert_eq!(l.addr.unwrap().to_string(), want, "{bind}");
            assert_eq!(l.ports, Some(PortRange { lo: 69, hi: 69 }));
        }
        let local = dir.path().join("cfg.txt");
        std::fs::write(&local, b"x").unwrap();
        let s = parsed(&[
            "nettool",
            "tftp",
            "put",
            "198.51.100.2",
            local.to_str().unwrap(),
            "--port-range",
            "1:65535",
        ])
        .unwrap();
        assert_eq!(
            s.transfers[0].local,
            LocalEnd {
                addr: None,
                ports: Some(PortRange { lo: 1, hi: 65535 })
            }
        );
    }

    #[test]
    fn get_several_files_into_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let s = parsed(&[
            "nettool",
            "tftp",
            "get",
            "198.51.100.2:6969",
            "a.bin",
            "boot/b.bin",
            "c\\d.cfg",
            "--dir",
            d,
            "--blksize",
            "1468",
        ])
        .unwrap();
        assert!(s.batch);
        let got: Vec<(String, Direction)> = s
            .transfers
            .iter()
            .map(|t| (t.session.filename.clone(), t.direction.clone()))
            .collect();
        let to = |name: &str| {
            Direction::Get(Destination::File {
                path: dir.path().join(name),
                force: false,
                keep_partial: false,
            })
        };
        assert_eq!(
            got,
            [
                ("a.bin".to_string(), to("a.bin")),
                ("boot/b.bin".to_string(), to("b.bin")),
                ("c\\d.cfg".to_string(), to("d.cfg")),
            ]
        );
        for t in &s.transfers {
            assert_eq!(
                (t.host.as_str(), t.port, t.blksize),
                ("198.51.100.2", 6969, 1468)
            );
            assert_eq!(t.session.options.blksize, Some(1468));
        }
        // One file with --dir is a run of one (its output a batch's).
        let s = parsed(&["nettool", "tftp", "get", "h", "x", "--dir", d]).unwrap();
        assert!(s.batch && s.transfers.len() == 1);
        // Without --dir two names stay FILE LOCAL.
        let local = dir.path().join("l.bin");
        let s = parsed(&["nettool", "tftp", "get", "h", "x", local.to_str().unwrap()]).unwrap();
        assert!(!s.batch);
        assert_eq!(
            s.transfers[0].direction,
            Direction::Get(Destination::File {
                path: local,
                force: false,
                keep_partial: false
            })
        );
    }

    #[test]
    fn put_several_files_into_a_remote_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut locals = Vec::new();
        for (name, len) in [("a.cfg", 3), ("b.cfg", 5)] {
            let p = dir.path().join(name);
            std::fs::write(&p, vec![b'x'; len]).unwrap();
            locals.push(p.to_str().unwrap().to_string());
        }
        for (remote_dir, want) in [
            ("backups", ["backups/a.cfg", "backups/b.cfg"]),
            ("backups/", ["backups/a.cfg", "backups/b.cfg"]),
            (".", ["a.cfg", "b.cfg"]),
            ("", ["a.cfg", "b.cfg"]),
        ] {
            let s = parsed(&[
                "nettool",
                "tftp",
                "put",
                "198.51.100.2",
                &locals[0],
                &locals[1],
                "--dir",
                remote_dir,
                "--tsize",
            ])
            .unwrap();
            assert!(s.batch);
            let names: Vec<&str> = s
                .transfers
                .iter()
                .map(|t| t.session.filename.as_str())
                .collect();
            assert_eq!(names, want, "--dir {remote_dir:?}");
            assert_eq!(s.transfers[1].session.options.tsize, Some(5));
            assert_eq!(
                s.transfers[1].direction,
                Direction::Put(Origin::File {
                    path: locals[1].clone(),
                    size: 5,
                    exact: true
                })
            );
        }
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "a table of cases")]
    fn bad_bind_port_range_and_dir_command_lines_get_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        std::fs::write(dir.path().join("there.bin"), b"x").unwrap();
        let file = dir.path().join("there.bin").to_str().unwrap().to_string();
        let missing = dir.path().join("nope").to_str().unwrap().to_string();
        let cases: Vec<(Vec<&str>, String)> = vec![
            (
                vec!["get", "h", "f", "-", "--bind", "localhost"],
                "--bind 'localhost': give an IP address of this machine (e.g. 127.0.0.2, 2001:db8::1, fe80::1%eth0)".into(),
            ),
            (
                vec!["get", "h", "f", "-", "--bind", "fe80::1%no-such-if0"],
                "--bind 'fe80::1%no-such-if0': no interface named 'no-such-if0' here (see `ip link`)".into(),
            ),
            (
                vec!["get", "h", "f", "-", "--port-range", "60000"],
                "--port-range '60000': write LO:HI, e.g. 50000:50100".into(),
            ),
            (
                vec!["get", "h", "f", "-", "--port-range", "60010:60000"],
                "--port-range '60010:60000': LO is above HI: write the lower port first".into(),
            ),
            (
                vec!["put", "h", &file, "--port-range", "0:10"],
                "--port-range '0:10': '0' is not a port: give 1-65535".into(),
            ),
            (
                vec!["get", "h", "f", "-", "--port-range", "1:65536"],
                "--port-range '1:65536': '65536' is not a port: give 1-65535".into(),
            ),
            (
                vec!["get", "h", "f", "-", "--port-range", "a:b"],
                "--port-range 'a:b': 'a' is not a port: give 1-65535".into(),
            ),
            (
                vec!["get", "h", "a", "b", "c"],
                "3 names after HOST: write get HOST FILE [LOCAL], or get HOST FILE... --dir DIR for several files".into(),
            ),
            (
                vec!["put", "h", &file, "b", "c"],
                "3 names after HOST: write put HOST LOCAL [REMOTE], or put HOST LOCAL... --dir DIR for several files".into(),
            ),
            (
                vec!["get", "h", "ok.bin", "../etc/passwd", "--dir", &d],
                "'../etc/passwd': a name with a '..' component is refused with --dir: name the file without '..'".into(),
            ),
            (
                vec!["get", "h", "a\\..\\b", "--dir", &d],
                "'a\\..\\b': a name with a '..' component is refused with --dir: name the file without '..'".into(),
            ),
            (
                vec!["get", "h", "boot/", "--dir", &d],
                "'boot/' ends in no file name: with --dir every FILE must name a file".into(),
            ),
            (
                vec!["get", "h", "", "--dir", &d],
                "'' ends in no file name: with --dir every FILE must name a file".into(),
            ),
            (
                vec!["get", "h", "a/x.bin", "b/x.bin", "--dir", &d],
                format!(
                    "'a/x.bin' and 'b/x.bin' would both be saved as {}: get them in two runs",
                    dir.path().join("x.bin").display()
                ),
            ),
            (
                vec!["get", "h", "there.bin", "--dir", &d],
                format!("{file} exists: use --force to overwrite it"),
            ),
            (
                vec!["get", "h", "x", "--dir", &missing],
                format!(
                    "--dir {missing}: No such file or directory (os error 2): name an existing directory (mkdir it first)"
                ),
            ),
            (
                vec!["get", "h", "x", "--dir", &file],
                format!("--dir {file}: not a directory: name the directory to download into"),
            ),
            (
                vec!["get", "h", "--dir", &d],
                "which files? write: nettool tftp get HOST FILE... --dir DIR".into(),
            ),
            (
                vec!["get", "tftp://h/x", "--dir", &d],
                "--dir takes a HOST, not a tftp:// URL: write get HOST[:PORT] FILE... --dir DIR".into(),
            ),
            (
                vec!["put", "h", &file, "-", "--dir", "up"],
                "stdin (-) cannot be one of the files of --dir: send it alone with put HOST - REMOTE".into(),
            ),
            (
                vec!["put", "h", &file, &file, "--dir", "up"],
                format!("'{file}' and '{file}' would both be sent as 'up/there.bin': put them in two runs"),
            ),
            (
                vec!["put", "h", &d, "--dir", "up"],
                format!("{d} is a directory: give a file"),
            ),
            (
                vec!["put", "tftp://h/x", &file, "--dir", "up"],
                "--dir takes a HOST, not a tftp:// URL: write put HOST[:PORT] LOCAL... --dir DIR".into(),
            ),
        ];
        for (args, want) in cases {
            let mut argv = vec!["nettool", "tftp"];
            argv.extend(&args);
            let got = parsed(&argv).unwrap_err();
            assert_eq!(got, want, "{args:?}");
            assert_eq!(got.lines().count(), 1, "{args:?}");
        }
        assert!(
            listing_is_only(dir.path(), &["there.bin"]),
            "a refused run wrote nothing"
        );
    }

    fn listing_is_only(dir: &std::path::Path, names: &[&str]) -> bool {
        let mut got: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        got.sort();
        got == names
    }

    #[test]
    fn put_needs_a_local_file() {
        // clap: at least one LOCAL.
        let e = Cli::try_parse_from(["nettool", "tftp", "put", "h"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn an_absolute_remote_name_keeps_only_its_last_component_here() {
        assert_eq!(name_in_dir("/tftpboot/pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(name_in_dir("c:\\boot\\boot.ini").unwrap(), "boot.ini");
        assert!(name_in_dir("/tftpboot/../etc/passwd").is_err());
    }
}
