//! netascii (RFC 764 as TFTP uses it): on the wire every line ends in
//! CR LF and a bare CR is sent as CR NUL. Both directions stream, so a CR
//! at the end of one block and its LF or NUL at the start of the next are
//! handled.

/// Wire -> local: CR LF -> LF, CR NUL -> CR.
#[derive(Debug, Default)]
pub struct Decoder {
    pending_cr: bool,
}

impl Decoder {
    /// Decode `input`, appending to `out`.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                match b {
                    b'\n' => {
                        out.push(b'\n');
                        continue;
                    }
                    0 => {
                        out.push(b'\r');
                        continue;
                    }
                    // A CR followed by anything else was not netascii;
                    // keep it rather than lose a byte.
                    _ => out.push(b'\r'),
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(b);
            }
        }
    }

    /// End of file: a trailing lone CR is kept.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

/// Local -> wire: LF -> CR LF, CR -> CR NUL.
pub fn encode(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len() + input.len() / 16);
    for &b in input {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            b => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<u8> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in chunks {
            d.decode(c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn both_directions() {
        let mut wire = Vec::new();
        encode(b"a\nb\rc\r\nd", &mut wire);
        assert_eq!(wire, b"a\r\nb\r\0c\r\0\r\nd");
        assert_eq!(decode_all(&[&wire]), b"a\nb\rc\r\nd");
    }

    #[test]
    fn cr_split_across_blocks() {
        assert_eq!(
            decode_all(&[b"line\r", b"\nnext\r", b"\0x"]),
            b"line\nnext\rx"
        );
        assert_eq!(decode_all(&[b"end\r"]), b"end\r");
        assert_eq!(decode_all(&[b"a\r", b"b"]), b"a\rb");
    }

    proptest! {
        #[test]
        fn round_trip_any_split(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..400) {
            let mut wire = Vec::new();
            encode(&data, &mut wire);
            let cut = cut.min(wire.len());
            prop_assert_eq!(decode_all(&[&wire[..cut], &wire[cut..]]), data);
        }
    }
}
