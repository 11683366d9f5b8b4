//! `nettool sockstat`: flags -> [`Settings`] -> [`crate::sockstat::run`] ->
//! the table, JSON or the summary (`output::sockstat`), or with
//! `--prometheus`/`--textfile` metrics (`output::prometheus::sockstat`).

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::Status;
use crate::cli::{MetricsArgs, SockstatArgs};
use crate::output::{self, Out};
use crate::sockstat::display::Display;
use crate::sockstat::filter::{self, RowFilter, StateSel};
use crate::sockstat::names::{Names, Users};
use crate::sockstat::netns::{Scope, Target};
use crate::sockstat::owner::OwnerMap;
use crate::sockstat::{self as ss, Event, Query, Report, Tables};

use super::{seconds, usage};

/// Validated settings: the library's, and how to show its report.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per flag, as --json -n -e -K are"
)]
pub struct Settings {
    pub sockstat: ss::Settings,
    /// `--json`: JSON instead of the table or the summary text.
    pub json: bool,
    /// `-n`: addresses and ports as numbers, uids as numbers.
    pub numeric: bool,
    /// `-e`: the User, Inode and Timer columns.
    pub extended: bool,
    /// `--dns`: reverse lookups, all of them within this time.
    pub dns: Option<Duration>,
    /// `-K`: close the sockets `sockstat` selects ([`ss::kill()`]) and show
    /// those closed, instead of listing.
    pub kill: bool,
    /// `--watch`: follow changes instead of listing once.
    pub watch: Option<ss::watch::Settings>,
    /// `--lines`: with `--watch` on a terminal, lines rather than the live
    /// view.
    pub lines: bool,
}

/// The proc root: `PROC_ROOT` as ss honours it, else /proc.
fn proc_root() -> PathBuf {
    std::env::var_os("PROC_ROOT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/proc"), PathBuf::from)
}

/// The flags as settings. `services` names ports for `--sport ssh`;
/// `proc_root` is where /proc is (see `proc_root`).
///
/// # Errors
/// A usage error (exit 2) of one line naming the flag and the valid forms.
pub fn settings(
    a: &SockstatArgs,
    services: &dyn Fn(&str) -> Option<u16>,
    proc_root: PathBuf,
) -> Result<Settings> {
    metrics_checks(a)?;
    let any_kind = a.tcp || a.udp || a.raw || a.unix;
    let tables = Tables {
        tcp: a.tcp || !any_kind,
        udp: a.udp || !any_kind,
        raw: a.raw || !any_kind,
        // -4/-6 ask for internet sockets only, as in netstat.
        unix: a.unix || (!any_kind && !a.ipv4 && !a.ipv6),
        v4: !a.ipv6,
        v6: !a.ipv4,
    };
    let tables = kill_tables(a, tables)?;
    let states = if !a.state.is_empty() {
        StateSel::Set(filter::parse_states(&a.state).map_err(usage)?)
    } else if a.all || a.summary {
        StateSel::All
    } else if a.listening {
        StateSel::Listening
    } else {
        StateSel::NonListening
    };
    let port = |s: &Option<String>, flag: &str| -> Result<_> {
        s.as_deref()
            .map(|v| filter::parse_port(v, services).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
    };
    let addr = |s: &Option<String>, flag: &str| -> Result<_> {
        s.as_deref()
            .map(|v| filter::parse_addr(v).map_err(|e| usage(format!("{flag}: {e}"))))
            .transpose()
    };
    let rows = RowFilter {
        sport: port(&a.sport, "--sport")?,
        dport: port(&a.dport, "--dport")?,
        src: addr(&a.src, "--src")?,
        dst: addr(&a.dst, "--dst")?,
    };
    let dns = seconds("--dns-timeout", a.dns_timeout, 0.001..=3600.0, false)?;
    if a.interval.is_some() && !a.summary && !a.watch && !a.diagnose {
        return Err(usage("--interval goes with -s, --watch or --diagnose"));
    }
    if a.diagnose {
        diagnose_checks(a, &proc_root)?;
    }
    let interval = a
        .interval
        .filter(|_| !a.watch)
        .map(|v| seconds("--interval", v, 0.01..=3600.0, false))
        .transpose()?;
    let netns = netns_scope(a, &proc_root)?;
    let watch = if a.watch {
        Some(watch_settings(a, states, &rows, &proc_root, &netns)?)
    } else {
        None
    };
    if a.lines && !a.watch {
        return Err(usage(
            "--lines goes with --watch (it prints one line per event instead of the live view)",
        ));
    }
    let extensions = extensions(a, &proc_root)?;
    Ok(Settings {
        sockstat: ss::Settings {
            query: Query {
                tables,
                states,
                source: a.source,
                proc_root,
                extensions,
            },
            rows,
            summary: a.summary,
            processes: a.processes,
            interval,
            netns,
            diagnose: a.diagnose,
        },
        json: a.json,
        numeric: a.numeric,
        extended: a.extended,
        dns: a.dns.then_some(dns),
        kill: a.kill,
        watch,
        lines: a.lines,
    })
}

/// What `--prometheus`/`--textfile` cannot go with: the modes that do
/// not end in one report to count (`--watch`, `-K`), and the flags that
/// only change how rows are shown, which metrics never show.
fn metrics_checks(a: &SockstatArgs) -> Result<()> {
    if !a.metrics.wanted() {
        return Ok(());
    }
    let flag = if a.metrics.prometheus {
        "--prometheus"
    } else {
        "--textfile"
    };
    let refuse = if a.watch {
        "takes one reading and --watch follows changes until stopped: drop --watch (run nettool from a timer instead)"
    } else if a.kill {
        "counts sockets and -K closes them: give one or the other"
    } else if a.info || a.memory {
        "counts sockets, not their internals: drop -i/-m"
    } else if a.dns {
        "labels addresses as numbers: drop --dns"
    } else if a.extended {
        "shows no columns: drop -e"
    } else {
        return Ok(());
    };
    Err(usage(format!("{flag} {refuse}")))
}

/// What `--diagnose` cannot go with: it reads TCP and UDP sockets with
/// their `tcp_info` from netlink, and the live kernel's counters.
fn diagnose_checks(a: &SockstatArgs, proc_root: &Path) -> Result<()> {
    if a.unix || a.raw {
        return Err(usage(
            "--diagnose looks at TCP and UDP sockets: drop -x/-w (or give -t/-u)",
        ));
    }
    if a.source == ss::SourceKind::Proc {
        return Err(usage(
            "--diagnose reads tcp_info and socket memory from netlink sock_diag, not /proc: drop --source proc",
        ));
    }
    if proc_root != Path::new("/proc") {
        return Err(usage(format!(
            "--diagnose reads the live kernel, not PROC_ROOT {}: unset PROC_ROOT",
            proc_root.display()
        )));
    }
    Ok(())
}

/// `-N` and `--all-netns`. Both read the live kernel through the real
/// /proc (the namespaces' files and `/proc/thread-self/net`), so a
/// `PROC_ROOT` fixture cannot go with them.
fn netns_scope(a: &SockstatArgs, proc_root: &Path) -> Result<Scope> {
    let scope = match &a.netns {
        _ if a.all_netns => Scope::All,
        Some(arg) => Scope::One(Target::parse(arg).map_err(usage)?),
        None => Scope::Own,
    };
    if scope != Scope::Own && proc_root != Path::new("/proc") {
        return Err(usage(format!(
            "{} reads the live kernel's namespaces, not PROC_ROOT {}: unset PROC_ROOT",
            if a.all_netns { "--all-netns" } else { "-N" },
            proc_root.display()
        )));
    }
    Ok(scope)
}

pub fn run(a: &SockstatArgs) -> Result<Status> {
    let etc = Path::new("/etc");
    // Host names only for a table that shows them; services always, for
    // `--sport ssh`.
    let mut names = if a.numeric || a.json {
        Names::load_services(etc)
    } else {
        Names::load(etc)
    };
    let s = settings(a, &|name| names.port_of(name), proc_root())?;
    if let Some(w) = &s.watch {
        if !s.json && !s.lines && std::io::stdout().is_terminal() {
            return watch_live(w);
        }
        return watch(w, s.json);
    }
    check_proc_root(&s.sockstat)?;
    if s.kill {
        return kill(&s, &names, etc);
    }
    let report = match ss::run(&s.sockstat, &mut |e| match e {
        // Notes name namespaces, whose labels come from anyone on the host.
        Event::Warning(w) => crate::say!("nettool: {}", output::escape_control(&w)),
    }) {
        // Ctrl-C during --interval's wait: nothing to show yet; exit as
        // the signal's default would.
        Err(ss::Error::Interrupted { signal }) => std::process::exit(128 + signal),
        r => r.map_err(setup_error)?,
    };
    if a.metrics.wanted() {
        return metrics(&s, &a.metrics, report);
    }
    let mut out = Out::stdout();
    let listing = match &report {
        Report::Summary(summary) => {
            if s.json {
                output::sockstat::write_json(&mut out, &report)?;
            } else {
                output::sockstat::write_summary(&mut out, summary)?;
            }
            out.flush()?;
            return Ok(Status::Success);
        }
        Report::Diagnosis(d) => {
            if s.json {
                output::json(&mut out, &report)?;
            } else {
                output::diagnose::write_text(&mut out, d)?;
            }
            out.flush()?;
            return Ok(if d.findings.is_empty() {
                Status::Success
            } else {
                Status::NotFound
            });
        }
        Report::Sockets(listing) => listing,
    };
    if listing.uninspected > 0 {
        crate::say!(
            "nettool: note: {} processes could not be inspected; their sockets show '-' as owner (run as root to see them all)",
            listing.uninspected
        );
    }
    if let Some(budget) = s.dns {
        let ips: HashSet<_> = listing
            .sockets
            .iter()
            .flat_map(|s| [s.local.ip(), s.remote.ip()])
            .flatten()
            .collect();
        let pending = names.resolve_dns(ips.into_iter().collect(), budget);
        if pending > 0 {
            crate::say!(
                "nettool: note: {pending} DNS lookups did not answer within {}s; those addresses stay numeric",
                a.dns_timeout
            );
        }
    }
    if s.json {
        output::sockstat::write_json(&mut out, &report)?;
    } else {
        let display = if s.numeric {
            Display::numeric()
        } else {
            Display::named(&names)
        };
        let users = (s.extended && !s.numeric).then(|| Users::load(etc));
        let table = output::sockstat::table(listing, display, s.extended, users.as_ref());
        let tty = out.tty;
        let ext = listing.extensions;
        if ext.any() {
            table.write_with_details(&mut out, tty, &mut |row, b| {
                output::sockstat::write_internals(b, &listing.sockets[row], ext);
            })?;
        } else {
            table.write(&mut out, tty)?;
        }
    }
    out.flush()?;
    Ok(if listing.sockets.is_empty() {
        Status::NotFound
    } else {
        Status::Success
    })
}

/// `--prometheus`/`--textfile`: the report as metrics
/// (`output::prometheus::sockstat`), the exit status as without them.
fn metrics(s: &Settings, m: &MetricsArgs, report: Report) -> Result<Status> {
    use crate::output::prometheus::sockstat as prom;
    let (e, status) = match report {
        Report::Sockets(mut listing) => {
            if listing.owners.is_none() {
                listing.owners = Some(close_wait_owners(
                    &s.sockstat.query.proc_root,
                    &listing.sockets,
                )?);
            }
            let sel = prom::Selection {
                tables: s.sockstat.query.tables,
                states: s.sockstat.query.states,
            };
            let status = if listing.sockets.is_empty() {
                Status::NotFound
            } else {
                Status::Success
            };
            (prom::listing(&listing, &sel)?, status)
        }
        Report::Summary(summary) => (
            prom::summary(&summary, s.sockstat.query.tables, &s.sockstat.netns)?,
            Status::Success,
        ),
        Report::Diagnosis(d) => {
            let status = if d.findings.is_empty() {
                Status::Success
            } else {
                Status::NotFound
            };
            (prom::diagnosis(&d)?, status)
        }
    };
    super::metrics::emit(m, "sockstat", e, true)?;
    Ok(status)
}

/// The holders of the TCP sockets in `CLOSE_WAIT` among `sockets`, for
/// `nettool_sockstat_close_wait_sockets` without `-p`: the fd scan looks
/// for those inodes only, and is skipped when there are none.
fn close_wait_owners(root: &Path, sockets: &[ss::Socket]) -> Result<OwnerMap> {
    let wanted: HashSet<u64> = sockets
        .iter()
        .filter(|s| s.proto == ss::Proto::Tcp && s.state == ss::TcpState::CloseWait)
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    ss::owner::scan(root, &wanted).map_err(|e| setup_error(ss::Error::Owners(e)))
}

/// A proc root that will be read must be a directory: a missing one would
/// otherwise read as a machine without sockets (exit 1, no word).
fn check_proc_root(s: &ss::Settings) -> Result<()> {
    let root = &s.query.proc_root;
    let default = root == Path::new("/proc");
    let used = !default || s.query.source == ss::SourceKind::Proc || s.summary || s.processes;
    if !used {
        return Ok(());
    }
    if root.is_dir() {
        if root.join("net").is_dir() {
            return Ok(());
        }
        // An empty directory, or PROC_ROOT=/proc/net: it would list nothing.
        return Err(usage(format!(
            "{} has no net/ directory: point {} at a proc tree (a directory with net/tcp, net/unix, ...){}",
            root.display(),
            if default { "/proc" } else { "PROC_ROOT" },
            if default { "" } else { " or unset it" }
        )));
    }
    let what = if root.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    Err(usage(if default {
        format!("/proc {what}: mount procfs there, or use --source netlink without -p and -s")
    } else {
        format!(
            "PROC_ROOT {} {what}: point it at a proc tree (a directory with net/tcp, net/unix, ...) or unset it",
            root.display()
        )
    }))
}

/// `-i`/`-m`: attributes of netlink `sock_diag`, which `--source proc`
/// (or `PROC_ROOT`, which implies it) cannot give.
fn extensions(a: &SockstatArgs, proc_root: &Path) -> Result<ss::Extensions> {
    let ext = ss::Extensions {
        info: a.info,
        memory: a.memory,
    };
    let flag = match (a.info, a.memory) {
        (true, true) => "-i/--info and -m/--memory need",
        (true, false) => "-i/--info needs",
        (false, true) => "-m/--memory needs",
        (false, false) => return Ok(ext),
    };
    match a.source {
        ss::SourceKind::Proc => Err(usage(format!(
            "{flag} netlink sock_diag: drop --source proc"
        ))),
        ss::SourceKind::Auto if proc_root != Path::new("/proc") => Err(usage(format!(
            "{flag} netlink sock_diag, which PROC_ROOT turns off: unset PROC_ROOT"
        ))),
        _ => Ok(ext),
    }
}

/// Setup problems (a table we may not read, a table that is not a file)
/// exit 2 with one line saying what to do; other failures stay errors.
fn setup_error(e: ss::Error) -> anyhow::Error {
    match &e {
        ss::Error::Read { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            usage(format!(
                "{e}: run as root, or as a user who may read the socket tables"
            ))
        }
        ss::Error::NotATable { .. }
        | ss::Error::NetnsUnknown { .. }
        | ss::Error::NetnsNoProcess { .. }
        | ss::Error::NotANetns { .. }
        | ss::Error::NetnsDenied { .. }
        | ss::Error::Netns { .. }
        | ss::Error::WatchNeedsAdmin => usage(e.to_string()),
        _ => e.into(),
    }
}

/// What `-K` closes: the TCP and UDP tables the other flags select (the
/// kernel cannot close UNIX sockets, and raw ones are not supported), and
/// only with a filter that names the sockets. `tables` passes through
/// unchanged without `-K`.
fn kill_tables(a: &SockstatArgs, tables: Tables) -> Result<Tables> {
    if !a.kill {
        return Ok(tables);
    }
    let refuse = if a.summary {
        "-K closes sockets and -s only counts them: give one or the other"
    } else if a.all_netns {
        // One namespace at a time: a failure in the tenth would stop the
        // scan with nine namespaces' closed sockets unreported.
        "-K closes sockets in one network namespace at a time: give -N NAME|PATH|PID instead of --all-netns"
    } else if a.unix {
        "-K cannot close UNIX sockets (the kernel has no SOCK_DESTROY for them): drop -x"
    } else if a.raw {
        "-K closes TCP and UDP sockets only: drop -w"
    } else if a.source == ss::SourceKind::Proc {
        "-K finds sockets through netlink sock_diag, the only way to name them to the kernel: drop --source proc"
    } else if a.dns {
        "-K shows the sockets it closed with numeric addresses or names from /etc/hosts: drop --dns"
    } else if a.info || a.memory {
        "-K shows the sockets it closed without their internals: drop -i/-m (list them first without -K)"
    } else if a.state.is_empty()
        && a.sport.is_none()
        && a.dport.is_none()
        && a.src.is_none()
        && a.dst.is_none()
    {
        "-K closes only what a filter names: give --state, --sport, --dport, --src or --dst \
         (the same command without -K lists what it would close)"
    } else {
        return Ok(Tables {
            raw: false,
            unix: false,
            ..tables
        });
    };
    Err(usage(refuse))
}

/// `-K`: close, then show what was closed as the listing shows sockets.
/// Exit 0 when at least one socket was closed, 1 when none was.
fn kill(s: &Settings, names: &Names, etc: &Path) -> Result<Status> {
    let report = ss::kill(&s.sockstat, &mut |e| match e {
        // Notes name namespaces, whose labels come from anyone on the host.
        Event::Warning(w) => crate::say!("nettool: {}", output::escape_control(&w)),
    })
    .map_err(kill_error)?;
    let closed = &report.closed;
    if closed.uninspected > 0 {
        crate::say!(
            "nettool: note: {} processes could not be inspected; their sockets show '-' as owner (run as root to see them all)",
            closed.uninspected
        );
    }
    let mut out = Out::stdout();
    if s.json {
        output::sockstat::write_kill_json(&mut out, &report)?;
    } else if !closed.sockets.is_empty() {
        let display = if s.numeric {
            Display::numeric()
        } else {
            Display::named(names)
        };
        let users = (s.extended && !s.numeric).then(|| Users::load(etc));
        let table = output::sockstat::table(closed, display, s.extended, users.as_ref());
        let tty = out.tty;
        table.write(&mut out, tty)?;
    }
    out.flush()?;
    if !closed.sockets.is_empty() {
        return Ok(Status::Success);
    }
    if !s.json && report.vanished.is_empty() && report.failed.is_empty() {
        crate::say!("nettool: no socket matched: nothing closed");
    }
    Ok(Status::NotFound)
}

/// `-K`'s setup problems (no privilege, no kernel support) exit 2 with
/// their one line; the rest as a listing's.
fn kill_error(e: ss::Error) -> anyhow::Error {
    match e {
        ss::Error::KillNeedsCapNetAdmin | ss::Error::KillUnsupported | ss::Error::KillAllNetns => {
            usage(e.to_string())
        }
        ss::Error::NetlinkUnsupported { table } => usage(format!(
            "-K needs netlink sock_diag for {table}, which this kernel lacks (CONFIG_INET_DIAG): nothing was closed"
        )),
        e => setup_error(e),
    }
}

/// `--watch`'s settings: TCP and UDP only, in the namespaces `netns` names.
fn watch_settings(
    a: &SockstatArgs,
    states: StateSel,
    rows: &RowFilter,
    proc_root: &Path,
    netns: &Scope,
) -> Result<ss::watch::Settings> {
    if a.unix || a.raw {
        return Err(usage(
            "--watch follows TCP and UDP sockets only: drop -x/-w (or give -t/-u)",
        ));
    }
    if a.source == ss::SourceKind::Proc {
        return Err(usage(
            "--watch reads netlink sock_diag, not /proc: drop --source proc",
        ));
    }
    let interval = seconds(
        "--interval",
        a.interval.unwrap_or(0.5),
        0.01..=3600.0,
        false,
    )?;
    let count = match a.count {
        None => None,
        Some(n) if n >= 1 => Some(n.unsigned_abs()),
        Some(n) => {
            return Err(usage(format!(
                "--count {n}: give the number of events to stop after, 1 or more"
            )));
        }
    };
    let duration = a
        .duration
        .map(|v| seconds("--duration", v, 0.01..=31_536_000.0, false))
        .transpose()?;
    let both = !a.tcp && !a.udp;
    Ok(ss::watch::Settings {
        tables: Tables {
            tcp: a.tcp || both,
            udp: a.udp || both,
            raw: false,
            unix: false,
            v4: !a.ipv6,
            v6: !a.ipv4,
        },
        states,
        rows: rows.clone(),
        processes: a.processes,
        proc_root: proc_root.to_path_buf(),
        netns: netns.clone(),
        interval,
        count,
        duration,
    })
}

/// `--watch`: events as lines on stdout (text or JSON) as they come; the
/// summary on stderr (text) or as a last JSON line.
fn watch(w: &ss::watch::Settings, json: bool) -> Result<Status> {
    let mut out = Out::stdout();
    let mut failed: Option<std::io::Error> = None;
    let report = ss::watch::run(
        w,
        &mut |ev| {
            let r = if json {
                output::watch::write_json_event(&mut out, &ev, w.processes)
            } else {
                writeln!(out, "{}", output::watch::line(&ev))
            };
            match r.and_then(|()| out.flush()) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
        // Notes name namespaces, whose labels come from anyone on the host.
        &mut |w| crate::say!("nettool: {}", output::escape_control(&w)),
    )
    .map_err(setup_error)?;
    if let Some(e) = failed {
        // Broken pipe (`| head`) is how a reader says it has enough.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(Status::Success);
        }
        return Err(e.into());
    }
    if json {
        output::watch::write_json_summary(&mut out, &report)?;
    } else {
        crate::say!("nettool: {}", output::watch::summary_line(&report));
    }
    out.flush()?;
    if report.stopped_by == "signal" {
        std::process::exit(130);
    }
    Ok(Status::Success)
}

/// `--watch` on a terminal: the live view (`output::live`) redrawn after
/// each dump until `q`, Ctrl-C, SIGTERM, `--count` or `--duration`; then
/// the terminal as it was and the summary line on stderr. Exit 130 when
/// interrupted, as with lines.
fn watch_live(w: &ss::watch::Settings) -> Result<Status> {
    let stdin = std::io::stdin();
    let keys = stdin.is_terminal();
    // Caught before the screen changes (the watch catches them again): a
    // SIGTERM from now on ends the watch, which puts the terminal back.
    let _ = crate::sys::catch_termination();
    let mut view = LiveView {
        w,
        screen: output::terminal::Screen::enter(keys)?,
        recent: output::live::Recent::default(),
        stdin,
        keys,
        start: std::time::Instant::now(),
        failed: None,
    };
    // Notes (a namespace that cannot be entered) would tear the screen:
    // they are printed once it is put back.
    let mut notes: Vec<String> = Vec::new();
    let result = ss::watch::observe(w, &mut view, &mut |n| {
        if !notes.contains(&n) {
            notes.push(n);
        }
    });
    drop(view.screen);
    for n in &notes {
        crate::say!("nettool: {}", output::escape_control(n));
    }
    let report = result.map_err(setup_error)?;
    if let Some(e) = view.failed {
        return Err(e.into());
    }
    crate::say!("nettool: {}", output::watch::summary_line(&report));
    if report.stopped_by == "signal" {
        std::process::exit(130);
    }
    Ok(Status::Success)
}

/// The live view's side of the watch: events kept, a redraw per dump,
/// keys read in the watch's own wait.
struct LiveView<'a> {
    w: &'a ss::watch::Settings,
    screen: output::terminal::Screen,
    recent: output::live::Recent,
    stdin: std::io::Stdin,
    /// Keys are read (stdin is the terminal, and has not hung up).
    keys: bool,
    start: std::time::Instant,
    /// Drawing failed with this; the watch stopped.
    failed: Option<std::io::Error>,
}

impl ss::watch::Observer for LiveView<'_> {
    fn event(&mut self, ev: ss::watch::Event) -> ControlFlow<()> {
        self.recent.push(ev);
        ControlFlow::Continue(())
    }

    fn tick(
        &mut self,
        sockets: &ss::watch::Snapshot,
        report: &ss::watch::Report,
        names: &ss::watch::Names<'_>,
    ) -> ControlFlow<()> {
        let w = self.w;
        let sockets: Vec<(u64, &ss::watch::Entry)> = sockets
            .iter()
            .filter(|(_, e)| ss::watch::shows(e, w.states, &w.rows))
            .map(|(&c, e)| (c, e))
            .collect();
        // -N / --all-netns: a Netns column, labelled as the event lines are.
        let netns: Option<std::collections::HashMap<u64, String>> =
            (w.netns != Scope::Own).then(|| {
                sockets
                    .iter()
                    .map(|(_, e)| e.netns)
                    .collect::<HashSet<u64>>()
                    .into_iter()
                    .map(|ns| (ns, names(ns).map_or_else(|| ns.to_string(), |n| n.label())))
                    .collect()
            });
        let view = output::live::View {
            sockets,
            recent: &self.recent,
            report,
            interval: w.interval,
            processes: w.processes,
            netns: netns.as_ref(),
            quit_hint: if self.keys {
                "q or Ctrl-C quits"
            } else {
                "Ctrl-C quits"
            },
        };
        let now_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let size = self.screen.size();
        let lines = output::live::render(view, size, now_ms);
        match self.screen.draw(&lines, size) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    fn input_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd as _;
        self.keys.then(|| self.stdin.as_fd())
    }

    fn input(&mut self) -> ControlFlow<&'static str> {
        use output::terminal::Keys;
        match output::terminal::read_keys() {
            Keys::Nothing => ControlFlow::Continue(()),
            Keys::Quit => ControlFlow::Break("quit"),
            Keys::Interrupt => ControlFlow::Break("signal"),
            Keys::Closed => {
                self.keys = false;
                ControlFlow::Continue(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Cidr;
    use crate::cli::{Cli, Command};
    use crate::sockstat::StateSet;
    use crate::sockstat::filter::{AddrSpec, PortRange};
    use crate::sockstat::model::TcpState;
    use clap::Parser;

    fn services(name: &str) -> Option<u16> {
        (name == "ssh").then_some(22)
    }

    fn parse(argv: &[&str]) -> Result<Settings> {
        let cli = Cli::try_parse_from(["nettool", "sockstat"].iter().chain(argv))
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let Command::Sockstat(a) = cli.command else {
            unreachable!()
        };
        settings(&a, &services, PathBuf::from("/proc"))
    }

    /// `nettool sockstat` with no flags: every table, non-listening rows.
    fn plain() -> Settings {
        Settings {
            sockstat: ss::Settings {
                query: Query {
                    tables: Tables::ALL,
                    states: StateSel::NonListening,
                    source: ss::SourceKind::Auto,
                    proc_root: PathBuf::from("/proc"),
                    extensions: ss::Extensions::NONE,
                },
                rows: RowFilter::default(),
                summary: false,
                processes: false,
                interval: None,
                netns: Scope::Own,
                diagnose: false,
            },
            json: false,
            numeric: false,
            extended: false,
            dns: None,
            kill: false,
            watch: None,
            lines: false,
        }
    }

    const TCP_ONLY: Tables = Tables {
        tcp: true,
        udp: false,
        raw: false,
        unix: false,
        v4: true,
        v6: true,
    };

    #[test]
    fn no_flags() {
        assert_eq!(parse(&[]).unwrap(), plain());
    }

    #[test]
    fn tlnp() {
        let mut want = plain();
        want.sockstat.query.tables = TCP_ONLY;
        want.sockstat.query.states = StateSel::Listening;
        want.sockstat.processes = true;
        want.numeric = true;
        assert_eq!(parse(&["-tlnp"]).unwrap(), want);
    }

    #[test]
    fn summary_reads_every_state() {
        let mut want = plain();
        want.sockstat.query.states = StateSel::All;
        want.sockstat.summary = true;
        assert_eq!(parse(&["-s"]).unwrap(), want);
        want.json = true;
        assert_eq!(parse(&["-s", "--json"]).unwrap(), want);
    }

    #[test]
    fn state_groups_override_listening_and_all() {
        let mut want = plain();
        want.sockstat.query.tables = TCP_ONLY;
        let mut set = StateSet::of(&[TcpState::Listen, TcpState::TimeWait]);
        set.insert(TcpState::SynRecv);
        want.sockstat.query.states = StateSel::Set(set);
        assert_eq!(
            parse(&["-tla", "--state", "bucket", "--state", "LISTEN"]).unwrap(),
            want
        );
        let connected = parse(&["--state", "connected"]).unwrap();
        let StateSel::Set(c) = connected.sockstat.query.states else {
            panic!("{connected:?}")
        };
        assert!(c.contains(TcpState::SynSent) && !c.contains(TcpState::Listen));
    }

    #[test]
    fn port_and_address_filters() {
        let mut want = plain();
        want.sockstat.query.tables = TCP_ONLY;
        want.sockstat.query.states = StateSel::All;
        want.numeric = true;
        want.sockstat.rows = RowFilter {
            sport: Some(PortRange { lo: 22, hi: 22 }),
            dport: Some(PortRange { lo: 1000, hi: 2000 }),
            src: Some(AddrSpec {
                net: Some(Cidr::parse("198.51.100.0/24").unwrap()),
                port: None,
            }),
            dst: Some(AddrSpec {
                net: Some(Cidr::host("2001:db8::1".parse().unwrap())),
                port: Some(443),
            }),
        };
        let got = parse(&[
            "-tan",
            "--sport",
            "ssh",
            "--dport",
            "1000-2000",
            "--src",
            "198.51.100.0/24",
            "--dst",
            "[2001:db8::1]:443",
        ]);
        assert_eq!(got.unwrap(), want);
    }

    #[test]
    fn json_extended_and_dns() {
        let mut want = plain();
        want.json = true;
        want.extended = true;
        assert_eq!(parse(&["--json", "-e"]).unwrap(), want);
        let mut want = plain();
        want.dns = Some(Duration::from_millis(500));
        assert_eq!(parse(&["--dns", "--dns-timeout", "0.5"]).unwrap(), want);
        want.dns = Some(Duration::from_secs(2));
        assert_eq!(parse(&["--dns"]).unwrap(), want);
        // JSON addresses are numeric: lookups would be traffic for nothing.
        let e = Cli::try_parse_from(["nettool", "sockstat", "--dns", "--json"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn ipv4_or_ipv6_only_drops_unix() {
        let mut want = plain();
        want.sockstat.query.tables = Tables {
            unix: false,
            v6: false,
            ..Tables::ALL
        };
        assert_eq!(parse(&["-4"]).unwrap(), want);
        want.sockstat.query.tables = Tables {
            unix: false,
            v4: false,
            ..Tables::ALL
        };
        assert_eq!(parse(&["-6"]).unwrap(), want);
        // With -x the UNIX table stays; -6 then only narrows the inet ones.
        want.sockstat.query.tables = Tables {
            tcp: true,
            unix: true,
            v4: false,
            ..TCP_ONLY
        };
        assert_eq!(parse(&["-6tx"]).unwrap(), want);
    }

    #[test]
    fn bad_argv_is_one_line_naming_the_valid_forms() {
        for (argv, error) in [
            (
                &["--state", "establishd"][..],
                "unknown state 'establishd': use established, syn-sent, syn-recv, fin-wait-1, \
                 fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing, or the groups \
                 all, connected, synchronized, bucket, big",
            ),
            (
                &["--sport", "70000"],
                "--sport: port 70000 is out of range: use 0-65535",
            ),
            (
                &["--dst", "300.1.1.1"],
                "--dst: '300.1.1.1' is not an address filter: use ADDR, ADDR/LEN (CIDR), \
                 ADDR:PORT, [IPV6]:PORT or :PORT, e.g. 198.51.100.0/24",
            ),
            (
                &["--src", "[2001:db8::/129]:443"],
                "--src: prefix /129 is too long for 2001:db8::: at most /128",
            ),
            (
                &["--dns", "--dns-timeout", "0"],
                "--dns-timeout 0: give 0.001 to 3600 seconds (fractions allowed)",
            ),
            (
                &["-s", "--interval", "0"],
                "--interval 0: give 0.01 to 3600 seconds (fractions allowed)",
            ),
            (
                &["-s", "--interval", "-1"],
                "--interval -1: give 0.01 to 3600 seconds (fractions allowed)",
            ),
            (
                &["-s", "--interval", "3600.5"],
                "--interval 3600.5: give 0.01 to 3600 seconds (fractions allowed)",
            ),
        ] {
            let e = parse(argv).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(e.to_string(), error, "{argv:?}");
        }
    }

    #[test]
    fn interval_with_summary() {
        let mut want = plain();
        want.sockstat.query.states = StateSel::All;
        want.sockstat.summary = true;
        want.sockstat.interval = Some(Duration::from_millis(500));
        assert_eq!(parse(&["-s", "--interval", "0.5"]).unwrap(), want);
        want.json = true;
        want.sockstat.interval = Some(Duration::from_secs(3600));
        assert_eq!(
            parse(&["-s", "--json", "--interval", "3600"]).unwrap(),
            want
        );
    }

    #[test]
    fn interval_without_summary_or_watch() {
        assert_eq!(
            parse(&["--interval", "1"]).unwrap_err().to_string(),
            "--interval goes with -s, --watch or --diagnose"
        );
    }

    #[test]
    fn netns_flags() {
        let mut want = plain();
        want.sockstat.query.tables = TCP_ONLY;
        want.sockstat.query.states = StateSel::All;
        want.numeric = true;
        want.sockstat.netns = Scope::All;
        assert_eq!(parse(&["--all-netns", "-tan"]).unwrap(), want);
        for (arg, target) in [
            ("blue", Target::Name("blue".into())),
            ("/run/netns/blue", Target::Path("/run/netns/blue".into())),
            ("4242", Target::Pid(4242)),
        ] {
            want.sockstat.netns = Scope::One(target);
            assert_eq!(parse(&["-tan", "-N", arg]).unwrap(), want, "{arg}");
            assert_eq!(parse(&["-tan", &format!("--netns={arg}")]).unwrap(), want);
        }
    }

    #[test]
    fn bad_netns_argv_is_one_line() {
        for (argv, error) in [
            (
                &["-N", "0"][..],
                "-N 0: not a process id: give a name under /run/netns (ip netns list), a path to a namespace file (/proc/PID/ns/net) or a PID",
            ),
            (
                &["-N", ""],
                "-N '': give a name under /run/netns (ip netns list), a path to a namespace file (/proc/PID/ns/net) or a PID",
            ),
        ] {
            let e = parse(argv).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(e.to_string(), error, "{argv:?}");
        }
        let cli = Cli::try_parse_from(["nettool", "sockstat", "--all-netns"]).unwrap();
        let Command::Sockstat(a) = cli.command else {
            unreachable!()
        };
        let e = settings(&a, &services, PathBuf::from("/tmp/fixture")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--all-netns reads the live kernel's namespaces, not PROC_ROOT /tmp/fixture: unset PROC_ROOT"
        );
        assert!(
            Cli::try_parse_from(["nettool", "sockstat", "--all-netns", "-N", "x"]).is_err(),
            "-N and --all-netns exclude each other"
        );
    }

    /// `-K` with the tables it may close: TCP and UDP, both families.
    fn kill_plain() -> Settings {
        let mut want = plain();
        want.kill = true;
        want.sockstat.query.tables = Tables {
            raw: false,
            unix: false,
            ..Tables::ALL
        };
        want
    }

    #[test]
    fn kill_closes_what_the_same_listing_shows() {
        let mut want = kill_plain();
        want.sockstat.query.states = StateSel::Set(StateSet::of(&[TcpState::CloseWait]));
        want.sockstat.rows.dport = Some(PortRange { lo: 8080, hi: 8080 });
        assert_eq!(
            parse(&["-K", "--state", "close-wait", "--dport", "8080"]).unwrap(),
            want
        );
        want.json = true;
        assert_eq!(
            parse(&["--kill", "--state=close-wait", "--dport=8080", "--json"]).unwrap(),
            want
        );
        // -l: the listeners (and unconnected UDP) the filters name.
        let mut want = kill_plain();
        want.sockstat.query.tables = TCP_ONLY;
        want.sockstat.query.states = StateSel::Listening;
        want.sockstat.rows.sport = Some(PortRange { lo: 22, hi: 22 });
        want.numeric = true;
        assert_eq!(parse(&["-Ktln", "--sport", "ssh"]).unwrap(), want);
        // -4/-6 and -u narrow the tables; -a takes every state; -p and -e stay.
        let mut want = kill_plain();
        want.sockstat.query.tables = Tables {
            tcp: false,
            udp: true,
            v4: false,
            ..want.sockstat.query.tables
        };
        want.sockstat.query.states = StateSel::All;
        want.sockstat.rows.dst = Some(AddrSpec {
            net: Some(Cidr::parse("2001:db8::/32").unwrap()),
            port: None,
        });
        want.sockstat.processes = true;
        want.extended = true;
        assert_eq!(parse(&["-K6uaep", "--dst", "2001:db8::/32"]).unwrap(), want);
        // -N: close in that namespace.
        let mut want = kill_plain();
        want.sockstat.query.states = StateSel::Set(StateSet::of(&[TcpState::CloseWait]));
        want.sockstat.netns = Scope::One(Target::Name("ns1".into()));
        assert_eq!(
            parse(&["-K", "-N", "ns1", "--state", "close-wait"]).unwrap(),
            want
        );
    }

    fn parse_with_root(argv: &[&str], root: &str) -> Result<Settings> {
        let cli = Cli::try_parse_from(["nettool", "sockstat"].iter().chain(argv))
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let Command::Sockstat(a) = cli.command else {
            unreachable!()
        };
        settings(&a, &services, PathBuf::from(root))
    }

    #[test]
    fn info_and_memory_ask_netlink_for_internals() {
        let ext = |info, memory| ss::Extensions { info, memory };
        let mut want = plain();
        want.sockstat.query.tables = TCP_ONLY;
        want.sockstat.query.states = StateSel::All;
        want.numeric = true;
        want.sockstat.query.extensions = ext(true, false);
        assert_eq!(parse(&["-tani"]).unwrap(), want);
        want.sockstat.query.extensions = ext(false, true);
        assert_eq!(parse(&["-tanm"]).unwrap(), want);
        want.sockstat.query.extensions = ext(true, true);
        assert_eq!(parse(&["-tan", "--info", "--memory"]).unwrap(), want);
        want.json = true;
        assert_eq!(parse(&["-tanim", "--json"]).unwrap(), want);
        // --source netlink keeps them, PROC_ROOT or not.
        let s = parse_with_root(&["-m", "--source", "netlink"], "/tmp/fixture").unwrap();
        assert_eq!(s.sockstat.query.extensions, ext(false, true));
        assert_eq!(
            parse(&[]).unwrap().sockstat.query.extensions,
            ss::Extensions::NONE
        );
    }

    #[test]
    fn kill_refusals_are_one_line_each() {
        for (argv, error) in [
            (
                &["-K"][..],
                "-K closes only what a filter names: give --state, --sport, --dport, --src or --dst \
                 (the same command without -K lists what it would close)",
            ),
            (
                // -l, -a, -t and -4 narrow, but name no socket.
                &["-K", "-t4la"],
                "-K closes only what a filter names: give --state, --sport, --dport, --src or --dst \
                 (the same command without -K lists what it would close)",
            ),
            (
                &["-K", "-x", "--state", "established"],
                "-K cannot close UNIX sockets (the kernel has no SOCK_DESTROY for them): drop -x",
            ),
            (
                &["-Kw", "--sport", "1"],
                "-K closes TCP and UDP sockets only: drop -w",
            ),
            (
                &["-Ks", "--sport", "1"],
                "-K closes sockets and -s only counts them: give one or the other",
            ),
            (
                &["-K", "--source", "proc", "--sport", "1"],
                "-K finds sockets through netlink sock_diag, the only way to name them to the kernel: drop --source proc",
            ),
            (
                &["-K", "--dns", "--sport", "1"],
                "-K shows the sockets it closed with numeric addresses or names from /etc/hosts: drop --dns",
            ),
            (
                &["-K", "-i", "--state", "close-wait"],
                "-K shows the sockets it closed without their internals: drop -i/-m (list them first without -K)",
            ),
            (
                &["-K", "--all-netns", "--state", "close-wait"],
                "-K closes sockets in one network namespace at a time: give -N NAME|PATH|PID instead of --all-netns",
            ),
            (
                &["-K", "--dport", "http-alt-typo"],
                "--dport: 'http-alt-typo' is not a port: use a number 0-65535, a range like 1000-2000, or a name from /etc/services",
            ),
        ] {
            let e = parse(argv).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(e.to_string(), error, "{argv:?}");
        }
    }

    #[test]
    fn kill_setup_errors_are_usage_errors_naming_the_cause() {
        let e = kill_error(ss::Error::KillNeedsCapNetAdmin);
        assert!(e.downcast_ref::<crate::UsageError>().is_some());
        assert_eq!(
            e.to_string(),
            "closing sockets needs CAP_NET_ADMIN: run as root, or with that capability"
        );
        let e = kill_error(ss::Error::KillUnsupported);
        assert!(e.downcast_ref::<crate::UsageError>().is_some());
        assert!(e.to_string().contains("CONFIG_INET_DIAG_DESTROY"), "{e}");
        let e = kill_error(ss::Error::KillChannel(std::io::Error::from_raw_os_error(
            crate::sys::errno::EMFILE,
        )));
        assert!(e.downcast_ref::<crate::UsageError>().is_none(), "{e}");
    }

    #[test]
    fn info_and_memory_without_netlink_are_one_line_usage_errors() {
        for (argv, root, error) in [
            (
                &["-ti", "--source", "proc"][..],
                "/proc",
                "-i/--info needs netlink sock_diag: drop --source proc",
            ),
            (
                &["-m", "--source", "proc"],
                "/proc",
                "-m/--memory needs netlink sock_diag: drop --source proc",
            ),
            (
                &["-im"],
                "/tmp/fixture",
                "-i/--info and -m/--memory need netlink sock_diag, which PROC_ROOT turns off: unset PROC_ROOT",
            ),
        ] {
            let e = parse_with_root(argv, root).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(e.to_string(), error, "{argv:?}");
        }
        // -s shows no rows to put internals under: clap refuses (exit 2).
        for flag in ["-i", "-m"] {
            let e = Cli::try_parse_from(["nettool", "sockstat", "-s", flag]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{flag}");
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn watch_settings_from_argv() {
        let s = parse(&[
            "--watch",
            "-t",
            "--state",
            "close-wait",
            "--sport",
            "8080",
            "-p",
            "--count",
            "3",
        ])
        .unwrap();
        let w = s.watch.unwrap();
        assert_eq!(
            w,
            ss::watch::Settings {
                tables: TCP_ONLY,
                states: StateSel::Set(StateSet::of(&[TcpState::CloseWait])),
                rows: RowFilter {
                    sport: Some(PortRange { lo: 8080, hi: 8080 }),
                    ..RowFilter::default()
                },
                processes: true,
                proc_root: PathBuf::from("/proc"),
                netns: Scope::Own,
                interval: Duration::from_millis(500),
                count: Some(3),
                duration: None,
            }
        );
        let w = parse(&[
            "--watch",
            "-4",
            "-a",
            "--interval",
            "0.05",
            "--duration",
            "2",
        ])
        .unwrap()
        .watch
        .unwrap();
        assert_eq!(
            (w.tables.tcp, w.tables.udp, w.tables.v4, w.tables.v6),
            (true, true, true, false)
        );
        assert_eq!(w.states, StateSel::All);
        assert_eq!(w.interval, Duration::from_millis(50));
        assert_eq!(w.duration, Some(Duration::from_secs(2)));
        assert_eq!(parse(&["-t"]).unwrap().watch, None);
    }

    #[test]
    fn bad_watch_argv_is_one_line() {
        for (argv, want) in [
            (
                &["--watch", "--interval", "0"][..],
                "--interval 0: give 0.01 to 3600 seconds (fractions allowed)",
            ),
            (
                &["--watch", "--interval", "-1"],
                "--interval -1: give 0.01 to 3600 seconds (fractions allowed)",
            ),
            (
                &["--watch", "--count", "0"],
                "--count 0: give the number of events to stop after, 1 or more",
            ),
            (
                &["--watch", "--count", "-2"],
                "--count -2: give the number of events to stop after, 1 or more",
            ),
            (
                &["--watch", "-N", "0"],
                "-N 0: not a process id: give a name under /run/netns (ip netns list), a path to a namespace file (/proc/PID/ns/net) or a PID",
            ),
            (
                &["--watch", "--all-netns", "-x"],
                "--watch follows TCP and UDP sockets only: drop -x/-w (or give -t/-u)",
            ),
            (
                &["--watch", "-x"],
                "--watch follows TCP and UDP sockets only: drop -x/-w (or give -t/-u)",
            ),
            (
                &["--watch", "--source", "proc"],
                "--watch reads netlink sock_diag, not /proc: drop --source proc",
            ),
        ] {
            assert_eq!(parse(argv).unwrap_err().to_string(), want, "{argv:?}");
        }
        for argv in [
            &["sockstat", "--watch", "-s"][..],
            &["sockstat", "--watch", "-K", "--sport", "1"],
            &["sockstat", "--count", "1"],
            &["sockstat", "--duration", "1"],
        ] {
            let e = Cli::try_parse_from(std::iter::once("nettool").chain(argv.iter().copied()))
                .unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn diagnose_settings_from_argv() {
        let s = parse(&["--diagnose", "--interval", "2.5", "--all-netns", "-t"]).unwrap();
        assert!(s.sockstat.diagnose);
        assert!(!s.sockstat.summary);
        assert_eq!(s.sockstat.interval, Some(Duration::from_millis(2500)));
        assert_eq!(s.sockstat.netns, Scope::All);
        assert!(s.sockstat.query.tables.tcp && !s.sockstat.query.tables.udp);
        // Without --interval the library waits its default second.
        let s = parse(&["--diagnose", "--json", "--sport", "80"]).unwrap();
        assert_eq!(s.sockstat.interval, None);
        assert!(s.json);
        assert!(s.sockstat.rows.sport.is_some());
    }

    #[test]
    fn bad_diagnose_argv_is_one_line() {
        for (argv, want) in [
            (
                &["--diagnose", "--interval", "0"][..],
                "--interval 0: give 0.01 to 3600 seconds (fractions allowed)",
            ),
            (
                &["--diagnose", "-x"],
                "--diagnose looks at TCP and UDP sockets: drop -x/-w (or give -t/-u)",
            ),
            (
                &["--diagnose", "--source", "proc"],
                "--diagnose reads tcp_info and socket memory from netlink sock_diag, not /proc: drop --source proc",
            ),
        ] {
            assert_eq!(parse(argv).unwrap_err().to_string(), want, "{argv:?}");
        }
        let a = |argv: &[&str]| {
            let cli = Cli::try_parse_from(["nettool", "sockstat"].iter().chain(argv)).unwrap();
            let Command::Sockstat(a) = cli.command else {
                unreachable!()
            };
            a
        };
        assert_eq!(
            settings(
                &a(&["--diagnose"]),
                &services,
                PathBuf::from("/tmp/fixture")
            )
            .unwrap_err()
            .to_string(),
            "--diagnose reads the live kernel, not PROC_ROOT /tmp/fixture: unset PROC_ROOT"
        );
        for argv in [
            &["sockstat", "--diagnose", "-s"][..],
            &["sockstat", "--diagnose", "--watch"],
            &["sockstat", "--diagnose", "-K"],
            &["sockstat", "--diagnose", "-i"],
            &["sockstat", "--diagnose", "-l"],
        ] {
            let e = Cli::try_parse_from(std::iter::once("nettool").chain(argv.iter().copied()))
                .unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn metrics_go_with_the_listing_summary_and_diagnosis() {
        for argv in [
            &["-ta", "--prometheus"][..],
            &["-tlp4", "--sport", "443", "--prometheus"],
            &["-s", "--prometheus", "--interval", "1"],
            &["--diagnose", "--prometheus", "--all-netns"],
            &["-tan", "-N", "blue", "--prometheus"],
        ] {
            assert!(parse(argv).is_ok(), "{argv:?}");
        }
    }

    #[test]
    fn metrics_refusals_are_one_line_each() {
        for (argv, error) in [
            (
                &["--watch", "--prometheus"][..],
                "--prometheus takes one reading and --watch follows changes until stopped: drop --watch (run nettool from a timer instead)",
            ),
            (
                &["-K", "--state", "close-wait", "--prometheus"],
                "--prometheus counts sockets and -K closes them: give one or the other",
            ),
            (
                // -K's own refusals come after: metrics are the first word.
                &["-K", "--textfile", "x.prom"],
                "--textfile counts sockets and -K closes them: give one or the other",
            ),
            (
                &["-ti", "--prometheus"],
                "--prometheus counts sockets, not their internals: drop -i/-m",
            ),
            (
                &["-tm", "--prometheus"],
                "--prometheus counts sockets, not their internals: drop -i/-m",
            ),
            (
                &["-t", "--dns", "--prometheus"],
                "--prometheus labels addresses as numbers: drop --dns",
            ),
            (
                &["-te", "--prometheus"],
                "--prometheus shows no columns: drop -e",
            ),
        ] {
            let e = parse(argv).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(e.to_string(), error, "{argv:?}");
        }
        // --json is clap's refusal (exit 2).
        let e = Cli::try_parse_from(["nettool", "sockstat", "--json", "--prometheus"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn lines_flag_from_argv() {
        let s = parse(&["--watch", "--lines", "-t"]).unwrap();
        assert!(s.lines && s.watch.is_some());
        assert!(!parse(&["--watch"]).unwrap().lines);
        // --json is one line per event already: --lines changes nothing.
        let s = parse(&["--watch", "--json", "--lines"]).unwrap();
        assert!(s.lines && s.json);
        for argv in [
            &["--lines"][..],
            &["--lines", "-s"],
            &["--lines", "-t", "--json"],
        ] {
            let e = parse(argv).unwrap_err();
            assert!(e.downcast_ref::<crate::UsageError>().is_some(), "{argv:?}");
            assert_eq!(
                e.to_string(),
                "--lines goes with --watch (it prints one line per event instead of the live view)",
                "{argv:?}"
            );
        }
    }

    #[test]
    fn watch_follows_the_namespaces_of_n_and_all_netns() {
        let w = |argv: &[&str]| parse(argv).unwrap().watch.unwrap();
        assert_eq!(w(&["--watch", "-t"]).netns, Scope::Own);
        assert_eq!(w(&["--watch", "--all-netns", "-t"]).netns, Scope::All);
        for (arg, target) in [
            ("blue", Target::Name("blue".into())),
            ("4242", Target::Pid(4242)),
            ("/run/netns/blue", Target::Path("/run/netns/blue".into())),
        ] {
            let got = w(&["--watch", "-N", arg, "-u", "--sport", "53"]);
            assert_eq!(got.netns, Scope::One(target), "{arg}");
            assert_eq!((got.tables.tcp, got.tables.udp), (false, true));
        }
        // The listing's scope and the watch's are one.
        let s = parse(&["--watch", "--all-netns"]).unwrap();
        assert_eq!(s.sockstat.netns, s.watch.unwrap().netns);
        // A fixture /proc has no namespaces to enter.
        let e = parse_with_root(&["--watch", "-N", "blue"], "/tmp/fixture").unwrap_err();
        assert_eq!(
            e.to_string(),
            "-N reads the live kernel's namespaces, not PROC_ROOT /tmp/fixture: unset PROC_ROOT"
        );
        assert!(e.downcast_ref::<crate::UsageError>().is_some(), "exit 2");
        let e = parse(&["--watch", "-N", ""]).unwrap_err();
        assert!(e.downcast_ref::<crate::UsageError>().is_some(), "exit 2");
    }
}
