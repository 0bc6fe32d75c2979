//! The deterministic binary encoding used for everything suanli signs or hashes.
//!
//! Rules (see `docs/ledger-format.md`): integers are fixed-width big-endian; byte strings
//! and UTF-8 strings are a `u32` big-endian length followed by the bytes; fixed-size
//! values (keys, hashes, signatures) are written raw; an enum is a one- or two-byte tag
//! followed by its fields in declaration order. There is no padding, no optional field
//! without a tag, and decoding rejects trailing bytes, so each value has exactly one
//! encoding.

/// Largest byte string the decoder accepts, in bytes (a guard against hostile lengths).
pub const FIELD_LEN_MAX: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("input ends early at byte {offset}: needed {needed} more bytes for {what}")]
    UnexpectedEnd {
        offset: usize,
        needed: usize,
        what: &'static str,
    },
    #[error("{what} at byte {offset} declares {len} bytes, more than the {max} allowed")]
    TooLong {
        offset: usize,
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} at byte {offset} is invalid: {reason}")]
    Invalid {
        offset: usize,
        what: &'static str,
        reason: String,
    },
    #[error("{count} unexpected trailing bytes after byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
}

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Raw fixed-size bytes (no length prefix).
    pub fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Length-prefixed bytes. Callers keep values under [`FIELD_LEN_MAX`]; a longer value
    /// would not decode, so the length is saturated rather than wrapped.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn str(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
}

/// Reads canonical encodings, tracking the offset for error messages.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, offset: 0 }
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn remaining(&self) -> usize {
        self.input.len() - self.offset
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.offset,
                needed: n - self.remaining(),
                what,
            });
        }
        let out = &self.input[self.offset..self.offset + n];
        self.offset += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    pub fn fixed<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        self.array(what)
    }

    /// Length-prefixed bytes of at most `max` bytes.
    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let at = self.offset;
        let len = self.u32(what)? as usize;
        let max = max.min(FIELD_LEN_MAX);
        if len > max {
            return Err(DecodeError::TooLong {
                offset: at,
                what,
                len,
                max,
            });
        }
        self.take(len, what)
    }

    pub fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let at = self.offset;
        let bytes = self.bytes(what, max)?;
        std::str::from_utf8(bytes).map_err(|e| DecodeError::Invalid {
            offset: at,
            what,
            reason: format!("not UTF-8: {e}"),
        })
    }

    /// An error at the current offset, for values that decode but are not valid.
    pub fn invalid(&self, what: &'static str, reason: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            offset: self.offset,
            what,
            reason: reason.into(),
        }
    }

    /// Fails if any input is left.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.remaining() > 0 {
            return Err(DecodeError::TrailingBytes {
                offset: self.offset,
                count: self.remaining(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let mut w = Writer::new();
        w.u8(1).u16(2).u64(3).str("ab").fixed(&[9, 9]);
        let bytes = w.finish();
        assert_eq!(
            hex::encode(&bytes),
            "010002000000000000000300000002616209 09".replace(' ', "")
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 2);
        assert_eq!(r.u64("c").unwrap(), 3);
        assert_eq!(r.str("d", 10).unwrap(), "ab");
        assert_eq!(r.fixed::<2>("e").unwrap(), [9, 9]);
        r.finish().unwrap();
    }

    #[test]
    fn hostile_input_is_rejected_not_panicked() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            r.bytes("blob", 100),
            Err(DecodeError::TooLong { .. })
        ));
        let mut r = Reader::new(&[0, 0, 0, 5, 1]);
        assert!(matches!(
            r.bytes("blob", 100),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        let r = Reader::new(&[1]);
        assert!(matches!(r.finish(), Err(DecodeError::TrailingBytes { .. })));
    }
}
