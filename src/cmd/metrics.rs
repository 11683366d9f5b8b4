//! `--prometheus` / `--textfile` for every subcommand that has them: a
//! renderer builds the subcommand's families, [`emit`] adds the run's own
//! and sends the text to stdout, to the textfile, or both. When a run
//! fails before it has anything to say, main.rs calls [`failed`] so the
//! textfile says so instead of keeping the last good numbers.

use std::io::Write as _;
use std::sync::LazyLock;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, Result};

use crate::cli::MetricsArgs;
use crate::output::Out;
use crate::output::prometheus::{Exposition, Run, write_textfile};

/// When the process started its work; [`start`] pins it.
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Pin the run's start (main.rs, first thing), for
/// `nettool_run_duration_seconds`.
pub fn start() {
    LazyLock::force(&STARTED);
}

fn run<'a>(m: &'a MetricsArgs, command: &'static str, success: bool) -> Run<'a> {
    Run {
        command,
        textfile: m
            .textfile
            .as_deref()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str()),
        success,
        elapsed: STARTED.elapsed(),
        ended: SystemTime::now(),
    }
}

/// Finish `e` with the run's families (`success`: the run did its job)
/// and write it where `m` says.
pub fn emit(
    m: &MetricsArgs,
    command: &'static str,
    mut e: Exposition,
    success: bool,
) -> Result<()> {
    run(m, command, success)
        .append_to(&mut e)
        .context("metrics")?;
    let text = e.finish();
    if let Some(path) = &m.textfile {
        write_textfile(path, &text)
            .with_context(|| format!("--textfile {}: cannot write", path.display()))?;
    }
    if m.prometheus {
        let mut out = Out::stdout();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// The run failed: replace the textfile (if one was asked for) by the
/// run's families alone, `nettool_run_success 0`. Errors here are
/// returned for main.rs to print after the run's own.
pub fn failed(m: &MetricsArgs, command: &'static str) -> Result<()> {
    let Some(path) = &m.textfile else {
        return Ok(());
    };
    let mut e = Exposition::new();
    run(m, command, false)
        .append_to(&mut e)
        .context("metrics")?;
    write_textfile(path, &e.finish())
        .with_context(|| format!("--textfile {}: cannot write", path.display()))
}
