//! `nettool tftp get|put`: arguments -> session config, local file safety
//! (temporary file, no clobbering, safe default names), progress and the
//! final report.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr, SocketAddrV6, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use crate::cli::{TftpArgs, TftpCommon, TftpGetArgs, TftpMode, TftpOp, TftpPutArgs};
use crate::tftp::Event;
use crate::tftp::session::{
    self, Config, Download, Mode, Requested, Sink, Source, TftpError, Upload,
};
use crate::tftp::transport::{self, Hooks, Report};
use crate::{Status, UsageError};

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

pub fn run(a: &TftpArgs) -> Result<Status> {
    match &a.op {
        TftpOp::Get(g) => get(g),
        TftpOp::Put(p) => put(p),
    }
}

/// `HOST`, `HOST:PORT`, `[V6]:PORT`, `V6` -> (host, port). An IPv6
/// address may carry a zone (`fe80::1%eth0`).
pub fn split_host(s: &str) -> Result<(String, u16)> {
    let bad_port = |p: &str| usage(format!("'{p}' is not a port: give 1-65535"));
    let port_of = |p: &str| -> Result<u16> {
        match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad_port(p)),
            Ok(n) => Ok(n),
        }
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| usage(format!("'{s}': an IPv6 address in brackets needs its ']'")))?;
        let port = match after {
            "" => 69,
            p => port_of(
                p.strip_prefix(':')
                    .ok_or_else(|| usage(format!("'{s}': write [ADDR]:PORT")))?,
            )?,
        };
        return Ok((h.to_string(), port));
    }
    let address = s.split_once('%').map_or(s, |(a, _)| a);
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((s.to_string(), 69));
    }
    if s.matches(':').count() > 1 {
        return Err(usage(format!(
            "'{s}' is not an IPv6 address: check it, and write a port as [ADDR]:PORT"
        )));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), port_of(p)?)),
        None => Ok((s.to_string(), 69)),
    }
}

/// `tftp://HOST[:PORT]/PATH` -> (host, port, path); the scheme in any
/// case, and no other scheme.
pub fn parse_url(s: &str) -> Result<Option<(String, u16, String)>> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("tftp") {
        return Err(usage(format!(
            "'{s}': only tftp:// URLs are understood, not {scheme}://"
        )));
    }
    let (authority, path) = rest.split_once('/').ok_or_else(|| {
        usage(format!(
            "'{s}': the URL needs a file: tftp://HOST[:PORT]/FILE"
        ))
    })?;
    if path.is_empty() {
        return Err(usage(format!(
            "'{s}': the URL needs a file: tftp://HOST[:PORT]/FILE"
        )));
    }
    let (host, port) = split_host(authority)?;
    Ok(Some((host, port, path.to_string())))
}

/// Resolve without DNS for literals; names go through the system resolver
/// (the user gave a name, so asked for it).
fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    if host.is_empty() {
        return Err(usage("no host given: write HOST, HOST:PORT or [IPV6]:PORT"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Some((ip, scope)) = super::parse_zoned_v6(host)? {
        return Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)));
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| {
            usage(format!(
                "cannot resolve '{host}': give an IP address, or check /etc/hosts and the resolver"
            ))
        })
}

fn config(
    c: &TftpCommon,
    filename: String,
    tsize: Option<u64>,
    max_size: Option<u64>,
) -> Result<Config> {
    let timeout = match c.timeout {
        None => Duration::from_secs(1),
        Some(t) if t.is_finite() && (0.001..=255.0).contains(&t) => Duration::from_secs_f64(t),
        Some(t) => {
            return Err(usage(format!("--timeout {t}: give 0.001 to 255 seconds")));
        }
    };
    if !(c.dally.is_finite() && (0.0..=60.0).contains(&c.dally)) {
        return Err(usage(format!("--dally {}: give 0 to 60 seconds", c.dally)));
    }
    let options = if c.no_options {
        Requested::default()
    } else {
        Requested {
            blksize: c.blksize,
            windowsize: c.windowsize,
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
        dally: Duration::from_secs_f64(c.dally),
        fallback: true,
    })
}

/// Refuse a remote name no server could take: empty, or making a plain
/// request (name and mode) longer than RFC 2347's 512 bytes. A name that
/// leaves no room for the options goes without them (said with --verbose).
fn check_remote(cfg: &mut Config, write: bool, verbose: bool) -> Result<()> {
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
        if verbose {
            crate::say!(
                "note: with its options the request would take {with} bytes (more than {}): sending it without options",
                session::MAX_REQUEST
            );
        }
        cfg.options = Requested::default();
    }
    Ok(())
}

/// The default local name: the last component of the remote path, refused
/// when it is empty, `.` or `..` (it could not name a file here).
pub fn default_local_name(remote: &str) -> Result<String> {
    let name = remote.rsplit(['/', '\\']).next().unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(usage(format!(
            "'{remote}' gives no usable local file name: name one as LOCAL"
        )));
    }
    Ok(name.to_string())
}

/// Buffers writes and hands them to the writer only when told (`idle`,
/// after the ACK went out) or when the buffer is full, so that disk writes
/// never sit between a DATA and its ACK.
struct Deferred<W: Write> {
    inner: W,
    buf: Vec<u8>,
    /// The largest piece written so far (a block's data, in octet mode).
    block: usize,
}

impl<W: Write> Deferred<W> {
    /// At a lull, write out once the next block would take the buffer
    /// past this: each write then fits inside the server's turnaround.
    /// (Napped windows have one lull each, at their start, so there a
    /// write holds the whole window before it, up to `BACKLOG`.)
    /// A longer write holds the next ACK back until the server has gone
    /// to sleep, and waking it costs more than the write: with 64 KiB
    /// blocks, writing two at a time made transfers 1.26x slower, with
    /// 1.3x the CPU per MiB of writing each one (benches/RESULTS.md); a
    /// 1 MiB write was about 12% slower at blksize 8192.
    const FLUSH_AT: usize = 64 << 10;
    /// Mid-window (no lull), write only once this much is waiting, so
    /// that a big window's blocks never wait on a write inside `write`.
    const BACKLOG: usize = 4 << 20;
    /// Never buffer more than this (a window of 64 KiB blocks).
    const MAX: usize = 8 << 20;

    fn new(inner: W) -> Self {
        Deferred {
            inner,
            buf: Vec::with_capacity(Self::FLUSH_AT + 65536),
            block: 0,
        }
    }
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > Self::MAX {
            self.drain()?;
        }
        self.block = self.block.max(data.len());
        self.buf.extend_from_slice(data);
        Ok(())
    }
    fn idle(&mut self, lull: bool) -> io::Result<()> {
        let due = if lull {
            self.buf.len() + self.block > Self::FLUSH_AT
        } else {
            self.buf.len() >= Self::BACKLOG
        };
        if due && !self.buf.is_empty() {
            self.drain()?;
        }
        Ok(())
    }
    /// Write the buffer out, keeping whatever the writer did not take (so a
    /// failed write is never repeated for bytes already written).
    fn drain(&mut self) -> io::Result<()> {
        let mut done = 0;
        let r = loop {
            if done == self.buf.len() {
                break Ok(());
            }
            match self.inner.write(&self.buf[done..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                // A blocked write (a full pipe) gives way to SIGINT/SIGTERM.
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        && crate::sys::termination().is_none() => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..done);
        r
    }
    /// Everything written and flushed; the writer stays ours on failure.
    fn settle(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
    fn finish(mut self) -> io::Result<W> {
        self.settle()?;
        Ok(self.inner)
    }
}

/// Writes to a temporary file beside the target; renamed into place only
/// when every byte is in.
struct FileSink {
    tmp: Option<Deferred<tempfile::NamedTempFile>>,
    target: PathBuf,
    force: bool,
    /// Bytes handed to the file so far.
    received: u64,
}

impl Sink for FileSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.received += data.len() as u64;
        match &mut self.tmp {
            Some(w) => w.write(data),
            None => Err(io::Error::other("write after the file was committed")),
        }
    }

    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.tmp.as_mut().map_or(Ok(()), |w| w.idle(lull))
    }

    fn complete(&mut self) -> io::Result<()> {
        // On any failure the temporary file stays in the sink, so that
        // --keep-partial can still keep it.
        let Some(w) = self.tmp.as_mut() else {
            return Ok(());
        };
        w.settle()?;
        let Some(w) = self.tmp.take() else {
            return Ok(());
        };
        let persisted = if self.force {
            w.inner.persist(&self.target)
        } else {
            w.inner.persist_noclobber(&self.target)
        };
        match persisted {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = io::Error::new(
                    e.error.kind(),
                    format!("cannot create {}: {}", self.target.display(), e.error),
                );
                self.tmp = Some(Deferred::new(e.file));
                Err(err)
            }
        }
    }
}

impl FileSink {
    /// After a failure: keep the partial data as `TARGET.part` if asked
    /// (never replacing a file of that name: then under the temporary
    /// name), else the temporary file is deleted when dropped. Nothing is
    /// kept when nothing arrived. Returns the line that says what was kept.
    fn abandon(mut self, keep: bool) -> Option<String> {
        let mut w = self.tmp.take()?;
        if !keep || self.received == 0 {
            return None;
        }
        // Keep what reached the disk even if the last write fails too.
        let _ = w.settle();
        let tmp = w.inner;
        let mut part = self.target.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        match tmp.persist_noclobber(&part) {
            Ok(_) => Some(format!("kept the partial data as {}", part.display())),
            // NAME.part may be taken, or too long a name: keep the data
            // under the temporary name then.
            Err(e) => {
                let why = if e.error.kind() == io::ErrorKind::AlreadyExists {
                    format!("{} exists", part.display())
                } else {
                    format!("cannot create {}: {}", part.display(), e.error)
                };
                e.file
                    .keep()
                    .ok()
                    .map(|(_, path)| format!("{why}: kept the partial data as {}", path.display()))
            }
        }
    }
}

/// Standard output, written straight to its descriptor (`Deferred` does
/// the buffering): `io::Stdout` retries a write `EINTR` cut short, so a
/// write blocked on a full pipe would never give way to SIGINT.
struct StdoutSink(Option<Deferred<File>>);

impl Sink for StdoutSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.0 {
            Some(w) => w.write(data),
            None => Err(io::Error::other("write after the end")),
        }
    }
    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.0.as_mut().map_or(Ok(()), |w| w.idle(lull))
    }
    fn complete(&mut self) -> io::Result<()> {
        self.0.take().map_or(Ok(()), |w| w.finish().map(drop))
    }
}

/// Fill `buf` with up to `max` bytes from `r`; fewer only at end of file.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
    buf.clear();
    buf.resize(max, 0);
    let mut got = 0;
    while got < max {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            // A read blocked on a pipe gives way to SIGINT/SIGTERM.
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    && crate::sys::termination().is_none() => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(())
}

struct ReadSource<R: Read>(R);

impl<R: Read> Source for ReadSource<R> {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        fill(&mut self.0, buf, max)
    }
}

/// A file whose size was announced (`put --tsize`): exactly that many
/// bytes are sent, and a file that shrinks or grows meanwhile is an error.
struct SizedSource<R: Read> {
    inner: R,
    path: String,
    size: u64,
    read: u64,
    /// Checked already that nothing follows the announced bytes.
    ended: bool,
}

impl<R: Read> Source for SizedSource<R> {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        let want = usize::try_from(self.size - self.read).map_or(max, |left| left.min(max));
        fill(&mut self.inner, buf, want)?;
        self.read += buf.len() as u64;
        if buf.len() < want {
            return Err(io::Error::other(session::SizeChanged(format!(
                "{} shrank to {} bytes during the upload (--tsize announced {}): send it again once it stops changing",
                self.path, self.read, self.size
            ))));
        }
        if self.read == self.size && !self.ended {
            self.ended = true;
            let mut more = Vec::new();
            fill(&mut self.inner, &mut more, 1)?;
            if !more.is_empty() {
                return Err(io::Error::other(session::SizeChanged(format!(
                    "{} grew during the upload (--tsize announced {} bytes): send it again once it stops changing",
                    self.path, self.size
                ))));
            }
        }
        Ok(())
    }
}

/// The longest file name Linux file systems take.
const NAME_MAX: usize = 255;

/// The temporary file for `target`, beside it: `.NAME.XXXXXX.part`, with
/// NAME cut short so that the whole name stays within 255 bytes (any
/// legal NAME works; the random part keeps it unique).
fn temp_file_for(target: &Path) -> Result<tempfile::NamedTempFile> {
    const ADDED: usize = ".".len() + ".".len() + 6 + ".part".len();
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map_or(&[][..], |n| n.as_bytes());
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(&name[..name.len().min(NAME_MAX - ADDED)]);
    prefix.push(b'.');
    tempfile::Builder::new()
        .prefix(&OsString::from_vec(prefix))
        .suffix(".part")
        .tempfile_in(&dir)
        .map_err(|e| {
            usage(format!(
                "cannot create a file in {}: {e}: choose a directory you can write to",
                dir.display()
            ))
        })
}

/// After SIGINT/SIGTERM (the temporary file is dealt with): say so, and
/// the status 128 + the signal, as shells expect.
fn interrupted<T>(r: &std::result::Result<T, TftpError>, what: &str) -> Option<Status> {
    let Err(TftpError::Interrupted(signal)) = r else {
        return None;
    };
    crate::say!(
        "nettool: {what}: interrupted by {}",
        crate::sys::signal_name(*signal)
    );
    Some(Status::Interrupted(
        u8::try_from(*signal).unwrap_or(u8::MAX),
    ))
}

fn progress_bar(c: &TftpCommon) -> Option<indicatif::ProgressBar> {
    (io::stderr().is_terminal() && !c.json && !c.verbose).then(|| {
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

fn show(bar: &Option<indicatif::ProgressBar>, e: Event) {
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
    }
}

fn get(a: &TftpGetArgs) -> Result<Status> {
    let (host, port, remote, local) = match parse_url(&a.host)? {
        Some((h, p, path)) => {
            if a.local.is_some() {
                return Err(usage(
                    "with a tftp:// URL give at most one more argument, LOCAL",
                ));
            }
            (h, p, path, a.file.clone())
        }
        None => {
            let (h, p) = split_host(&a.host)?;
            let file = a
                .file
                .clone()
                .ok_or_else(|| usage("which file? write: nettool tftp get HOST FILE [LOCAL]"))?;
            (h, p, file, a.local.clone())
        }
    };
    let to_stdout = local.as_deref() == Some("-");
    if remote.is_empty() {
        return Err(usage("the remote FILE is empty: name the remote file"));
    }
    let target = match &local {
        // The remote name need not name a file: it only labels the output.
        Some(l) if l == "-" => PathBuf::from("-"),
        Some(l) => PathBuf::from(l),
        None => PathBuf::from(default_local_name(&remote)?),
    };
    if !to_stdout {
        let name = target.file_name().map_or(0, |n| n.len());
        if name > NAME_MAX {
            return Err(usage(format!(
                "the local file name is {name} bytes long, and a file name takes at most {NAME_MAX}: name a shorter LOCAL"
            )));
        }
        let dangling = std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink())
            && !target.exists();
        if dangling && !a.force {
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
        if target.exists() && !a.force {
            return Err(usage(format!(
                "{} exists: use --force to overwrite it",
                target.display()
            )));
        }
    }
    let c = &a.common;
    let tsize = (!a.no_tsize).then_some(0);
    // tftpd-hpa refuses tsize in netascii (ERROR 8): do not ask then.
    let tsize = if c.mode == TftpMode::Netascii {
        None
    } else {
        tsize
    };
    let mut cfg = config(c, remote.clone(), tsize, a.max_size)?;
    check_remote(&mut cfg, false, c.verbose)?;
    let tmp = if to_stdout {
        None
    } else {
        Some(temp_file_for(&target)?)
    };
    // Every local check is done: only now a name may cost a DNS query.
    let server = resolve(&host, port)?;
    let sock = transport::socket_for(server, c.blksize.unwrap_or(512), c.windowsize.unwrap_or(1))
        .context("cannot open a UDP socket")?;

    let bar = progress_bar(c);
    let mut events = |e: Event| show(&bar, e);
    let hooks = Hooks {
        events: &mut events,
        trace: c.verbose,
    };
    let machine = Download::new(cfg, server);
    // From here on SIGINT/SIGTERM end the transfer cleanly.
    let watch = crate::sys::watch_termination().context("cannot catch SIGINT and SIGTERM")?;
    let result = if to_stdout {
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .context("cannot use standard output")?;
        let mut sink = StdoutSink(Some(Deferred::new(File::from(out))));
        // Stopped by a signal, what is still buffered is dropped: writing it
        // could block on a full pipe again, past the user's Ctrl-C.
        transport::download(&sock, machine, &mut sink, busy_poll(c), hooks)
    } else {
        let mut sink = FileSink {
            tmp: tmp.map(Deferred::new),
            target: target.clone(),
            force: a.force,
            received: 0,
        };
        let r = transport::download(&sock, machine, &mut sink, busy_poll(c), hooks);
        if r.is_err()
            && let Some(kept) = sink.abandon(a.keep_partial)
        {
            crate::say!("nettool: {kept}");
        }
        r
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // The transfer is over: Ctrl-C is the default again (a blocked
    // --json write ends at once).
    drop(watch);
    if let Some(status) = interrupted(&result, &format!("get {remote} from {server}")) {
        return Ok(status);
    }
    let report =
        result.map_err(|e| anyhow::Error::new(e).context(format!("get {remote} from {server}")))?;
    finish(
        c,
        "get",
        server,
        &remote,
        &target.display().to_string(),
        &report,
        to_stdout,
    )
}

fn busy_poll(c: &TftpCommon) -> Duration {
    Duration::from_micros(u64::from(c.busy_poll))
}

fn put(a: &TftpPutArgs) -> Result<Status> {
    let (host, port, remote_from_url) = match parse_url(&a.host)? {
        Some((h, p, path)) => (h, p, Some(path)),
        None => {
            let (h, p) = split_host(&a.host)?;
            (h, p, None)
        }
    };
    if remote_from_url.is_some() && a.remote.is_some() {
        return Err(usage(
            "with a tftp:// URL the remote name is in the URL: give only LOCAL",
        ));
    }
    let from_stdin = a.local == "-";
    let remote = match (remote_from_url, a.remote.clone()) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) if from_stdin => return Err(usage("reading stdin: name the REMOTE file")),
        (None, None) => default_local_name(&a.local)?,
    };
    let c = &a.common;
    let announce = a.tsize && c.mode == TftpMode::Octet;
    let (mut source, size): (Box<dyn Source>, Option<u64>) = if from_stdin {
        (Box::new(ReadSource(io::stdin().lock())), None)
    } else {
        let f = File::open(&a.local).map_err(|e| usage(format!("cannot read {}: {e}", a.local)))?;
        let meta = f.metadata()?;
        if meta.is_dir() {
            return Err(usage(format!("{} is a directory: give a file", a.local)));
        }
        let reader = io::BufReader::with_capacity(1 << 20, f);
        let source: Box<dyn Source> = if announce {
            Box::new(SizedSource {
                inner: reader,
                path: a.local.clone(),
                size: meta.len(),
                read: 0,
                ended: false,
            })
        } else {
            Box::new(ReadSource(reader))
        };
        (source, Some(meta.len()))
    };
    let tsize = if announce { size } else { None };
    let mut cfg = config(c, remote.clone(), tsize, None)?;
    check_remote(&mut cfg, true, c.verbose)?;
    // Every local check is done: only now a name may cost a DNS query.
    let server = resolve(&host, port)?;
    let sock = transport::socket_for(server, c.blksize.unwrap_or(512), c.windowsize.unwrap_or(1))
        .context("cannot open a UDP socket")?;
    let bar = progress_bar(c);
    let mut events = |e: Event| show(&bar, e);
    let hooks = Hooks {
        events: &mut events,
        trace: c.verbose,
    };
    let watch = crate::sys::watch_termination().context("cannot catch SIGINT and SIGTERM")?;
    let result = transport::upload(
        &sock,
        Upload::new(cfg, server),
        source.as_mut(),
        size,
        busy_poll(c),
        hooks,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // The transfer is over: Ctrl-C is the default again (a blocked
    // --json write ends at once).
    drop(watch);
    if let Some(status) = interrupted(&result, &format!("put {remote} to {server}")) {
        return Ok(status);
    }
    let report =
        result.map_err(|e| anyhow::Error::new(e).context(format!("put {remote} to {server}")))?;
    finish(c, "put", server, &remote, &a.local, &report, false)
}

/// The final line (on a terminal) or the JSON record.
fn finish(
    c: &TftpCommon,
    op: &str,
    server: SocketAddr,
    remote: &str,
    local: &str,
    r: &Report,
    data_on_stdout: bool,
) -> Result<Status> {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mbps = r.stats.wire_bytes as f64 / secs / 1e6;
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
    if c.json {
        let v = json!({
            "schema": "nettool.tftp/1",
            "operation": op,
            "server": server.to_string(),
            "remote": remote,
            "local": local,
            "bytes": r.stats.bytes,
            "wire_bytes": r.stats.wire_bytes,
            "blocks": r.stats.blocks,
            "elapsed_ms": secs * 1e3,
            "megabytes_per_second": mbps,
            "retransmits": r.stats.retransmits,
            "timeouts": r.stats.timeouts,
            "duplicates": r.stats.duplicates,
            "strangers": r.stats.strangers,
            "fell_back_to_no_options": r.stats.fell_back,
            "busy_poll": {
                "max_us": r.waits.max().as_micros(),
                "polled": r.waits.polled,
                "slept": r.waits.slept,
            },
            "window_nap": {
                "naps": r.naps.naps,
                "late_wakes": r.naps.late_wakes,
            },
            "negotiated": n,
        });
        let text = serde_json::to_string_pretty(&v)?;
        if data_on_stdout {
            crate::say!("{text}");
        } else {
            let mut out = io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    } else if io::stderr().is_terminal() || c.verbose {
        if r.stats.fell_back {
            crate::say!("note: the server refused or ignored our options; retried without them");
        }
        crate::say!(
            "{op} {remote}: {} bytes in {:.3} s ({mbps:.2} MB/s), {} retransmits; {}",
            r.stats.bytes,
            secs,
            r.stats.retransmits,
            opts.join(", ")
        );
    }
    Ok(Status::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(split_host("host:0").is_err());
        assert!(split_host("host:99999").is_err());
        assert!(split_host("[::1").is_err());
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

    /// Records the size of every write it is handed.
    #[derive(Default)]
    struct Sizes(Vec<usize>);

    impl Write for Sizes {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Feeds `blocks` blocks of `blksize` bytes, a lull after each, and
    /// returns the sizes of the writes (the last: what `finish` wrote).
    fn writes_at_lulls(blksize: usize, blocks: usize) -> Vec<usize> {
        let mut d = Deferred::new(Sizes::default());
        let block = vec![7u8; blksize];
        for _ in 0..blocks {
            d.write(&block).unwrap();
            d.idle(true).unwrap();
        }
        d.finish().unwrap().0
    }

    #[test]
    fn lulls_write_at_most_64_kib_at_a_time() {
        // 64 KiB blocks: each on its own, never two together.
        assert_eq!(writes_at_lulls(65464, 3), [65464; 3]);
        // Eight 8 KiB blocks fill 64 KiB exactly.
        assert_eq!(writes_at_lulls(8192, 17), [65536, 65536, 8192]);
        // 44 blocks of 1468 bytes; a 45th would pass 64 KiB.
        assert_eq!(writes_at_lulls(1468, 90), [64592, 64592, 2936]);
        // Nothing buffered, nothing written.
        assert_eq!(writes_at_lulls(512, 0), Vec::<usize>::new());
    }

    #[test]
    fn mid_window_writes_wait_for_the_backlog() {
        let mut d = Deferred::new(Sizes::default());
        let block = vec![0u8; 1468];
        for _ in 0..64 {
            d.write(&block).unwrap();
            d.idle(false).unwrap();
        }
        assert!(
            d.inner.0.is_empty(),
            "a window's blocks wait: {:?}",
            d.inner.0
        );
        d.idle(true).unwrap();
        assert_eq!(d.inner.0, [64 * 1468]);
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
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn zoned_ipv6_addresses_are_hosts_not_ports() {
        assert_eq!(split_host("fe80::1%lo").unwrap(), ("fe80::1%lo".into(), 69));
        assert_eq!(
            split_host("[fe80::1%lo]:6969").unwrap(),
            ("fe80::1%lo".into(), 6969)
        );
        let SocketAddr::V6(a) = resolve("fe80::1%lo", 69).unwrap() else {
            panic!("not IPv6")
        };
        assert_eq!(*a.ip(), "fe80::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(Some(a.scope_id()), crate::sys::interface_index("lo"));
        assert_eq!(a.port(), 69);
        let SocketAddr::V6(a) = resolve("fe80::1%7", 70).unwrap() else {
            panic!("not IPv6")
        };
        assert_eq!((a.scope_id(), a.port()), (7, 70));
        let e = resolve("fe80::1%no-such-if0", 69).unwrap_err().to_string();
        assert!(e.contains("no interface named 'no-such-if0'"), "{e}");
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
}
