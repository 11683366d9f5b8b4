//! The terminal under a live view: the alternate screen, a hidden cursor
//! and, when stdin is the terminal, raw mode (keys come one by one, not
//! echoed, and Ctrl-C is a byte to read rather than a signal).
//!
//! Invariant: whatever way the program leaves, the terminal is as it was.
//! [`Screen`] puts it back when dropped (a normal return, an error, a stop
//! by SIGINT or SIGTERM, which the watch catches and returns from); a panic
//! hook does it first on a panic, so the message lands on the normal screen
//! with echo on. Putting back twice does nothing the second time.

use std::io::{self, BufRead, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::{cursor, queue, terminal};

use super::live::{Line, Size, Style};

/// A screen is up: the panic hook has something to put back.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The size assumed when the terminal does not say.
const FALLBACK: Size = Size { cols: 80, rows: 24 };

/// The live view's terminal, set up; dropped, put back.
#[must_use = "dropping it puts the terminal back"]
pub struct Screen {
    frame: Vec<u8>,
}

impl Screen {
    /// Switch to the alternate screen and hide the cursor; with `keys`,
    /// also raw mode on stdin (which must be a terminal).
    ///
    /// # Errors
    /// What the terminal refused; it is put back first.
    pub fn enter(keys: bool) -> io::Result<Screen> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        // From here on a failure or a panic puts back what was done.
        ACTIVE.store(true, Ordering::SeqCst);
        let screen = Screen { frame: Vec::new() };
        if keys {
            terminal::enable_raw_mode()?;
        }
        let mut out = io::stdout().lock();
        queue!(
            out,
            terminal::EnterAlternateScreen,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )?;
        out.flush()?;
        Ok(screen)
    }

    /// The terminal's size now (it may have been resized).
    pub fn size(&self) -> Size {
        match terminal::size() {
            Ok((cols, rows)) if cols > 0 && rows > 0 => Size { cols, rows },
            _ => FALLBACK,
        }
    }

    /// Show `lines` from the top-left corner of a screen of `size`, the
    /// rest of it cleared, in one write.
    ///
    /// # Errors
    /// What writing to the terminal failed with.
    pub fn draw(&mut self, lines: &[Line], size: Size) -> io::Result<()> {
        let f = &mut self.frame;
        f.clear();
        for (y, line) in (0u16..).zip(lines) {
            // Clear before printing: a line as wide as the screen leaves
            // the cursor past its end, where a clear would eat its last
            // character.
            queue!(
                f,
                cursor::MoveTo(0, y),
                terminal::Clear(terminal::ClearType::UntilNewLine)
            )?;
            match line.style {
                Style::Plain => {}
                Style::Title | Style::Hot => queue!(f, SetAttribute(Attribute::Bold))?,
                Style::Heading => queue!(f, SetAttribute(Attribute::Underlined))?,
                Style::Newest => queue!(f, SetAttribute(Attribute::Reverse))?,
            }
            queue!(f, Print(&line.text), SetAttribute(Attribute::Reset))?;
        }
        // Below the last line, if there is room: a move past the bottom
        // stops on the last row, and the clear would wipe it.
        let below = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        if below < size.rows {
            queue!(
                f,
                cursor::MoveTo(0, below),
                terminal::Clear(terminal::ClearType::FromCursorDown)
            )?;
        }
        let mut out = io::stdout().lock();
        out.write_all(f)?;
        out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the terminal back, once: attributes, cursor, the normal screen,
/// the modes from before raw mode (a no-op when raw mode was not on).
fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = queue!(
        out,
        SetAttribute(Attribute::Reset),
        cursor::Show,
        terminal::LeaveAlternateScreen
    );
    let _ = out.flush();
    let _ = terminal::disable_raw_mode();
}

/// What the keys typed ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    Nothing,
    /// `q` or `Q`.
    Quit,
    /// Ctrl-C (a byte, in raw mode).
    Interrupt,
    /// The terminal hung up: no more keys.
    Closed,
}

/// What `bytes`, typed in raw mode, ask for: the first `q`, `Q` or Ctrl-C
/// decides; anything else (arrows, letters) is ignored.
pub fn keys_in(bytes: &[u8]) -> Keys {
    bytes
        .iter()
        .find_map(|b| match b {
            b'q' | b'Q' => Some(Keys::Quit),
            0x03 => Some(Keys::Interrupt),
            _ => None,
        })
        .unwrap_or(Keys::Nothing)
}

/// Read what stdin has (call it when `poll` says it is ready: it reads
/// once) and say what it asks for.
pub fn read_keys() -> Keys {
    let stdin = io::stdin();
    let mut lock = stdin.lock();
    match lock.fill_buf() {
        Ok([]) => Keys::Closed,
        Ok(bytes) => {
            let keys = keys_in(bytes);
            let n = bytes.len();
            lock.consume(n);
            keys
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Keys::Nothing,
        Err(_) => Keys::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_ctrl_c_stop_and_the_first_decides() {
        assert_eq!(keys_in(b"q"), Keys::Quit);
        assert_eq!(keys_in(b"Q"), Keys::Quit);
        assert_eq!(keys_in(b"\x03"), Keys::Interrupt);
        assert_eq!(keys_in(b"x\x03q"), Keys::Interrupt);
        assert_eq!(keys_in(b"aq\x03"), Keys::Quit);
        // Arrow keys and other letters do nothing.
        assert_eq!(keys_in(b"\x1b[A\x1b[Bhjk "), Keys::Nothing);
        assert_eq!(keys_in(b""), Keys::Nothing);
    }
}
