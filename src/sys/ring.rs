//! A packet socket that receives through a memory-mapped ring
//! (`TPACKET_V3`): the kernel writes frames into blocks of a ring shared
//! with us, and one `poll` wakes us for a whole block of them, where a
//! plain socket costs a `recvfrom` (and a copy) per frame. This is what
//! lets a watch keep up with a flood.
//!
//! Invariants: the ring is a fixed size, whatever arrives (what does not
//! fit is dropped by the kernel and counted, [`PacketRing::drops`]); every
//! offset the kernel wrote is checked against its block before a byte is
//! read, so a torn or corrupt block is skipped, never read past; a block
//! is given back to the kernel only after the caller is done with every
//! frame of it (the borrow of [`PacketRing::next`] ends first).

use std::io;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use super::packet::Frames;
use super::sockaddr::socklen;

/// Bytes per block: many frames each (a frame takes its captured length,
/// at most the filter's snap length, and its header).
const BLOCK_SIZE: usize = 1 << 20;
/// Blocks in the ring: frames the kernel may hold before it drops, a
/// fraction of a second of a flood.
const BLOCKS: usize = 8;
/// A block that is not full goes to us after this long (milliseconds):
/// how late a frame of a quiet link can be.
const RETIRE_MS: u32 = 20;
/// The frame size the ring is declared with (V3 packs frames of any
/// length; the kernel only checks the arithmetic).
const FRAME_SIZE: usize = 2048;

/// `enum tpacket_versions`'s third value (`linux/if_packet.h`).
const TPACKET_V3: libc::c_int = 2;

/// Where a block descriptor (`tpacket_block_desc` with `tpacket_hdr_v1`)
/// and a frame header (`tpacket3_hdr`) keep what we read.
mod field {
    pub const BLOCK_STATUS: usize = 8;
    pub const NUM_PKTS: usize = 12;
    pub const OFFSET_TO_FIRST_PKT: usize = 16;
    pub const BLK_LEN: usize = 20;
    pub const NEXT_OFFSET: usize = 0;
    pub const SEC: usize = 4;
    pub const NSEC: usize = 8;
    pub const SNAPLEN: usize = 12;
    pub const MAC: usize = 24;
    /// `sizeof(struct tpacket3_hdr)`.
    pub const HDR_LEN: usize = 48;
}

/// Where we are in the block we hold.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    block: usize,
    /// Offset of the next frame header in the block.
    at: usize,
    /// Frames of the block not read yet.
    left: u32,
    /// The block's used length, as the kernel says (checked <= size).
    len: usize,
}

/// A receive ring on a packet socket bound to one interface.
#[derive(Debug)]
pub struct PacketRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    /// The block to look at next when no block is held.
    next_block: usize,
    /// The block being read, if any.
    cursor: Option<Cursor>,
    /// Drops read so far (each read of the kernel's count resets it).
    drops: u64,
}

// SAFETY: the mapping is owned by this value alone and only read or
// written through `&mut self`; moving it to another thread moves that.
unsafe impl Send for PacketRing {}

impl PacketRing {
    /// A socket that passes only `frames`, with its ring, bound to
    /// interface `ifindex` (every protocol: the filter chooses).
    ///
    /// # Errors
    /// `EPERM` without `CAP_NET_RAW`; what setting the ring up failed with.
    pub fn open(frames: Frames, ifindex: u32) -> io::Result<PacketRing> {
        let raw = super::packet::packet_socket(frames)?;
        // SAFETY: a new descriptor we own from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let version: libc::c_int = TPACKET_V3;
        setsockopt(&fd, libc::PACKET_VERSION, &version)?;
        let req = libc::tpacket_req3 {
            tp_block_size: c_uint(BLOCK_SIZE),
            tp_block_nr: c_uint(BLOCKS),
            tp_frame_size: c_uint(FRAME_SIZE),
            tp_frame_nr: c_uint(BLOCK_SIZE / FRAME_SIZE * BLOCKS),
            tp_retire_blk_tov: RETIRE_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::PACKET_RX_RING, &req)?;
        let len = BLOCK_SIZE * BLOCKS;
        // SAFETY: maps the ring the kernel just made for this socket;
        // the length is the one it was declared with.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let map = NonNull::new(map.cast::<u8>()).ok_or_else(|| io::Error::other("mmap at 0"))?;
        let ring = PacketRing {
            fd,
            map,
            next_block: 0,
            cursor: None,
            drops: 0,
        };
        // SAFETY: all-zero is a valid sockaddr_ll; the fields are set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = u16::try_from(libc::AF_PACKET).unwrap_or_default();
        sll.sll_protocol = u16::try_from(libc::ETH_P_ALL).unwrap_or_default().to_be();
        sll.sll_ifindex = i32::try_from(ifindex).map_err(|_| io::Error::other("ifindex"))?;
        // SAFETY: `sll` lives across the call and its length is given.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&raw const sll).cast(),
                socklen::<libc::sockaddr_ll>(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ring)
    }

    /// The next frame (its captured bytes, at most the filter's snap
    /// length) and the kernel's time of its arrival, waiting up to `wait`
    /// for one. `None` when none came in time.
    ///
    /// # Errors
    /// What `poll` failed with (not an interruption: that is `None`).
    pub fn next(&mut self, wait: Duration) -> io::Result<Option<(&[u8], SystemTime)>> {
        loop {
            if let Some(c) = self.cursor {
                if c.left == 0 {
                    self.release(c.block);
                    continue;
                }
                // A frame that does not fit its block: skip the rest.
                let Some((start, len, next, at)) = self.frame(c) else {
                    self.release(c.block);
                    continue;
                };
                self.cursor = Some(Cursor {
                    at: next,
                    left: c.left - 1,
                    ..c
                });
                // SAFETY: `start..start + len` was checked to lie in the
                // block, which stays ours until `release`, after the
                // borrow of the result ends.
                let bytes =
                    unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(start), len) };
                return Ok(Some((bytes, at)));
            }
            if self.take_block() {
                continue;
            }
            if !self.wait(wait)? {
                return Ok(None);
            }
            if !self.take_block() {
                return Ok(None);
            }
        }
    }

    /// Frames the kernel dropped since the ring was opened: the ring was
    /// full.
    ///
    /// # Errors
    /// What `getsockopt` failed with.
    pub fn drops(&mut self) -> io::Result<u64> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = socklen::<libc::tpacket_stats_v3>();
        // SAFETY: `st` and `len` are valid for the call; the kernel writes
        // at most `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut st).cast(),
                &raw mut len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        self.drops = self.drops.saturating_add(u64::from(st.tp_drops));
        Ok(self.drops)
    }

    /// The status word of `block`, shared with the kernel.
    fn status(&self, block: usize) -> &AtomicU32 {
        // SAFETY: the word lies inside the mapping (block < BLOCKS), is
        // 4-aligned (blocks are page-aligned), and is only accessed
        // atomically, by us and by the kernel.
        #[allow(
            clippy::cast_ptr_alignment,
            reason = "the mapping is page-aligned and the offset a multiple of 4"
        )]
        unsafe {
            &*self
                .map
                .as_ptr()
                .add(block * BLOCK_SIZE + field::BLOCK_STATUS)
                .cast::<AtomicU32>()
        }
    }

    /// A u32 of `block` at `offset` (checked to lie inside the block).
    fn word(&self, block: usize, offset: usize) -> Option<u32> {
        if offset.checked_add(4)? > BLOCK_SIZE {
            return None;
        }
        // SAFETY: inside the mapping (checked above); the kernel has
        // handed the block to us, so nothing writes it meanwhile.
        let v = unsafe {
            self.map
                .as_ptr()
                .add(block * BLOCK_SIZE + offset)
                .cast::<u32>()
                .read_unaligned()
        };
        Some(v)
    }

    /// Take the next block if the kernel has handed it to us.
    fn take_block(&mut self) -> bool {
        let block = self.next_block;
        // Acquire: the frames the kernel wrote before it set the status
        // are visible after this load.
        if self.status(block).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return false;
        }
        let n = self.word(block, field::NUM_PKTS).unwrap_or(0);
        let first = self
            .word(block, field::OFFSET_TO_FIRST_PKT)
            .map_or(0, |v| v as usize);
        let len = self
            .word(block, field::BLK_LEN)
            .map_or(0, |v| (v as usize).min(BLOCK_SIZE));
        self.cursor = Some(Cursor {
            block,
            at: first,
            left: n,
            len,
        });
        true
    }

    /// The frame at the cursor: where its bytes start in the mapping,
    /// their length, the offset of the frame after it, its time.
    fn frame(&self, c: Cursor) -> Option<(usize, usize, usize, SystemTime)> {
        // SAFETY: the block lies inside the mapping and is ours (the
        // kernel handed it over and writes it only after `release`).
        let block = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(c.block * BLOCK_SIZE), BLOCK_SIZE)
        };
        let f = frame_in(block, c.at, c.len)?;
        Some((c.block * BLOCK_SIZE + f.start, f.len, f.next, f.at))
    }

    /// Give `block` back to the kernel and move on to the next.
    fn release(&mut self, block: usize) {
        // Release: our reads of the block happen before the kernel may
        // write it again.
        self.status(block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.cursor = None;
        self.next_block = (block + 1) % BLOCKS;
    }

    /// Wait for a block; false at the timeout (or an interruption).
    fn wait(&self, wait: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the call.
        let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(rc > 0)
    }
}

/// The socket, for waiting on several rings at once (`poll`: readable when
/// a block is ours). Only for waiting: reading is [`PacketRing::next`]'s.
impl AsFd for PacketRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, with its length; nothing
        // borrows it any more (`&mut self`).
        unsafe { libc::munmap(self.map.as_ptr().cast(), BLOCK_SIZE * BLOCKS) };
    }
}

/// One frame of a block, as [`frame_in`] finds it.
#[derive(Debug, PartialEq, Eq)]
struct Found {
    /// Its bytes: `block[start..start + len]`.
    start: usize,
    len: usize,
    /// Where the next frame header is.
    next: usize,
    at: SystemTime,
}

/// The frame whose header is at `at` in `block`, of which the kernel says
/// `used` bytes are filled: `None` unless the header and the bytes lie
/// within them (a torn or corrupt block is never read past).
fn frame_in(block: &[u8], at: usize, used: usize) -> Option<Found> {
    let used = used.min(block.len());
    let hdr = block.get(at..at.checked_add(field::HDR_LEN)?)?;
    if at == 0 || at + field::HDR_LEN > used {
        return None;
    }
    let word = |o: usize| {
        hdr.get(o..o + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let next = word(field::NEXT_OFFSET)? as usize;
    let sec = word(field::SEC)?;
    let nsec = word(field::NSEC)?;
    let len = word(field::SNAPLEN)? as usize;
    let mac = usize::from(u16::from_ne_bytes([hdr[field::MAC], hdr[field::MAC + 1]]));
    let start = at.checked_add(mac)?;
    if mac < field::HDR_LEN || start.checked_add(len)? > used {
        return None;
    }
    Some(Found {
        start,
        len,
        next: at.checked_add(next)?,
        at: SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::from(sec))
            + Duration::from_nanos(u64::from(nsec)),
    })
}

fn c_uint(n: usize) -> libc::c_uint {
    libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX)
}

fn setsockopt<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a valid T for the call, its size given; the
    // kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            name,
            std::ptr::from_ref(value).cast(),
            socklen::<T>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block with one frame header at `at`: `snap` bytes `mac` after it.
    fn block(at: usize, next: u32, snap: u32, mac: u16) -> Vec<u8> {
        let mut b = vec![0xa5u8; 4096];
        let put =
            |b: &mut Vec<u8>, o: usize, v: &[u8]| b[at + o..at + o + v.len()].copy_from_slice(v);
        put(&mut b, field::NEXT_OFFSET, &next.to_ne_bytes());
        put(&mut b, field::SEC, &7u32.to_ne_bytes());
        put(&mut b, field::NSEC, &9u32.to_ne_bytes());
        put(&mut b, field::SNAPLEN, &snap.to_ne_bytes());
        put(&mut b, field::MAC, &mac.to_ne_bytes());
        b
    }

    #[test]
    fn a_frame_is_found_where_its_header_says() {
        let b = block(64, 160, 60, 80);
        let f = frame_in(&b, 64, 4096).unwrap();
        assert_eq!(f.start, 144);
        assert_eq!(f.len, 60);
        assert_eq!(f.next, 224);
        assert_eq!(
            f.at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(7) + Duration::from_nanos(9)
        );
    }

    #[test]
    fn offsets_outside_the_filled_block_are_refused() {
        // The bytes run past what the kernel filled, or past the block.
        assert_eq!(frame_in(&block(64, 0, 60, 80), 64, 200), None);
        assert_eq!(frame_in(&block(64, 0, u32::MAX, 80), 64, 4096), None);
        // The bytes would overlap the header.
        assert_eq!(frame_in(&block(64, 0, 60, 10), 64, 4096), None);
        // No frame at the descriptor, nor a header past the end.
        assert_eq!(frame_in(&block(64, 0, 60, 80), 0, 4096), None);
        assert_eq!(frame_in(&block(64, 0, 60, 80), 4090, 4096), None);
        assert_eq!(frame_in(&block(64, 0, 60, 80), usize::MAX - 8, 4096), None);
    }
}
