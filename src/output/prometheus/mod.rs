//! The Prometheus text exposition format (version 0.0.4), as `node_exporter`'s
//! textfile collector and `promtool check metrics` read it.
//!
//! A report becomes metric families: each family's `# HELP` and `# TYPE`
//! once, then its samples, families never interleaved or repeated (the
//! format forbids both). Names and label names are checked when written, so
//! a renderer bug is an error, not a file Prometheus rejects; label values
//! and help text are escaped. No timestamps: the textfile collector refuses
//! them.

pub mod arp;
pub mod probe;
pub mod sockstat;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A family's type, as the `# TYPE` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (reset at restart); the name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// What a renderer asked for that the format cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    #[error("'{0}' is not a valid metric name")]
    BadName(String),
    #[error("'{0}' is not a valid label name")]
    BadLabel(String),
    #[error("metric family '{0}' written twice")]
    Repeated(String),
    #[error("counter '{0}' must end in _total")]
    CounterName(String),
}

/// The exposition text being built, family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
    families: Vec<String>,
}

/// One family being written: add its samples, then drop it.
pub struct Family<'a> {
    text: &'a mut String,
    name: &'a str,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Start family `name` with its HELP and TYPE lines.
    pub fn family(
        &mut self,
        name: &'static str,
        help: &str,
        kind: Kind,
    ) -> Result<Family<'_>, ExpositionError> {
        if !valid_name(name) {
            return Err(ExpositionError::BadName(name.to_string()));
        }
        if kind == Kind::Counter && !name.ends_with("_total") {
            return Err(ExpositionError::CounterName(name.to_string()));
        }
        if self.families.iter().any(|f| f == name) {
            return Err(ExpositionError::Repeated(name.to_string()));
        }
        self.families.push(name.to_string());
        self.text.push_str("# HELP ");
        self.text.push_str(name);
        self.text.push(' ');
        escape_into(&mut self.text, help, false);
        self.text.push('\n');
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        Ok(Family {
            text: &mut self.text,
            name,
        })
    }

    /// Give every sample written so far `label="value"` as its first
    /// label: what tells apart the series of two textfiles in one
    /// directory (two probe jobs scanning, two sockstat listings). Of the
    /// same series in two files `node_exporter` serves one and drops the
    /// other with only a log line.
    pub fn label_every_sample(&mut self, label: &str, value: &str) -> Result<(), ExpositionError> {
        if !valid_label(label) {
            return Err(ExpositionError::BadLabel(label.to_string()));
        }
        let mut pair = String::with_capacity(label.len() + value.len() + 3);
        pair.push_str(label);
        pair.push_str("=\"");
        escape_into(&mut pair, value, true);
        pair.push('"');
        let mut text = String::with_capacity(
            self.text.len() + self.text.matches('\n').count() * (pair.len() + 2),
        );
        // Lines end at LF alone (`lines()` would also eat a CR that help
        // text or a label value ends with).
        for line in self.text.split_terminator('\n') {
            if line.starts_with('#') {
                text.push_str(line);
            } else {
                // A sample line as `Family::sample` writes it: the name,
                // then `{` and labels, or a space and the value.
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                let (name, rest) = line.split_at(end);
                text.push_str(name);
                text.push('{');
                text.push_str(&pair);
                if let Some(labels) = rest.strip_prefix('{') {
                    text.push(',');
                    text.push_str(labels);
                } else {
                    text.push('}');
                    text.push_str(rest);
                }
            }
            text.push('\n');
        }
        self.text = text;
        Ok(())
    }

    /// The text, ending in a newline after the last sample (or empty).
    pub fn finish(self) -> String {
        self.text
    }
}

impl Family<'_> {
    /// One sample: `name{labels} value`. Label order is kept as given.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> Result<(), ExpositionError> {
        if let Some((bad, _)) = labels.iter().find(|(l, _)| !valid_label(l)) {
            return Err(ExpositionError::BadLabel((*bad).to_string()));
        }
        self.text.push_str(self.name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                escape_into(self.text, value, true);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        push_value(self.text, value);
        self.text.push('\n');
        Ok(())
    }
}

/// Which run wrote a set of metrics: the families every `--prometheus` and
/// `--textfile` output ends with, so that a failed run (success 0) and a
/// stale file (an old timestamp) show in Prometheus.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// The subcommand: `sockstat`, `probe`, `arp`.
    pub command: &'static str,
    /// The run did its job, whatever it found (a closed port is a success
    /// here: `probe_success` says what was found).
    pub success: bool,
    pub elapsed: Duration,
    pub ended: SystemTime,
}

impl Run {
    /// Append `nettool_run_success`, `nettool_run_duration_seconds` and
    /// `nettool_last_run_timestamp_seconds` to `e`.
    pub fn append_to(&self, e: &mut Exposition) -> Result<(), ExpositionError> {
        let labels = [("command", self.command)];
        e.family(
            "nettool_run_success",
            "1 when the nettool run did its job (whatever it found), 0 when it failed; the error is on its stderr.",
            Kind::Gauge,
        )?
        .sample(&labels, if self.success { 1.0 } else { 0.0 })?;
        e.family(
            "nettool_run_duration_seconds",
            "How long the nettool run took.",
            Kind::Gauge,
        )?
        .sample(&labels, self.elapsed.as_secs_f64())?;
        let ended = self
            .ended
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        e.family(
            "nettool_last_run_timestamp_seconds",
            "When the nettool run ended, in seconds since the Unix epoch.",
            Kind::Gauge,
        )?
        .sample(&labels, ended.as_secs_f64())?;
        Ok(())
    }
}

/// Whether `path` names a file the textfile collector reads: `NAME.prom`
/// in an existing directory. The error says what to give instead.
pub fn check_textfile(path: &Path) -> Result<(), String> {
    // The collector's glob is `*.prom`, case and all; a hidden name is
    // what our own temporary files look like.
    let named = path.extension().is_some_and(|e| e == "prom")
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.'));
    if !named {
        return Err(
            "give DIR/NAME.prom (node_exporter's textfile collector reads only *.prom files)"
                .into(),
        );
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!(
            "no directory {} (create it, or give node_exporter's --collector.textfile.directory)",
            dir.display()
        ));
    }
    Ok(())
}

/// Replace `path` with `text` so that no reader ever sees part of it: a
/// temporary file in the same directory (a hidden name without `.prom`,
/// which the textfile collector skips), written, mode 0644 (the collector
/// usually runs as another user), fsynced, renamed over `path`, and the
/// directory fsynced so the rename survives a crash. On any error the
/// temporary file is removed and `path` is as it was.
pub fn write_textfile(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.as_file().sync_all()?;
    // Closed before the rename: a watcher of the directory then sees the
    // file appear whole (MOVED_TO) and nothing written under its name.
    tmp.into_temp_path().persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn valid_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__`-prefixed (reserved for
/// Prometheus itself).
fn valid_label(s: &str) -> bool {
    let mut bytes = s.bytes();
    !s.starts_with("__")
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Backslash and newline escaped everywhere; the double quote too inside a
/// label value.
fn escape_into(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Integers without a fraction or exponent (counters stay exact up to
/// 2^53), other values as Rust's shortest round-trip form, and the three
/// specials as Prometheus spells them.
fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        // Exact: |v| < 2^53 is an integer an i64 holds.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "an integer below 2^53, checked above"
        )]
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_with_help_type_and_samples() {
        let mut e = Exposition::new();
        let mut f = e
            .family(
                "nettool_sockets",
                "Sockets by protocol and TCP state.",
                Kind::Gauge,
            )
            .unwrap();
        f.sample(&[("proto", "tcp"), ("state", "LISTEN")], 3.0)
            .unwrap();
        f.sample(&[("proto", "tcp"), ("state", "ESTABLISHED")], 12.0)
            .unwrap();
        let mut f = e
            .family(
                "nettool_probe_duration_seconds",
                "Time to the answer.",
                Kind::Gauge,
            )
            .unwrap();
        f.sample(&[], 0.000_125).unwrap();
        let mut f = e
            .family(
                "nettool_retransmits_total",
                "Segments sent again.",
                Kind::Counter,
            )
            .unwrap();
        f.sample(&[], 1e20).unwrap();
        assert_eq!(
            e.finish(),
            "# HELP nettool_sockets Sockets by protocol and TCP state.\n\
             # TYPE nettool_sockets gauge\n\
             nettool_sockets{proto=\"tcp\",state=\"LISTEN\"} 3\n\
             nettool_sockets{proto=\"tcp\",state=\"ESTABLISHED\"} 12\n\
             # HELP nettool_probe_duration_seconds Time to the answer.\n\
             # TYPE nettool_probe_duration_seconds gauge\n\
             nettool_probe_duration_seconds 0.000125\n\
             # HELP nettool_retransmits_total Segments sent again.\n\
             # TYPE nettool_retransmits_total counter\n\
             nettool_retransmits_total 100000000000000000000\n"
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut e = Exposition::new();
        let mut f = e
            .family(
                "nettool_x",
                "A \\ help\nsecond line \"quoted\"",
                Kind::Gauge,
            )
            .unwrap();
        f.sample(&[("comm", "a\"b\\c\nd")], 1.0).unwrap();
        assert_eq!(
            e.finish(),
            "# HELP nettool_x A \\\\ help\\nsecond line \"quoted\"\n\
             # TYPE nettool_x gauge\n\
             nettool_x{comm=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }

    #[test]
    fn special_values() {
        let mut e = Exposition::new();
        let mut f = e.family("nettool_v", "v", Kind::Gauge).unwrap();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5, 0.0, -3.0] {
            f.sample(&[], v).unwrap();
        }
        assert_eq!(
            e.finish(),
            "# HELP nettool_v v\n# TYPE nettool_v gauge\n\
             nettool_v NaN\nnettool_v +Inf\nnettool_v -Inf\n\
             nettool_v -0.5\nnettool_v 0\nnettool_v -3\n"
        );
    }

    #[test]
    fn what_the_format_cannot_hold_is_an_error() {
        let mut e = Exposition::new();
        assert_eq!(
            e.family("1bad", "h", Kind::Gauge).err(),
            Some(ExpositionError::BadName("1bad".into()))
        );
        assert_eq!(
            e.family("nettool_resets", "h", Kind::Counter).err(),
            Some(ExpositionError::CounterName("nettool_resets".into()))
        );
        let mut f = e.family("nettool_ok", "h", Kind::Gauge).unwrap();
        assert_eq!(
            f.sample(&[("__name", "x")], 1.0),
            Err(ExpositionError::BadLabel("__name".into()))
        );
        assert_eq!(
            f.sample(&[("bad-label", "x")], 1.0),
            Err(ExpositionError::BadLabel("bad-label".into()))
        );
        assert_eq!(
            e.family("nettool_ok", "h", Kind::Gauge).err(),
            Some(ExpositionError::Repeated("nettool_ok".into()))
        );
        // Nothing of a refused sample was written.
        assert_eq!(e.finish(), "# HELP nettool_ok h\n# TYPE nettool_ok gauge\n");
    }

    #[test]
    fn a_run_ends_with_success_duration_and_timestamp() {
        let mut e = Exposition::new();
        e.family("nettool_x", "x", Kind::Gauge)
            .unwrap()
            .sample(&[], 2.0)
            .unwrap();
        Run {
            command: "probe",
            success: false,
            elapsed: Duration::from_millis(1500),
            ended: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000),
        }
        .append_to(&mut e)
        .unwrap();
        e.label_every_sample("textfile", "web \"1\".prom").unwrap();
        let text = e.finish();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "nettool_x{textfile=\"web \\\"1\\\".prom\"} 2",
                "nettool_run_success{textfile=\"web \\\"1\\\".prom\",command=\"probe\"} 0",
                "nettool_run_duration_seconds{textfile=\"web \\\"1\\\".prom\",command=\"probe\"} 1.5",
                "nettool_last_run_timestamp_seconds{textfile=\"web \\\"1\\\".prom\",command=\"probe\"} 1764000000",
            ]
        );
        assert!(text.starts_with("# HELP nettool_x x\n# TYPE nettool_x gauge\n"));
        // A carriage return is text (the format ends lines at LF alone):
        // kept where it was, in help and in values.
        let mut e = Exposition::new();
        e.family("nettool_y", "ends in CR\r", Kind::Gauge)
            .unwrap()
            .sample(&[("comm", "a\r")], 1.0)
            .unwrap();
        e.label_every_sample("textfile", "t").unwrap();
        assert_eq!(
            e.finish(),
            "# HELP nettool_y ends in CR\r\n# TYPE nettool_y gauge\n\
             nettool_y{textfile=\"t\",comm=\"a\r\"} 1\n"
        );
        let mut e = Exposition::new();
        assert_eq!(
            e.label_every_sample("bad-label", "v"),
            Err(ExpositionError::BadLabel("bad-label".into()))
        );
    }

    #[test]
    fn textfile_names_the_collector_reads() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("sockstat.prom");
        assert_eq!(check_textfile(&ok), Ok(()));
        assert_eq!(check_textfile(Path::new("x.prom")), Ok(()));
        for bad in ["x.txt", ".prom", ".hidden.prom", "x.prom.tmp"] {
            let e = check_textfile(&dir.path().join(bad)).unwrap_err();
            assert!(e.contains("give DIR/NAME.prom"), "{bad}: {e}");
        }
        let e = check_textfile(&dir.path().join("no/such/x.prom")).unwrap_err();
        assert!(e.contains("no directory"), "{e}");
    }

    #[test]
    fn a_textfile_is_replaced_whole_readable_and_nothing_is_left_beside_it() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.prom");
        write_textfile(&path, "a 1\n").unwrap();
        write_textfile(&path, "b 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.prom"]);
        // A directory in the way: an error, and no temporary file stays.
        let blocked = dir.path().join("d.prom");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), "").unwrap();
        assert!(write_textfile(&blocked, "c 3\n").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    /// promtool, when installed, agrees that the text is valid.
    #[test]
    fn promtool_accepts_the_text() {
        use std::io::Write as _;

        let Some(promtool) = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            assert!(
                !crate::in_ci(),
                "promtool is not installed (apt install prometheus)"
            );
            return;
        };
        let mut e = Exposition::new();
        let mut f = e
            .family("nettool_sockets", "Sockets by state.", Kind::Gauge)
            .unwrap();
        f.sample(&[("state", "TIME_WAIT"), ("comm", "we\"ird\\")], 2.0)
            .unwrap();
        let mut f = e
            .family("nettool_drops_total", "Frames dropped.", Kind::Counter)
            .unwrap();
        f.sample(&[], 7.0).unwrap();
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(e.finish().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
