//! Several transfers with one server in one run (`get HOST FILE... --dir
//! DIR`, `put HOST LOCAL... --dir DIR`): one after another, each over a
//! fresh socket (a new transfer ID), each set up, run and cleaned up as a
//! single [`transfer`](super::transfer) is.
//!
//! Invariants:
//! - The server is resolved once, and the first socket bound, before any
//!   packet: a bad `--bind`, a taken `--port-range` or an unknown host is
//!   a setup error for the whole run, not one failure per file.
//! - One file's failure is reported and the run goes on with the next.
//! - SIGINT/SIGTERM are watched for the whole run: the transfer under way
//!   stops and cleans up as a single one does, and no further one starts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::{Local, port_start, resolve, socket};
use super::session::TftpError;
use super::{Error, Event, Operation, Report, Settings};

/// How a run of several transfers went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub operation: Operation,
    pub server: SocketAddr,
    /// Transfers asked for.
    pub files: usize,
    /// Completed.
    pub transferred: usize,
    pub failed: usize,
    /// Never started: a signal stopped the run first.
    pub not_started: usize,
    /// Bytes of the completed transfers.
    pub bytes: u64,
    /// From the first request to the end of the last transfer.
    pub elapsed: Duration,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<i32>,
}

/// Run `transfers` (the same server, the same direction, the same local
/// end) one after another. `on_event` gets each one's events with its
/// index; `on_done` its outcome, as it ends.
///
/// # Errors
/// [`Error::Setup`] (or [`Error::Socket`], [`Error::Signals`]) before any
/// packet: the server cannot be resolved, the first socket cannot be had.
///
/// # Panics
/// When `transfers` is empty (`cmd::tftp` never asks for none).
pub fn transfer_all(
    transfers: &[Settings],
    on_event: &mut dyn FnMut(usize, Event),
    on_done: &mut dyn FnMut(usize, Result<Report, Error>),
) -> Result<BatchReport, Error> {
    let first = transfers.first().expect("at least one transfer");
    let operation = match first.direction {
        super::Direction::Get(_) => Operation::Get,
        super::Direction::Put(_) => Operation::Put,
    };
    let server = resolve(&first.host, first.port)?;
    // Each transfer walks the port range from the next port on: a new
    // transfer ID each time the range allows.
    let start = port_start();
    let mut sock = Some(socket(first, server, start)?);
    let watch = crate::sys::watch_termination().map_err(Error::Signals)?;
    let began = Instant::now();
    let mut report = BatchReport {
        operation,
        server,
        files: transfers.len(),
        transferred: 0,
        failed: 0,
        not_started: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
        interrupted: None,
    };
    for (i, s) in transfers.iter().enumerate() {
        if let Some(signal) = crate::sys::termination() {
            report.interrupted = Some(signal);
            report.not_started = transfers.len() - i;
            break;
        }
        let result = Local::open(&s.direction).and_then(|local| {
            let sock = match sock.take() {
                Some(sock) => sock,
                None => socket(s, server, start.wrapping_add(i as u64))?,
            };
            local.run(s, server, &sock, &mut |e| on_event(i, e))
        });
        // A socket made for a file whose local side failed is not reused:
        // every transfer gets its own.
        sock = None;
        match &result {
            Ok(r) => {
                report.transferred += 1;
                report.bytes += r.stats.bytes;
            }
            Err(Error::Transfer {
                error: TftpError::Interrupted(signal),
                ..
            }) => {
                report.failed += 1;
                report.interrupted = Some(*signal);
                report.not_started = transfers.len() - i - 1;
                on_done(i, result);
                break;
            }
            Err(_) => report.failed += 1,
        }
        on_done(i, result);
    }
    report.elapsed = began.elapsed();
    // The run is over: Ctrl-C is the default again.
    drop(watch);
    Ok(report)
}
