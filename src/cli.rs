//! The command line: the single source of truth for every flag. Completions
//! and man pages are generated from these types (`nettool generate`), and a
//! test fails when the checked-in ones are stale.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sockstat::SourceKind;

#[derive(Debug, Parser)]
#[command(
    name = "nettool",
    version,
    about = "Network diagnostics in one binary",
    long_about = "nettool: network diagnostics in one binary.\n\n\
        It lists sockets and their TCP states like netstat and ss, with the \
        explanations they leave out.",
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
    /// Write shell completions and man pages (for packagers and the repo).
    #[command(hide = true)]
    Generate(GenerateArgs),
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
        nettool sockstat -tan --json | jq '.sockets[] | select(.state==\"ESTABLISHED\")'\n\n\
        ENVIRONMENT:\n  \
        PROC_ROOT  read /proc tables and fd links from this directory instead of /proc \
        (implies --source proc under the default --source auto)\n\n\
        EXIT STATUS:\n  0  at least one socket listed (or -s)\n  1  no socket matched\n  2  usage error (unknown state, malformed filter) or setup error"
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
    /// Extended columns: user, inode and the pending TCP timer
    #[arg(short = 'e', long = "extended")]
    pub extended: bool,
    /// Summary: counts per protocol and TCP state, kernel figures, diagnosis
    #[arg(short = 's', long = "summary")]
    pub summary: bool,
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
    /// Where rows come from
    #[arg(long = "source", value_enum, default_value_t = SourceKind::Auto)]
    pub source: SourceKind,
    /// Resolve remote addresses through DNS (never done otherwise); bounded by --dns-timeout
    #[arg(long = "dns", conflicts_with = "numeric")]
    pub dns: bool,
    /// Total time allowed for --dns lookups, in seconds
    #[arg(
        long = "dns-timeout",
        value_name = "SECS",
        default_value_t = 2.0,
        requires = "dns"
    )]
    pub dns_timeout: f64,
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
