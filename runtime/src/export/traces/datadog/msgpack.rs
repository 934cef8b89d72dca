//! The part of MessagePack the Datadog agent's v0.4 intake needs: arrays, maps, strings,
//! integers and doubles, always in their shortest form. Written here rather than taken from a
//! crate: it is six functions over a `Vec<u8>`, with nothing to decode.

/// Appends MessagePack to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn array(&mut self, len: usize) {
        self.header(len, 0x90, 0xdc, 0xdd);
    }

    pub(crate) fn map(&mut self, len: usize) {
        self.header(len, 0x80, 0xde, 0xdf);
    }

    pub(crate) fn str(&mut self, text: &str) {
        let len = text.len();
        if len < 32 {
            self.buf.push(0xa0 | len as u8);
        } else if len <= usize::from(u8::MAX) {
            self.buf.extend_from_slice(&[0xd9, len as u8]);
        } else if len <= usize::from(u16::MAX) {
            self.buf.push(0xda);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(0xdb);
            self.buf.extend_from_slice(&(len.min(u32::MAX as usize) as u32).to_be_bytes());
        }
        self.buf.extend_from_slice(&text.as_bytes()[..len.min(u32::MAX as usize)]);
    }

    pub(crate) fn uint(&mut self, value: u64) {
        if value < 128 {
            self.buf.push(value as u8);
        } else if value <= u64::from(u8::MAX) {
            self.buf.extend_from_slice(&[0xcc, value as u8]);
        } else if value <= u64::from(u16::MAX) {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&(value as u16).to_be_bytes());
        } else if value <= u64::from(u32::MAX) {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&(value as u32).to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    pub(crate) fn int(&mut self, value: i64) {
        if let Ok(value) = u64::try_from(value) {
            return self.uint(value);
        }
        if value >= -32 {
            self.buf.push(value as u8);
        } else if value >= i64::from(i8::MIN) {
            self.buf.extend_from_slice(&[0xd0, value as u8]);
        } else if value >= i64::from(i16::MIN) {
            self.buf.push(0xd1);
            self.buf.extend_from_slice(&(value as i16).to_be_bytes());
        } else if value >= i64::from(i32::MIN) {
            self.buf.push(0xd2);
            self.buf.extend_from_slice(&(value as i32).to_be_bytes());
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    pub(crate) fn f64(&mut self, value: f64) {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn header(&mut self, len: usize, fix: u8, marker16: u8, marker32: u8) {
        if len < 16 {
            self.buf.push(fix | len as u8);
        } else if len <= usize::from(u16::MAX) {
            self.buf.push(marker16);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(marker32);
            self.buf.extend_from_slice(&(len.min(u32::MAX as usize) as u32).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        f(&mut w);
        w.buf
    }

    #[test]
    fn shortest_forms_match_the_specification() {
        assert_eq!(bytes(|w| w.uint(5)), [0x05]);
        assert_eq!(bytes(|w| w.uint(200)), [0xcc, 200]);
        assert_eq!(bytes(|w| w.uint(0x1234)), [0xcd, 0x12, 0x34]);
        assert_eq!(bytes(|w| w.uint(u64::MAX)), [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(bytes(|w| w.int(-1)), [0xff]);
        assert_eq!(bytes(|w| w.int(-100)), [0xd0, 0x9c]);
        assert_eq!(bytes(|w| w.int(-1000)), [0xd1, 0xfc, 0x18]);
        assert_eq!(bytes(|w| w.str("ab")), [0xa2, b'a', b'b']);
        assert_eq!(bytes(|w| w.str(&"x".repeat(40)))[..2], [0xd9, 40]);
        assert_eq!(bytes(|w| w.array(3)), [0x93]);
        assert_eq!(bytes(|w| w.map(20)), [0xde, 0, 20]);
        assert_eq!(bytes(|w| w.f64(1.5)), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    }
}
