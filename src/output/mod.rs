//! Rendering shared by every subcommand: aligned tables, JSON and the
//! Prometheus text format (`prometheus.rs`).
//!
//! Tables are built cell by cell into one text arena (no `String` per
//! cell), then written either with comfy-table (on a terminal: bold header,
//! fitted columns) or as plain space-aligned columns (when piped: no
//! colour, no borders, one row per line, safe for `awk` and `grep`).
//! The plain path streams from the arena so that 80k rows stay cheap.

pub mod diagnose;
pub mod live;
pub mod prometheus;
pub mod sockstat;
pub mod stats;
pub mod table;
pub mod terminal;
pub mod time;
pub mod watch;

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

/// Where output goes and how to shape it.
pub struct Out {
    pub tty: bool,
    pub w: io::BufWriter<io::StdoutLock<'static>>,
}

impl Out {
    pub fn stdout() -> Out {
        let stdout = io::stdout();
        Out {
            tty: stdout.is_terminal(),
            w: io::BufWriter::with_capacity(256 * 1024, stdout.lock()),
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.write_all(buf)
    }
}

/// Text from the outside world (socket paths, process names, a server's
/// error message) with control characters escaped, so it can neither break
/// a row in two nor send escape sequences to the terminal: `\n`, `\t`,
/// `\r`, and `\xNN` / `\u{NN}` for the rest.
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Print one line on stderr. Never panics: with stderr closed (`2>&-`,
/// `2>&1 | head`) the line is dropped, and the work goes on.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// Write `value` as pretty JSON followed by a newline.
pub fn json<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}
