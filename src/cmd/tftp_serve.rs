//! `nettool tftp serve`: the command line -> validated [`Settings`] (the
//! listen addresses, the user to become) -> [`serve::run`] -> a line (or
//! JSON record) per transfer, then the summary.

use std::fmt::Write as _;
use std::io::{self, IsTerminal as _, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde_json::json;

use super::{seconds, usage};
use crate::Status;
use crate::cli::TftpServeArgs;
use crate::output::time::{clock, iso};
use crate::sys::user::{Ids, is_root, user_ids};
use crate::tftp::serve::{
    self, Become, Direction, Event, Limits, Outcome, Record, Report, Settings,
};

/// The port TFTP servers listen on (RFC 1350).
const TFTP_PORT: u16 = 69;

/// # Errors
/// A usage error (exit status 2) for bad arguments or a failed setup.
pub fn run(a: &TftpServeArgs) -> Result<Status> {
    let mut s = settings(a, &|k| std::env::var(k).ok(), is_root())?;
    // The live line of running transfers: for a person at a terminal.
    s.live = !a.json
        && io::stdout().is_terminal()
        && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
    if let Ok(files) = crate::sys::raise_open_files()
        && files.soft < (s.max_transfers as u64) + 64
    {
        crate::say!(
            "note: {} files may be open at once (ulimit -n): fewer than --max-transfers {} allows; transfers beyond that are refused",
            files.soft,
            s.max_transfers
        );
    }
    let json = a.json;
    let mut out = io::stdout().lock();
    let mut status = false;
    let result = serve::run(&s, &mut |e| {
        if let Event::Active(list) = e {
            status = live_line(&mut out, list);
            return;
        }
        if status && !matches!(e, Event::Packet { .. }) {
            // The record takes the status line's place; the next tick
            // draws it again below.
            let _ = write!(out, "\r\x1b[K");
            status = false;
        }
        show(&mut out, json, &e);
    });
    match result {
        Ok(report) => {
            summary(&mut out, json, &report);
            Ok(Status::Success)
        }
        Err(e) => Err(usage(format!("tftp serve: {e}"))),
    }
}

/// The validated settings; `env` reads the environment (`SUDO_UID`...),
/// `root`: whether we run as root.
///
/// # Errors
/// A usage error naming the flag and what to do.
pub fn settings(
    a: &TftpServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
    root: bool,
) -> Result<Settings> {
    let listen = if a.listen.is_empty() {
        vec![SocketAddr::new(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            TFTP_PORT,
        )]
    } else {
        a.listen
            .iter()
            .map(|l| listen_addr(l))
            .collect::<Result<_>>()?
    };
    for (i, l) in listen.iter().enumerate() {
        if listen[..i].contains(l) {
            return Err(usage(format!("--listen {l} is given twice")));
        }
    }
    let max_size = a.max_size.as_deref().map(size).transpose()?;
    let timeout = seconds("--timeout", a.timeout, 0.01..=255.0, false)?;
    let grace = seconds("--grace", a.grace, 0.0..=3600.0, true)?;
    let become_user = become_user(a.user.as_deref(), env, root)?;
    Ok(Settings {
        dir: a.dir.clone(),
        listen,
        write: a.write,
        overwrite: a.overwrite,
        follow_symlinks: a.follow_symlinks,
        limits: Limits {
            max_blksize: a.max_blksize,
            max_windowsize: a.max_windowsize,
            options: !a.no_options,
            max_size,
            ..Limits::default()
        },
        timeout,
        retries: a.retries,
        max_transfers: a.max_transfers as usize,
        max_per_client: a.max_per_client as usize,
        grace,
        become_user,
        trace: a.verbose,
        live: false,
        busy_poll: Duration::from_micros(u64::from(a.busy_poll)),
    })
}

/// `ADDR:PORT`, `[IPV6]:PORT`, or a bare address (port 69). Literals
/// only: a server binds addresses it has, and a name would ask DNS.
fn listen_addr(s: &str) -> Result<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, TFTP_PORT));
    }
    Err(usage(format!(
        "--listen '{s}': give ADDR:PORT, [IPV6]:PORT or an address (port 69), as a literal (e.g. 0.0.0.0:69, [::]:6969)"
    )))
}

/// `64M`, `1G`, `4096`: bytes, with suffixes as powers of 1024.
fn size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((at, suffix)) if suffix.is_ascii_alphabetic() => {
            let m = match suffix.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => 0,
            };
            (&t[..at], m)
        }
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .filter(|_| mult != 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            usage(format!(
                "--max-size '{text}': give a number of bytes, with K, M, G or T for powers of 1024 (e.g. 64M)"
            ))
        })
}

/// Who the server becomes after binding: only when run as root, and
/// never root itself.
fn become_user(
    user: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    root: bool,
) -> Result<Option<Become>> {
    if !root {
        return match user {
            None => Ok(None),
            Some(u) => Err(usage(format!(
                "--user {u}: only root can switch users; start the server as root (or leave --user out to serve as yourself)"
            ))),
        };
    }
    let lookup = |name: &str| -> Result<Ids> {
        user_ids(name)
            .map_err(|e| usage(format!("cannot look up user {name}: {e}")))?
            .ok_or_else(|| usage(format!("--user {name}: no such user")))
    };
    let b = if let Some(name) = user {
        Become {
            name: name.to_string(),
            ids: lookup(name)?,
        }
    } else {
        let sudo = env("SUDO_UID")
            .and_then(|u| u.parse::<u32>().ok())
            .zip(env("SUDO_GID").and_then(|g| g.parse::<u32>().ok()))
            .filter(|(uid, _)| *uid != 0);
        match sudo {
            Some((uid, gid)) => Become {
                name: env("SUDO_USER").unwrap_or_else(|| uid.to_string()),
                ids: Ids { uid, gid },
            },
            None => Become {
                name: "nobody".into(),
                ids: lookup("nobody")?,
            },
        }
    };
    if b.ids.uid == 0 {
        return Err(usage(format!(
            "--user {}: the server never keeps root while serving; name an unprivileged user (e.g. --user nobody)",
            b.name
        )));
    }
    Ok(Some(b))
}

/// Redraw the status line: how many run, and the first few with their
/// progress. Returns whether a line is shown.
fn live_line(out: &mut impl Write, list: &[serve::Active]) -> bool {
    let mut line = String::new();
    if !list.is_empty() {
        let _ = write!(line, "{} running:", list.len());
        for a in list.iter().take(3) {
            let arrow = match a.direction {
                Direction::Read => "->",
                Direction::Write => "<-",
            };
            let name = crate::output::escape_control(&a.file);
            let _ = write!(line, " {name} {arrow} {}", a.client);
            match a.size {
                Some(size) if size > 0 => {
                    #[allow(clippy::cast_precision_loss, reason = "a percentage")]
                    let pct = a.bytes as f64 * 100.0 / size as f64;
                    let _ = write!(line, " {pct:.0}%");
                }
                _ => {
                    let _ = write!(line, " {} KiB", a.bytes >> 10);
                }
            }
        }
        if list.len() > 3 {
            line.push_str(" ...");
        }
    }
    let width = crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w).max(20));
    let cut: String = line.chars().take(width - 1).collect();
    let _ = write!(out, "\r\x1b[K{cut}");
    let _ = out.flush();
    !list.is_empty()
}

fn show(out: &mut impl Write, json: bool, e: &Event) {
    // `--verbose`: every packet on stderr, in either format.
    if let Event::Packet { sent, peer, bytes } = e {
        let arrow = if *sent { "->" } else { "<-" };
        crate::say!("{arrow} {peer} {}", crate::tftp::transport::describe(bytes));
        return;
    }
    // A closed stdout: the server goes on serving; main maps a final
    // write error to exit 0.
    let _ = if json {
        show_json(out, e)
    } else {
        show_text(out, e)
    };
}

fn show_text(out: &mut impl Write, e: &Event) -> io::Result<()> {
    match e {
        Event::Listening { addr, dir, write } => {
            let how = if *write {
                "uploads accepted"
            } else {
                "read-only"
            };
            writeln!(
                out,
                "listening on {addr} (serving {}, {how})",
                dir.display()
            )?;
        }
        Event::Became { user, ids } => {
            writeln!(out, "running as {user} (uid {}, gid {})", ids.uid, ids.gid)?;
        }
        Event::Transfer(r) => writeln!(out, "{}", line(r))?,
        Event::Packet { .. } | Event::Active(_) => {}
        Event::Stopping { active, grace } => {
            writeln!(
                out,
                "stopping: no new transfers; {active} running may take up to {} s to finish",
                grace.as_secs_f64()
            )?;
        }
    }
    out.flush()
}

fn show_json(out: &mut impl Write, e: &Event) -> io::Result<()> {
    const SCHEMA: &str = "nettool.tftp.serve/1";
    let v = match e {
        Event::Listening { addr, dir, write } => json!({
            "schema": SCHEMA, "event": "listening", "address": addr.to_string(),
            "dir": dir.display().to_string(), "write": write,
        }),
        Event::Became { user, ids } => json!({
            "schema": SCHEMA, "event": "user", "user": user, "uid": ids.uid, "gid": ids.gid,
        }),
        Event::Transfer(r) => {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("schema".into(), SCHEMA.into());
                o.insert("event".into(), "transfer".into());
                o.insert("time".into(), iso(r.at).into());
                if let Some(opts) = o.get_mut("options").and_then(|x| x.as_object_mut()) {
                    opts.remove("oack");
                }
            }
            v
        }
        Event::Packet { .. } | Event::Active(_) => return Ok(()),
        Event::Stopping { active, grace } => json!({
            "schema": SCHEMA, "event": "stopping", "active": active, "grace_seconds": grace.as_secs_f64(),
        }),
    };
    writeln!(out, "{v}")?;
    out.flush()
}

/// `12:00:01.234 127.0.0.1:51000 read fw.bin: ok, 1048576 bytes in
/// 0.120 s (8.33 MiB/s), blksize 1468, tsize`.
pub fn line(r: &Record) -> String {
    let dir = match r.direction {
        Direction::Read => "read",
        Direction::Write => "write",
    };
    let name = crate::output::escape_control(&r.file);
    let head = format!("{} {} {dir} {name}", clock(r.at), r.client);
    let why = r.error.as_deref().unwrap_or("");
    match r.outcome {
        Outcome::Refused => {
            let code = r.error_code.unwrap_or(0);
            format!("{head}: refused with ERROR {code}: {why}")
        }
        Outcome::Ok => format!("{head}: ok, {}", moved(r)),
        Outcome::Failed => format!("{head}: FAILED after {}: {why}", moved(r)),
    }
}

/// Bytes, time, rate and the options agreed.
fn moved(r: &Record) -> String {
    let rate = if r.seconds > 0.0 {
        #[allow(clippy::cast_precision_loss, reason = "a rate to 3 digits")]
        let mib = r.bytes as f64 / r.seconds / f64::from(1u32 << 20);
        format!(" ({mib:.2} MiB/s)")
    } else {
        String::new()
    };
    let mut s = format!("{} bytes in {:.3} s{rate}", r.bytes, r.seconds);
    if r.mode == "netascii" {
        s.push_str(", netascii");
    }
    match r.options {
        Some(o) if o.oack => {
            let _ = write!(s, ", blksize {}", o.blksize);
            if o.windowsize > 1 {
                let _ = write!(s, ", windowsize {}", o.windowsize);
            }
            if let Some(t) = o.timeout {
                let _ = write!(s, ", timeout {t}");
            }
            if o.tsize.is_some() {
                s.push_str(", tsize");
            }
        }
        _ => s.push_str(", no options"),
    }
    if r.retransmits > 0 {
        let _ = write!(s, ", {} retransmits", r.retransmits);
    }
    s
}

fn summary(out: &mut impl Write, json: bool, r: &Report) {
    let _ = if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("schema".into(), "nettool.tftp.serve/1".into());
            o.insert("event".into(), "summary".into());
            o.insert("time".into(), iso(SystemTime::now()).into());
        }
        writeln!(out, "{v}")
    } else {
        let mut line = format!(
            "served: {} ok, {} failed, {} refused; {} bytes sent, {} received",
            r.ok, r.failed, r.refused, r.bytes_sent, r.bytes_received
        );
        if r.cut_short > 0 {
            let _ = write!(line, "; {} cut short by the end of the grace", r.cut_short);
        }
        if r.refusals_not_logged > 0 {
            let _ = write!(
                line,
                "; {} refusals not logged (over 20 a second)",
                r.refusals_not_logged
            );
        }
        writeln!(out, "{line}")
    };
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, TftpOp};
    use clap::Parser as _;
    use std::time::Duration;

    fn args(argv: &str) -> TftpServeArgs {
        let cli = Cli::try_parse_from(format!("nettool tftp serve {argv}").split_whitespace())
            .unwrap_or_else(|e| panic!("{argv}: {e}"));
        match cli.command {
            Command::Tftp(t) => match t.op {
                TftpOp::Serve(s) => s,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_are_read_only_dual_stack_on_69() {
        let s = settings(&args(""), &no_env, false).unwrap();
        assert_eq!(s.listen, vec!["[::]:69".parse().unwrap()]);
        assert!(!s.write && !s.overwrite && !s.follow_symlinks);
        assert_eq!(s.dir, std::path::PathBuf::from("."));
        assert_eq!(s.limits, Limits::default());
        assert_eq!((s.max_transfers, s.max_per_client), (512, 64));
        assert_eq!(s.grace, Duration::from_secs(5));
        assert_eq!(s.become_user, None);
    }

    #[test]
    fn listen_addresses_and_sizes() {
        let s = settings(
            &args("/srv -l 127.0.0.1:6969 --listen [::1] --write --max-size 64M"),
            &no_env,
            false,
        )
        .unwrap();
        assert_eq!(
            s.listen,
            vec![
                "127.0.0.1:6969".parse().unwrap(),
                "[::1]:69".parse().unwrap()
            ]
        );
        assert_eq!(s.limits.max_size, Some(64 << 20));
        for bad in [
            "-l localhost:69",
            "-l 1.2.3:69",
            "--write --max-size 12Q",
            "-l 127.0.0.1:69 -l 127.0.0.1:69",
        ] {
            let e = settings(&args(bad), &no_env, false)
                .unwrap_err()
                .to_string();
            assert!(!e.contains('\n'), "{bad}: one line: {e}");
        }
        assert!(Cli::try_parse_from("nettool tftp serve --overwrite".split_whitespace()).is_err());
    }

    #[test]
    fn root_drops_to_the_named_the_sudo_or_the_nobody_user_never_root() {
        let nobody = user_ids("nobody").unwrap().expect("nobody exists");
        let s = settings(&args(""), &no_env, true).unwrap();
        assert_eq!(s.become_user.unwrap().ids, nobody);
        let sudo = |k: &str| match k {
            "SUDO_UID" => Some("1234".to_string()),
            "SUDO_GID" => Some("99".to_string()),
            "SUDO_USER" => Some("alice".to_string()),
            _ => None,
        };
        let b = settings(&args(""), &sudo, true)
            .unwrap()
            .become_user
            .unwrap();
        assert_eq!(
            (b.name.as_str(), b.ids),
            ("alice", Ids { uid: 1234, gid: 99 })
        );
        let b = settings(&args("--user nobody"), &sudo, true)
            .unwrap()
            .become_user
            .unwrap();
        assert_eq!(b.ids, nobody, "--user wins over sudo");
        assert!(settings(&args("--user root"), &no_env, true).is_err());
        assert!(settings(&args("--user no-such-user-x"), &no_env, true).is_err());
        assert!(
            settings(&args("--user nobody"), &no_env, false).is_err(),
            "not root"
        );
    }

    #[test]
    fn a_transfer_line_says_what_moved_and_how() {
        let r = Record {
            at: SystemTime::now(),
            client: "127.0.0.1:51000".parse().unwrap(),
            file: "fw.bin".into(),
            direction: Direction::Read,
            mode: "octet",
            bytes: 1 << 20,
            seconds: 0.5,
            options: None,
            outcome: Outcome::Ok,
            error: None,
            error_code: None,
            retransmits: 0,
        };
        let l = line(&r);
        assert!(
            l.ends_with(
                "127.0.0.1:51000 read fw.bin: ok, 1048576 bytes in 0.500 s (2.00 MiB/s), no options"
            ),
            "{l}"
        );
        let refused = Record {
            outcome: Outcome::Refused,
            error: Some("file not found".into()),
            error_code: Some(1),
            file: "a\nb".into(),
            ..r
        };
        assert!(line(&refused).ends_with("read a\\nb: refused with ERROR 1: file not found"));
    }
}
