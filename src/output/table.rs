//! An aligned text table kept as one arena of cell text.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, presets};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Writes the lines under row `usize` into the buffer (see
/// [`Table::write_with_details`]).
pub type Detail<'a> = dyn FnMut(usize, &mut String) + 'a;

pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    /// All cell text, back to back.
    text: String,
    /// End offset of every cell in `text`, row-major.
    ends: Vec<u32>,
    widths: Vec<usize>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|c| c.0).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            text: String::new(),
            ends: Vec::new(),
            widths: columns.iter().map(|c| c.0.chars().count()).collect(),
        }
    }

    pub fn with_capacity(mut self, rows: usize) -> Table {
        self.text.reserve(rows * 64);
        self.ends.reserve(rows * self.headers.len());
        self
    }

    pub fn columns(&self) -> usize {
        self.headers.len()
    }

    pub fn rows(&self) -> usize {
        self.ends.len() / self.columns()
    }

    /// Append one cell, written by `f` straight into the arena. Cells fill
    /// rows left to right.
    pub fn cell(&mut self, f: impl FnOnce(&mut String)) {
        let start = self.text.len();
        f(&mut self.text);
        // One row per line, no escape sequences: whatever a cell holds.
        // (0xc2 starts the C1 controls U+0080..U+009F in UTF-8; a false
        // hit only takes the careful path.)
        if self.text.as_bytes()[start..]
            .iter()
            .any(|&b| b < 0x20 || b == 0x7f || b == 0xc2)
        {
            let escaped = super::escape_control(&self.text[start..]).into_owned();
            self.text.truncate(start);
            self.text.push_str(&escaped);
        }
        let col = self.ends.len() % self.columns();
        let cell = &self.text[start..];
        let width = if cell.is_ascii() {
            cell.len()
        } else {
            cell.chars().count()
        };
        if width > self.widths[col] {
            self.widths[col] = width;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "per cell, hot path: a table's text stays far below 4 GiB"
        )]
        self.ends.push(self.text.len() as u32);
    }

    pub fn cell_str(&mut self, s: &str) {
        self.cell(|b| b.push_str(s));
    }

    pub fn cell_num(&mut self, n: impl std::fmt::Display) {
        self.cell(|b| {
            let _ = write!(b, "{n}");
        });
    }

    fn cell_text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Write the table: comfy-table on a terminal, plain aligned columns
    /// otherwise.
    pub fn write(&self, out: &mut dyn Write, tty: bool) -> io::Result<()> {
        if tty {
            self.write_comfy(out)
        } else {
            self.write_plain(out)
        }
    }

    /// Space-aligned columns, two spaces apart; the last column is not
    /// padded, so lines carry no trailing blanks.
    pub fn write_plain(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_plain_with(out, None)
    }

    fn write_plain_with(
        &self,
        out: &mut dyn Write,
        mut detail: Option<&mut Detail<'_>>,
    ) -> io::Result<()> {
        let cols = self.columns();
        let mut line = String::with_capacity(256);
        let emit = |cells: &mut dyn Iterator<Item = &str>, line: &mut String| {
            line.clear();
            for (c, text) in cells.enumerate() {
                let w = self.widths[c];
                let len = if text.is_ascii() {
                    text.len()
                } else {
                    text.chars().count()
                };
                let pad = w.saturating_sub(len);
                let last = c + 1 == cols;
                match self.align[c] {
                    Align::Right => {
                        push_spaces(line, pad);
                        line.push_str(text);
                    }
                    Align::Left => {
                        line.push_str(text);
                        if !last {
                            push_spaces(line, pad);
                        }
                    }
                }
                if !last {
                    line.push_str("  ");
                }
            }
            line.push('\n');
        };
        emit(&mut self.headers.iter().copied(), &mut line);
        out.write_all(line.as_bytes())?;
        for r in 0..self.rows() {
            emit(
                &mut (0..cols).map(|c| self.cell_text(r * cols + c)),
                &mut line,
            );
            if let Some(d) = detail.as_mut() {
                d(r, &mut line);
            }
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn write_comfy(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_comfy_with(out, None)
    }

    fn write_comfy_with(
        &self,
        out: &mut dyn Write,
        mut detail: Option<&mut Detail<'_>>,
    ) -> io::Result<()> {
        let cols = self.columns();
        let mut t = comfy_table::Table::new();
        t.load_style(presets::NOTHING)
            // Never wrap or cut an address to fit the terminal.
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(
                self.headers
                    .iter()
                    .map(|h| comfy_table::Cell::new(h).add_attribute(comfy_table::Attribute::Bold)),
            );
        for r in 0..self.rows() {
            t.add_row((0..cols).map(|c| self.cell_text(r * cols + c)));
        }
        for (c, col) in t.column_iter_mut().enumerate() {
            col.set_padding((0, 2));
            if self.align[c] == Align::Right {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        // No borders and no cell holds a line feed: the header, then one
        // line a row.
        let mut extra = String::new();
        for (i, line) in t.lines().enumerate() {
            out.write_all(line.trim_end().as_bytes())?;
            out.write_all(b"\n")?;
            if let (Some(d), Some(row)) = (detail.as_mut(), i.checked_sub(1)) {
                extra.clear();
                d(row, &mut extra);
                out.write_all(extra.as_bytes())?;
            }
        }
        Ok(())
    }

    /// [`Table::write`], with lines under each row: `detail(row, buf)`
    /// appends them to `buf`, each ending in a line feed (or none). They
    /// do not count in the column widths.
    pub fn write_with_details(
        &self,
        out: &mut dyn Write,
        tty: bool,
        detail: &mut Detail<'_>,
    ) -> io::Result<()> {
        if tty {
            self.write_comfy_with(out, Some(detail))
        } else {
            self.write_plain_with(out, Some(detail))
        }
    }
}

/// `n` spaces, copied from a constant in slices: padding 40k rows must not
/// depend on whether the compiler inlines a `repeat_n` iterator.
fn push_spaces(line: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        line.push_str(&SPACES[..k]);
        n -= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_columns_align_and_have_no_trailing_blanks() {
        let mut t = Table::new(&[
            ("Proto", Align::Left),
            ("Recv-Q", Align::Right),
            ("Local Address", Align::Left),
        ]);
        for (p, q, a) in [("tcp", 0, "127.0.0.1:22"), ("tcp6", 12345, "[::1]:631")] {
            t.cell_str(p);
            t.cell_num(q);
            t.cell_str(a);
        }
        let mut out = Vec::new();
        t.write_plain(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "Proto  Recv-Q  Local Address\n\
             tcp         0  127.0.0.1:22\n\
             tcp6    12345  [::1]:631\n"
        );
    }

    #[test]
    fn control_characters_cannot_break_rows() {
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Left)]);
        t.cell_str("evil\ntcp 0 0 fake\x1b[31m");
        t.cell_str("x");
        let mut out = Vec::new();
        t.write_plain(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("evil\\ntcp 0 0 fake\\x1b[31m"), "{text}");
        assert_eq!(crate::output::escape_control("plain"), "plain");
        assert_eq!(crate::output::escape_control("a\u{85}b"), "a\\u{85}b");
    }

    #[test]
    fn comfy_output_has_the_same_cells() {
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Right)]);
        t.cell_str("x y");
        t.cell_num(7);
        let mut out = Vec::new();
        t.write(&mut out, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("x y") && text.contains('7'), "{text}");
    }

    #[test]
    fn detail_lines_go_under_their_rows_in_both_layouts() {
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Right)]);
        for (a, b) in [("x", 1), ("yy", 22)] {
            t.cell_str(a);
            t.cell_num(b);
        }
        let mut detail = |row: usize, buf: &mut String| {
            if row == 1 {
                buf.push_str("    under yy, wider than the table\n");
            }
        };
        let mut out = Vec::new();
        t.write_with_details(&mut out, false, &mut detail).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "A    B\nx    1\nyy  22\n    under yy, wider than the table\n"
        );
        let mut out = Vec::new();
        t.write_with_details(&mut out, true, &mut detail).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[2].contains("yy"), "{text}");
        assert_eq!(lines[3], "    under yy, wider than the table");
    }
}
