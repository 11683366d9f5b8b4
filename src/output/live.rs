//! `sockstat --watch` on a terminal: the screen as lines of text, from the
//! sockets of the last dump and the latest transitions.
//!
//! Pure: [`render`] knows nothing of terminals (`output::terminal` draws
//! its lines), so the layout is tested as text. Invariants: it returns at
//! most `size.rows` lines of at most `size.cols` terminal columns, whatever
//! it is given; the table is sorted (protocol, state, local, peer, cookie), so
//! rows stay put between redraws; [`Recent`] holds at most [`RECENT_CAP`]
//! events, however many come.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use unicode_width::UnicodeWidthChar;

use crate::sockstat::display::Display;
use crate::sockstat::model::{Endpoint, Proto, TcpState};
use crate::sockstat::watch::{Entry, Event, Report};

/// Transitions kept for the list under the table: more than a screen shows.
pub const RECENT_CAP: usize = 256;

/// A transition this recent (or younger than two intervals, when longer)
/// is highlighted, and so is its socket's row.
pub const HOT: Duration = Duration::from_secs(2);

/// The latest events, oldest first, at most [`RECENT_CAP`].
#[derive(Debug, Default)]
pub struct Recent(VecDeque<Event>);

impl Recent {
    pub fn push(&mut self, ev: Event) {
        if self.0.len() == RECENT_CAP {
            self.0.pop_front();
        }
        self.0.push_back(ev);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The terminal's size in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub cols: u16,
    pub rows: u16,
}

/// How a line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// The first line.
    Title,
    /// The column header and the heading of the transitions.
    Heading,
    /// A socket with a transition in the last [`HOT`].
    Hot,
    /// A transition of the last [`HOT`].
    Newest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub style: Style,
}

/// What one screen shows.
pub struct View<'a> {
    /// The sockets of the last dump that the filters select, by cookie,
    /// in any order.
    pub sockets: Vec<(u64, &'a Entry)>,
    pub recent: &'a Recent,
    /// The counts so far.
    pub report: &'a Report,
    pub interval: Duration,
    /// `-p`: a Process column.
    pub processes: bool,
    /// `-N`/`--all-netns`: a Netns column, each entry's label by inode.
    pub netns: Option<&'a HashMap<u64, String>>,
    /// How to stop, for the title: `q quits` when keys are read.
    pub quit_hint: &'static str,
}

/// Rank of a state in the table: listeners first, then a connection's
/// life from opening to closing (the passive close, then the active one),
/// unconnected UDP last.
fn rank(s: TcpState) -> u8 {
    match s {
        TcpState::Listen => 0,
        TcpState::SynSent => 1,
        TcpState::SynRecv | TcpState::NewSynRecv => 2,
        TcpState::Established => 3,
        TcpState::CloseWait => 4,
        TcpState::LastAck => 5,
        TcpState::FinWait1 => 6,
        TcpState::FinWait2 => 7,
        TcpState::Closing => 8,
        TcpState::TimeWait => 9,
        TcpState::Close => 10,
        TcpState::Unknown(_) => 11,
    }
}

fn inet(e: &Endpoint) -> Option<&SocketAddr> {
    match e {
        Endpoint::Inet(sa) => Some(sa),
        Endpoint::Unix(_) => None,
    }
}

fn order(a: &(u64, &Entry), b: &(u64, &Entry)) -> Ordering {
    let key = |(c, e): &(u64, &Entry)| {
        (
            e.netns,
            e.proto == Proto::Udp,
            rank(e.state),
            inet(&e.local).copied(),
            inet(&e.remote).copied(),
            *c,
        )
    };
    key(a).cmp(&key(b))
}

/// `4.2s`, `3m05s`, `2h03m`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{}.{}s", s, (ms % 1000) / 100)
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s / 60) % 60)
    }
}

/// `text` cut to `width` terminal columns (a CJK character takes two).
fn fit(mut text: String, width: usize) -> String {
    let mut used = 0;
    let cut = text.char_indices().find_map(|(i, c)| {
        used += UnicodeWidthChar::width(c).unwrap_or(0);
        (used > width).then_some(i)
    });
    if let Some(i) = cut {
        text.truncate(i);
    }
    text
}

/// The screen for `v` at `size`, `now_ms` into the watch (the clock of
/// [`Entry::since_ms`] and the events' `at_ms`): a title, the counts per
/// state and of events, the table of sockets (as many as fit, with a line
/// saying how many did not), then the latest transitions, newest last.
/// When both do not fit, the transitions get at least a third of the
/// room.
pub fn render(v: View<'_>, size: Size, now_ms: u64) -> Vec<Line> {
    let width = usize::from(size.cols);
    let height = usize::from(size.rows);
    let interval_ms = u64::try_from(v.interval.as_millis()).unwrap_or(u64::MAX);
    let hot_ms = u64::try_from(HOT.as_millis())
        .unwrap_or(u64::MAX)
        .max(interval_ms.saturating_mul(2));
    let is_hot = |at_ms: u64| now_ms.saturating_sub(at_ms) <= hot_ms;
    let r = v.report;
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    let push = |lines: &mut Vec<Line>, text: String, style: Style| {
        if lines.len() < height {
            lines.push(Line {
                text: fit(text, width),
                style,
            });
        }
    };
    for (text, style) in head(&v, now_ms) {
        push(&mut lines, text, style);
    }

    // Room: the column header and the transitions' heading take one line
    // each.
    let avail = height.saturating_sub(lines.len() + 2);
    let n_sock = v.sockets.len();
    let n_tr = v.recent.len();
    let tr_min = n_tr.min(avail / 3);
    let mut shown = n_sock.min(avail - tr_min);
    let more = shown < n_sock;
    if more {
        shown = shown.saturating_sub(1);
    }
    let tr_rows = n_tr.min(avail.saturating_sub(shown + usize::from(more)));

    let mut rows = v.sockets;
    if shown < rows.len() {
        if shown > 0 {
            rows.select_nth_unstable_by(shown - 1, order);
        }
        rows.truncate(shown);
    }
    rows.sort_unstable_by(order);
    // Sockets with a recent transition.
    let hot: HashSet<u64> = v
        .recent
        .0
        .iter()
        .filter(|ev| is_hot(ev.change.at_ms))
        .map(|ev| ev.change.cookie)
        .collect();
    for (text, is_hot_row) in table(&rows, &hot, v.processes, v.netns, now_ms) {
        let style = match is_hot_row {
            None => Style::Heading,
            Some(true) => Style::Hot,
            Some(false) => Style::Plain,
        };
        push(&mut lines, text, style);
    }
    if more {
        push(
            &mut lines,
            format!(
                "({} more not shown: a taller terminal, or filters, show them)",
                n_sock - shown
            ),
            Style::Plain,
        );
    }

    let heading = if n_tr == 0 {
        "Latest transitions: none yet".to_string()
    } else {
        format!(
            "Latest transitions ({tr_rows} of {}, newest last)",
            r.new + r.state + r.gone
        )
    };
    push(&mut lines, heading, Style::Heading);
    for ev in v.recent.0.iter().skip(n_tr - tr_rows) {
        let style = if is_hot(ev.change.at_ms) {
            Style::Newest
        } else {
            Style::Plain
        };
        push(&mut lines, crate::output::watch::line(ev), style);
    }
    lines
}

/// The title, and the counts per state and of events.
fn head(v: &View<'_>, now_ms: u64) -> [(String, Style); 2] {
    let r = v.report;
    let title = format!(
        "nettool sockstat --watch   every {}s   up {}   {} dumps   {}",
        secs(v.interval),
        age(now_ms),
        r.dumps,
        v.quit_hint
    );
    let mut per_state: BTreeMap<(bool, u8), (&'static str, usize)> = BTreeMap::new();
    for (_, e) in &v.sockets {
        per_state
            .entry((e.proto == Proto::Udp, rank(e.state)))
            .or_insert((crate::output::watch::state_name(e.proto, e.state), 0))
            .1 += 1;
    }
    let mut counts = format!("{} sockets", v.sockets.len());
    for (i, (name, n)) in per_state.values().enumerate() {
        let _ = write!(counts, "{} {n} {name}", if i == 0 { ":" } else { "," });
    }
    let _ = write!(
        counts,
        "   events: {} new, {} state, {} gone",
        r.new, r.state, r.gone
    );
    if r.overruns > 0 {
        let _ = write!(counts, ", {} overruns", r.overruns);
    }
    [(title, Style::Title), (counts, Style::Plain)]
}

/// The column header (`None`), then a row per socket and whether it is
/// hot; columns as wide as the widest address shown.
fn table(
    rows: &[(u64, &Entry)],
    hot: &HashSet<u64>,
    processes: bool,
    netns: Option<&HashMap<u64, String>>,
    now_ms: u64,
) -> Vec<(String, Option<bool>)> {
    // Labels come from anyone's command names: escaped before measured.
    let label = |e: &Entry| {
        crate::output::escape_control(
            netns
                .and_then(|m| m.get(&e.netns))
                .map_or("-", String::as_str),
        )
        .into_owned()
    };
    let ns_w = netns.map_or(0, |_| {
        rows.iter()
            .map(|(_, e)| label(e).chars().count())
            .max()
            .unwrap_or(0)
            .max(5)
    });
    let numeric = Display::numeric();
    let cells: Vec<(String, String)> = rows
        .iter()
        .map(|(_, e)| {
            (
                numeric.endpoint(&e.local, e.proto),
                numeric.endpoint(&e.remote, e.proto),
            )
        })
        .collect();
    let local_w = cells.iter().map(|c| c.0.len()).max().unwrap_or(0).max(18);
    let peer_w = cells.iter().map(|c| c.1.len()).max().unwrap_or(0).max(17);
    let mut header = if netns.is_some() {
        format!("{:<ns_w$} ", "Netns")
    } else {
        String::new()
    };
    let _ = write!(
        header,
        "{:<5} {:>6} {:>6} {:<local_w$} {:<peer_w$} {:<11} {:>7}",
        "Proto", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "State", "Age"
    );
    if processes {
        header.push_str(" Process");
    }
    let mut out = Vec::with_capacity(rows.len() + 1);
    out.push((header, None));
    let q = |n: Option<u32>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    for ((cookie, e), (local, peer)) in rows.iter().zip(cells) {
        let since = e.since_ms.map_or_else(
            || format!(">{}", age(now_ms)),
            |t| age(now_ms.saturating_sub(t)),
        );
        let mut text = if netns.is_some() {
            format!("{:<ns_w$} ", label(e))
        } else {
            String::new()
        };
        let _ = write!(
            text,
            "{:<5} {:>6} {:>6} {local:<local_w$} {peer:<peer_w$} {:<11} {since:>7}",
            e.proto.table(e.v6),
            q(e.recv_q),
            q(e.send_q),
            crate::output::watch::state_name(e.proto, e.state),
        );
        if processes {
            text.push(' ');
            text.push_str(&crate::output::escape_control(
                e.owner.as_deref().unwrap_or("-"),
            ));
        }
        out.push((text, Some(hot.contains(cookie))));
    }
    out
}

/// `0.5`, `2`, `0.05`.
fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::inet_endpoint;
    use crate::sockstat::watch::{Change, Kind};
    use proptest::prelude::*;
    use std::time::SystemTime;
    use unicode_width::UnicodeWidthStr;

    fn ep(last: u8, port: u16) -> Endpoint {
        inet_endpoint(
            false,
            [198, 51, 100, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            port,
        )
    }

    fn entry(lport: u16, rport: u16, state: TcpState, q: (u32, u32)) -> Entry {
        Entry {
            proto: Proto::Tcp,
            v6: false,
            local: ep(1, lport),
            remote: if rport == 0 {
                inet_endpoint(false, [0; 16], 0)
            } else {
                ep(2, rport)
            },
            state,
            inode: 0,
            netns: 0,
            since_ms: Some(1000),
            owner: None,
            recv_q: Some(q.0),
            send_q: Some(q.1),
        }
    }

    fn event(cookie: u64, at_ms: u64, e: &Entry, kind: Kind) -> Event {
        Event {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms),
            change: Change {
                kind,
                cookie,
                at_ms,
                entry: e.clone(),
                from: None,
                to: Some(e.state),
                totals: None,
                lived_ms: None,
            },
            netns: None,
        }
    }

    fn view<'a>(sockets: &'a [(u64, Entry)], recent: &'a Recent, report: &'a Report) -> View<'a> {
        View {
            sockets: sockets.iter().map(|(c, e)| (*c, e)).collect(),
            recent,
            report,
            interval: Duration::from_millis(500),
            processes: false,
            netns: None,
            quit_hint: "q quits",
        }
    }

    #[test]
    fn with_namespaces_a_netns_column_and_rows_grouped_by_namespace() {
        let mut a = entry(5000, 0, TcpState::Listen, (0, 128));
        a.netns = 7;
        let mut b = entry(5000, 0, TcpState::Listen, (0, 128));
        b.netns = 3;
        let sockets = vec![(1, a), (2, b)];
        let labels: HashMap<u64, String> =
            [(7, "blue".to_string()), (3, "red\x1b".to_string())].into();
        let recent = Recent::default();
        let report = Report::default();
        let mut v = view(&sockets, &recent, &report);
        v.netns = Some(&labels);
        let lines = render(
            v,
            Size {
                cols: 120,
                rows: 10,
            },
            1000,
        );
        let t = texts(&lines);
        assert!(t[2].starts_with("Netns   Proto Recv-Q"), "{t:?}");
        assert!(t[3].starts_with("red\\x1b tcp "), "{t:?}");
        assert!(t[4].starts_with("blue    tcp "), "{t:?}");
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn table_sorted_with_queues_counts_and_the_latest_transitions_highlighted() {
        let established = entry(5000, 40000, TcpState::Established, (5, 0));
        let listener = entry(5000, 0, TcpState::Listen, (1, 128));
        let waiting = entry(40001, 5000, TcpState::TimeWait, (0, 0));
        let sockets = vec![
            (3, waiting.clone()),
            (1, established.clone()),
            (2, listener.clone()),
        ];
        let mut recent = Recent::default();
        recent.push(event(2, 1000, &listener, Kind::New));
        recent.push(event(1, 9000, &established, Kind::New));
        let report = Report {
            new: 2,
            dumps: 20,
            ..Report::default()
        };
        let lines = render(
            view(&sockets, &recent, &report),
            Size {
                cols: 100,
                rows: 20,
            },
            10_000,
        );
        let t = texts(&lines);
        assert_eq!(
            t[0],
            "nettool sockstat --watch   every 0.5s   up 10.0s   20 dumps   q quits"
        );
        assert_eq!(
            t[1],
            "3 sockets: 1 LISTEN, 1 ESTABLISHED, 1 TIME_WAIT   events: 2 new, 0 state, 0 gone"
        );
        assert_eq!(
            &t[2..6],
            [
                "Proto Recv-Q Send-Q Local Address:Port Peer Address:Port  State           Age",
                "tcp        1    128 198.51.100.1:5000  0.0.0.0:*          LISTEN         9.0s",
                "tcp        5      0 198.51.100.1:5000  198.51.100.2:40000 ESTABLISHED    9.0s",
                "tcp        0      0 198.51.100.1:40001 198.51.100.2:5000  TIME_WAIT      9.0s",
            ]
        );
        // The established socket changed a second ago: its row and its
        // transition stand out; the listener's is 9 s old.
        let styles: Vec<Style> = lines.iter().map(|l| l.style).collect();
        assert_eq!(
            styles,
            [
                Style::Title,
                Style::Plain,
                Style::Heading,
                Style::Plain,
                Style::Hot,
                Style::Plain,
                Style::Heading,
                Style::Plain,
                Style::Newest,
            ]
        );
        assert_eq!(t[6], "Latest transitions (2 of 2, newest last)");
        assert!(t[7].ends_with("new   tcp   198.51.100.1:5000 0.0.0.0:0 -> LISTEN"));
        assert!(t[8].ends_with("198.51.100.1:5000 198.51.100.2:40000 -> ESTABLISHED"));
    }

    #[test]
    fn a_short_terminal_shows_what_fits_and_says_how_many_did_not() {
        let sockets: Vec<(u64, Entry)> = (0..50u16)
            .map(|i| {
                (
                    u64::from(i),
                    entry(6000 + i, 7000, TcpState::Established, (0, 0)),
                )
            })
            .collect();
        let mut recent = Recent::default();
        for (c, e) in &sockets {
            recent.push(event(*c, 500, e, Kind::New));
        }
        let report = Report {
            new: 50,
            ..Report::default()
        };
        let lines = render(
            view(&sockets, &recent, &report),
            Size { cols: 60, rows: 14 },
            1000,
        );
        assert_eq!(lines.len(), 14);
        assert!(lines.iter().all(|l| l.text.chars().count() <= 60));
        let t = texts(&lines);
        // 10 lines of room: a third for transitions, one says what is cut.
        assert!(t[3].starts_with("tcp        0      0 198.51.100.1:6000 "));
        assert!(t[8].starts_with("tcp        0      0 198.51.100.1:6005 "));
        assert_eq!(
            t[9],
            "(44 more not shown: a taller terminal, or filters, show them"
        );
        assert_eq!(t[10], "Latest transitions (3 of 50, newest last)");
        assert!(t[11].contains("198.51.100.1:6047 "), "{t:#?}");
        assert!(t[13].contains("198.51.100.1:6049 "), "{t:#?}");
    }

    #[test]
    fn wide_characters_count_as_two_columns() {
        assert_eq!(fit("ab名前cd".into(), 4), "ab名");
        assert_eq!(fit("ab名前cd".into(), 5), "ab名");
        assert_eq!(fit("ab名前cd".into(), 6), "ab名前");
        let mut e = entry(5000, 0, TcpState::Listen, (0, 128));
        e.owner = Some("サーバー\u{1b}[2J(42)".into());
        let sockets = vec![(1, e)];
        let recent = Recent::default();
        let report = Report::default();
        let at = |cols| {
            let mut v = view(&sockets, &recent, &report);
            v.processes = true;
            render(v, Size { cols, rows: 10 }, 0).swap_remove(3).text
        };
        // The escape is shown, not sent.
        let row = at(120);
        assert!(row.ends_with(" サーバー\\x1b[2J(42)"), "{row}");
        // Cut in the middle of the name: 2 columns a character.
        let row = at(84);
        assert!(row.ends_with(" サーバ"), "{row}");
        assert_eq!(row.width(), 83, "{row}");
    }

    #[test]
    fn recent_keeps_the_latest_only() {
        let e = entry(1, 2, TcpState::Established, (0, 0));
        let mut r = Recent::default();
        for i in 0..(RECENT_CAP as u64 + 10) {
            r.push(event(i, i, &e, Kind::New));
        }
        assert_eq!(r.len(), RECENT_CAP);
        assert_eq!(r.0.front().unwrap().change.cookie, 10);
    }

    #[test]
    fn ages_and_intervals_read_as_people_write_them() {
        assert_eq!(age(4_250), "4.2s");
        assert_eq!(age(185_000), "3m05s");
        assert_eq!(age(7_380_000), "2h03m");
        assert_eq!(secs(Duration::from_millis(500)), "0.5");
        assert_eq!(secs(Duration::from_millis(50)), "0.05");
        assert_eq!(secs(Duration::from_secs(2)), "2");
    }

    proptest! {
        /// Any terminal size, any number of sockets and events: never more
        /// lines than rows, nor characters than columns, and no panic.
        #[test]
        fn never_overflows_the_screen(
            cols in 0u16..160,
            rows in 0u16..60,
            n_sock in 0usize..80,
            n_ev in 0usize..40,
        ) {
            let sockets: Vec<(u64, Entry)> = (0..n_sock)
                .map(|i| {
                    let port = u16::try_from(i).unwrap();
                    (i as u64, entry(port, 80, TcpState::ALL[i % 11], (0, 0)))
                })
                .collect();
            let mut recent = Recent::default();
            for i in 0..n_ev {
                let e = entry(1, 2, TcpState::Established, (0, 0));
                recent.push(event(i as u64, i as u64 * 100, &e, Kind::New));
            }
            let report = Report::default();
            let lines = render(view(&sockets, &recent, &report), Size { cols, rows }, 5000);
            prop_assert!(lines.len() <= usize::from(rows));
            prop_assert!(lines.iter().all(|l| l.text.width() <= usize::from(cols)));
            // With room for everything, everything is there.
            if usize::from(rows) >= 4 + n_sock + n_ev.max(1) {
                prop_assert_eq!(lines.len(), 4 + n_sock + n_ev);
            }
        }
    }
}
