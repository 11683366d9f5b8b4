//! Pure packet codecs: no I/O, no clocks.
//!
//! Each protocol has a checked view over bytes (`Frame<T>`/`Packet<T>`:
//! the length is checked once in `new_checked`, after which no accessor can
//! panic) and a plain value type (`Repr`) with `parse` and `emit`, in the
//! manner of smoltcp's `wire` module. Offsets have names: each header's
//! fields are constants in a `mod field` (a [`Field`] range, or a `usize`
//! for one byte).

/// Bytes `start..end` of a header.
pub type Field = std::ops::Range<usize>;

pub mod arp;
pub mod ethernet;
pub mod sock_diag;
pub mod tftp;

use std::fmt;
use std::str::FromStr;

/// Why bytes did not parse as a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated: {0}")]
    Truncated(&'static str),
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// A 48-bit Ethernet (MAC) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    pub fn from_slice(b: &[u8]) -> Option<MacAddr> {
        Some(MacAddr(b.get(..6)?.try_into().ok()?))
    }

    pub fn is_broadcast(self) -> bool {
        self == MacAddr::BROADCAST
    }

    /// The group bit: multicast or broadcast.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// The U/L bit: set by an administrator or software (VMs, containers,
    /// veth pairs, randomised Wi-Fi MACs), not by a vendor's OUI.
    pub fn is_locally_administered(self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The vendor prefix (first three bytes).
    pub fn oui(self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = WireError;

    /// `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, any case.
    fn from_str(s: &str) -> Result<MacAddr, WireError> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts
                .next()
                .ok_or(WireError::Malformed("MAC needs 6 bytes"))?;
            if p.is_empty() || p.len() > 2 {
                return Err(WireError::Malformed("MAC bytes are 1-2 hex digits"));
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| WireError::Malformed("MAC is hex"))?;
        }
        if parts.next().is_some() {
            return Err(WireError::Malformed("MAC has more than 6 bytes"));
        }
        Ok(MacAddr(out))
    }
}

/// Parse whitespace-separated hex (the format of the test vectors).
pub fn hex_bytes(text: &str) -> Result<Vec<u8>, WireError> {
    text.split_ascii_whitespace()
        .map(|h| {
            if h.len() != 2 {
                return Err(WireError::Malformed("hex bytes are two digits"));
            }
            u8::from_str_radix(h, 16).map_err(|_| WireError::Malformed("not hex"))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// A vector from tests/vectors, one `Vec<u8>` per protocol layer.
    pub fn vector(name: &str) -> Vec<Vec<u8>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/vectors")
            .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| hex_bytes(l).unwrap())
            .collect()
    }

    #[test]
    fn vectors_match_shared() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
        if !shared.is_dir() {
            // A checkout without the shared folder beside it. CI always has
            // it, so there a missing folder is a failure, not a skip.
            let why = format!("{} is not a directory", shared.display());
            assert!(
                !crate::in_ci(),
                "vectors_match_shared cannot run under CI: {why}"
            );
            eprintln!("SKIPPED vectors_match_shared: {why} (this would fail under CI=true)");
            return;
        }
        for name in ["arp-request.hex", "arp-reply.hex", "tftp-rrq-frame.hex"] {
            let ours = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/vectors")
                    .join(name),
            )
            .unwrap();
            let theirs = std::fs::read(shared.join(name)).unwrap();
            assert_eq!(
                ours, theirs,
                "tests/vectors/{name} differs from ../shared/vectors"
            );
        }
    }

    #[test]
    fn mac_text_round_trip_and_bits() {
        let m: MacAddr = "00:05:5D:61:58:a8".parse().unwrap();
        assert_eq!(m.to_string(), "00:05:5d:61:58:a8");
        assert_eq!("00-05-5d-61-58-a8".parse::<MacAddr>().unwrap(), m);
        assert!(!m.is_locally_administered() && !m.is_multicast());
        assert!(
            "02:11:22:33:44:55"
                .parse::<MacAddr>()
                .unwrap()
                .is_locally_administered()
        );
        assert!(MacAddr::BROADCAST.is_broadcast() && MacAddr::BROADCAST.is_multicast());
        for bad in [
            "",
            "00:05:5d:61:58",
            "00:05:5d:61:58:a8:01",
            "zz:05:5d:61:58:a8",
            "000:5:5d:61:58:a8",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?}");
        }
    }
}
