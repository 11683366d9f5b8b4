//! The local side of a transfer: where a download's bytes go (a
//! temporary file renamed into place when complete, or standard output)
//! and where an upload's come from, with the write batching that keeps
//! disk writes off the path between a DATA and its ACK.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::Error;
use super::session::{Sink, SizeChanged, Source};

/// Partial data kept after a failed download (`--keep-partial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Where the data is now.
    pub path: PathBuf,
    /// Why not as `TARGET.part`, when it is not.
    pub instead: Option<String>,
}

/// Buffers writes and hands them to the writer only when told (`idle`,
/// after the ACK went out) or when the buffer is full, so that disk writes
/// never sit between a DATA and its ACK.
pub struct Deferred<W: Write> {
    inner: W,
    buf: Vec<u8>,
    /// The largest piece written so far (a block's data, in octet mode).
    block: usize,
}

impl<W: Write> Deferred<W> {
    /// At a lull, write out once the next block would take the buffer
    /// past this, so each write fits inside the server's turnaround: a
    /// longer one holds the next ACK back until the server sleeps, and
    /// waking it costs more than the write (benches/RESULTS.md). A napped
    /// window has one lull, at its start.
    const FLUSH_AT: usize = 64 << 10;
    /// Mid-window (no lull), write only once this much is waiting, so
    /// that a big window's blocks never wait on a write inside `write`.
    const BACKLOG: usize = 4 << 20;
    /// Never buffer more than this (a window of 64 KiB blocks).
    const MAX: usize = 8 << 20;

    pub fn new(inner: W) -> Self {
        Deferred {
            inner,
            buf: Vec::with_capacity(Self::FLUSH_AT + 65536),
            block: 0,
        }
    }
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > Self::MAX {
            self.drain()?;
        }
        self.block = self.block.max(data.len());
        self.buf.extend_from_slice(data);
        Ok(())
    }
    pub fn idle(&mut self, lull: bool) -> io::Result<()> {
        let due = if lull {
            self.buf.len() + self.block > Self::FLUSH_AT
        } else {
            self.buf.len() >= Self::BACKLOG
        };
        if due && !self.buf.is_empty() {
            self.drain()?;
        }
        Ok(())
    }
    /// `write(data)` then `idle(lull)`, without the copy when that idle
    /// would write `data` out at once (nothing else buffered, and due at
    /// this lull): then it goes to the writer straight from `data`, and
    /// only what the writer did not take is kept, as `drain` keeps it.
    pub fn write_idle(&mut self, data: &[u8], lull: bool) -> io::Result<()> {
        let block = self.block.max(data.len());
        if !(lull && self.buf.is_empty() && data.len() + block > Self::FLUSH_AT) {
            self.write(data)?;
            return self.idle(lull);
        }
        self.block = block;
        let (done, r) = write_out(&mut self.inner, data);
        if r.is_err() {
            self.buf.extend_from_slice(&data[done..]);
        }
        r
    }
    /// Write the buffer out, keeping whatever the writer did not take (so a
    /// failed write is never repeated for bytes already written).
    fn drain(&mut self) -> io::Result<()> {
        let (done, r) = write_out(&mut self.inner, &self.buf);
        self.buf.drain(..done);
        r
    }
    /// Everything written and flushed; the writer stays ours on failure.
    pub fn settle(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
    pub fn finish(mut self) -> io::Result<W> {
        self.settle()?;
        Ok(self.inner)
    }
}

/// Hand `data` to `w` until it took all of it or failed: how many bytes
/// it took, and how it ended.
fn write_out(w: &mut impl Write, data: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    let r = loop {
        if done == data.len() {
            break Ok(());
        }
        match w.write(&data[done..]) {
            Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => done += n,
            // A blocked write (a full pipe) gives way to SIGINT/SIGTERM.
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    && crate::sys::termination().is_none() => {}
            Err(e) => break Err(e),
        }
    };
    (done, r)
}

/// Writes to a temporary file beside the target; renamed into place only
/// when every byte is in.
pub struct FileSink {
    tmp: Option<Deferred<tempfile::NamedTempFile>>,
    target: PathBuf,
    force: bool,
    /// Bytes handed to the file so far.
    received: u64,
}

impl Sink for FileSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.received += data.len() as u64;
        match &mut self.tmp {
            Some(w) => w.write(data),
            None => Err(io::Error::other("write after the file was committed")),
        }
    }

    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.tmp.as_mut().map_or(Ok(()), |w| w.idle(lull))
    }

    fn write_idle(&mut self, data: &[u8], lull: bool) -> io::Result<()> {
        self.received += data.len() as u64;
        match &mut self.tmp {
            Some(w) => w.write_idle(data, lull),
            None => Err(io::Error::other("write after the file was committed")),
        }
    }

    fn complete(&mut self) -> io::Result<()> {
        // On any failure the temporary file stays in the sink, so that
        // --keep-partial can still keep it.
        let Some(w) = self.tmp.as_mut() else {
            return Ok(());
        };
        w.settle()?;
        let Some(w) = self.tmp.take() else {
            return Ok(());
        };
        let persisted = if self.force {
            w.inner.persist(&self.target)
        } else {
            w.inner.persist_noclobber(&self.target)
        };
        match persisted {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = io::Error::new(
                    e.error.kind(),
                    format!("cannot create {}: {}", self.target.display(), e.error),
                );
                self.tmp = Some(Deferred::new(e.file));
                Err(err)
            }
        }
    }
}

impl FileSink {
    /// Into `tmp`, renamed to `target` at the end (replacing a file there
    /// only with `force`).
    pub fn new(tmp: tempfile::NamedTempFile, target: PathBuf, force: bool) -> Self {
        FileSink {
            tmp: Some(Deferred::new(tmp)),
            target,
            force,
            received: 0,
        }
    }

    /// After a failure: keep the partial data as `TARGET.part` if asked
    /// (never replacing a file of that name: then under the temporary
    /// name), else the temporary file is deleted when dropped. Nothing is
    /// kept when nothing arrived. Returns what was kept.
    pub fn abandon(mut self, keep: bool) -> Option<Kept> {
        let mut w = self.tmp.take()?;
        if !keep || self.received == 0 {
            return None;
        }
        // Keep what reached the disk even if the last write fails too.
        let _ = w.settle();
        let tmp = w.inner;
        let mut part = self.target.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        match tmp.persist_noclobber(&part) {
            Ok(_) => Some(Kept {
                path: part,
                instead: None,
            }),
            // NAME.part may be taken, or too long a name: keep the data
            // under the temporary name then.
            Err(e) => {
                let why = if e.error.kind() == io::ErrorKind::AlreadyExists {
                    format!("{} exists", part.display())
                } else {
                    format!("cannot create {}: {}", part.display(), e.error)
                };
                e.file.keep().ok().map(|(_, path)| Kept {
                    path,
                    instead: Some(why),
                })
            }
        }
    }
}

/// Standard output, written straight to its descriptor (`Deferred` does
/// the buffering): `io::Stdout` retries a write `EINTR` cut short, so a
/// write blocked on a full pipe would never give way to SIGINT.
pub struct StdoutSink(pub Option<Deferred<File>>);

impl Sink for StdoutSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.0 {
            Some(w) => w.write(data),
            None => Err(io::Error::other("write after the end")),
        }
    }
    fn idle(&mut self, lull: bool) -> io::Result<()> {
        self.0.as_mut().map_or(Ok(()), |w| w.idle(lull))
    }
    fn write_idle(&mut self, data: &[u8], lull: bool) -> io::Result<()> {
        match &mut self.0 {
            Some(w) => w.write_idle(data, lull),
            None => Err(io::Error::other("write after the end")),
        }
    }
    fn complete(&mut self) -> io::Result<()> {
        self.0.take().map_or(Ok(()), |w| w.finish().map(drop))
    }
}

/// Append up to `max` bytes from `r` to `buf`; fewer only at end of
/// file. Returns how many.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(start + max, 0);
    let mut got = 0;
    while got < max {
        match r.read(&mut buf[start + got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            // A read blocked on a pipe gives way to SIGINT/SIGTERM.
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    && crate::sys::termination().is_none() => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(start + got);
    Ok(got)
}

pub struct ReadSource<R: Read>(pub R);

impl<R: Read> Source for ReadSource<R> {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        fill(&mut self.0, buf, max).map(drop)
    }
}

/// A file whose size was announced (`put --tsize`): exactly that many
/// bytes are sent, and a file that shrinks or grows meanwhile is an error.
pub struct SizedSource<R: Read> {
    inner: R,
    path: String,
    size: u64,
    read: u64,
    /// Checked already that nothing follows the announced bytes.
    ended: bool,
}

impl<R: Read> SizedSource<R> {
    /// `size` bytes of `inner`, read from `path` (named in errors).
    pub fn new(inner: R, path: String, size: u64) -> Self {
        SizedSource {
            inner,
            path,
            size,
            read: 0,
            ended: false,
        }
    }
}

impl<R: Read> Source for SizedSource<R> {
    fn read_block(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        let want = usize::try_from(self.size - self.read).map_or(max, |left| left.min(max));
        let got = fill(&mut self.inner, buf, want)?;
        self.read += got as u64;
        if got < want {
            return Err(io::Error::other(SizeChanged(format!(
                "{} shrank to {} bytes during the upload (--tsize announced {}): send it again once it stops changing",
                self.path, self.read, self.size
            ))));
        }
        if self.read == self.size && !self.ended {
            self.ended = true;
            if fill(&mut self.inner, &mut Vec::new(), 1)? > 0 {
                return Err(io::Error::other(SizeChanged(format!(
                    "{} grew during the upload (--tsize announced {} bytes): send it again once it stops changing",
                    self.path, self.size
                ))));
            }
        }
        Ok(())
    }
}

/// The longest file name Linux file systems take.
pub const NAME_MAX: usize = 255;

/// The temporary file for `target`, beside it: `.NAME.XXXXXX.part`, with
/// NAME cut short so that the whole name stays within 255 bytes (any
/// legal NAME works; the random part keeps it unique).
pub fn temp_file_for(target: &Path) -> Result<tempfile::NamedTempFile, Error> {
    const ADDED: usize = ".".len() + ".".len() + 6 + ".part".len();
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map_or(&[][..], |n| n.as_bytes());
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(&name[..name.len().min(NAME_MAX - ADDED)]);
    prefix.push(b'.');
    tempfile::Builder::new()
        .prefix(&OsString::from_vec(prefix))
        .suffix(".part")
        .tempfile_in(&dir)
        .map_err(|e| {
            Error::Setup(format!(
                "cannot create a file in {}: {e}: choose a directory you can write to",
                dir.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the size of every write it is handed.
    #[derive(Default)]
    struct Sizes(Vec<usize>);

    impl Write for Sizes {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Feeds `blocks` blocks of `blksize` bytes, a lull after each, and
    /// returns the sizes of the writes (the last: what `finish` wrote).
    fn writes_at_lulls(blksize: usize, blocks: usize) -> Vec<usize> {
        let mut d = Deferred::new(Sizes::default());
        let block = vec![7u8; blksize];
        for _ in 0..blocks {
            d.write(&block).unwrap();
            d.idle(true).unwrap();
        }
        d.finish().unwrap().0
    }

    #[test]
    fn lulls_write_at_most_64_kib_at_a_time() {
        // 64 KiB blocks: each on its own, never two together.
        assert_eq!(writes_at_lulls(65464, 3), [65464; 3]);
        // Eight 8 KiB blocks fill 64 KiB exactly.
        assert_eq!(writes_at_lulls(8192, 17), [65536, 65536, 8192]);
        // 44 blocks of 1468 bytes; a 45th would pass 64 KiB.
        assert_eq!(writes_at_lulls(1468, 90), [64592, 64592, 2936]);
        // Nothing buffered, nothing written.
        assert_eq!(writes_at_lulls(512, 0), Vec::<usize>::new());
    }

    #[test]
    fn mid_window_writes_wait_for_the_backlog() {
        let mut d = Deferred::new(Sizes::default());
        let block = vec![0u8; 1468];
        for _ in 0..64 {
            d.write(&block).unwrap();
            d.idle(false).unwrap();
        }
        assert!(
            d.inner.0.is_empty(),
            "a window's blocks wait: {:?}",
            d.inner.0
        );
        d.idle(true).unwrap();
        assert_eq!(d.inner.0, [64 * 1468]);
    }

    /// Records each write: where its bytes lay, and the bytes; refuses
    /// more than `room` bytes in all (a full disk) until given more.
    struct Recorder {
        writes: Vec<(usize, Vec<u8>)>,
        room: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::StorageFull.into());
            }
            let n = data.len().min(self.room);
            self.room -= n;
            self.writes
                .push((data.as_ptr() as usize, data[..n].to_vec()));
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn recorder() -> Recorder {
        Recorder {
            writes: Vec::new(),
            room: usize::MAX,
        }
    }

    #[test]
    fn write_idle_writes_what_write_then_idle_would_big_blocks_in_place() {
        let steps = [
            (65464, true),
            (65464, true),
            (8192, true),
            (1468, false),
            (65464, false),
            (65464, true),
            (30000, true),
            (40000, true),
            (0, true),
        ];
        let (mut copied, mut direct) = (Deferred::new(recorder()), Deferred::new(recorder()));
        for (i, &(n, lull)) in steps.iter().enumerate() {
            let data: Vec<u8> = (0..n).map(|k| (k * 7 + i).to_le_bytes()[0]).collect();
            copied.write(&data).unwrap();
            copied.idle(lull).unwrap();
            let before = direct.inner.writes.len();
            direct.write_idle(&data, lull).unwrap();
            // The first two blocks go out alone at a lull: from the
            // caller's bytes, not a copy.
            if i < 2 {
                assert_eq!(direct.inner.writes.len(), before + 1);
                assert_eq!(direct.inner.writes[before].0, data.as_ptr() as usize);
            }
        }
        let bytes = |w: &[(usize, Vec<u8>)]| w.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>();
        assert_eq!(bytes(&copied.inner.writes), bytes(&direct.inner.writes));
        assert_eq!(copied.buf, direct.buf, "the same left buffered");
        let (a, b) = (copied.finish().unwrap(), direct.finish().unwrap());
        assert_eq!(bytes(&a.writes), bytes(&b.writes));
        assert_eq!(
            a.writes.len(),
            6,
            "{:?}",
            a.writes.iter().map(|w| w.1.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_direct_write_cut_short_keeps_the_rest_and_writes_it_once() {
        let data: Vec<u8> = (0..65464u32).map(|k| (k % 251).to_le_bytes()[0]).collect();
        let mut d = Deferred::new(Recorder {
            writes: Vec::new(),
            room: 1000,
        });
        let e = d.write_idle(&data, true).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(d.buf, &data[1000..], "what the disk did not take stays");
        d.inner.room = usize::MAX;
        let w = d.finish().unwrap();
        let all: Vec<u8> = w.writes.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(all, data, "every byte once, in order");
    }
}
