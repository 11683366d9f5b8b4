//! parse -> dispatch -> exit code. A closed stdout (`| head`) is exit 0.

use std::process::ExitCode;

use clap::Parser;
use nettool::cli::{Cli, Command};
use nettool::{UsageError, cmd};

fn main() -> ExitCode {
    cmd::metrics::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout (exit 0), as clap prints them;
            // printing may hit a closed pipe: ignore. A usage error is one
            // line on stderr (exit 2), as every other error.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // The subcommand's help when argv names one.
            let sub = std::env::args()
                .skip(1)
                .find(|a| !a.starts_with('-'))
                .filter(|a| ["sockstat", "arp", "tftp", "probe"].contains(&a.as_str()));
            let help = sub.map_or_else(
                || "nettool --help".into(),
                |s| format!("nettool {s} --help"),
            );
            let line = cmd::clap_one_line(&e.render().to_string(), &help);
            nettool::say!("nettool: {}", nettool::output::escape_control(&line));
            return ExitCode::from(2);
        }
    };
    // The Debian package gives the binary cap_net_raw for `nettool arp`
    // (which drops it once its raw socket is open); nothing else a user
    // runs keeps it. Root keeps root's capabilities: sockstat -p needs them.
    if !matches!(cli.command, Command::Arp(_)) && !nettool::sys::is_root() {
        if let Err(e) = nettool::sys::drop_capabilities() {
            nettool::say!("nettool: cannot drop the file capabilities: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match &cli.command {
        Command::Sockstat(args) => cmd::sockstat::run(args),
        Command::Arp(args) => cmd::arp::run(args),
        Command::Tftp(args) => cmd::tftp::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Generate(args) => cmd::generate::run(&args.out),
    };
    // A failed run leaves a textfile that says so (nettool_run_success 0),
    // not the last good numbers.
    let result = match (result, cli.command.metrics()) {
        (Err(e), Some((command, m))) if !is_broken_pipe(&e) => {
            if let Err(also) = cmd::metrics::failed(m, command, &e) {
                let line = chain(&also);
                nettool::say!("nettool: {}", nettool::output::escape_control(&line));
            }
            Err(e)
        }
        (result, _) => result,
    };
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<UsageError>().is_some();
            // One line, whatever a peer or a process name put in it.
            let line = chain(&e);
            nettool::say!("nettool: {}", nettool::output::escape_control(&line));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The whole cause chain on one line: "outer: inner: root".
fn chain(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
