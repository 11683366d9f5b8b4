//! `nettool sockstat` on fixture /proc trees (`PROC_ROOT`, which implies
//! `--source proc`): exact rows, exact filters, exact messages, whatever
//! the machine running the tests holds.

mod util;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;

use util::{Output, Row, assert_text_eq, nettool};

const TCP_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const UNIX_HEADER: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n";

// TCP states as /proc/net/tcp numbers them.
const ESTABLISHED: u8 = 0x01;
const SYN_SENT: u8 = 0x02;
const TIME_WAIT: u8 = 0x06;
const CLOSE_WAIT: u8 = 0x08;
const LISTEN: u8 = 0x0A;

/// A fixture proc root in its own temp dir.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::Builder::new()
                .prefix("nettool-proc")
                .tempdir()
                .unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> &Fixture {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// `net/<table>` with the header and these rows.
    fn table(&self, name: &str, header: &str, rows: &[String]) -> &Fixture {
        let mut text = header.to_string();
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        self.write(&format!("net/{name}"), &text)
    }

    /// A process `<root>/<pid>` with `comm` and socket fds `fd -> inode`.
    fn process(&self, pid: u32, comm: &str, fds: &[(u32, u64)]) -> &Fixture {
        let fd_dir = self.root().join(pid.to_string()).join("fd");
        std::fs::create_dir_all(&fd_dir).unwrap();
        for &(fd, inode) in fds {
            std::os::unix::fs::symlink(format!("socket:[{inode}]"), fd_dir.join(fd.to_string()))
                .unwrap();
        }
        std::os::unix::fs::symlink("/dev/null", fd_dir.join("0")).unwrap();
        self.write(&format!("{pid}/comm"), &format!("{comm}\n"))
    }

    fn sockstat(&self, args: &[&str]) -> Output {
        let mut all = vec!["sockstat"];
        all.extend_from_slice(args);
        nettool(&all).proc_root(self.root()).run()
    }

    fn net(&self, table: &str) -> String {
        self.root().join("net").join(table).display().to_string()
    }
}

/// An address as /proc/net prints it: each 32-bit word of the address as
/// it sits in memory, read as a native integer, in hex; then the port.
fn hex_addr(sa: SocketAddr) -> String {
    let mut s = String::new();
    let bytes: Vec<u8> = match sa.ip() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    for w in bytes.chunks(4) {
        let _ = write!(s, "{:08X}", u32::from_ne_bytes(w.try_into().unwrap()));
    }
    let _ = write!(s, ":{:04X}", sa.port());
    s
}

/// Options of one /proc/net/{tcp,udp}[6] row.
#[derive(Clone, Copy)]
struct InetRow<'a> {
    local: &'a str,
    remote: &'a str,
    state: u8,
    tx: u32,
    rx: u32,
    /// `tr` (timer kind) and `tm->when` in ticks.
    timer: (u8, u32),
    retrans: u32,
    uid: u32,
    inode: u64,
}

fn row<'a>(local: &'a str, remote: &'a str, state: u8, inode: u64) -> InetRow<'a> {
    InetRow {
        local,
        remote,
        state,
        tx: 0,
        rx: 0,
        timer: (0, 0),
        retrans: 0,
        uid: 0,
        inode,
    }
}

impl InetRow<'_> {
    fn line(&self, sl: usize) -> String {
        format!(
            "{sl:4}: {} {} {:02X} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:5} {:8} {} 1 0000000000000000 100 0 0 10 0",
            hex_addr(self.local.parse().unwrap()),
            hex_addr(self.remote.parse().unwrap()),
            self.state,
            self.tx,
            self.rx,
            self.timer.0,
            self.timer.1,
            self.retrans,
            self.uid,
            0,
            self.inode,
        )
    }
}

fn lines(rows: &[InetRow]) -> Vec<String> {
    rows.iter().enumerate().map(|(i, r)| r.line(i)).collect()
}

/// A /proc/net/unix row.
fn unix_line(flags: u32, kind: u16, st: u8, inode: u64, path: &str) -> String {
    let mut s =
        format!("0000000000000000: 00000002 00000000 {flags:08X} {kind:04X} {st:02X} {inode}");
    if !path.is_empty() {
        s.push(' ');
        s.push_str(path);
    }
    s
}

/// The table as `cell | cell | ...` lines, header first.
fn cells_text(out: &Output) -> String {
    let t = out.table();
    let mut s = t.header.join(" | ");
    s.push('\n');
    for r in &t.rows {
        s.push_str(&r.join(" | "));
        s.push('\n');
    }
    s
}

#[track_caller]
fn assert_table(out: &Output, expected: &[&[&str]]) {
    let mut want = String::new();
    for r in expected {
        want.push_str(&r.join(" | "));
        want.push('\n');
    }
    out.expect_plain_text();
    assert_text_eq(
        &format!("table of `{}`", out.cmdline),
        &want,
        &cells_text(out),
    );
}

const HEADER: &[&str] = &[
    "Proto",
    "Recv-Q",
    "Send-Q",
    "Local Address",
    "Foreign Address",
    "State",
];

#[test]
fn proc_table_bad_line_is_reported_by_file_and_line_and_good_rows_kept() {
    let f = Fixture::new();
    let mut listen = row("127.0.0.1:631", "0.0.0.0:0", LISTEN, 23183);
    (listen.tx, listen.rx) = (128, 3);
    let mut estab = row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 4001);
    estab.rx = 5;
    let mut tw = row("127.0.0.1:8080", "127.0.0.1:41138", TIME_WAIT, 0);
    tw.timer = (3, 0x16b5);
    let mut rows = lines(&[listen, estab]);
    rows.push("   2: this is not a socket row".to_string());
    rows.push(tw.line(3));
    f.table("tcp", TCP_HEADER, &rows);

    let out = f.sockstat(&["-tan"]);
    out.expect_code(0);
    assert_table(
        &out,
        &[
            HEADER,
            // /proc/net/tcp's tx for a listener is not its backlog.
            &["tcp", "3", "-", "127.0.0.1:631", "0.0.0.0:*", "LISTEN"],
            &[
                "tcp",
                "5",
                "0",
                "127.0.0.1:22",
                "127.0.0.1:40000",
                "ESTABLISHED",
            ],
            &[
                "tcp",
                "0",
                "0",
                "127.0.0.1:8080",
                "127.0.0.1:41138",
                "TIME_WAIT",
            ],
        ],
    );
    let warn = out.stderr_lines();
    assert_eq!(warn.len(), 1, "one warning for the one bad line{out:?}");
    // Line 1 is the header, so the garbage is line 4.
    let place = format!("{} line 4", f.net("tcp"));
    assert!(
        warn[0].contains(&place),
        "warning should name {place:?}{out:?}"
    );

    let out = f.sockstat(&["-tan", "--json"]);
    out.expect_code(0);
    let rows = out.rows();
    assert_eq!(rows.len(), 3, "{out:?}");
    let tw = &rows[2];
    assert_eq!(
        (tw.state.as_str(), tw.inode, tw.timer.as_deref()),
        ("TIME_WAIT", 0, Some("timewait"))
    );
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
}

#[test]
fn tcp6_ipv4_mapped_row_shows_as_ipv4_with_proto_tcp6() {
    let f = Fixture::new();
    f.table(
        "tcp6",
        TCP_HEADER,
        &lines(&[
            row(
                "[::ffff:127.0.0.1]:8080",
                "[::ffff:127.0.0.1]:54321",
                ESTABLISHED,
                4242,
            ),
            row("[::]:8080", "[::]:0", LISTEN, 4241),
        ]),
    );
    let out = f.sockstat(&["-tan"]);
    out.expect_clean_success();
    assert_table(
        &out,
        &[
            HEADER,
            &[
                "tcp6",
                "0",
                "0",
                "127.0.0.1:8080",
                "127.0.0.1:54321",
                "ESTABLISHED",
            ],
            &["tcp6", "0", "-", "[::]:8080", "[::]:*", "LISTEN"],
        ],
    );
    let rows = f.sockstat(&["-tan", "--json"]).rows();
    let r = &rows[0];
    assert_eq!((r.proto.as_str(), r.family.as_str()), ("tcp6", "inet6"));
    assert_eq!(r.local, util::Ep::Inet("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(r.remote, util::Ep::Inet("127.0.0.1:54321".parse().unwrap()));
}

#[test]
fn unix_path_with_spaces_and_abstract_name_are_intact_in_table_and_json() {
    let f = Fixture::new();
    f.table(
        "unix",
        UNIX_HEADER,
        &[
            unix_line(0x0001_0000, 1, 1, 30210, "/run/my app/control socket"),
            unix_line(0, 2, 1, 30211, "@nettool test/abstract name"),
            unix_line(0, 1, 3, 30212, ""),
        ],
    );
    let out = f.sockstat(&["-xan"]);
    out.expect_clean_success();
    assert_table(
        &out,
        &[
            HEADER,
            // /proc/net/unix has no queue columns.
            &[
                "unix/stream",
                "-",
                "-",
                "/run/my app/control socket",
                "*",
                "LISTEN",
            ],
            &[
                "unix/dgram",
                "-",
                "-",
                "@nettool test/abstract name",
                "*",
                "UNCONN",
            ],
            &["unix/stream", "-", "-", "*", "*", "ESTABLISHED"],
        ],
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("/run/my app/control socket")),
        "{out:?}"
    );

    let out = f.sockstat(&["-xan", "--json"]);
    out.expect_clean_success();
    let rows = out.rows();
    let locals: Vec<_> = rows.iter().map(|r| r.local.clone()).collect();
    assert_eq!(
        locals,
        [
            util::Ep::Path("/run/my app/control socket".into()),
            util::Ep::Abstract("nettool test/abstract name".into()),
            util::Ep::Unnamed,
        ],
        "{out:?}"
    );
    assert_eq!(rows[0].unix_type.as_deref(), Some("stream"));
    assert_eq!(rows[1].unix_type.as_deref(), Some("dgram"));
    assert!(rows.iter().all(|r| r.family == "unix" && r.proto == "unix"));
    // For UNIX sockets -l means accepting connections (cli.rs: "accepting
    // UNIX"), as in netstat.
    let out = f.sockstat(&["-xln", "--json"]);
    let inodes: Vec<u64> = out.rows().iter().map(|r| r.inode).collect();
    assert_eq!(inodes, [30210], "only the accepting socket with -l{out:?}");
}

#[test]
fn processes_column_from_fixture_fd_links() {
    let f = Fixture::new();
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[
            row("0.0.0.0:80", "0.0.0.0:0", LISTEN, 777),
            row("127.0.0.1:5432", "0.0.0.0:0", LISTEN, 999),
            row("127.0.0.1:8080", "127.0.0.1:41138", TIME_WAIT, 0),
        ]),
    );
    f.process(4242, "fixtured", &[(7, 777), (9, 888)])
        .process(5000, "worker one", &[(4, 777)])
        .process(6000, "other", &[(3, 123)]);
    std::fs::create_dir_all(f.root().join("self")).unwrap();

    let out = f.sockstat(&["-tlnp"]);
    out.expect_clean_success();
    let t = out.table();
    let owner = |local: &str| {
        let r = t.rows_where("Local Address", local);
        assert_eq!(r.len(), 1, "{out:?}");
        t.cell(r[0], "PID/Program").to_string()
    };
    let shared = owner("0.0.0.0:80");
    let mut holders: Vec<&str> = shared.split(',').collect();
    holders.sort_unstable();
    assert_eq!(holders, ["4242/fixtured", "5000/worker one"], "{out:?}");
    assert_eq!(owner("127.0.0.1:5432"), "-", "{out:?}");

    let out = f.sockstat(&["-tanp", "--json"]);
    out.expect_clean_success();
    let rows = out.rows();
    let mut p: Vec<_> = rows[0].processes.clone().unwrap();
    p.sort();
    assert_eq!(
        p,
        [
            util::Proc {
                pid: 4242,
                fd: 7,
                command: "fixtured".into()
            },
            util::Proc {
                pid: 5000,
                fd: 4,
                command: "worker one".into()
            },
        ]
    );
    assert_eq!(rows[1].processes, Some(vec![]));
    assert_eq!(
        rows[2].processes,
        Some(vec![]),
        "TIME_WAIT (inode 0) has no owner"
    );
}

/// The `State  Sockets` rows under "TCP states" in `-s` output.
fn summary_states(out: &Output) -> Vec<(String, String)> {
    out.stdout
        .lines()
        .skip_while(|l| *l != "TCP states")
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            (
                it.next().unwrap().to_string(),
                it.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn summary_counts_states_kernel_figures_and_close_wait_diagnosis() {
    let f = Fixture::new();
    let mut cw = row("127.0.0.1:5000", "127.0.0.1:40001", CLOSE_WAIT, 12);
    cw.rx = 1;
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[
            row("127.0.0.1:5000", "0.0.0.0:0", LISTEN, 10),
            row("127.0.0.1:5000", "127.0.0.1:40000", ESTABLISHED, 11),
            row("127.0.0.1:40000", "127.0.0.1:5000", ESTABLISHED, 13),
            row("127.0.0.1:5000", "127.0.0.1:39999", TIME_WAIT, 0),
            cw,
        ]),
    )
    .write(
        "net/sockstat",
        "sockets: used 42\nTCP: inuse 4 orphan 3 tw 7 alloc 9 mem 1\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n",
    )
    .write("net/sockstat6", "TCP6: inuse 0\nUDP6: inuse 0\n");

    let out = f.sockstat(&["-s"]);
    out.expect_clean_success();
    let states = summary_states(&out);
    let want: Vec<(String, String)> = [
        ("CLOSE_WAIT", "1"),
        ("ESTABLISHED", "2"),
        ("LISTEN", "1"),
        ("TIME_WAIT", "1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(states, want, "{out:?}");
    let has = |s: &str| out.stdout.lines().any(|l| l.contains(s));
    let tcp_line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("TCP:"))
        .unwrap_or_else(|| panic!("no kernel TCP line{out:?}"));
    for fig in ["tw 7", "orphan 3", "inuse 4"] {
        assert!(
            tcp_line.contains(fig),
            "kernel figure {fig:?} missing{out:?}"
        );
    }
    assert!(has("- 1 in CLOSE_WAIT:"), "CLOSE_WAIT diagnosis{out:?}");
    assert!(has("- 1 in TIME_WAIT:"), "TIME_WAIT diagnosis{out:?}");
    assert!(has("- 3 orphaned TCP sockets"), "orphan diagnosis{out:?}");

    let out = f.sockstat(&["-s", "--json"]);
    out.expect_clean_success();
    let doc = out.summary_json();
    assert_eq!(doc["tcp_states"]["CLOSE_WAIT"], 1, "{out:?}");
    assert_eq!(doc["tcp_states"]["ESTABLISHED"], 2, "{out:?}");
    assert_eq!(doc["kernel"]["TCP"]["tw"], 7, "{out:?}");
    assert_eq!(doc["kernel"]["TCP"]["orphan"], 3, "{out:?}");
    assert_eq!(doc["protocols"]["tcp"], 5, "{out:?}");
    let diagnosis: Vec<&str> = doc["diagnosis"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        diagnosis.iter().any(|d| d.starts_with("1 in CLOSE_WAIT")),
        "{out:?}"
    );

    // Without a CLOSE_WAIT row, no CLOSE_WAIT diagnosis.
    let g = Fixture::new();
    g.table(
        "tcp",
        TCP_HEADER,
        &lines(&[row("127.0.0.1:5000", "127.0.0.1:40000", ESTABLISHED, 11)]),
    )
    .write("net/sockstat", "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0\n");
    let out = g.sockstat(&["-s"]);
    out.expect_clean_success();
    assert!(!out.stdout.contains("CLOSE_WAIT"), "{out:?}");
    assert!(!out.stdout.contains("orphaned"), "{out:?}");
}

/// The fixture for the filter tests: every row has a distinct inode.
fn filter_fixture() -> Fixture {
    let f = Fixture::new();
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[
            row("127.0.0.1:631", "0.0.0.0:0", LISTEN, 1),
            row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 2),
            row("127.0.0.1:8080", "127.0.0.1:41138", TIME_WAIT, 0),
            row("198.51.100.5:50000", "203.0.113.9:443", ESTABLISHED, 4),
            row("198.51.100.5:22", "203.0.113.9:61000", ESTABLISHED, 5),
        ]),
    )
    .table(
        "tcp6",
        TCP_HEADER,
        &lines(&[
            row("[2001:db8::1]:50001", "[2001:db8:1::5]:443", ESTABLISHED, 6),
            row("[2001:db8::1]:50002", "[2001:db9::5]:443", ESTABLISHED, 7),
            row("[2001:db8::1]:50003", "[2001:db8::5]:80", ESTABLISHED, 8),
            row(
                "[::ffff:127.0.0.1]:9000",
                "[::ffff:127.0.0.1]:50004",
                ESTABLISHED,
                9,
            ),
        ]),
    );
    f
}

#[test]
fn filters_select_exactly_the_expected_rows() {
    let f = filter_fixture();
    let local = |r: &Row| r.local.to_string();
    for (args, want) in [
        (&["--state", "time-wait"][..], &["127.0.0.1:8080"][..]),
        (&["--sport", "22"], &["127.0.0.1:22", "198.51.100.5:22"]),
        (
            &["--dport", "443"],
            &[
                "198.51.100.5:50000",
                "[2001:db8::1]:50001",
                "[2001:db8::1]:50002",
            ],
        ),
        (
            &["--src", "127.0.0.0/8"],
            &[
                "127.0.0.1:631",
                "127.0.0.1:22",
                "127.0.0.1:8080",
                "127.0.0.1:9000",
            ],
        ),
        (&["--dst", "[2001:db8::/32]:443"], &["[2001:db8::1]:50001"]),
        (&["--dport", "50000-50004"], &["127.0.0.1:9000"]),
        (
            &["--state", "listen", "--src", "127.0.0.1:631"],
            &["127.0.0.1:631"],
        ),
        // IPv4-mapped filters: the mapped range is every IPv4 row, from tcp
        // or from tcp6; a mapped address is that IPv4 address.
        (
            &["--src", "[::ffff:0.0.0.0/96]"],
            &[
                "127.0.0.1:631",
                "127.0.0.1:22",
                "127.0.0.1:8080",
                "198.51.100.5:50000",
                "198.51.100.5:22",
                "127.0.0.1:9000",
            ],
        ),
        (
            &["--src", "[::ffff:127.0.0.1]"],
            &[
                "127.0.0.1:631",
                "127.0.0.1:22",
                "127.0.0.1:8080",
                "127.0.0.1:9000",
            ],
        ),
        (
            &["--dst", "[::ffff:203.0.113.0/120]:443"],
            &["198.51.100.5:50000"],
        ),
    ] {
        let mut all = vec!["-tan", "--json"];
        all.extend_from_slice(args);
        let out = f.sockstat(&all);
        out.expect_clean_success();
        let got: Vec<String> = out.rows().iter().map(local).collect();
        assert_eq!(got, want, "{args:?}{out:?}");
    }

    // -4 / -6 pick the address family of the table (IPv4-mapped rows live
    // in tcp6), and internet sockets only.
    f.table(
        "unix",
        UNIX_HEADER,
        &[unix_line(0, 1, 3, 77, "/run/some socket")],
    );
    let families = |flag: &str| -> Vec<String> {
        let out = f.sockstat(&["-an", "--json", flag]);
        out.expect_clean_success();
        out.rows().iter().map(|r| r.proto.clone()).collect()
    };
    assert_eq!(families("-4"), ["tcp"; 5]);
    assert_eq!(families("-6"), ["tcp6"; 4]);
    let out = f.sockstat(&["-an", "--json"]);
    assert_eq!(out.rows().iter().filter(|r| r.proto == "unix").count(), 1);
}

#[test]
fn bad_filter_values_exit_2_with_one_line_naming_valid_forms() {
    let f = filter_fixture();
    for (args, names) in [
        (
            &["--state", "bogus"][..],
            &["bogus", "established", "time-wait", "close-wait"][..],
        ),
        (
            &["--src", "300.1.1.1"],
            &["300.1.1.1", "ADDR/LEN", "[IPV6]:PORT"],
        ),
        (&["--sport", "70000"], &["70000", "0-65535"]),
        (&["--dst", "[2001:db8::/129]:443"], &["/129", "128"]),
    ] {
        let mut all = vec!["-tan"];
        all.extend_from_slice(args);
        let out = f.sockstat(&all);
        out.expect_code(2);
        let lines = out.stderr_lines();
        assert_eq!(lines.len(), 1, "exactly one line on stderr{out:?}");
        for n in names {
            assert!(lines[0].contains(n), "stderr should mention {n:?}{out:?}");
        }
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}

#[test]
fn no_matching_rows_exits_1() {
    let f = filter_fixture();
    for args in [
        &["-tan", "--sport", "9"][..],
        &["-tan", "--json", "--state", "close-wait"],
        &["-tln", "--dst", "203.0.113.9"],
    ] {
        let out = f.sockstat(args);
        out.expect_code(1);
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    let out = f.sockstat(&["-tan", "--json", "--sport", "9"]);
    assert!(out.rows().is_empty(), "{out:?}");
}

const LONG_LOCAL: &str = "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535";
const LONG_REMOTE: &str = "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:65534";

#[test]
fn full_length_ipv6_address_is_never_truncated() {
    let f = Fixture::new();
    f.table(
        "tcp6",
        TCP_HEADER,
        &lines(&[row(LONG_LOCAL, LONG_REMOTE, ESTABLISHED, 31337)]),
    );
    let out = f.sockstat(&["-tanep"]);
    out.expect_clean_success();
    let t = out.table();
    assert_eq!(t.rows.len(), 1, "{out:?}");
    assert_eq!(t.cell(&t.rows[0], "Local Address"), LONG_LOCAL, "{out:?}");
    assert_eq!(
        t.cell(&t.rows[0], "Foreign Address"),
        LONG_REMOTE,
        "{out:?}"
    );

    // On a terminal narrower than the table, too.
    let mut cmd = nettool(&["sockstat", "-tan"]).proc_root(f.root()).command();
    let screen = run_on_pty(&mut cmd, 40);
    for want in [LONG_LOCAL, LONG_REMOTE, "ESTABLISHED"] {
        assert!(
            screen.contains(want),
            "{want} cut on a 40-column terminal:\n{screen}"
        );
    }
}

/// Run `cmd` with stdout on a fresh pseudo-terminal `cols` wide; return
/// what it printed (CRs removed).
fn run_on_pty(cmd: &mut std::process::Command, cols: u16) -> String {
    // SAFETY: plain libc calls on descriptors we own; every result is
    // checked before use, and ptsname_r writes at most `name.len()` bytes.
    let (master, slave) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(
            s >= 0,
            "open pty slave: {}",
            std::io::Error::last_os_error()
        );
        let slave = OwnedFd::from_raw_fd(s);
        let ws = libc::winsize {
            ws_row: 24,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws), 0);
        (master, slave)
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The Command holds the slave's only other copy: drop it so that the
    // master reads EIO once the child is done.
    *cmd = std::process::Command::new("true");
    let mut master = std::fs::File::from(master);
    let mut screen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => screen.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("read pty: {e}"),
        }
    }
    let status = child.wait().unwrap();
    let stderr = util::read_all(child.stderr.take().unwrap());
    assert!(status.success(), "{status}: {stderr}");
    String::from_utf8(screen).unwrap().replace('\r', "")
}

/// Run `args` with stdout a pipe closed after the first line; the output is
/// far larger than the pipe and the binary's buffer, so its writes must
/// fail with EPIPE.
fn close_after_first_line(f: &Fixture, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    let mut child = nettool(&all)
        .proc_root(f.root())
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let stderr = util::read_all(child.stderr.take().unwrap());
    let status = child.wait().unwrap();
    (status.code(), first, stderr)
}

#[test]
fn closed_pipe_mid_output_exits_zero_silently() {
    let f = Fixture::new();
    let rows: Vec<String> = (0..20_000u32)
        .map(|i| {
            let local = format!("127.0.{}.{}:{}", i / 250, i % 250 + 1, 1024 + i);
            row(&local, "198.51.100.7:443", ESTABLISHED, u64::from(i) + 1).line(i as usize)
        })
        .collect();
    f.table("tcp", TCP_HEADER, &rows);
    for args in [&["-tan"][..], &["-tan", "--json"], &["-tane"]] {
        let (code, first, stderr) = close_after_first_line(&f, args);
        assert!(!first.is_empty(), "{args:?}: no first line");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: exit {code:?}, stderr:\n{stderr}");
        assert!(
            stderr.is_empty(),
            "{args:?}: a closed pipe is not an error: {stderr}"
        );
    }
}

#[test]
fn extended_columns_show_uid_inode_and_timer() {
    let f = Fixture::new();
    let mut ka = row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 101);
    (ka.uid, ka.timer) = (1000, (2, 3000));
    let mut tw = row("127.0.0.1:8080", "127.0.0.1:41138", TIME_WAIT, 0);
    tw.timer = (3, 0x16b5);
    let mut syn = row("127.0.0.1:50000", "198.51.100.7:443", SYN_SENT, 102);
    (syn.timer, syn.retrans) = ((1, 20), 3);
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[row("0.0.0.0:22", "0.0.0.0:0", LISTEN, 100), ka, tw, syn]),
    );
    let out = f.sockstat(&["-tane"]);
    out.expect_clean_success();
    let mut header = HEADER.to_vec();
    header.extend(["User", "Inode", "Timer"]);
    assert_table(
        &out,
        &[
            &header,
            &[
                "tcp",
                "0",
                "-",
                "0.0.0.0:22",
                "0.0.0.0:*",
                "LISTEN",
                "0",
                "100",
                "off",
            ],
            &[
                "tcp",
                "0",
                "0",
                "127.0.0.1:22",
                "127.0.0.1:40000",
                "ESTABLISHED",
                "1000",
                "101",
                "keepalive (30.00/0)",
            ],
            &[
                "tcp",
                "0",
                "0",
                "127.0.0.1:8080",
                "127.0.0.1:41138",
                "TIME_WAIT",
                "0",
                "0",
                "timewait (58.13/0)",
            ],
            &[
                "tcp",
                "0",
                "0",
                "127.0.0.1:50000",
                "198.51.100.7:443",
                "SYN_SENT",
                "0",
                "102",
                "on (0.20/3)",
            ],
        ],
    );

    let out = f.sockstat(&["-tan", "--json"]);
    out.expect_clean_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let timers: Vec<&serde_json::Value> = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["timer"])
        .collect();
    assert_eq!(
        timers,
        [
            &serde_json::Value::Null,
            &serde_json::json!({"kind": "keepalive", "expires_ms": 30000, "retransmits": 0}),
            &serde_json::json!({"kind": "timewait", "expires_ms": 58130, "retransmits": 0}),
            &serde_json::json!({"kind": "on", "expires_ms": 200, "retransmits": 3}),
        ],
        "{out:?}"
    );
    let uids: Vec<Option<u64>> = out.rows().iter().map(|r| r.uid).collect();
    assert_eq!(uids, [Some(0), Some(1000), Some(0), Some(0)]);
}

#[test]
fn unix_name_control_characters_cannot_forge_rows_or_colour_the_terminal() {
    // Any user may bind a socket name with control characters; root's
    // listing must still be one socket a line, and no escape sequence may
    // reach the terminal.
    let f = Fixture::new();
    f.table(
        "unix",
        UNIX_HEADER,
        &[
            unix_line(
                0x0001_0000,
                1,
                1,
                501,
                "/run/evil\u{1b}[2J\u{1b}[31mred\tname",
            ),
            unix_line(0x0001_0000, 1, 1, 502, "@abs\u{1b}]0;title\u{7}"),
            unix_line(0x0001_0000, 1, 1, 503, "/run/plain"),
        ],
    );
    let out = f.sockstat(&["-xln"]);
    out.expect_code(0);
    out.expect_plain_text();
    assert_eq!(
        out.stdout.lines().count(),
        4,
        "header and three sockets{out:?}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("/run/evil") && l.contains("red")),
        "{out:?}"
    );

    // JSON carries the names exactly; its escaping keeps them safe.
    let out = f.sockstat(&["-xln", "--json"]);
    let locals: Vec<util::Ep> = out.rows().into_iter().map(|r| r.local).collect();
    assert_eq!(
        locals,
        [
            util::Ep::Path("/run/evil\u{1b}[2J\u{1b}[31mred\tname".into()),
            util::Ep::Abstract("abs\u{1b}]0;title\u{7}".into()),
            util::Ep::Path("/run/plain".into()),
        ]
    );
}

#[test]
fn process_name_control_characters_cannot_forge_rows() {
    // A process chooses its own comm (prctl PR_SET_NAME), newlines included.
    let f = Fixture::new();
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[
            row("0.0.0.0:80", "0.0.0.0:0", LISTEN, 777),
            row("0.0.0.0:81", "0.0.0.0:0", LISTEN, 778),
        ]),
    );
    f.process(4242, "x\ntcp 0 0 0.0.0.0:22 \u{1b}[8m", &[(3, 777)])
        .process(4343, "fine", &[(3, 778)]);
    let out = f.sockstat(&["-tlnp"]);
    out.expect_code(0);
    out.expect_plain_text();
    assert_eq!(
        out.stdout.lines().count(),
        3,
        "header and two sockets{out:?}"
    );

    let out = f.sockstat(&["-tlnp", "--json"]);
    let rows = out.rows();
    assert_eq!(
        rows[0].processes.as_ref().unwrap()[0].command,
        "x\ntcp 0 0 0.0.0.0:22 \u{1b}[8m",
        "JSON keeps the name exactly"
    );
}

/// Run with a wall-clock bound: a run that hangs is killed and reported.
#[track_caller]
fn run_bounded(cmd: util::Nettool, limit: std::time::Duration) -> Output {
    let out = cmd.timeout(limit).run();
    assert!(!out.timed_out, "it hangs{out:?}");
    out
}

#[test]
fn malformed_line_warnings_stop_after_five_with_a_count() {
    let f = Fixture::new();
    // 1 MiB of junk lines around one good row.
    let mut rows = vec![row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 7).line(0)];
    let junk = "   9: this is not a socket row at all, only junk";
    let bad = (1 << 20) / (junk.len() + 1);
    rows.extend(std::iter::repeat_n(junk.to_string(), bad));
    f.table("tcp", TCP_HEADER, &rows);
    let out = f.sockstat(&["-tn"]);
    out.expect_code(0);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 6, "five warnings and one count{out:?}");
    for (i, l) in lines[..5].iter().enumerate() {
        let place = format!("{} line {}", f.net("tcp"), i + 3);
        assert!(
            l.contains(&place),
            "warning {i} should name {place:?}{out:?}"
        );
    }
    let count = format!("and {} more malformed lines in {}", bad - 5, f.net("tcp"));
    assert!(lines[5].contains(&count), "want {count:?}{out:?}");
    assert_eq!(out.table().rows.len(), 1, "{out:?}");
}

#[test]
fn summary_skips_a_non_utf8_sockstat_line_with_a_warning() {
    let f = Fixture::new();
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 7)]),
    );
    std::fs::write(
        f.root().join("net/sockstat"),
        b"sockets: used 290\nTCP: inuse 5 orphan 3 tw 2\nUDP\xff: inuse 4 mem 2\nFRAG: inuse 0 memory 0\n",
    )
    .unwrap();
    let out = f.sockstat(&["-s", "--json"]);
    out.expect_code(0);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one warning{out:?}");
    let place = format!("{} line 3", f.net("sockstat"));
    assert!(lines[0].contains(&place), "want {place:?}{out:?}");
    let doc = out.summary_json();
    assert_eq!(doc["kernel"]["TCP"]["orphan"], 3, "{out:?}");
    assert_eq!(doc["kernel"]["FRAG"]["inuse"], 0, "{out:?}");
    assert!(doc["kernel"].get("UDP").is_none(), "{out:?}");
}

#[test]
fn missing_proc_root_exits_2_with_one_line() {
    let f = Fixture::new();
    let gone = f.root().join("no such dir");
    for args in [
        &["sockstat", "-tan"][..],
        &["sockstat", "-s"],
        &["sockstat", "-xlp"],
    ] {
        let out = nettool(args).proc_root(&gone).run();
        out.expect_code(2);
        let lines = out.stderr_lines();
        assert_eq!(lines.len(), 1, "{out:?}");
        assert!(
            lines[0].contains(&gone.display().to_string()) && lines[0].contains("does not exist"),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}

#[test]
fn a_fifo_table_is_refused_not_waited_on() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.root().join("net")).unwrap();
    let fifo = f.root().join("net/tcp");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let out = run_bounded(
        nettool(&["sockstat", "-tan"]).proc_root(f.root()),
        std::time::Duration::from_secs(10),
    );
    out.expect_code(2);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].contains(&f.net("tcp")) && lines[0].contains("not a regular file"),
        "{out:?}"
    );
}

#[test]
fn a_table_linked_to_dev_zero_is_refused() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.root().join("net")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", f.root().join("net/tcp")).unwrap();
    // 1 GiB of address space: a 4 GiB buffer would abort.
    let out = run_bounded(
        nettool(&["sockstat", "-tan"])
            .proc_root(f.root())
            .wrapped(&["prlimit", "--as=1073741824", "--"]),
        std::time::Duration::from_secs(20),
    );
    out.expect_code(2);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].contains(&f.net("tcp")) && lines[0].contains("not a regular file"),
        "{out:?}"
    );
}

#[test]
fn an_oversized_table_is_read_up_to_its_cap_in_bounded_memory() {
    let f = Fixture::new();
    f.table(
        "tcp",
        TCP_HEADER,
        &lines(&[row("127.0.0.1:22", "127.0.0.1:40000", ESTABLISHED, 7)]),
    );
    // Then 300 MiB of NUL bytes and no line feed (sparse: no disk used).
    let path = f.root().join("net/tcp");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.set_len(file.metadata().unwrap().len() + (300 << 20))
        .unwrap();
    drop(file);
    let out = run_bounded(
        nettool(&["sockstat", "-tn"]).proc_root(f.root()).wrapped(&[
            "prlimit",
            "--as=1073741824",
            "--",
        ]),
        std::time::Duration::from_secs(60),
    );
    out.expect_code(0);
    assert_eq!(out.table().rows.len(), 1, "{out:?}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 2, "the long line, then the cap{out:?}");
    assert!(
        lines[0].contains(&format!("{} line 3", f.net("tcp"))) && lines[0].contains("longer than"),
        "{out:?}"
    );
    assert!(
        lines[1].contains(&f.net("tcp")) && lines[1].contains("256 MiB"),
        "{out:?}"
    );
}

#[test]
fn a_table_of_millions_of_minimal_rows_keeps_at_most_a_million_sockets_in_bounded_memory() {
    let f = Fixture::new();
    // 2,000,000 of the shortest rows /proc/net/unix parses (32 MB): each
    // would cost ~110 bytes kept.
    let mut text = UNIX_HEADER.to_string();
    text.push_str(&"0: 0 0 0 1 1 1\n".repeat(2_000_000));
    f.write("net/unix", &text);
    drop(text);
    let out = run_bounded(
        nettool(&["sockstat", "-x", "-s"])
            .proc_root(f.root())
            .wrapped(&["prlimit", "--as=268435456", "--"]),
        std::time::Duration::from_secs(120),
    );
    out.expect_code(0);
    assert!(out.stdout.contains("1000000"), "{out:?}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].contains(&f.net("unix"))
            && lines[0].contains("1000000 sockets not listed")
            && lines[0].contains("at most 1000000"),
        "{out:?}"
    );
}

#[test]
fn a_proc_root_without_net_exits_2_with_one_line() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.root()).unwrap();
    for args in [&["sockstat", "-tan"][..], &["sockstat", "-xlp"]] {
        for root in [f.root(), Path::new("/proc/net")] {
            let out = nettool(args).proc_root(root).run();
            out.expect_code(2);
            let lines = out.stderr_lines();
            assert_eq!(lines.len(), 1, "{out:?}");
            assert!(
                lines[0].contains(&root.display().to_string()) && lines[0].contains("no net/"),
                "{out:?}"
            );
            assert!(out.stdout.is_empty(), "{out:?}");
        }
    }
}
