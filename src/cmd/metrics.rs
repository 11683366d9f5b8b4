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

fn run(command: &'static str, success: bool) -> Run {
    Run {
        command,
        success,
        elapsed: STARTED.elapsed(),
        ended: SystemTime::now(),
    }
}

/// The text to write: `e`, the run's families, and with `--textfile` the
/// file's name as a label on every sample (see
/// [`Exposition::label_every_sample`]). stdout and the file get the same.
fn finished(
    m: &MetricsArgs,
    command: &'static str,
    mut e: Exposition,
    success: bool,
) -> Result<String> {
    run(command, success).append_to(&mut e).context("metrics")?;
    if let Some(name) = m
        .textfile
        .as_deref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy())
    {
        e.label_every_sample("textfile", &name).context("metrics")?;
    }
    Ok(e.finish())
}

/// Finish `e` with the run's families (`success`: the run did its job)
/// and write it where `m` says: stdout first, so that a stdout that fails
/// leaves no good file behind to be replaced by a failed run's.
pub fn emit(m: &MetricsArgs, command: &'static str, e: Exposition, success: bool) -> Result<()> {
    let text = finished(m, command, e, success)?;
    if m.prometheus {
        let mut out = Out::stdout();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    if let Some(path) = &m.textfile {
        write_textfile(path, &text).map_err(|e| TextfileError {
            path: path.clone(),
            source: e,
        })?;
    }
    Ok(())
}

/// Writing the textfile failed: main.rs does not try again to write a
/// failed run's.
#[derive(Debug, thiserror::Error)]
#[error("--textfile {}: cannot write", path.display())]
pub struct TextfileError {
    path: std::path::PathBuf,
    source: std::io::Error,
}

/// The run failed: replace the textfile (if one was asked for) by the
/// run's families alone, `nettool_run_success 0`. Errors here are
/// returned for main.rs to print after the run's own; none when `error`
/// was the textfile's own (it would only fail again).
pub fn failed(m: &MetricsArgs, command: &'static str, error: &anyhow::Error) -> Result<()> {
    let Some(path) = &m.textfile else {
        return Ok(());
    };
    if error.downcast_ref::<TextfileError>().is_some() {
        return Ok(());
    }
    let text = finished(m, command, Exposition::new(), false)?;
    write_textfile(path, &text)
        .with_context(|| format!("--textfile {}: cannot write", path.display()))
}
