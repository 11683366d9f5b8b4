//! Pure packet codecs: no I/O, no clocks.
//!
//! Each protocol has a checked view over bytes (`Frame<T>`/`Packet<T>`:
//! the length is checked once in `new_checked`, after which no accessor can
//! panic) and a plain value type (`Repr`) with `parse` and `emit`, in the
//! manner of smoltcp's `wire` module. Offsets have names: each header's
//! fields are constants in a `mod field` (a [`Field`] range, or a `usize`
//! for one byte), and numeric codes are enums from `enum_with_unknown!`.

/// Bytes `start..end` of a header.
pub type Field = std::ops::Range<usize>;

/// A numeric wire code as an enum: the named values plus `Unknown(n)` for
/// every other number, so that any number converts both ways and survives a
/// round trip (`From<repr>` and `From<enum>`).
///
/// ```ignore
/// enum_with_unknown! {
///     /// ARP operation.
///     pub enum Operation(u16) {
///         Request = 1,
///         Reply = 2,
///     }
/// }
/// ```
/// The enum derives `Debug, Clone, Copy, PartialEq, Eq, Hash`; attributes
/// written before `pub enum` (docs, more derives) are kept. Build values from
/// numbers with `From`: a hand-written `Unknown(1)` is not equal to the
/// variant named 1.
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident($repr:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vattr])* $variant, )+
            /// A number without a name here, kept as it came.
            Unknown($repr),
        }

        impl ::core::convert::From<$repr> for $name {
            #[inline]
            fn from(n: $repr) -> $name {
                match n {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $repr {
            #[inline]
            fn from(e: $name) -> $repr {
                match e {
                    $( $name::$variant => $value, )+
                    $name::Unknown(n) => n,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

pub mod arp;
pub mod ethernet;
pub mod icmpv6;
pub mod ipv6;
pub mod rtnetlink;
pub mod sock_diag;
pub mod tcp_info;
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

/// In reports, as people write it: `0e:14:ec:f1:b9:77`.
impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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
///
/// # Errors
/// `Malformed` at the first word that is not two hex digits.
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
    use std::fmt::Debug;
    use std::path::Path;

    /// A numeric enum names exactly `named` (each both ways), and every
    /// other number of `every` is `Unknown` and converts back unchanged.
    pub fn assert_numeric_enum<E, R>(
        named: &[(E, R)],
        every: impl IntoIterator<Item = R>,
        unknown: fn(R) -> E,
    ) where
        E: Copy + PartialEq + Debug + From<R>,
        R: Copy + PartialEq + Debug + From<E>,
    {
        for &(e, n) in named {
            assert_eq!(E::from(n), e, "{n:?}");
            assert_eq!(R::from(e), n, "{e:?}");
            assert_ne!(e, unknown(n), "{e:?} is named");
        }
        for n in every {
            let e = E::from(n);
            assert_eq!(R::from(e), n, "{e:?}");
            if named.iter().all(|&(_, k)| k != n) {
                assert_eq!(e, unknown(n), "{n:?} has no name");
            }
        }
    }

    enum_with_unknown! {
        /// Gaps, zero and the largest number.
        enum Sample(u16) {
            Zero = 0,
            Two = 2,
            Top = 0xffff,
        }
    }

    #[test]
    fn enum_with_unknown_round_trips_known_and_unknown_numbers() {
        let named = [(Sample::Zero, 0), (Sample::Two, 2), (Sample::Top, 0xffff)];
        assert_numeric_enum(&named, 0..=u16::MAX, Sample::Unknown);
        assert_eq!(Sample::from(1), Sample::Unknown(1));
        assert_eq!(u16::from(Sample::Unknown(0xfffe)), 0xfffe);
    }

    /// A vector from tests/vectors, one `Vec<u8>` per protocol layer.
    /// `frame` (Ethernet, IPv6) with a hop-by-hop options header of 8
    /// bytes (`PadN`) before its IPv6 payload, the payload length made
    /// right: what a receiver steps over. An ICMPv6 checksum does not
    /// change (its pseudo-header counts the message only).
    pub fn behind_hop_by_hop(frame: &[u8]) -> Vec<u8> {
        let at = ethernet::HEADER_LEN + ipv6::HEADER_LEN;
        let next = ethernet::HEADER_LEN + 6;
        let mut out = frame[..at].to_vec();
        out.extend([frame[next], 0, 1, 4, 0, 0, 0, 0]);
        out.extend_from_slice(&frame[at..]);
        out[next] = ipv6::NEXT_HEADER_HOP_BY_HOP;
        let len = u16::try_from(out.len() - at).unwrap();
        out[next - 2..next].copy_from_slice(&len.to_be_bytes());
        out
    }

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
            crate::skip_or_fail(why);
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
