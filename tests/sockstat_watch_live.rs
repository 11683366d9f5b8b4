//! The live view of `nettool sockstat --watch` on a real terminal: tmux
//! (a server of our own, `tmux -L nt-<pid>-<n>`, killed by a guard) runs
//! it in a 120x40 pane, inside a lab namespace (tests/lab, shared/LAB.md);
//! `capture-pane` reads the screen and `send-keys` types.
//!
//! The pane runs a small shell script: it notes the terminal's modes
//! (`stty -g`), runs nettool, and then prints nettool's exit status and
//! whether the modes are the same again, and sleeps so that the pane stays
//! to be read (tmux 3.3 loses the last lines of a pane that dies right
//! after leaving the alternate screen, even with `remain-on-exit`);
//! `#{alternate_on}` says whether it is still on the alternate screen.

mod lab;
mod util;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lab::thread_in;
use util::{shell_words, wait_until, which};

/// How long the view may take to show something.
const SHOW: Duration = Duration::from_secs(10);

/// A tmux server of our own with one session, `live`, of 120x40, running
/// `script`; killed on drop.
struct Tmux {
    socket: String,
    program: PathBuf,
    /// The server's socket file, which `kill-server` leaves behind.
    path: Option<PathBuf>,
}

impl Tmux {
    fn start(script: &str) -> Tmux {
        static N: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "nt-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut t = Tmux {
            socket,
            program: which("tmux").expect("tmux"),
            path: None,
        };
        let out = t.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "live",
            "-x",
            "120",
            "-y",
            "40",
            script,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t.path = Some(PathBuf::from(t.format("#{socket_path}")));
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.program)
            .args(["-L", &self.socket])
            .args(args)
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm-256color")
            .output()
            .expect("run tmux")
    }

    /// The screen as text; with `escapes`, with its attributes as SGR
    /// sequences.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "live"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.run(&args).stdout).into_owned()
    }

    /// A tmux format about the pane, e.g. `#{pane_dead}`.
    fn format(&self, f: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "live", f]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn keys(&self, keys: &str) {
        let out = self.run(&["send-keys", "-t", "live", keys]);
        assert!(out.status.success(), "send-keys: {out:?}");
    }

    /// Poll the screen until `cond` holds on it, and return it (with
    /// attributes); panic with the screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, cond: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        if wait_until(timeout, || {
            last = self.screen(true);
            cond(&strip(&last))
        }) {
            return last;
        }
        panic!(
            "{what}: not on the screen after {timeout:?}:\n{}",
            strip(&last)
        );
    }

    /// Wait until nettool is done (the script says `exit=`); the screen
    /// then.
    fn finished(&self) -> String {
        strip(&self.wait_for("nettool's end", SHOW, |s| s.contains("exit=")))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `text` without its SGR sequences (`ESC [ ... m`).
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The script for the pane: nettool inside `ns` with `args`, then
/// `exit=N tty=same|changed`.
fn script(ns: &str, args: &[&str]) -> String {
    let ip = which("ip").expect("ip");
    let mut cmd = vec![
        ip.to_str().unwrap(),
        "netns",
        "exec",
        ns,
        util::bin().to_str().unwrap(),
        "sockstat",
        "--watch",
    ];
    cmd.extend_from_slice(args);
    format!(
        "before=$(stty -g); {}; rc=$?; after=$(stty -g); \
         if [ \"$before\" = \"$after\" ]; then t=same; else t=changed; fi; \
         echo \"exit=$rc tty=$t\"; exec sleep 60",
        shell_words(&cmd)
    )
}

/// The table row whose local and peer address are these: its columns
/// (proto, Recv-Q, Send-Q, local, peer, state, age, ...).
fn row<'a>(screen: &'a str, local: &str, peer: &str) -> Option<Vec<&'a str>> {
    screen.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.len() >= 7 && cols[0].starts_with("tcp") && cols[3] == local && cols[4] == peer)
            .then_some(cols)
    })
}

/// The summary line's counts: (new, state changes, gone).
fn summary(screen: &str) -> Option<(u64, u64, u64)> {
    let line = screen
        .lines()
        .find(|l| l.starts_with("nettool: watched "))?;
    let (_, counts) = line.split_once("): ")?;
    let n: Vec<u64> = counts
        .split(", ")
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    Some((*n.first()?, *n.get(1)?, *n.get(2)?))
}

/// What `ss -tanH` inside `ns` says of the socket with these addresses:
/// (Recv-Q, Send-Q), the oracle for the table's queues.
fn ss_queues(ns: &str, local: &str, peer: &str) -> Option<(String, String)> {
    let out = lab::run_in(ns, "ss", &["-tanH"]);
    out.stdout.lines().find_map(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        (c.len() >= 5 && c[3] == local && c[4] == peer).then(|| (c[1].into(), c[2].into()))
    })
}

/// The table shows a listener, the connection to it and the queues of
/// both (as `ss` says them), and the transitions list shows them appear,
/// highlighted; `q` quits with 0, the normal screen is back with the
/// terminal's modes as they were, and the summary line counts what was
/// seen.
#[test]
fn table_and_transitions_then_q_restores_the_terminal() {
    let Some(lab) = lab::require_with(&["tmux", "ss"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let tmux = Tmux::start(&script(&ns, &["-t", "-a", "--interval", "0.1"]));
    tmux.wait_for("the title", SHOW, |s| {
        s.starts_with("nettool sockstat --watch   every 0.1s")
    });
    // Not accepted: the listener's Recv-Q is its accept queue (1) and its
    // Send-Q the backlog; the server's socket holds the 5 bytes unread.
    let (listener, client) = thread_in(&ns, || {
        let l = TcpListener::bind("127.0.0.1:5100").unwrap();
        let mut c = TcpStream::connect("127.0.0.1:5100").unwrap();
        c.write_all(b"hello").unwrap();
        (l, c)
    })
    .join()
    .unwrap();
    let cport = client.local_addr().unwrap().port();
    let client_addr = format!("127.0.0.1:{cport}");
    let shown = tmux.wait_for("the sockets", SHOW, |s| {
        row(s, "127.0.0.1:5100", "0.0.0.0:*").is_some_and(|r| r[1] == "1")
            && row(s, "127.0.0.1:5100", &client_addr).is_some_and(|r| r[1] == "5")
            && row(s, &client_addr, "127.0.0.1:5100").is_some()
            && s.contains(&format!(
                "new   tcp   {client_addr} 127.0.0.1:5100 -> ESTABLISHED"
            ))
    });
    let screen = strip(&shown);
    let listen = row(&screen, "127.0.0.1:5100", "0.0.0.0:*").unwrap();
    assert_eq!(listen[5], "LISTEN", "{screen}");
    assert_eq!(
        Some((listen[1].to_string(), listen[2].to_string())),
        ss_queues(&ns, "127.0.0.1:5100", "0.0.0.0:*"),
        "{screen}"
    );
    let server = row(&screen, "127.0.0.1:5100", &client_addr).unwrap();
    assert_eq!((server[1], server[2], server[5]), ("5", "0", "ESTABLISHED"));
    let client_row = row(&screen, &client_addr, "127.0.0.1:5100").unwrap();
    assert_eq!((client_row[1], client_row[5]), ("0", "ESTABLISHED"));
    // Sorted: the listener first.
    let first = screen.lines().find(|l| l.starts_with("tcp"));
    assert!(first.is_some_and(|l| l.contains("LISTEN")), "{screen}");
    // Counts, and the transitions under the table, new ones in reverse
    // video.
    assert!(
        screen
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("3 sockets: 1 LISTEN, 2 ESTABLISHED")),
        "{screen}"
    );
    assert!(
        screen.contains("new   tcp   127.0.0.1:5100 0.0.0.0:0 -> LISTEN"),
        "{screen}"
    );
    let table_at = screen.find("Proto Recv-Q").unwrap();
    let list_at = screen.find("Latest transitions").unwrap();
    assert!(table_at < list_at, "{screen}");
    assert!(
        shown.contains("\x1b[7m") || shown.contains(";7m"),
        "{shown:?}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "1");

    // Resized to 9 rows, the next redraw fills them to the last: the
    // three sockets, and the two newest transitions.
    let out = tmux.run(&["resize-window", "-t", "live", "-x", "120", "-y", "9"]);
    assert!(out.status.success(), "{out:?}");
    let small = strip(&tmux.wait_for("the view in 9 rows", SHOW, |s| {
        s.lines()
            .nth(6)
            .is_some_and(|l| l.starts_with("Latest transitions (2 of"))
    }));
    let rows: Vec<&str> = small.lines().collect();
    assert_eq!(rows.len(), 9, "{small}");
    assert!(rows[3].contains("LISTEN"), "{small}");
    assert!(rows[8].contains("-> ESTABLISHED"), "{small}");

    tmux.keys("q");
    let after = tmux.finished();
    assert!(after.contains("exit=0 tty=same"), "{after}");
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    assert!(
        !after.contains("Proto Recv-Q") && !after.contains("Latest transitions"),
        "{after}"
    );
    let (new, _, _) = summary(&after).unwrap_or_else(|| panic!("no summary: {after}"));
    assert!(new >= 3, "{after}");
    drop((listener, client));
}

/// Ctrl-C (a byte, in raw mode) stops the view like SIGINT stops the
/// lines: exit 130, the terminal put back, the summary printed.
#[test]
fn ctrl_c_restores_the_terminal_and_exits_130() {
    let Some(lab) = lab::require_with(&["tmux"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let tmux = Tmux::start(&script(&ns, &["--interval", "0.1"]));
    tmux.wait_for("the title", SHOW, |s| s.contains("q or Ctrl-C quits"));
    tmux.keys("C-c");
    let after = tmux.finished();
    assert!(after.contains("exit=130 tty=same"), "{after}");
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    assert!(summary(&after).is_some(), "{after}");
    assert!(!after.contains("Proto Recv-Q"), "{after}");
}

/// SIGTERM from elsewhere also ends the view with the terminal put back.
#[test]
fn sigterm_restores_the_terminal() {
    let Some(lab) = lab::require_with(&["tmux"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let tmux = Tmux::start(&script(&ns, &["--interval", "0.1"]));
    tmux.wait_for("the title", SHOW, |s| s.contains("q or Ctrl-C quits"));
    // The pane's shell runs `ip netns exec`, which execs nettool.
    let sh = tmux.format("#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
    let pid = children.split_whitespace().next().expect("nettool's pid");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(exe, util::bin(), "pid {pid} is not nettool");
    let out = Command::new("kill").args(["-TERM", pid]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let after = tmux.finished();
    assert!(after.contains("exit=130 tty=same"), "{after}");
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    assert!(summary(&after).is_some(), "{after}");
}

/// Filters, `-p` and `--duration` hold in the live view: only the port
/// asked for, its process named, and it stops by itself.
#[test]
fn filters_processes_and_duration_hold_in_the_live_view() {
    let Some(lab) = lab::require_with(&["tmux"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let tmux = Tmux::start(&script(
        &ns,
        &[
            "-l",
            "--sport",
            "5200",
            "-p",
            "--interval",
            "0.1",
            "--duration",
            "4",
        ],
    ));
    tmux.wait_for("the title", SHOW, |s| s.contains("q or Ctrl-C quits"));
    let listeners = thread_in(&ns, || {
        [5200, 5201].map(|p| TcpListener::bind(("127.0.0.1", p)).unwrap())
    })
    .join()
    .unwrap();
    let me = format!("({})", std::process::id());
    let shown = strip(&tmux.wait_for("the listener on 5200", SHOW, |s| {
        row(s, "127.0.0.1:5200", "0.0.0.0:*").is_some()
    }));
    assert!(shown.contains(" Process"), "{shown}");
    let r = row(&shown, "127.0.0.1:5200", "0.0.0.0:*").unwrap();
    assert!(
        // A fork of another test, before its exec, may hold it too.
        r[7].split(',').any(|o| o.ends_with(&me)),
        "owner {:?}, want ...{me}\n{shown}",
        r[7]
    );
    assert!(!shown.contains("127.0.0.1:5201"), "{shown}");
    assert!(
        shown
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1 sockets: 1 LISTEN")
    );
    // --duration ends it, with 0.
    let after = tmux.finished();
    assert!(after.contains("exit=0 tty=same"), "{after}");
    assert_eq!(summary(&after), Some((1, 0, 0)), "{after}");
    drop(listeners);
}

/// `--lines` on a terminal: one line per event as when piped, no
/// alternate screen, no table.
#[test]
fn lines_flag_keeps_line_output_on_a_terminal() {
    let Some(lab) = lab::require_with(&["tmux"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let tmux = Tmux::start(&script(
        &ns,
        &["--lines", "-l", "--count", "1", "--interval", "0.1"],
    ));
    // A listener bound before the first dump is not new: bind until one
    // is reported (the count then ends the watch).
    let mut held = Vec::new();
    let mut seen = false;
    for port in 5300..5320u16 {
        held.push(
            thread_in(&ns, move || TcpListener::bind(("127.0.0.1", port)).unwrap())
                .join()
                .unwrap(),
        );
        seen = wait_until(Duration::from_millis(700), || {
            tmux.screen(false).contains("exit=")
        });
        if seen {
            break;
        }
    }
    assert!(seen, "no event:\n{}", tmux.screen(false));
    let after = tmux.finished();
    assert!(after.contains("exit=0 tty=same"), "{after}");
    assert!(
        after
            .lines()
            .any(|l| l.contains(" new   tcp   127.0.0.1:53") && l.ends_with(" 0.0.0.0:0 -> LISTEN")),
        "{after}"
    );
    assert_eq!(summary(&after), Some((1, 0, 0)), "{after}");
    assert!(!after.contains("Proto Recv-Q"), "{after}");
    assert_eq!(tmux.format("#{alternate_on}"), "0");
}
