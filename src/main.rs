//! parse -> dispatch -> exit code. A closed stdout (`| head`) is exit 0.

use std::process::ExitCode;

use clap::Parser;
use nettool::cli::{Cli, Command};
use nettool::{UsageError, cmd};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors
            // to stderr (exit 2). Printing may hit a closed pipe: ignore.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Sockstat(args) => cmd::sockstat::run(&args),
        Command::Arp(args) => cmd::arp::run(&args),
        Command::Tftp(args) => cmd::tftp::run(&args),
        Command::Probe(args) => cmd::probe::run(&args),
        Command::Generate(args) => cmd::generate::run(&args.out),
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
