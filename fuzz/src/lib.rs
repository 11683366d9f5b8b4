//! Shared by the fuzz targets: a cursor that reads the fuzzer's bytes as
//! plain fields, so that seeds can be written by hand (fuzz/seeds.py) and
//! a finding reads as a list of steps; and what both TFTP session targets
//! set up the same way.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use nettool::tftp::session::{Config, Mode, Requested};

/// Where the request goes.
pub const SERVER: SocketAddr = v4(127, 0, 0, 1, 69);
/// The server's transfer ID: the port it answers from.
pub const TID: SocketAddr = v4(127, 0, 0, 1, 40000);
/// Another host, and another port of the server's host (the transfer ID
/// if it answers first, a stranger after that).
pub const STRANGERS: [SocketAddr; 2] = [v4(127, 0, 0, 2, 40001), v4(127, 0, 0, 1, 40002)];

const fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

/// A session's configuration as the CLI would build it.
pub fn config(netascii: bool, options: Requested, max_size: Option<u64>, dally: bool) -> Config {
    Config {
        filename: "f".into(),
        mode: if netascii {
            Mode::Netascii
        } else {
            Mode::Octet
        },
        options,
        retries: 3,
        timeout: Duration::from_millis(10),
        max_size,
        dally: if dally {
            Duration::from_millis(10)
        } else {
            Duration::ZERO
        },
        fallback: true,
    }
}

/// Reads fields from the front; a field past the end reads as `None`.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }
    /// A length (u16) and that many bytes, or fewer at the end.
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    /// A repeat count: 0-254 as it stands; 255 and a byte k, (k % 16 + 1)
    /// times 16384, so that long runs (past block 65535) are there but
    /// rare.
    pub fn count(&mut self) -> Option<u32> {
        match self.u8()? {
            255 => Some((u32::from(self.u8()? % 16) + 1) * 16384),
            c => Some(u32::from(c)),
        }
    }
    /// blksize and windowsize, each read when its bit of `flags` is set,
    /// kept to the CLI's ranges (8..=65464, 1..=65535).
    pub fn block_options(
        &mut self,
        flags: u8,
        blksize_bit: u8,
        windowsize_bit: u8,
    ) -> (Option<u16>, Option<u16>) {
        let blksize = if flags & blksize_bit != 0 {
            self.u16().map(|b| b.clamp(8, 65464))
        } else {
            None
        };
        let windowsize = if flags & windowsize_bit != 0 {
            self.u16().map(|w| w.max(1))
        } else {
            None
        };
        (blksize, windowsize)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
