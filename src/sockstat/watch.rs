//! `nettool sockstat --watch`: sockets appearing, changing TCP state and
//! going away, as it happens.
//!
//! Each interval one netlink dump (every state of the TCP and UDP tables
//! asked for) gives a [`Snapshot`] keyed by the kernel's socket cookie;
//! [`diff`] compares it with the previous one. Sockets that live and die
//! between two dumps come from the `sock_diag` destroy groups
//! ([`DestroyWatch`](crate::sockstat::netlink::DestroyWatch); open to any user on Linux 6.18), each with its final
//! `tcp_info`. Invariants: memory is one [`Entry`] per live socket (the
//! previous dump), plus those that vanished in the last interval and at most
//! [`PENDING_CAP`] destroy notifications waiting for the next dump; nothing
//! grows with the number of events. Nothing here prints: events (and, for
//! the live view, each dump's sockets) go to an [`Observer`];
//! `output::watch` and `output::live` render them.
//!
//! With `-N`/`--all-netns` each namespace has its own pair of sockets
//! ([`Watched`]); their dumps make one [`Snapshot`] (cookies are unique
//! host-wide) whose entries carry their namespace's inode, and each event
//! the namespace's record.

use std::collections::HashMap;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::sockstat::filter::{RowFilter, StateSel};
use crate::sockstat::model::{Endpoint, Proto, Socket, TcpState};
use crate::sockstat::netlink::Destroyed;
use crate::sockstat::netns::{Netns, Scope};
use crate::sockstat::watched::Watched;
use crate::sockstat::{Error, Tables, owner};
use crate::sys::signal;

/// Destroy notifications kept for the next dump at most; past it they are
/// reported at once (a `TIME_WAIT` successor may then show as `new` too).
pub const PENDING_CAP: usize = 65_536;

/// What to watch, validated: plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Only `tcp`, `udp`, `v4`, `v6` are used.
    pub tables: Tables,
    /// An event is shown when its socket is in one of these states before
    /// or after it.
    pub states: StateSel,
    pub rows: RowFilter,
    /// `-p`: name each socket's processes.
    pub processes: bool,
    pub proc_root: PathBuf,
    /// `-N`, `--all-netns`: which network namespaces to watch.
    pub netns: Scope,
    pub interval: Duration,
    /// `--count`: stop after this many events.
    pub count: Option<u64>,
    /// `--duration`: stop after this long.
    pub duration: Option<Duration>,
}

/// What happened to a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    New,
    State,
    Gone,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::State => "state",
            Kind::Gone => "gone",
        }
    }
}

/// One socket as the watcher remembers it between two dumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub proto: Proto,
    pub v6: bool,
    pub local: Endpoint,
    pub remote: Endpoint,
    pub state: TcpState,
    pub inode: u64,
    /// The inode of its network namespace; 0 without `-N`/`--all-netns`
    /// (the watcher's own, not looked up).
    pub netns: u64,
    /// When it appeared, in ms since the watch began; `None` for sockets
    /// that were there at the start.
    pub since_ms: Option<u64>,
    /// `-p`: its processes, `command(pid)` joined by commas.
    pub owner: Option<String>,
    /// Recv-Q and Send-Q as the dump gave them (on a listener: the accept
    /// queue and the backlog), for the live view.
    pub recv_q: Option<u32>,
    pub send_q: Option<u32>,
}

impl Entry {
    pub fn of(s: &Socket) -> Entry {
        Entry {
            proto: s.proto,
            v6: s.v6,
            local: s.local.clone(),
            remote: s.remote.clone(),
            state: s.state,
            inode: s.inode,
            netns: 0,
            since_ms: None,
            owner: None,
            recv_q: s.recv_q,
            send_q: s.send_q,
        }
    }

    /// The entry, of the namespace whose inode is `netns`.
    #[must_use]
    pub fn in_netns(self, netns: u64) -> Entry {
        Entry { netns, ..self }
    }
}

/// The sockets of one dump, by cookie.
pub type Snapshot = HashMap<u64, Entry>;

/// A destroyed socket's `tcp_info` totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub bytes_acked: Option<u64>,
    pub bytes_received: Option<u64>,
    pub total_retrans: Option<u32>,
}

impl Totals {
    fn of(s: &Socket) -> Option<Totals> {
        let info = s.internals.as_ref()?.tcp_info.as_ref()?;
        Some(Totals {
            bytes_acked: info.bytes_acked(),
            bytes_received: info.bytes_received(),
            total_retrans: info.total_retrans(),
        })
    }
}

/// A destroy notification and when it came (ms since the watch began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub at_ms: u64,
    pub gone: Destroyed,
    /// A dump after it still listed the cookie: the full socket made way
    /// for a remnant (an orphan's `FIN_WAIT2`, `TIME_WAIT`) that kept its
    /// cookie, so the connection ended later than the notification came.
    pub outlived: bool,
    /// The inode of the namespace whose destroy group told ([`Entry::netns`]).
    pub netns: u64,
}

impl Pending {
    /// Seen again in a dump after the notification: when the remnant
    /// goes, it goes unannounced, at the dump that misses it.
    fn outlived_by_its_remnant(self) -> Pending {
        Pending {
            outlived: true,
            ..self
        }
    }
}

/// One change [`diff`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    pub cookie: u64,
    /// When, in ms since the watch began.
    pub at_ms: u64,
    /// The socket (for `gone`, as last seen).
    pub entry: Entry,
    /// The state before (`state`, `gone`; for a socket no dump saw, the
    /// state its notification gave, `CLOSE` mostly).
    pub from: Option<TcpState>,
    /// The state after (`new`, `state`).
    pub to: Option<TcpState>,
    /// `gone` through a destroy notification: the TCP totals it carried
    /// (also on a `new` `TIME_WAIT` whose connection no dump saw).
    pub totals: Option<Totals>,
    /// `gone`: how long it lived, when it was seen appearing.
    pub lived_ms: Option<u64>,
}

/// The outcome of one [`diff`]: the changes, and what waits for the next.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub changes: Vec<Change>,
    /// Sockets missing from this dump with no destroy notification yet:
    /// reported in the next round, with the notification's totals if it
    /// came by then.
    pub limbo: Snapshot,
    /// Destroy notifications for sockets still in this dump (they died
    /// after it): kept for the next round.
    pub carried: Vec<Pending>,
}

/// Compare dump `next` (taken at `now_ms`) with `prev`, given the sockets
/// that vanished last round without a notification (`limbo`) and the
/// destroy notifications received since (`destroyed`). `destroys` says
/// whether notifications are being received at all. Sets `since_ms` and
/// carries `owner` over in `next`.
///
/// Rules: a cookie only in `next` is `new`; in both with another state,
/// `state`; a notification for a cookie that `next` shows in `TIME_WAIT`
/// is the full socket making way for its `TIME_WAIT` remnant, not an
/// ending. A cookie missing from `next` is `gone`: at once, with the
/// totals, when notified; at once when it cannot be notified (`TIME_WAIT`
/// and request sockets never are, nor anything without `destroys`); else
/// one round later.
pub fn diff(
    prev: &Snapshot,
    next: &mut Snapshot,
    limbo: Snapshot,
    destroyed: Vec<Pending>,
    now_ms: u64,
    destroys: bool,
) -> Round {
    let mut round = Round::default();
    let mut limbo = limbo;
    let mut notified: HashSet<u64> = HashSet::new();
    // A socket no dump saw gets its cookie when it is destroyed, after its
    // TIME_WAIT remnant took the old (none): match those by addresses.
    // Namespaces may reuse each other's addresses: theirs is in the key.
    let fresh_tw: HashMap<(u64, Proto, &Endpoint, &Endpoint), u64> = next
        .iter()
        .filter(|(c, e)| e.state == TcpState::TimeWait && !prev.contains_key(c))
        .map(|(&c, e)| ((e.netns, e.proto, &e.local, &e.remote), c))
        .collect();
    let mut tw_totals: HashMap<u64, Totals> = HashMap::new();
    for p in destroyed {
        let cookie = p.gone.cookie;
        if let Some(e) = next.get(&cookie) {
            if e.state != TcpState::TimeWait {
                round.carried.push(p.outlived_by_its_remnant());
            }
            continue;
        }
        if !notified.insert(cookie) {
            continue;
        }
        let last = prev.get(&cookie).or_else(|| limbo.get(&cookie));
        let (entry, from) = if let Some(e) = last {
            (e.clone(), Some(e.state))
        } else {
            let g = &p.gone.socket;
            if let Some(&tw) = fresh_tw.get(&(p.netns, g.proto, &g.local, &g.remote)) {
                tw_totals.insert(tw, Totals::of(g).unwrap_or_default());
                continue;
            }
            (Entry::of(g).in_netns(p.netns), Some(g.state))
        };
        let at_ms = if p.outlived { now_ms } else { p.at_ms };
        let lived_ms = entry.since_ms.map(|t| at_ms.saturating_sub(t));
        limbo.remove(&cookie);
        round.changes.push(Change {
            kind: Kind::Gone,
            cookie,
            at_ms,
            entry,
            from,
            to: None,
            totals: Totals::of(&p.gone.socket),
            lived_ms,
        });
    }
    // Last round's vanished ones whose notification never came.
    for (cookie, e) in limbo {
        round.changes.push(gone_unnotified(cookie, e, now_ms));
    }
    for (&cookie, e) in prev {
        if next.contains_key(&cookie) || notified.contains(&cookie) {
            continue;
        }
        let never_notified = !destroys
            || matches!(
                e.state,
                TcpState::TimeWait | TcpState::SynRecv | TcpState::NewSynRecv
            );
        if never_notified {
            round
                .changes
                .push(gone_unnotified(cookie, e.clone(), now_ms));
        } else {
            round.limbo.insert(cookie, e.clone());
        }
    }
    for (&cookie, e) in next.iter_mut() {
        match prev.get(&cookie) {
            None => {
                e.since_ms = Some(now_ms);
                round.changes.push(Change {
                    kind: Kind::New,
                    cookie,
                    at_ms: now_ms,
                    entry: e.clone(),
                    from: None,
                    to: Some(e.state),
                    totals: tw_totals.get(&cookie).copied(),
                    lived_ms: None,
                });
            }
            Some(old) => {
                e.since_ms = old.since_ms;
                e.owner.clone_from(&old.owner);
                if old.state != e.state {
                    round.changes.push(Change {
                        kind: Kind::State,
                        cookie,
                        at_ms: now_ms,
                        entry: e.clone(),
                        from: Some(old.state),
                        to: Some(e.state),
                        totals: None,
                        lived_ms: None,
                    });
                }
            }
        }
    }
    // Time order; within one instant, by cookie, so output is stable.
    round.changes.sort_by_key(|c| (c.at_ms, c.cookie));
    round
}

fn gone_unnotified(cookie: u64, e: Entry, now_ms: u64) -> Change {
    let lived_ms = e.since_ms.map(|t| now_ms.saturating_sub(t));
    Change {
        kind: Kind::Gone,
        cookie,
        at_ms: now_ms,
        from: Some(e.state),
        entry: e,
        to: None,
        totals: None,
        lived_ms,
    }
}

/// Whether a change concerns a socket the filters select.
pub fn selected(c: &Change, states: StateSel, rows: &RowFilter) -> bool {
    let set = states.for_proto(c.entry.proto);
    let state_ok = [c.from, c.to].into_iter().flatten().any(|s| set.contains(s))
        // A socket no dump saw: its notification's state.
        || (c.from.is_none() && c.to.is_none() && set.contains(c.entry.state));
    state_ok && rows_match(rows, &c.entry)
}

/// Whether a socket of a dump is one the filters select (the live view's
/// table): its state is asked for, and its addresses and ports match.
pub fn shows(e: &Entry, states: StateSel, rows: &RowFilter) -> bool {
    states.for_proto(e.proto).contains(e.state) && rows_match(rows, e)
}

fn rows_match(rows: &RowFilter, e: &Entry) -> bool {
    if rows.is_empty() {
        return true;
    }
    let s = Socket {
        proto: e.proto,
        v6: e.v6,
        local: e.local.clone(),
        remote: e.remote.clone(),
        state: e.state,
        recv_q: None,
        send_q: None,
        uid: None,
        inode: e.inode,
        timer: None,
        unix_kind: None,
        peer_inode: None,
        internals: None,
    };
    rows.matches(&s)
}

/// One event as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub time: SystemTime,
    pub change: Change,
    /// With `-N`/`--all-netns`: the namespace of the socket.
    pub netns: Option<Arc<Netns>>,
}

/// What a watch saw, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub new: u64,
    pub state: u64,
    pub gone: u64,
    /// Dumps taken.
    pub dumps: u64,
    /// Whether the destroy groups were joined (always, when it runs).
    pub destroy_events: bool,
    /// Times the kernel said it dropped notifications (a full buffer).
    pub overruns: u64,
    pub elapsed_ms: u64,
    /// What stopped it: `count`, `duration`, `signal` (SIGINT, SIGTERM, or
    /// Ctrl-C typed into the live view), `output` (the output failed), or
    /// what [`Observer::input`] said (`quit`: `q` in the live view).
    pub stopped_by: &'static str,
}

/// The namespace record of an [`Entry::netns`] inode (with `-N` or
/// `--all-netns`; `None` otherwise).
pub type Names<'a> = dyn Fn(u64) -> Option<Arc<Netns>> + 'a;

/// What [`observe`] tells its caller as it goes. Line output needs only
/// [`Observer::event`] (a closure is one, see [`run`]); the live view also
/// takes each dump's sockets and waits on the terminal's keys.
pub trait Observer {
    /// One selected change, as it is found. `Break` stops the watch
    /// (`stopped_by` `output`).
    fn event(&mut self, ev: Event) -> ControlFlow<()>;

    /// After the first dump, and after each later one once its events were
    /// given: every socket the dump listed, unfiltered ([`shows`] says
    /// which the filters select), the counts so far, and the namespaces'
    /// names. `Break` stops the
    /// watch (`output`).
    fn tick(
        &mut self,
        _sockets: &Snapshot,
        _report: &Report,
        _names: &Names<'_>,
    ) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// A descriptor to wait on beside the destroy notifications (a
    /// terminal's keys); [`Observer::input`] is called when it is readable
    /// or hung up. Asked before each wait, so it may go away.
    fn input_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// The descriptor of [`Observer::input_fd`] is ready. `Break(why)`
    /// stops the watch with `stopped_by` = `why`.
    fn input(&mut self) -> ControlFlow<&'static str> {
        ControlFlow::Continue(())
    }
}

impl<F: FnMut(Event) -> ControlFlow<()>> Observer for F {
    fn event(&mut self, ev: Event) -> ControlFlow<()> {
        self(ev)
    }
}

/// [`observe`] with events only: each goes to `on_event` as it is found.
///
/// # Errors
/// As [`observe`].
pub fn run(
    s: &Settings,
    on_event: &mut dyn FnMut(Event) -> ControlFlow<()>,
    warn: &mut dyn FnMut(String),
) -> Result<Report, Error> {
    observe(s, &mut |ev| on_event(ev), warn)
}

/// Watch until `--count`, `--duration`, SIGINT or SIGTERM, or until `obs`
/// says stop; each event goes to `obs` as it is found, and each dump's
/// sockets after its events. The sockets present at the start are not
/// reported. Notes (namespaces that could not be entered) go to `warn`.
///
/// # Errors
/// [`Error::WatchNeedsAdmin`] when the kernel refuses to let us join the
/// destroy groups (`EPERM`/`EACCES`); [`Error::Netlink`] when a dump or the
/// notification socket fails; for `-N`, a namespace that cannot be
/// resolved or entered.
#[allow(
    clippy::too_many_lines,
    reason = "one loop: wait taking notifications, dump, diff, report"
)]
pub fn observe(
    s: &Settings,
    obs: &mut dyn Observer,
    warn: &mut dyn FnMut(String),
) -> Result<Report, Error> {
    let fail = |source| Error::Netlink {
        table: "sock_diag destroy groups",
        source,
    };
    let mut watched = Watched::open(&s.netns, &s.proc_root, s.tables, warn)?;
    let _ = signal::catch_termination();
    let start = Instant::now();
    let wall = SystemTime::now();
    let ms = |i: Instant| u64::try_from(i.duration_since(start).as_millis()).unwrap_or(u64::MAX);
    let mut report = Report {
        destroy_events: true,
        ..Report::default()
    };
    let mut prev = snapshot(&mut watched)?;
    report.dumps += 1;
    if s.processes {
        name_owners(s, &mut prev, |_| true);
    }
    if obs.tick(&prev, &report, &|ns| watched.name(ns)).is_break() {
        report.stopped_by = "output";
    }
    let mut limbo = Snapshot::new();
    let mut gone_once = GoneOnce::default();
    let mut pending: Vec<Pending> = Vec::new();
    // Notifications past PENDING_CAP, reported as soon as a drain ends.
    let mut overflow: Vec<Pending> = Vec::new();
    let mut next_tick = start + s.interval;
    let stop_at = s.duration.map(|d| start + d);
    let mut seen = 0u64;
    loop {
        // Wait for the tick, taking notifications as they come.
        loop {
            let now = Instant::now();
            let until = stop_at.map_or(next_tick, |d| d.min(next_tick));
            if signal::termination().is_some() {
                report.stopped_by = "signal";
                break;
            }
            let at = ms(now);
            report.overruns += watched
                .drain(&mut |netns, gone| {
                    push_pending(
                        &mut pending,
                        Pending {
                            at_ms: at,
                            gone,
                            outlived: false,
                            netns,
                        },
                        &mut |p| overflow.push(p),
                    );
                })
                .map_err(fail)?;
            for p in overflow.drain(..) {
                // Over the cap: reported now, without waiting for a dump.
                let change = lone_gone(&p);
                emit(s, &watched, &mut report, &mut seen, wall, change, obs);
            }
            if s.count.is_some_and(|n| seen >= n) && report.stopped_by.is_empty() {
                report.stopped_by = "count";
            }
            if !report.stopped_by.is_empty() {
                break;
            }
            if now >= until {
                break;
            }
            match watched.wait(obs.input_fd(), until - now) {
                Ok(false) => {}
                Ok(true) => {
                    if let ControlFlow::Break(why) = obs.input() {
                        report.stopped_by = why;
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(e)),
            }
        }
        if report.stopped_by.is_empty() && stop_at.is_some_and(|d| Instant::now() >= d) {
            report.stopped_by = "duration";
        }
        if !report.stopped_by.is_empty() {
            break;
        }
        next_tick += s.interval;
        // A slow dump skips ticks rather than running back to back.
        let now = Instant::now();
        if next_tick < now {
            next_tick = now + s.interval;
        }
        // --all-netns: namespaces made meanwhile join, those gone leave
        // (after a last drain) and their sockets are gone in this diff.
        let at = ms(now);
        report.overruns += watched.refresh(
            &s.proc_root,
            now,
            &mut |netns, gone| {
                push_pending(
                    &mut pending,
                    Pending {
                        at_ms: at,
                        gone,
                        outlived: false,
                        netns,
                    },
                    &mut |p| overflow.push(p),
                );
            },
            warn,
        )?;
        for p in overflow.drain(..) {
            let change = lone_gone(&p);
            emit(s, &watched, &mut report, &mut seen, wall, change, obs);
        }
        let mut next = snapshot(&mut watched)?;
        report.dumps += 1;
        let round = diff(
            &prev,
            &mut next,
            std::mem::take(&mut limbo),
            std::mem::take(&mut pending),
            ms(Instant::now()),
            true,
        );
        if s.processes {
            let fresh: HashSet<u64> = round
                .changes
                .iter()
                .filter(|c| c.kind == Kind::New)
                .map(|c| c.cookie)
                .collect();
            if !fresh.is_empty() {
                name_owners(s, &mut next, |c| fresh.contains(&c));
            }
        }
        limbo = round.limbo;
        pending = round.carried;
        let mut changes = round.changes;
        gone_once.filter(&mut changes);
        for mut c in changes {
            if c.kind == Kind::New {
                c.entry.owner = next.get(&c.cookie).and_then(|e| e.owner.clone());
            }
            if emit(s, &watched, &mut report, &mut seen, wall, c, obs) {
                if report.stopped_by.is_empty() {
                    report.stopped_by = "count";
                }
                break;
            }
        }
        if report.stopped_by.is_empty()
            && obs.tick(&next, &report, &|ns| watched.name(ns)).is_break()
        {
            report.stopped_by = "output";
        }
        prev = next;
        // A namespace gone is named until its last socket is reported.
        watched.forget(|ns| {
            prev.values().chain(limbo.values()).any(|e| e.netns == ns)
                || pending.iter().any(|p| p.netns == ns)
        });
        if !report.stopped_by.is_empty() {
            break;
        }
    }
    report.elapsed_ms = ms(Instant::now());
    Ok(report)
}

/// Sockets reported `gone` without a notification that may still get one:
/// a connection reset while its program holds it leaves the kernel's
/// tables (so the dumps miss it) and is destroyed only when the program
/// closes it. That later notification is the same ending, not another:
/// it is dropped. At most [`PENDING_CAP`] cookies are remembered, the
/// oldest forgotten first.
#[derive(Debug, Default)]
pub struct GoneOnce {
    order: std::collections::VecDeque<u64>,
    cookies: HashSet<u64>,
}

impl GoneOnce {
    /// Drop from `changes` the `gone`s of sockets already reported gone,
    /// and remember the new unnotified ones.
    pub fn filter(&mut self, changes: &mut Vec<Change>) {
        changes.retain(|c| c.kind != Kind::Gone || !self.cookies.remove(&c.cookie));
        for c in changes.iter() {
            let may_come = c.kind == Kind::Gone
                && c.totals.is_none()
                && !matches!(
                    c.from,
                    Some(TcpState::TimeWait | TcpState::SynRecv | TcpState::NewSynRecv)
                );
            if may_come && self.cookies.insert(c.cookie) {
                self.order.push_back(c.cookie);
                if self.order.len() > PENDING_CAP
                    && let Some(old) = self.order.pop_front()
                {
                    self.cookies.remove(&old);
                }
            }
        }
    }
}

/// Queue a notification for the next dump, or past [`PENDING_CAP`] hand it
/// to `overflow`.
fn push_pending(pending: &mut Vec<Pending>, p: Pending, overflow: &mut dyn FnMut(Pending)) {
    if pending.len() < PENDING_CAP {
        pending.push(p);
    } else {
        overflow(p);
    }
}

fn lone_gone(p: &Pending) -> Change {
    Change {
        kind: Kind::Gone,
        cookie: p.gone.cookie,
        at_ms: p.at_ms,
        entry: Entry::of(&p.gone.socket).in_netns(p.netns),
        from: Some(p.gone.socket.state),
        to: None,
        totals: Totals::of(&p.gone.socket),
        lived_ms: None,
    }
}

/// Report `c` if selected; true when `--count` is reached.
fn emit(
    s: &Settings,
    watched: &Watched,
    report: &mut Report,
    seen: &mut u64,
    wall: SystemTime,
    c: Change,
    obs: &mut dyn Observer,
) -> bool {
    if !selected(&c, s.states, &s.rows) || s.count.is_some_and(|n| *seen >= n) {
        return false;
    }
    match c.kind {
        Kind::New => report.new += 1,
        Kind::State => report.state += 1,
        Kind::Gone => report.gone += 1,
    }
    *seen += 1;
    let time = wall + Duration::from_millis(c.at_ms);
    let netns = watched.name(c.entry.netns);
    if obs
        .event(Event {
            time,
            change: c,
            netns,
        })
        .is_break()
    {
        report.stopped_by = "output";
        return true;
    }
    s.count.is_some_and(|n| *seen >= n)
}

fn snapshot(watched: &mut Watched) -> Result<Snapshot, Error> {
    let mut snap = Snapshot::new();
    watched.dump(&mut |netns, sock, cookie| {
        snap.insert(cookie, Entry::of(&sock).in_netns(netns));
    })?;
    Ok(snap)
}

/// Name the processes of the entries `which` picks (by cookie).
fn name_owners(s: &Settings, snap: &mut Snapshot, which: impl Fn(u64) -> bool) {
    let wanted: HashSet<u64> = snap
        .iter()
        .filter(|(c, e)| e.inode != 0 && which(**c))
        .map(|(_, e)| e.inode)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let Ok(map) = owner::scan(&s.proc_root, &wanted) else {
        return;
    };
    for (c, e) in snap.iter_mut() {
        if e.inode == 0 || !which(*c) {
            continue;
        }
        let mut names: Vec<String> = map
            .get(e.inode)
            .map(|o| format!("{}({})", o.command, o.pid))
            .collect();
        // One name per process, however many descriptors it holds.
        names.sort();
        names.dedup();
        if !names.is_empty() {
            e.owner = Some(names.join(","));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::{Internals, inet_endpoint};
    use crate::wire::tcp_info::{TcpInfo, TcpInfoBytes};

    fn ep(port: u16) -> Endpoint {
        inet_endpoint(
            false,
            [198, 51, 100, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            port,
        )
    }

    fn entry(lport: u16, state: TcpState) -> Entry {
        Entry {
            proto: Proto::Tcp,
            v6: false,
            local: ep(lport),
            remote: ep(80),
            state,
            inode: 0,
            netns: 0,
            since_ms: None,
            owner: None,
            recv_q: None,
            send_q: None,
        }
    }

    fn snap(items: &[(u64, Entry)]) -> Snapshot {
        items.iter().cloned().collect()
    }

    fn destroyed(cookie: u64, lport: u16, at_ms: u64, acked: u64) -> Pending {
        let mut info = [0u8; 280];
        // tcpi_bytes_acked sits at byte 120 of struct tcp_info.
        info[120..128].copy_from_slice(&acked.to_ne_bytes());
        let mut socket = Socket {
            proto: Proto::Tcp,
            v6: false,
            local: ep(lport),
            remote: ep(80),
            state: TcpState::Close,
            recv_q: None,
            send_q: None,
            uid: None,
            inode: 0,
            timer: None,
            unix_kind: None,
            peer_inode: None,
            internals: None,
        };
        socket.internals = Some(Box::new(Internals {
            tcp_info: Some(TcpInfo::new(TcpInfoBytes::new(&info))),
            ..Internals::default()
        }));
        Pending {
            at_ms,
            gone: Destroyed { cookie, socket },
            outlived: false,
            netns: 0,
        }
    }

    fn kinds(r: &Round) -> Vec<(Kind, u64, Option<TcpState>, Option<TcpState>)> {
        r.changes
            .iter()
            .map(|c| (c.kind, c.cookie, c.from, c.to))
            .collect()
    }

    #[test]
    fn new_state_and_unchanged() {
        let prev = snap(&[
            (1, entry(1000, TcpState::Established)),
            (2, entry(1001, TcpState::Established)),
        ]);
        let mut next = snap(&[
            (1, entry(1000, TcpState::CloseWait)),
            (2, entry(1001, TcpState::Established)),
            (3, entry(1002, TcpState::SynSent)),
        ]);
        let r = diff(&prev, &mut next, Snapshot::new(), vec![], 500, true);
        assert_eq!(
            kinds(&r),
            vec![
                (
                    Kind::State,
                    1,
                    Some(TcpState::Established),
                    Some(TcpState::CloseWait)
                ),
                (Kind::New, 3, None, Some(TcpState::SynSent)),
            ]
        );
        assert_eq!(next[&3].since_ms, Some(500));
        assert!(r.limbo.is_empty() && r.carried.is_empty());
    }

    #[test]
    fn notified_gone_has_totals_and_lifetime() {
        let mut e = entry(1000, TcpState::LastAck);
        e.since_ms = Some(100);
        let prev = snap(&[(1, e)]);
        let mut next = Snapshot::new();
        let r = diff(
            &prev,
            &mut next,
            Snapshot::new(),
            vec![destroyed(1, 1000, 350, 42)],
            500,
            true,
        );
        assert_eq!(
            kinds(&r),
            vec![(Kind::Gone, 1, Some(TcpState::LastAck), None)]
        );
        let c = &r.changes[0];
        assert_eq!((c.at_ms, c.lived_ms), (350, Some(250)));
        assert_eq!(c.totals.unwrap().bytes_acked, Some(42));
    }

    #[test]
    fn unnotified_gone_waits_one_round_for_its_notification() {
        let prev = snap(&[(1, entry(1000, TcpState::CloseWait))]);
        let mut next = Snapshot::new();
        let r = diff(&prev, &mut next, Snapshot::new(), vec![], 500, true);
        assert!(r.changes.is_empty());
        assert_eq!(r.limbo.len(), 1);
        // The notification comes late: gone with totals, once.
        let mut after = Snapshot::new();
        let limbo = r.limbo.clone();
        let r2 = diff(
            &next,
            &mut after,
            r.limbo,
            vec![destroyed(1, 1000, 520, 7)],
            1000,
            true,
        );
        assert_eq!(
            kinds(&r2),
            vec![(Kind::Gone, 1, Some(TcpState::CloseWait), None)]
        );
        assert_eq!(r2.changes[0].totals.unwrap().bytes_acked, Some(7));
        // It never comes: gone without totals, one round late.
        let r3 = diff(
            &Snapshot::new(),
            &mut Snapshot::new(),
            limbo,
            vec![],
            1000,
            true,
        );
        assert_eq!(
            kinds(&r3),
            vec![(Kind::Gone, 1, Some(TcpState::CloseWait), None)]
        );
        assert_eq!(r3.changes[0].totals, None);
    }

    #[test]
    fn time_wait_and_no_destroy_groups_go_at_once() {
        let prev = snap(&[
            (1, entry(1000, TcpState::TimeWait)),
            (2, entry(1001, TcpState::Established)),
        ]);
        let r = diff(
            &prev,
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![],
            500,
            false,
        );
        assert_eq!(r.changes.len(), 2);
        assert!(
            r.changes
                .iter()
                .all(|c| c.kind == Kind::Gone && c.totals.is_none())
        );
        let r = diff(
            &prev,
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![],
            500,
            true,
        );
        assert_eq!(
            kinds(&r),
            vec![(Kind::Gone, 1, Some(TcpState::TimeWait), None)]
        );
    }

    #[test]
    fn full_socket_making_way_for_time_wait_is_a_state_change() {
        let prev = snap(&[(1, entry(1000, TcpState::FinWait2))]);
        let mut next = snap(&[(1, entry(1000, TcpState::TimeWait))]);
        let r = diff(
            &prev,
            &mut next,
            Snapshot::new(),
            vec![destroyed(1, 1000, 400, 1)],
            500,
            true,
        );
        assert_eq!(
            kinds(&r),
            vec![(
                Kind::State,
                1,
                Some(TcpState::FinWait2),
                Some(TcpState::TimeWait)
            )]
        );
    }

    #[test]
    fn unseen_connection_is_gone_and_its_time_wait_remnant_is_new_with_totals() {
        // Cookie 5 died unseen; cookie 6 died unseen too, leaving TIME_WAIT
        // (cookie 9) on the same addresses.
        let mut next = snap(&[(9, entry(2001, TcpState::TimeWait))]);
        let d = vec![destroyed(5, 2000, 10, 3), destroyed(6, 2001, 11, 4)];
        let r = diff(&Snapshot::new(), &mut next, Snapshot::new(), d, 500, true);
        assert_eq!(
            kinds(&r),
            vec![
                (Kind::Gone, 5, Some(TcpState::Close), None),
                (Kind::New, 9, None, Some(TcpState::TimeWait)),
            ]
        );
        assert_eq!(r.changes[1].totals.unwrap().bytes_acked, Some(4));
    }

    #[test]
    fn notification_for_a_socket_still_listed_waits_and_duplicates_count_once() {
        let prev = snap(&[(1, entry(1000, TcpState::LastAck))]);
        let mut next = snap(&[(1, entry(1000, TcpState::LastAck))]);
        let r = diff(
            &prev,
            &mut next,
            Snapshot::new(),
            vec![destroyed(1, 1000, 400, 1)],
            500,
            true,
        );
        assert!(r.changes.is_empty());
        assert_eq!(r.carried.len(), 1);
        let d = vec![destroyed(1, 1000, 400, 1), destroyed(1, 1000, 401, 1)];
        let r = diff(&next, &mut Snapshot::new(), Snapshot::new(), d, 1000, true);
        assert_eq!(r.changes.len(), 1);
    }

    /// An orphan: `close()` in `FIN_WAIT1`, the ACK comes, the kernel swaps the
    /// full socket for a `FIN_WAIT2` remnant with the same cookie (the
    /// notification comes now), and a RST ends the remnant later. The gone
    /// is when the remnant went (the dump that misses it), not when the
    /// notification came, and follows the state change in time.
    #[test]
    fn a_remnant_that_outlives_its_notification_is_gone_when_it_goes() {
        let prev = snap(&[(1, entry(1000, TcpState::Established))]);
        let mut next = snap(&[(1, entry(1000, TcpState::FinWait2))]);
        let r = diff(
            &prev,
            &mut next,
            Snapshot::new(),
            vec![destroyed(1, 1000, 450, 1000)],
            500,
            true,
        );
        assert_eq!(
            kinds(&r),
            [(
                Kind::State,
                1,
                Some(TcpState::Established),
                Some(TcpState::FinWait2)
            )]
        );
        assert!(r.carried[0].outlived);
        let r = diff(
            &next,
            &mut Snapshot::new(),
            Snapshot::new(),
            r.carried,
            900,
            true,
        );
        assert_eq!(kinds(&r), [(Kind::Gone, 1, Some(TcpState::FinWait2), None)]);
        assert_eq!(r.changes[0].at_ms, 900);
        assert_eq!(r.changes[0].totals.and_then(|t| t.bytes_acked), Some(1000));
    }

    /// Two namespaces with the same addresses: a notification for a
    /// socket no dump saw pairs with the `TIME_WAIT` remnant of its own
    /// namespace, and a notification's `gone` keeps its namespace.
    #[test]
    fn namespaces_with_the_same_addresses_stay_apart() {
        let tw = |ns| entry(2001, TcpState::TimeWait).in_netns(ns);
        let mut next = snap(&[(9, tw(1)), (10, tw(2))]);
        let mut d1 = destroyed(5, 2001, 10, 3);
        d1.netns = 1;
        let mut d2 = destroyed(6, 2001, 11, 4);
        d2.netns = 2;
        let mut lone = destroyed(7, 2002, 12, 5);
        lone.netns = 1;
        let d = vec![d2, lone, d1];
        let r = diff(&Snapshot::new(), &mut next, Snapshot::new(), d, 500, true);
        assert_eq!(
            kinds(&r),
            vec![
                (Kind::Gone, 7, Some(TcpState::Close), None),
                (Kind::New, 9, None, Some(TcpState::TimeWait)),
                (Kind::New, 10, None, Some(TcpState::TimeWait)),
            ]
        );
        assert_eq!(r.changes[0].entry.netns, 1);
        assert_eq!(r.changes[1].totals.unwrap().bytes_acked, Some(3));
        assert_eq!(r.changes[2].totals.unwrap().bytes_acked, Some(4));
    }

    #[test]
    fn filters_pick_by_either_state_and_by_port() {
        let prev = snap(&[(1, entry(1000, TcpState::Established))]);
        let mut next = snap(&[(1, entry(1000, TcpState::CloseWait))]);
        let r = diff(&prev, &mut next, Snapshot::new(), vec![], 500, true);
        let c = &r.changes[0];
        let only = |st| StateSel::Set(crate::sockstat::StateSet::of(&[st]));
        assert!(selected(
            c,
            only(TcpState::CloseWait),
            &RowFilter::default()
        ));
        assert!(selected(
            c,
            only(TcpState::Established),
            &RowFilter::default()
        ));
        assert!(!selected(c, only(TcpState::Listen), &RowFilter::default()));
        let port = |p| RowFilter {
            sport: Some(crate::sockstat::filter::parse_port(p, &|_| None).unwrap()),
            ..RowFilter::default()
        };
        assert!(selected(c, StateSel::All, &port("1000")));
        assert!(!selected(c, StateSel::All, &port("1001")));
    }

    #[test]
    fn a_socket_reset_while_held_is_gone_once_not_again_when_its_program_closes_it() {
        // Reset by the peer: out of the tables (two dumps miss it), no
        // notification until the program closes its descriptor.
        let prev = snap(&[(1, entry(1000, TcpState::Established))]);
        let mut once = GoneOnce::default();
        let r = diff(
            &prev,
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![],
            500,
            true,
        );
        let mut c = r.changes;
        once.filter(&mut c);
        assert!(c.is_empty());
        let r = diff(
            &Snapshot::new(),
            &mut Snapshot::new(),
            r.limbo,
            vec![],
            1000,
            true,
        );
        let mut c = r.changes;
        once.filter(&mut c);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].kind, c[0].from),
            (Kind::Gone, Some(TcpState::Established))
        );
        // The close, much later: the same ending, dropped.
        let r = diff(
            &Snapshot::new(),
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![destroyed(1, 1000, 9000, 7)],
            9000,
            true,
        );
        let mut c = r.changes;
        assert_eq!(c.len(), 1);
        once.filter(&mut c);
        assert!(c.is_empty(), "{c:?}");
        // Another socket's notification still comes through.
        let r = diff(
            &Snapshot::new(),
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![destroyed(2, 1001, 9500, 7)],
            9500,
            true,
        );
        let mut c = r.changes;
        once.filter(&mut c);
        assert_eq!(c.len(), 1);
        // A TIME_WAIT remnant is never notified: not remembered.
        let prev = snap(&[(3, entry(1002, TcpState::TimeWait))]);
        let r = diff(
            &prev,
            &mut Snapshot::new(),
            Snapshot::new(),
            vec![],
            10_000,
            true,
        );
        let mut c = r.changes;
        once.filter(&mut c);
        assert_eq!(c.len(), 1);
        assert!(!once.cookies.contains(&3));
    }
}
