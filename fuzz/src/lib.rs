//! Shared by the fuzz targets: a cursor that reads the fuzzer's bytes as
//! plain fields, so that seeds can be written by hand (fuzz/seeds.py) and
//! a finding reads as a list of steps.

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
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
