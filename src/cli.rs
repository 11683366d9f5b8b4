//! The command line: the single source of truth for every flag. Completions
//! and man pages are generated from these types (`nettool generate`), and a
//! test fails when the checked-in ones are stale.
//!
//! The doc comments here are help text, which writes `[LOCAL]` and
//! `[IPV6]:PORT` as users type them, not as links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sockstat::SourceKind;

#[derive(Debug, Parser)]
#[command(
    name = "nettool",
    version,
    about = "Network diagnostics in one binary",
    long_about = "nettool: network diagnostics in one binary.\n\n\
        It lists sockets and their TCP states like netstat and ss, and sends \
        real ARP requests like arping and arp-scan, with the explanations \
        they leave out.",
    after_long_help = "EXIT STATUS:\n  0  success\n  1  the thing looked for failed or was not found (e.g. no socket matched)\n  2  usage or setup error (bad flag, bad filter, missing privilege)",
    disable_help_subcommand = true,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Sockstat(SockstatArgs),
    Arp(ArpArgs),
    Tftp(TftpArgs),
    Probe(ProbeArgs),
    /// Write shell completions and man pages (for packagers and the repo).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

impl Command {
    /// The subcommand's name and its metrics flags, for those that have them.
    pub fn metrics(&self) -> Option<(&'static str, &MetricsArgs)> {
        match self {
            Command::Sockstat(a) => Some(("sockstat", &a.metrics)),
            Command::Arp(a) => Some(("arp", &a.metrics)),
            Command::Probe(a) => Some(("probe", &a.metrics)),
            Command::Tftp(_) | Command::Generate(_) => None,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    about = "List sockets and their TCP states (like netstat and ss)",
    long_about = "List sockets and their TCP states, like netstat and ss.\n\n\
        Rows come from netlink sock_diag (the kernel filters by state, so -l \
        never walks the established table), or from the /proc/net tables \
        with --source proc. Without -t/-u/-w/-x every kind is shown. As in \
        netstat, listening sockets are hidden unless -l or -a is given; for \
        UDP and raw sockets, \"listening\" means unconnected (UNCONN).\n\n\
        The State column is the TCP state machine: LISTEN waits for SYNs; \
        SYN_SENT and SYN_RECV are the two halves of the three-way handshake; \
        ESTABLISHED carries data; the side that closes first goes FIN_WAIT1 -> \
        FIN_WAIT2 -> TIME_WAIT (2MSL), the other CLOSE_WAIT -> LAST_ACK. \
        -s explains what the counts mean on this machine.",
    after_long_help = "EXAMPLES:\n  \
        nettool sockstat -tlnp                 listening TCP sockets with their processes\n  \
        nettool sockstat -tan --state time-wait,close-wait\n  \
        nettool sockstat -tn --dport 443       connections to HTTPS servers\n  \
        nettool sockstat -un --src 127.0.0.0/8\n  \
        nettool sockstat -xlp                  listening UNIX sockets and their owners\n  \
        nettool sockstat -s                    counts per state, with a diagnosis\n  \
        nettool sockstat --diagnose            what is wrong, who does it, what to do (exit 1 if anything)\n  \
        nettool sockstat -K --state close-wait --sport 8080   close the CLOSE_WAITs of port 8080\n  \
        nettool sockstat -tan --json | jq '.sockets[] | select(.state==\"ESTABLISHED\")'\n  \
        nettool sockstat -ta --textfile /var/lib/prometheus/node-exporter/sockstat.prom\n                                               metrics for node_exporter's textfile collector (README \"Fleets\")\n\n\
        ENVIRONMENT:\n  \
        PROC_ROOT  read /proc tables and fd links from this directory instead of /proc \
        (implies --source proc under the default --source auto)\n\n\
        EXIT STATUS:\n  0  at least one socket listed (or -s; with -K: at least one closed; with --diagnose: nothing found)\n  1  no socket matched (-K: none closed; --diagnose: something found)\n  2  usage error (unknown state, malformed filter) or setup error (-K without CAP_NET_ADMIN, -N that cannot be entered)\n  130  Ctrl-C during -s --interval or --diagnose (143: SIGTERM)"
)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags: each bool is one independent switch"
)]
#[allow(
    clippy::doc_markdown,
    reason = "the fields' docs are --help text, where backticks would show"
)]
pub struct SockstatArgs {
    /// TCP sockets
    #[arg(short = 't', long = "tcp")]
    pub tcp: bool,
    /// UDP sockets
    #[arg(short = 'u', long = "udp")]
    pub udp: bool,
    /// Raw sockets
    #[arg(short = 'w', long = "raw")]
    pub raw: bool,
    /// UNIX domain sockets
    #[arg(short = 'x', long = "unix")]
    pub unix: bool,
    /// IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)
    #[arg(short = 'l', long = "listening")]
    pub listening: bool,
    /// All sockets, listening and not (the default hides listeners, as netstat)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Numeric addresses and ports: no /etc/hosts or /etc/services names
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,
    /// Show the owning process (PID/Program); all of them need root
    #[arg(short = 'p', long = "processes")]
    pub processes: bool,
    /// Extended columns: user, inode and the pending TCP timer (what ss -o
    /// and netstat -o show: keepalive, retransmit, TIME_WAIT, zero-window
    /// probe, with its expiry and retries)
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(short = 'e', long = "extended")]
    pub extended: bool,
    /// TCP internals per socket (the kernel's TCP_INFO and congestion
    /// control): rtt, rto, cwnd, ssthresh, mss, retransmits, bytes, rates,
    /// limited times; a second line per socket, a tcp_info object in JSON.
    /// Needs netlink (not --source proc)
    #[arg(short = 'i', long = "info", conflicts_with = "summary")]
    pub info: bool,
    /// Socket memory per inet socket (SKMEMINFO), in bytes: receive and
    /// send buffers, what is queued and allocated, backlog, drops; a
    /// "skmem" line per socket, a memory object in JSON. Needs netlink
    #[arg(short = 'm', long = "memory", conflicts_with = "summary")]
    pub memory: bool,
    /// Close the TCP and UDP sockets that match, in this network namespace
    /// or the one -N names (SOCK_DESTROY: a connected TCP peer gets a RST),
    /// and show them. It closes exactly what the same command without -K
    /// lists. Needs CAP_NET_ADMIN and a filter: --state, --sport, --dport,
    /// --src or --dst
    #[arg(short = 'K', long = "kill")]
    pub kill: bool,
    /// The sockets of another network namespace: a name under /run/netns,
    /// a path to a netns file, or a PID whose namespace to use (entering
    /// another namespace needs root)
    #[arg(short = 'N', long = "netns", value_name = "NAME|PATH|PID")]
    pub netns: Option<String>,
    /// Every network namespace on the host, each row labelled with its
    /// namespace (name, else a process in it and its container); without
    /// root only your own, and a note on how many were left out
    #[arg(long = "all-netns", conflicts_with = "netns")]
    pub all_netns: bool,
    /// Summary: counts per protocol and TCP state, the kernel's protocol
    /// counters, kernel figures, diagnosis
    #[arg(short = 's', long = "summary")]
    pub summary: bool,
    /// Say what is wrong, most severe first: CLOSE_WAIT leaks, accept
    /// queue overflows, SYN floods, TIME_WAIT pressure, retransmissions,
    /// peers or programs not reading, UDP drops, orphans, TCP memory; who
    /// (process, port, peer), the numbers and what to do. Reads twice,
    /// --interval apart (default 1 s). Exit 1 when something was found
    #[arg(long = "diagnose", conflicts_with_all = ["summary", "kill", "watch", "info", "memory", "dns", "extended", "listening", "all"])]
    pub diagnose: bool,
    /// With -s: read the kernel's counters twice, SECS apart, and show the
    /// deltas and rates (as nstat). With --watch: SECS between two dumps
    /// (default 0.5). With --diagnose: SECS between its two readings
    /// (default 1)
    #[arg(long = "interval", value_name = "SECS", allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Only these states (comma-separated or repeated): established,
    /// syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close,
    /// close-wait, last-ack, listen, closing; groups: all, connected,
    /// synchronized, bucket, big. Overrides -l/-a.
    #[arg(long = "state", value_name = "LIST")]
    pub state: Vec<String>,
    /// Local port: PORT, LO-HI or a service name
    #[arg(long = "sport", value_name = "PORT")]
    pub sport: Option<String>,
    /// Remote port: PORT, LO-HI or a service name
    #[arg(long = "dport", value_name = "PORT")]
    pub dport: Option<String>,
    /// Local address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT
    #[arg(long = "src", value_name = "ADDR")]
    pub src: Option<String>,
    /// Remote address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT
    #[arg(long = "dst", value_name = "ADDR")]
    pub dst: Option<String>,
    /// JSON output (schema nettool.sockstat/1, see README)
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Where rows come from
    #[arg(long = "source", value_enum, default_value_t = SourceKind::Auto)]
    pub source: SourceKind,
    /// Resolve remote addresses through DNS (never done otherwise); bounded by
    /// --dns-timeout. Not with --json, whose addresses are always numeric
    #[arg(long = "dns", conflicts_with_all = ["numeric", "json"])]
    pub dns: bool,
    /// Total time allowed for --dns lookups, in seconds
    #[arg(
        long = "dns-timeout",
        value_name = "SECS",
        default_value_t = 2.0,
        requires = "dns",
        allow_negative_numbers = true
    )]
    pub dns_timeout: f64,
    /// Report sockets that appear, change TCP state or go away (TCP and
    /// UDP), as it happens, until Ctrl-C, --count or --duration: on a
    /// terminal a live table redrawn in place (q quits), piped (or with
    /// --lines, --json) one line per event
    #[arg(long = "watch", conflicts_with_all = ["summary", "kill", "info", "memory", "dns", "extended"])]
    pub watch: bool,
    /// With --watch: stop after N events
    #[arg(
        long = "count",
        value_name = "N",
        requires = "watch",
        allow_negative_numbers = true
    )]
    pub count: Option<i64>,
    /// With --watch: stop after SECS seconds
    #[arg(
        long = "duration",
        value_name = "SECS",
        requires = "watch",
        allow_negative_numbers = true
    )]
    pub duration: Option<f64>,
    /// With --watch on a terminal: print one line per event, as when
    /// piped, instead of the live view (a table redrawn in place; q or
    /// Ctrl-C quits)
    #[arg(long = "lines")]
    pub lines: bool,
}

/// `--prometheus` and `--textfile`: the subcommands that measure something
/// (sockstat, probe, arp) take both, as metrics for Prometheus.
#[derive(Debug, Clone, Default, Args)]
#[allow(
    clippy::doc_markdown,
    reason = "the fields' docs are --help text, where backticks would show"
)]
pub struct MetricsArgs {
    /// Print the results as Prometheus metrics (text exposition format)
    /// instead of the usual output; see README "Fleets"
    #[arg(long = "prometheus", conflicts_with = "json")]
    pub prometheus: bool,
    /// Write the metrics to DIR/NAME.prom for node_exporter's textfile
    /// collector, atomically (temp file, fsync, rename), with
    /// nettool_run_success and nettool_last_run_timestamp_seconds; nothing
    /// else goes to stdout unless --prometheus is given too
    #[arg(
        long = "textfile",
        value_name = "DIR/NAME.prom",
        value_parser = textfile_path,
        conflicts_with = "json"
    )]
    pub textfile: Option<PathBuf>,
}

impl MetricsArgs {
    /// Metrics asked for, on stdout or in a file.
    pub fn wanted(&self) -> bool {
        self.prometheus || self.textfile.is_some()
    }
}

fn textfile_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    crate::output::prometheus::check_textfile(&p)?;
    Ok(p)
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory that receives completions/ and man/
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// The clap command, for generators and tests.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Args)]
#[command(
    about = "Send ARP requests and show replies (like arping), sweep a subnet (like arp-scan), or show the neighbour table (like ip neigh)",
    long_about = "Send real ARP requests as raw Ethernet frames and report every reply, \
        like arping; sweep a subnet like arp-scan; or, with no target, show the \
        kernel's neighbour table like arp -a and ip neigh: IPv4 (ARP) and IPv6 \
        (NDP) entries, read over rtnetlink, each with its NUD state, the router \
        flag and its interface.\n\n\
        An ARP request is a broadcast Ethernet frame (ethertype 0x0806) asking \
        \"who has TARGET? tell SOURCE\": htype 1 (Ethernet), ptype 0x0800 (IPv4), \
        hlen 6, plen 4, oper 1, then sender MAC/IP and target MAC (zero)/IP. The \
        owner of TARGET answers with oper 2 and its MAC, unicast to us. ARP never \
        crosses a router: a target that is not on a directly connected network \
        is refused, naming the gateway to probe instead.\n\n\
        An IPv6 TARGET is asked with ICMPv6 Neighbor Solicitations (RFC 4861): \
        to its solicited-node group, hop limit 255, with our source link-layer \
        address. A reply is a Neighbor Advertisement that has hop limit 255, a \
        good checksum, code 0, TARGET as its target, the solicited flag, and a \
        target link-layer address equal to its Ethernet source; one for TARGET \
        that fails these checks is shown as rejected, with why, and not taken. \
        A second MAC answering for the same address is flagged as \
        DUPLICATE, as for ARP.\n\n\
        Needs CAP_NET_RAW (root, or setcap cap_net_raw+ep on the binary); the \
        raw channel is opened first and every capability dropped right after. \
        The neighbour table needs no privilege.\n\n\
        The neighbour table lists every entry (as ip neigh show nud all), sorted \
        by family, interface and address. STATE is the kernel's NUD state: \
        REACHABLE (confirmed lately), STALE (known, not confirmed lately), DELAY \
        and PROBE (being confirmed again), INCOMPLETE (asking), FAILED (nobody \
        answered), PERMANENT (set by hand), NOARP (needs no resolution, e.g. \
        multicast), NONE. The last column is how many seconds ago the entry was \
        used, confirmed and updated (ip -s neigh).",
    after_long_help = "EXAMPLES:\n  \
        nettool arp 198.51.100.2                  probe until Ctrl-C, one line per reply\n  \
        nettool arp -c 3 -I eth1 198.51.100.2     three probes out of eth1\n  \
        nettool arp -D -c 2 198.51.100.9          is the address free? (exit 0 free, 1 in use)\n  \
        nettool arp -U -c 1 -s 198.51.100.1       announce our address (gratuitous ARP)\n  \
        nettool arp -c 3 2001:db8::2              IPv6: neighbour solicitations, one line per advertisement\n  \
        nettool arp -c 2 fe80::2%eth1             a link-local neighbour on eth1\n  \
        nettool arp -D -c 2 2001:db8::9           IPv6 duplicate address detection (from ::)\n  \
        nettool arp -U -c 1 -s 2001:db8::1        unsolicited neighbour advertisement of our address\n  \
        nettool arp -d -c 3 198.51.100.2          exit 1 if a second MAC answers (spoofing)\n  \
        nettool arp 198.51.100.0/24               sweep: every host that answers, with vendor\n  \
        nettool arp --rate 20000 --retries 1 --timeout 0.05 198.51.100.0/24\n                                                  the fastest documented sweep setting\n  \
        nettool arp --localnet -I eth1            sweep every IPv4 network on eth1\n  \
        nettool arp --localnet -6 -I eth1         IPv6 neighbours on eth1: who answers an echo to ff02::1\n  \
        nettool arp                               the neighbour table, IPv4 and IPv6\n  \
        nettool arp -n -6 -I eth1                 eth1's IPv6 neighbours, no names from /etc/hosts\n  \
        nettool arp --watch -I eth1 --db /var/lib/nettool/eth1.db\n                                                  watch eth1 (ARP and NDP) until Ctrl-C; stations kept across runs\n  \
        nettool arp --watch --duration 60 --json  a minute of the default interface, JSON lines\n  \
        nettool arp -c 3 --prometheus 198.51.100.2  up, replies per MAC, duplicates as Prometheus metrics\n\n\
        WATCH (--watch):\n  \
        passive: reads every ARP and Neighbor Solicitation/Advertisement frame on the interfaces (a \
        kernel BPF filter, promiscuous mode off, a TPACKET_V3 ring) and reports, once each: new_station \
        (IP, MAC, vendor), changed (a MAC the IP never had, with the old MAC and when it was last \
        seen), flip_flop (back to an earlier MAC), many_ips (a MAC claiming many addresses), \
        announcement (gratuitous ARP, unsolicited NA), bogon (a sender outside the interface's \
        networks, 0.0.0.0 other than DAD probes, a non-unicast MAC), ether_mismatch (the Ethernet \
        source is not the ARP/NDP sender MAC). --json: one object per line, schema \
        nettool.arp.event/1, {\"event\": KIND, \"time\", \"interface\", \"frame\", \"ip\", \"mac\", ...}; \
        the last line is {\"event\": \"summary\"} with the count per kind, frames, kernel_drops \
        (PACKET_STATISTICS). --db FILE: JSON lines, written atomically at exit; a corrupt file is \
        moved aside to FILE.corrupt-TIME with a warning; -q: the summary only.\n\n\
        NEIGHBOUR TABLE JSON (--json, no TARGET):\n  \
        an array, one object per entry:\n  \
        {\"family\": \"ipv4\"|\"ipv6\", \"address\": \"198.51.100.2\", \"mac\": \"02:11:22:33:44:55\"|null (none yet),\n   \
        \"state\": \"REACHABLE\"|\"STALE\"|\"DELAY\"|\"PROBE\"|\"FAILED\"|\"INCOMPLETE\"|\"PERMANENT\"|\"NOARP\"|\"NONE\",\n   \
        \"router\": true|false, \"iface\": \"eth1\", \"name\": from /etc/hosts|null (always null with -n),\n   \
        \"used_s\", \"confirmed_s\", \"updated_s\": seconds ago|null, \"probes\": probes sent in this state|null}\n\n\
        EXIT STATUS:\n  0  at least one valid reply (-D: the address is free; neighbour table: entries shown; --watch: stopped by -c, --duration, Ctrl-C or SIGTERM)\n  \
        1  no reply (-D: the address is in use; -d: also a duplicate or invalid reply; sweep: no host answered; neighbour table: no entry)\n  \
        2  usage or setup error: no CAP_NET_RAW, unknown interface, interface down or without ARP (or without IPv6), no route, target behind a gateway, a multicast or unspecified IPv6 target, a link-local target without its %IFACE where several interfaces could reach it; --watch: a --db that is not a station database, unreadable or unwritable"
)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags: each bool is one independent switch"
)]
#[allow(
    clippy::doc_markdown,
    reason = "the fields' docs are --help text, where backticks would show"
)]
pub struct ArpArgs {
    /// IPv4 address to probe (ARP), IPv6 address to solicit (NDP; a link-local one as fe80::1%IFACE), or an IPv4 CIDR (up to /16) to sweep; none: show the neighbour table
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Interface to use (default: the one the route to TARGET uses); neighbour table: only this interface's entries; --watch: repeat to watch several (default: the default route's)
    #[arg(short = 'I', long = "interface", value_name = "IFACE")]
    pub interface: Vec<String>,
    /// Stop after sending COUNT requests (--watch: after COUNT events)
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,
    /// Stop after SECS seconds, whatever the count
    #[arg(
        short = 'w',
        long = "deadline",
        visible_alias = "duration",
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub deadline: Option<f64>,
    /// Seconds between requests (fractions allowed, default 1); the interface is -I
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub interval: Option<String>,
    /// Stop at the first reply
    #[arg(short = 'f', long = "first")]
    pub first: bool,
    /// Source address, of TARGET's family (must be on the interface; ignored with -D, which asks from 0.0.0.0 or ::)
    #[arg(short = 's', long = "source", value_name = "ADDR")]
    pub source: Option<String>,
    /// Quiet: no per-reply lines (--watch: no event lines), only the summary (and the exit status)
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Duplicate address detection: ask from 0.0.0.0 (IPv6: from ::, as RFC 4862); exit 0 if TARGET is free, 1 if in use, naming the holder
    #[arg(short = 'D', long = "dad", conflicts_with_all = ["unsolicited", "answer"])]
    pub dad: bool,
    /// Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches; for an IPv6 address, an unsolicited neighbour advertisement to ff02::1 with the override flag (and the router flag where this host forwards IPv6)
    #[arg(short = 'U', long = "unsolicited")]
    pub unsolicited: bool,
    /// Like -U, but the announcement is an ARP reply (oper 2) instead of a request (IPv4 only)
    #[arg(short = 'A', long = "answer")]
    pub answer: bool,
    /// Strict: exit 1 when a duplicate reply (a second MAC for TARGET), an invalid one or a rejected IPv6 advertisement was seen, even if TARGET answered
    #[arg(short = 'd', long = "strict")]
    pub strict: bool,
    /// After the first reply, send the follow-up requests unicast to the MAC that answered (iputils arping's way), not broadcast (IPv6: to the address itself, not its solicited-node group)
    #[arg(long = "unicast", conflicts_with_all = ["dad", "unsolicited", "answer"])]
    pub unicast: bool,
    /// Show the kernel's neighbour table, IPv4 and IPv6 (the default with no TARGET)
    #[arg(short = 'a', long = "cache")]
    pub cache: bool,
    /// Neighbour table: numeric addresses, no names from /etc/hosts
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,
    /// Neighbour table: IPv4 (ARP) entries only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Neighbour table: IPv6 (NDP) entries only; with --localnet: find the link's IPv6 neighbours
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Sweep every IPv4 network on the interface; with -6, ask every IPv6 node on the link at once (an ICMPv6 echo request to ff02::1 from each of our addresses: hosts that ignore multicast echoes are not found)
    #[arg(long = "localnet", conflicts_with = "target")]
    pub localnet: bool,
    /// Sweep: requests per second
    #[arg(long = "rate", value_name = "PPS", default_value_t = 2000)]
    pub rate: u32,
    /// Sweep: further rounds for hosts that did not answer, 0-100 (extra rounds, unlike arp-scan's --retry, which counts all; --localnet -6: further echo requests to all nodes)
    #[arg(long = "retries", value_name = "N", default_value_t = 1)]
    pub retries: u32,
    /// Sweep: seconds to wait for replies after each round
    #[arg(
        long = "timeout",
        value_name = "SECS",
        default_value_t = 0.25,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    /// JSON output (neighbour table: an array of entries; --watch: a line per event; see --help)
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Watch the link passively (arpwatch's job, ARP and NDP): report new stations, changed MACs, flip-flops, spoofing, bogons, until Ctrl-C, -c or --duration
    #[arg(
        long = "watch",
        conflicts_with_all = ["target", "dad", "unsolicited", "answer", "strict", "unicast", "cache", "localnet", "first", "interval", "source", "numeric", "ipv4", "ipv6", "rate", "retries", "timeout"]
    )]
    pub watch: bool,
    /// --watch: the station database, read at start and written (atomically) at exit, so known stations are not new next time
    #[arg(long = "db", value_name = "FILE", requires = "watch")]
    pub db: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    disable_help_subcommand = true,
    about = "TFTP client and server: get, put and serve files (RFC 1350 with blksize, tsize, timeout and windowsize)",
    long_about = "A TFTP client written from the RFCs: 1350, 1123 section 4.2.3, 2347 \
        (options), 2348 (blksize), 2349 (timeout, tsize) and 7440 (windowsize).\n\n\
        A download starts with an RRQ to port 69: opcode 1, the file name, \
        NUL, the mode (octet or netascii), NUL, then option/value pairs. The \
        server answers from a new port (its transfer ID): an OACK with the \
        options it accepts, or straight away DATA block 1. Every DATA carries \
        up to blksize bytes; a shorter one ends the file. Without windowsize \
        each DATA waits for its ACK (lock-step); with it, windowsize blocks go \
        out per ACK.\n\n\
        Nothing is lost or half-written: a download goes to a temporary file \
        beside the target, renamed only after the last block (and removed on \
        any failure unless --keep-partial); an existing file is not \
        overwritten without --force. Packets from any address but the server's \
        transfer ID are answered with ERROR 5 and ignored; a DATA larger than \
        blksize, an option the server was never asked for, or more data than \
        --max-size (default: the announced tsize) stop the transfer.",
    after_long_help = "EXAMPLES:\n  \
        nettool tftp get 198.51.100.2 firmware.bin\n  \
        nettool tftp get tftp://198.51.100.2:6969/boot/pxelinux.0 --blksize 1468\n  \
        nettool tftp get [2001:db8::2]:69 images/disk.img disk.img --blksize 8192 --windowsize 16\n  \
        nettool tftp get 198.51.100.2 notes.txt -m netascii -\n  \
        nettool tftp put 198.51.100.2 config.txt backups/config.txt\n  \
        nettool tftp get 198.51.100.2 big.iso --verbose     every packet, one line each\n\n\
        EXIT STATUS:\n  0  transferred\n  1  the transfer failed (server error, timeout, protocol violation, size mismatch)\n  \
        2  usage or setup error (bad flag, name not resolvable, local file exists without --force)"
)]
pub struct TftpArgs {
    #[command(subcommand)]
    pub op: TftpOp,
}

#[derive(Debug, Subcommand)]
pub enum TftpOp {
    /// Download: get HOST FILE [LOCAL], get tftp://HOST[:PORT]/FILE [LOCAL], or get HOST FILE... --dir DIR
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    Get(TftpGetArgs),
    /// Upload: put HOST LOCAL [REMOTE], put tftp://HOST[:PORT]/REMOTE LOCAL, or put HOST LOCAL... --dir DIR
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    Put(TftpPutArgs),
    /// Serve files: serve [DIR] [--listen ADDR:PORT]... (read-only unless --write)
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    Serve(TftpServeArgs),
}

#[derive(Debug, Args)]
#[command(
    long_about = "A TFTP server for the files below DIR, safe by default: read-only \
        unless --write; an upload only creates a new file (--overwrite to replace), \
        goes to a temporary file renamed into place after the last block, and is \
        removed on any failure. No name leaves DIR: absolute names and '..' are \
        refused, symbolic links are not followed (--follow-symlinks: only those \
        that stay inside DIR; openat2 RESOLVE_BENEATH), and only regular files \
        are served. Run as root, it drops to --user (or the sudo user, or \
        nobody) right after binding.\n\n\
        Each transfer gets its own socket and port (its transfer ID); packets \
        from anyone else there get ERROR 5. Options (RFC 2347): blksize up to \
        --max-blksize, windowsize up to --max-windowsize, timeout, tsize; \
        --no-options for plain RFC 1350. One line per transfer as it ends \
        (--json: nettool.tftp.serve/1 records). Ctrl-C or SIGTERM stops \
        accepting and lets running transfers finish for up to --grace seconds.",
    after_long_help = "EXAMPLES:\n  \
        nettool tftp serve /srv/tftp                       read-only on port 69, IPv4 and IPv6\n  \
        nettool tftp serve . --listen 198.51.100.1:69      one address only\n  \
        nettool tftp serve /srv/tftp --write --max-size 64M --user tftp\n  \
        nettool tftp serve . --listen 127.0.0.1:6969 --json\n\n\
        EXIT STATUS:\n  0  stopped by Ctrl-C or SIGTERM\n  \
        2  usage or setup error (DIR missing, port taken or privileged, no such user)"
)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags: each bool is one independent switch"
)]
pub struct TftpServeArgs {
    /// Directory to serve
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: std::path::PathBuf,
    /// Address to listen on, ADDR:PORT or [IPV6]:PORT (a literal; port 69 when left out); repeat for several [default: [::]:69, IPv4 too]
    #[arg(short = 'l', long = "listen", value_name = "ADDR:PORT")]
    pub listen: Vec<String>,
    /// Accept uploads (WRQ), as new files only
    #[arg(long = "write")]
    pub write: bool,
    /// With --write: an upload may replace an existing file
    #[arg(long = "overwrite", requires = "write")]
    pub overwrite: bool,
    /// Largest upload, in bytes (K, M, G suffixes: powers of 1024); a larger announced tsize is refused at once (ERROR 3)
    #[arg(long = "max-size", value_name = "BYTES", requires = "write")]
    pub max_size: Option<String>,
    /// User to run as after binding, when started as root [default: the sudo user, else nobody]
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Follow symbolic links that stay inside DIR (links leading out are never followed)
    #[arg(long = "follow-symlinks")]
    pub follow_symlinks: bool,
    /// Largest blksize granted, 8..65464 (a larger request is lowered to it)
    #[arg(long = "max-blksize", value_name = "N", default_value_t = 65464, value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub max_blksize: u16,
    /// Largest windowsize granted, 1..65535 (a larger request is lowered to it)
    #[arg(long = "max-windowsize", value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_windowsize: u16,
    /// Plain RFC 1350: ignore every option (no OACK)
    #[arg(long = "no-options", conflicts_with_all = ["max_blksize", "max_windowsize"])]
    pub no_options: bool,
    /// Retransmission timeout in seconds, doubling per retry (a client's timeout option wins)
    #[arg(
        long = "timeout",
        value_name = "SECS",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    /// Retransmissions of one packet before a transfer is given up
    #[arg(long = "retries", value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,
    /// Transfers at once, in all
    #[arg(long = "max-transfers", value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_transfers: u32,
    /// Transfers at once from one client address
    #[arg(long = "max-per-client", value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_per_client: u32,
    /// While transfers run, poll up to this many microseconds for a client's answer before sleeping (adaptive: it backs off when answers take longer); saves a sleep and a wake-up per block. 0 never polls
    #[arg(
        long = "busy-poll",
        value_name = "MICROS",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub busy_poll: u32,
    /// After Ctrl-C or SIGTERM, seconds running transfers may take to finish
    #[arg(
        long = "grace",
        value_name = "SECS",
        default_value_t = 5.0,
        allow_negative_numbers = true
    )]
    pub grace: f64,
    /// One JSON record per line (nettool.tftp.serve/1): listening, each transfer, the summary
    #[arg(long = "json")]
    pub json: bool,
    /// Trace every packet, one line each, on stderr
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct TftpGetArgs {
    /// Server: HOST, HOST:PORT, [IPV6]:PORT, or a URL tftp://HOST[:PORT]/FILE
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(value_name = "HOST")]
    pub host: String,
    /// Remote FILE (omit when HOST is a URL), then LOCAL (default: the remote name's last component; - for stdout). With --dir: one or more remote FILEs
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Overwrite an existing local file
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// On failure keep what arrived as LOCAL.part instead of deleting it
    #[arg(long = "keep-partial")]
    pub keep_partial: bool,
    /// Most bytes the server may make us write (default: the tsize it announces)
    #[arg(long = "max-size", value_name = "BYTES")]
    pub max_size: Option<u64>,
    /// Do not ask the server for the file size (tsize is asked by default)
    #[arg(long = "no-tsize")]
    pub no_tsize: bool,
    /// Download each FILE into DIR, under its last path component (several files in one run, one after another)
    #[arg(long = "dir", value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub common: TftpCommon,
}

#[derive(Debug, Args)]
pub struct TftpPutArgs {
    /// Server: HOST, HOST:PORT, [IPV6]:PORT, or a URL tftp://HOST[:PORT]/REMOTE
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(value_name = "HOST")]
    pub host: String,
    /// Local file to send (- for stdin), then REMOTE (default: LOCAL's file name). With --dir: one or more LOCAL files
    #[arg(value_name = "LOCAL", required = true)]
    pub files: Vec<String>,
    /// Tell the server the size up front (tsize; octet mode, not stdin)
    #[arg(long = "tsize")]
    pub tsize: bool,
    /// Send each LOCAL as DIR/NAME on the server, NAME its file name (several files in one run; . for the server's own directory)
    #[arg(long = "dir", value_name = "DIR")]
    pub dir: Option<String>,
    #[command(flatten)]
    pub common: TftpCommon,
}

#[derive(Debug, Args)]
pub struct TftpCommon {
    /// Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)
    #[arg(short = 'm', long = "mode", value_enum, default_value_t = TftpMode::Octet)]
    pub mode: TftpMode,
    /// Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)
    #[arg(long = "blksize", value_name = "N", value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub blksize: Option<u16>,
    /// Blocks per ACK to ask for, 1..65535 (RFC 7440)
    #[arg(long = "windowsize", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub windowsize: Option<u16>,
    /// Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]
    #[arg(long = "timeout", value_name = "SECS", allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Retransmissions of one packet before giving up
    #[arg(long = "retries", value_name = "N", default_value_t = 5)]
    pub retries: u32,
    /// Plain RFC 1350: ask for no options at all
    #[arg(long = "no-options", conflicts_with_all = ["blksize", "windowsize"])]
    pub no_options: bool,
    /// After the last ACK, seconds to stay and re-ACK a repeated final block (the file is already complete and in place; 0 leaves at once, as RFC 1350 allows and other clients do; a server's retransmit timeout, 1 or more, for a full RFC 1350 dally)
    #[arg(
        long = "dally",
        value_name = "SECS",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub dally: f64,
    /// Poll the socket up to this many microseconds before sleeping, for a packet we answer at once (every block in lock-step, the end of a window); adaptive: it backs off when answers take longer. Saves a sleep and a wake-up per block. 0 never polls, and never naps through windows on a timer either
    #[arg(
        long = "busy-poll",
        value_name = "MICROS",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub busy_poll: u32,
    /// Trace every packet, one line each, on stderr
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// A JSON record of the transfer (with --dir: one line per file, then a summary line)
    #[arg(long = "json")]
    pub json: bool,
    /// Local address of the client's socket (of the server's address family; default: any)
    #[arg(long = "bind", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Bind a local port in LO..HI for each transfer, never one outside (tftp-hpa's -R, for firewalls; default: the kernel picks)
    #[arg(long = "port-range", value_name = "LO:HI")]
    pub port_range: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TftpMode {
    Octet,
    Netascii,
}

#[derive(Debug, Args)]
#[command(
    disable_help_subcommand = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    about = "Probe how peers answer TCP: open, RST, ICMP, silence; port scans, watching until stopped, where the SYN dies (--trace); keepalive, half and abortive close",
    long_about = "Connect to HOST:PORT repeatedly and say exactly how the peer answers: \
        the three-way handshake completed (open, with the handshake time and the \
        kernel's own RTT from TCP_INFO), a RST (nothing listening), an ICMP error \
        (port or host unreachable, administratively prohibited; with the sender, \
        read from the socket's error queue via IP_RECVERR), or silence (filtered: \
        the SYN was retransmitted and never answered; or, for an address on the \
        local link, no ARP/NDP reply: no host there). After the handshake the \
        connection is watched briefly for the peer's first move (a RST, a FIN, a \
        banner).\n\n\
        Many ports and hosts: HOST:22,80,8000-8100, a CIDR host part \
        (198.51.100.0/28:22) and several targets make a scan: every (host, \
        port) probed once, --parallel at a time under --rate, one line each \
        sorted by host and port, then state counts per host. -c 0 or -t \
        probes until Ctrl-C or -w, reporting each port going down and coming \
        back as an event. --trace sends the SYN with a rising TTL / hop limit \
        and names the hop where it dies, without root.\n\n\
        Behaviour tests run on each open connection: --keepalive (SO_KEEPALIVE \
        with TCP_KEEPIDLE/INTVL/CNT: is the idle peer still there?), \
        --user-timeout (TCP_USER_TIMEOUT for unacknowledged data), --send with \
        --expect-close (does the peer end with FIN or RST?), --half-close (our \
        FIN first: does the peer keep sending, when does its FIN come?), --rst \
        (close with SO_LINGER 0: a RST instead of a FIN, and no TIME_WAIT on our \
        side).\n\n\
        With -i 0 connections are closed with RST so that rapid probing leaves \
        no TIME_WAIT behind to exhaust ephemeral ports (--graceful to close with \
        FIN anyway). `nettool probe serve` is a peer with a known behaviour to \
        probe against.",
    after_long_help = "EXAMPLES:\n  \
        nettool probe 198.51.100.2:22                 4 attempts, one line each, then a summary\n  \
        nettool probe -c 1000 -i 0 127.0.0.1:8080     how fast, how steady\n  \
        nettool probe -c 1 -W 2 198.51.100.2:9        open, refused, or filtered?\n  \
        nettool probe --open 198.51.100.2:1-1024      which ports are open (a scan)\n  \
        nettool probe 198.51.100.0/28:22,443          every address of a network\n  \
        nettool probe -t -i 0.2 198.51.100.2:22       until Ctrl-C: when did it go down, for how long?\n  \
        nettool probe -c 1 --keepalive 1,1,3 --hold 10 198.51.100.2:7000\n  \
        nettool probe -c 1 --half-close --send hello 198.51.100.2:7000\n  \
        nettool probe --trace 198.51.100.2:443        which hop drops the SYN? (no root needed)\n  \
        nettool probe serve 7000 --behavior half-close\n  \
        nettool probe --textfile /var/lib/prometheus/node-exporter/probe-web.prom 198.51.100.2:22,443\n                                               probe_success per port for node_exporter (README \"Fleets\")\n\n\
        EXIT STATUS:\n  0  every attempt connected (and no behaviour test found the peer dead);\n     \
        with --open, at least one port was open\n  \
        1  an attempt failed, or the peer was found dead / did not close\n     \
        --trace: 0 when the destination answered SYN-ACK, 1 otherwise\n  2  usage or setup error"
)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags: each bool is one independent switch"
)]
pub struct ProbeArgs {
    #[command(subcommand)]
    pub serve: Option<ProbeCommand>,
    /// HOST:PORTS or [IPV6]:PORTS; PORTS is a list and/or ranges (22,80,8000-8100), HOST may be a CIDR (names go through the system resolver)
    #[arg(value_name = "TARGET", required = true, num_args = 1..)]
    pub targets: Vec<String>,
    /// IPv4 only (when a name resolves to both)
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Attempts to make (default 4); over many ports or hosts: rounds (default 1); 0 = until Ctrl-C or -w
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Probe until Ctrl-C or -w (the same as -c 0)
    #[arg(short = 't', long = "until-stopped", conflicts_with = "count")]
    pub until_stopped: bool,
    /// Stop after this many seconds, whatever -c says (no attempt or round starts later; a scan with -w alone goes in rounds until then)
    #[arg(
        short = 'w',
        long = "deadline",
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub deadline: Option<f64>,
    /// Print only state changes (down / up again / address changed), and the summary
    #[arg(long = "quiet-ok")]
    pub quiet_ok: bool,
    /// With a name as HOST: resolve it again before each attempt; an address change is an event, a failed lookup a failed attempt
    #[arg(short = 'r', long = "re-resolve")]
    pub re_resolve: bool,
    /// Probes in flight at once, over many ports and hosts
    #[arg(long = "parallel", value_name = "N")]
    pub parallel: Option<u32>,
    /// At most this many new probes per second
    #[arg(long = "rate", value_name = "PER_S", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Allow more than 65,536 probes in one run
    #[arg(long = "max-probes", value_name = "N")]
    pub max_probes: Option<u64>,
    /// Show only open ports (exit 0 when at least one is open)
    #[arg(long = "open")]
    pub open: bool,
    /// Find where on the path the SYN dies: SYNs with rising TTL / hop limit, no root needed
    #[arg(long = "trace")]
    pub trace: bool,
    /// --trace: the highest TTL / hop limit to try, 1-255 (default 30)
    #[arg(long = "max-hops", value_name = "N", requires = "trace")]
    pub max_hops: Option<u32>,
    /// --trace: probes per hop, 1-10 (default 3)
    #[arg(short = 'q', long = "queries", value_name = "N", requires = "trace")]
    pub queries: Option<u32>,
    /// --trace: stop after this many hops in a row that do not answer (default 5)
    #[arg(long = "max-silent", value_name = "N", requires = "trace")]
    pub max_silent: Option<u32>,
    /// Seconds between attempts, or between the starts of a scan's rounds (fractions allowed; 0 = back to back)
    #[arg(
        short = 'i',
        long = "interval",
        value_name = "SECS",
        default_value_t = 1.0,
        allow_negative_numbers = true,
        conflicts_with = "trace"
    )]
    pub interval: f64,
    /// Seconds to wait for a handshake before calling it filtered (--trace: for each probe's answer, default 1)
    #[arg(
        short = 'W',
        long = "timeout",
        value_name = "SECS",
        default_value_t = 3.0,
        default_value_if("trace", "true", Some("1")),
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    /// Send from this interface (SO_BINDTODEVICE)
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(short = 'I', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Send from this local address
    #[arg(short = 's', long = "source", value_name = "ADDR")]
    pub source: Option<String>,
    /// Prefix each line with a Unix timestamp
    #[arg(short = 'D', long = "timestamp")]
    pub timestamp: bool,
    /// TCP_INFO after the handshake and at close
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// JSON lines: one record per attempt, then the summary
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Keepalive test: IDLE,INTVL,CNT in seconds/seconds/probes
    #[arg(long = "keepalive", value_name = "IDLE,INTVL,CNT")]
    pub keepalive: Option<String>,
    /// TCP_USER_TIMEOUT in milliseconds: abort when sent data stays unacknowledged that long
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(long = "user-timeout", value_name = "MS")]
    pub user_timeout: Option<u32>,
    /// Seconds to hold an open connection for --keepalive/--user-timeout (default: long enough to see death)
    #[arg(long = "hold", value_name = "SECS", allow_negative_numbers = true)]
    pub hold: Option<f64>,
    /// Data to send on each open connection
    #[arg(long = "send", value_name = "DATA")]
    pub send: Option<String>,
    /// After --send, wait (up to -W) for the peer to close: FIN, RST or nothing
    #[arg(long = "expect-close")]
    pub expect_close: bool,
    /// Send, then shut down our side (FIN) and watch the peer finish the four-way close
    #[arg(long = "half-close", conflicts_with = "expect_close")]
    pub half_close: bool,
    /// Close abortively: SO_LINGER 0 sends a RST and leaves no TIME_WAIT
    #[allow(clippy::doc_markdown, reason = "help text: no backticks")]
    #[arg(long = "rst", conflicts_with = "graceful")]
    pub rst: bool,
    /// Close with FIN even when probing back to back (-i 0)
    #[arg(long = "graceful")]
    pub graceful: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// A peer with a known behaviour to probe against
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// [ADDR:]PORT to listen on (default address: all, IPv4 and IPv6)
    #[arg(value_name = "[ADDR:]PORT")]
    pub listen: String,
    /// What to do with each connection
    #[arg(long = "behavior", value_enum, default_value_t = crate::probe::serve::Behavior::Accept)]
    pub behavior: crate::probe::serve::Behavior,
    /// Exit after this many connections
    #[arg(long = "count", value_name = "N")]
    pub count: Option<u64>,
}
