//! netascii: decode(encode(x)) == x however the wire bytes are split into
//! blocks, and decoding arbitrary wire bytes never grows them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::tftp::netascii::{Decoder, encode};

fuzz_target!(|input: (u8, &[u8])| {
    let (split, data) = input;
    let step = usize::from(split).max(1);

    let mut wire = Vec::new();
    encode(data, &mut wire);
    assert_eq!(decode_in(&wire, step), data, "decode(encode(x)) != x");

    // Hostile wire bytes: never more out than in, and the same result
    // whether they come in one block or many.
    let whole = decode_in(data, data.len().max(1));
    assert!(whole.len() <= data.len());
    assert_eq!(decode_in(data, step), whole);
});

fn decode_in(wire: &[u8], step: usize) -> Vec<u8> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    for chunk in wire.chunks(step) {
        d.decode(chunk, &mut out);
    }
    d.finish(&mut out);
    out
}
