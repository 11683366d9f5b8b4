//! TFTP packets (RFC 1350, options RFC 2347/2348/2349/7440).
//!
//! ```text
//! RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
//! DATA     | 03    | block (u16) | 0..blksize bytes
//! ACK      | 04    | block (u16)
//! ERROR    | 05    | code (u16)  | message | 0
//! OACK     | 06    | opt1 | 0 | value1 | 0 | ...
//! ```
//! `Packet::parse` borrows from the datagram (DATA payloads are not
//! copied); `Packet::emit` appends to a buffer. Strings must be
//! NUL-terminated and may not contain NUL; option names compare
//! case-insensitively, as RFC 2347 says.

use super::WireError;

super::enum_with_unknown! {
    /// The first two bytes of every packet.
    pub enum Opcode(u16) {
        Rrq = 1,
        Wrq = 2,
        Data = 3,
        Ack = 4,
        Error = 5,
        Oack = 6,
    }
}

/// The largest datagram any TFTP peer may send: DATA at blksize 65464.
pub const MAX_PACKET: usize = 4 + 65464;

super::enum_with_unknown! {
    /// Error codes of RFC 1350 and RFC 2347.
    pub enum ErrorCode(u16) {
        NotDefined = 0,
        FileNotFound = 1,
        AccessViolation = 2,
        DiskFull = 3,
        IllegalOperation = 4,
        UnknownTid = 5,
        FileExists = 6,
        NoSuchUser = 7,
        OptionRefused = 8,
    }
}

impl ErrorCode {
    /// `ErrorCode::from(n)`.
    #[inline]
    pub fn from_u16(n: u16) -> ErrorCode {
        ErrorCode::from(n)
    }

    /// `u16::from(self)`.
    #[inline]
    pub fn to_u16(self) -> u16 {
        u16::from(self)
    }

    /// What the code means, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::NotDefined => "not defined",
            ErrorCode::FileNotFound => "file not found",
            ErrorCode::AccessViolation => "access violation",
            ErrorCode::DiskFull => "disk full or allocation exceeded",
            ErrorCode::IllegalOperation => "illegal TFTP operation",
            ErrorCode::UnknownTid => "unknown transfer ID",
            ErrorCode::FileExists => "file already exists",
            ErrorCode::NoSuchUser => "no such user",
            ErrorCode::OptionRefused => "option negotiation refused",
            ErrorCode::Unknown(_) => "unknown error code",
        }
    }
}

/// One TFTP packet, borrowing its strings and data from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    Rrq {
        filename: &'a str,
        mode: &'a str,
        options: Vec<(&'a str, &'a str)>,
    },
    Wrq {
        filename: &'a str,
        mode: &'a str,
        options: Vec<(&'a str, &'a str)>,
    },
    Data {
        block: u16,
        data: &'a [u8],
    },
    Ack {
        block: u16,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
    },
    Oack {
        options: Vec<(&'a str, &'a str)>,
    },
}

/// NUL-terminated strings from `b`, in order.
fn strings(b: &[u8]) -> Result<Vec<&str>, WireError> {
    if b.is_empty() {
        return Ok(Vec::new());
    }
    if b.last() != Some(&0) {
        return Err(WireError::Malformed("string not NUL-terminated"));
    }
    b[..b.len() - 1]
        .split(|&c| c == 0)
        .map(|s| std::str::from_utf8(s).map_err(|_| WireError::Malformed("string is not UTF-8")))
        .collect()
}

fn pairs<'a>(items: &[&'a str]) -> Result<Vec<(&'a str, &'a str)>, WireError> {
    if items.len() % 2 != 0 {
        return Err(WireError::Malformed("option without a value"));
    }
    items
        .chunks(2)
        .map(|c| {
            if c[0].is_empty() {
                Err(WireError::Malformed("empty option name"))
            } else {
                Ok((c[0], c[1]))
            }
        })
        .collect()
}

impl<'a> Packet<'a> {
    /// The packet in `b`, one whole datagram.
    ///
    /// # Errors
    /// `Truncated` or `Malformed` when `b` is not a packet this module
    /// knows: an unknown opcode, a missing NUL, a bad option list.
    pub fn parse(b: &'a [u8]) -> Result<Packet<'a>, WireError> {
        if b.len() < 2 {
            return Err(WireError::Truncated("no opcode"));
        }
        if b.len() > MAX_PACKET {
            return Err(WireError::Malformed("larger than any TFTP packet"));
        }
        let op = Opcode::from(u16::from_be_bytes([b[0], b[1]]));
        let rest = &b[2..];
        let u16_at = |r: &[u8]| -> Result<u16, WireError> {
            match r {
                [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
                _ => Err(WireError::Truncated("no block number or code")),
            }
        };
        match op {
            Opcode::Rrq | Opcode::Wrq => {
                let s = strings(rest)?;
                if s.len() < 2 {
                    return Err(WireError::Truncated("request needs filename and mode"));
                }
                if s[0].is_empty() {
                    return Err(WireError::Malformed("empty filename"));
                }
                let options = pairs(&s[2..])?;
                Ok(if op == Opcode::Rrq {
                    Packet::Rrq {
                        filename: s[0],
                        mode: s[1],
                        options,
                    }
                } else {
                    Packet::Wrq {
                        filename: s[0],
                        mode: s[1],
                        options,
                    }
                })
            }
            Opcode::Data => Ok(Packet::Data {
                block: u16_at(rest)?,
                data: &rest[2..],
            }),
            Opcode::Ack => {
                if rest.len() != 2 {
                    return Err(if rest.len() < 2 {
                        WireError::Truncated("ACK is 4 bytes")
                    } else {
                        WireError::Malformed("ACK is 4 bytes")
                    });
                }
                Ok(Packet::Ack {
                    block: u16_at(rest)?,
                })
            }
            Opcode::Error => {
                let code = ErrorCode::from_u16(u16_at(rest)?);
                let msg = &rest[2..];
                // Some servers omit the final NUL: accept it, the text is
                // only shown to the user.
                let msg = msg.strip_suffix(&[0]).unwrap_or(msg);
                let end = msg.iter().position(|&c| c == 0).unwrap_or(msg.len());
                let message = std::str::from_utf8(&msg[..end]).unwrap_or("(message is not UTF-8)");
                Ok(Packet::Error { code, message })
            }
            Opcode::Oack => Ok(Packet::Oack {
                options: pairs(&strings(rest)?)?,
            }),
            Opcode::Unknown(_) => Err(WireError::Malformed("unknown opcode")),
        }
    }

    /// Append the packet's bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        match self {
            Packet::Rrq {
                filename,
                mode,
                options,
            }
            | Packet::Wrq {
                filename,
                mode,
                options,
            } => {
                let op = if matches!(self, Packet::Rrq { .. }) {
                    Opcode::Rrq
                } else {
                    Opcode::Wrq
                };
                out.extend_from_slice(&u16::from(op).to_be_bytes());
                put_str(out, filename);
                put_str(out, mode);
                for (k, v) in options {
                    put_str(out, k);
                    put_str(out, v);
                }
            }
            Packet::Data { block, data } => {
                out.extend_from_slice(&u16::from(Opcode::Data).to_be_bytes());
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(data);
            }
            Packet::Ack { block } => {
                out.extend_from_slice(&u16::from(Opcode::Ack).to_be_bytes());
                out.extend_from_slice(&block.to_be_bytes());
            }
            Packet::Error { code, message } => {
                out.extend_from_slice(&u16::from(Opcode::Error).to_be_bytes());
                out.extend_from_slice(&u16::from(*code).to_be_bytes());
                put_str(out, message);
            }
            Packet::Oack { options } => {
                out.extend_from_slice(&u16::from(Opcode::Oack).to_be_bytes());
                for (k, v) in options {
                    put_str(out, k);
                    put_str(out, v);
                }
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }
}

/// A DATA header in front of `data`, written into `out` (cleared first).
pub fn data_into(out: &mut Vec<u8>, block: u16, data: &[u8]) {
    out.clear();
    out.extend_from_slice(&u16::from(Opcode::Data).to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(data);
}

/// Write the DATA header for `block` over the first 4 bytes of `pkt`,
/// whose payload follows them already.
pub fn data_header(pkt: &mut [u8], block: u16) {
    let [op0, op1] = u16::from(Opcode::Data).to_be_bytes();
    let [b0, b1] = block.to_be_bytes();
    if let Some(head) = pkt.get_mut(..4) {
        head.copy_from_slice(&[op0, op1, b0, b1]);
    }
}

/// The 4-byte ACK for `block`.
pub fn ack(block: u16) -> [u8; 4] {
    let [op0, op1] = u16::from(Opcode::Ack).to_be_bytes();
    let [b0, b1] = block.to_be_bytes();
    [op0, op1, b0, b1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::vector;
    use proptest::prelude::*;

    #[test]
    fn rrq_vector_encodes_byte_for_byte() {
        let layers = vector("tftp-rrq-frame.hex");
        // Ethernet, IPv4, UDP, then the 55 TFTP bytes.
        let want = &layers[3];
        assert_eq!(want.len(), 55);
        let rrq = Packet::Rrq {
            filename: "c:\\qwerq.qwe",
            mode: "netascii",
            options: vec![("blksize", "512"), ("timeout", "10"), ("tsize", "0")],
        };
        assert_eq!(&rrq.to_vec(), want);
        assert_eq!(Packet::parse(want).unwrap(), rrq);
        // The UDP header of the vector says port 69 and length 8 + 55.
        let udp = &layers[2];
        assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 69);
        assert_eq!(u16::from_be_bytes([udp[4], udp[5]]), 63);
    }

    #[test]
    fn every_opcode_round_trips() {
        let data = [1u8, 2, 3, 0, 255];
        let cases = [
            Packet::Rrq {
                filename: "a/b.bin",
                mode: "octet",
                options: vec![],
            },
            Packet::Wrq {
                filename: "up.bin",
                mode: "netascii",
                options: vec![("windowsize", "16"), ("tsize", "1234")],
            },
            Packet::Data {
                block: 65535,
                data: &data,
            },
            Packet::Data {
                block: 0,
                data: &[],
            },
            Packet::Ack { block: 7 },
            Packet::Error {
                code: ErrorCode::FileNotFound,
                message: "File not found",
            },
            Packet::Error {
                code: ErrorCode::Unknown(42),
                message: "",
            },
            Packet::Oack {
                options: vec![("blksize", "1468")],
            },
            Packet::Oack { options: vec![] },
        ];
        for p in cases {
            assert_eq!(Packet::parse(&p.to_vec()).unwrap(), p);
        }
        assert_eq!(ack(0x1234), [0, 4, 0x12, 0x34]);
        let mut buf = vec![9, 9];
        data_into(&mut buf, 2, b"xy");
        assert_eq!(buf, [0, 3, 0, 2, b'x', b'y']);
    }

    #[test]
    fn opcode_and_error_code_numbers() {
        use crate::wire::tests::assert_numeric_enum;
        let ops = [
            (Opcode::Rrq, 1),
            (Opcode::Wrq, 2),
            (Opcode::Data, 3),
            (Opcode::Ack, 4),
            (Opcode::Error, 5),
            (Opcode::Oack, 6),
        ];
        assert_numeric_enum(&ops, 0..=u16::MAX, Opcode::Unknown);
        let codes = [
            (ErrorCode::NotDefined, 0),
            (ErrorCode::FileNotFound, 1),
            (ErrorCode::AccessViolation, 2),
            (ErrorCode::DiskFull, 3),
            (ErrorCode::IllegalOperation, 4),
            (ErrorCode::UnknownTid, 5),
            (ErrorCode::FileExists, 6),
            (ErrorCode::NoSuchUser, 7),
            (ErrorCode::OptionRefused, 8),
        ];
        assert_numeric_enum(&codes, 0..=u16::MAX, ErrorCode::Unknown);
        for n in 0..=u16::MAX {
            let code = ErrorCode::from_u16(n);
            assert_eq!((code, code.to_u16()), (ErrorCode::from(n), n));
        }
        assert_eq!(ErrorCode::from(9).meaning(), "unknown error code");
    }

    #[test]
    fn malformed_packets_are_errors() {
        let bad: &[&[u8]] = &[
            b"",
            b"\x00",
            b"\x00\x01",
            b"\x00\x01file",
            b"\x00\x01file\x00",
            b"\x00\x01file\x00octet",
            b"\x00\x01\x00octet\x00",
            b"\x00\x01file\x00octet\x00blksize\x00",
            b"\x00\x01file\x00octet\x00blksize\x00512",
            b"\x00\x01file\x00octet\x00\x00512\x00",
            b"\x00\x01f\xffle\x00octet\x00",
            b"\x00\x03\x00",
            b"\x00\x04\x00",
            b"\x00\x04\x00\x01\x00",
            b"\x00\x05\x00",
            b"\x00\x06blksize\x00",
            b"\x00\x07",
            b"\xff\xff\x00\x00",
        ];
        for b in bad {
            assert!(Packet::parse(b).is_err(), "{b:?}");
        }
        let huge = vec![0u8; MAX_PACKET + 1];
        assert!(Packet::parse(&huge).is_err());
    }

    #[test]
    fn error_without_final_nul_is_tolerated() {
        assert_eq!(
            Packet::parse(b"\x00\x05\x00\x01nope").unwrap(),
            Packet::Error {
                code: ErrorCode::FileNotFound,
                message: "nope"
            }
        );
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._/-]{1,20}"
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Packet::parse(&bytes);
        }

        #[test]
        fn parse_emit_round_trip(
            op in 0u8..6,
            name in text(),
            mode in text(),
            opts in proptest::collection::vec((text(), "[0-9]{0,6}"), 0..4),
            block: u16,
            code: u16,
            data in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let options: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let p = match op {
                0 => Packet::Rrq { filename: &name, mode: &mode, options },
                1 => Packet::Wrq { filename: &name, mode: &mode, options },
                2 => Packet::Data { block, data: &data },
                3 => Packet::Ack { block },
                4 => Packet::Error { code: ErrorCode::from_u16(code), message: &name },
                _ => Packet::Oack { options },
            };
            let bytes = p.to_vec();
            prop_assert_eq!(Packet::parse(&bytes).unwrap(), p);
        }
    }
}
