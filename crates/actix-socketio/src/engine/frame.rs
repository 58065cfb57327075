//! Outgoing messages, framed once: a [`Frame`] is the complete WebSocket frame of a
//! message, and a long-poll sends the payload part of the same bytes. One encoded
//! broadcast is thereby one allocation, shared by every receiver on either transport.
//!
//! Server frames are never masked and never fragmented (RFC 6455 §5.1, §5.4): a header of
//! 2, 4 or 10 bytes, then the payload. No I/O here.

use bytes::{BufMut, Bytes, BytesMut};

/// WebSocket opcodes the server sends (RFC 6455 §5.2).
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PONG: u8 = 0xA;
/// FIN: the frame is the whole message.
const FIN: u8 = 0x80;

/// The longest header: 1 byte of opcode, 1 of length and 8 of extended length.
pub(crate) const MAX_HEADER: usize = 10;

/// Writes the header of an unmasked final frame into the end of `out[..MAX_HEADER]`;
/// returns where it starts.
fn write_header(out: &mut [u8], opcode: u8, len: usize) -> usize {
    let mut header = [0u8; MAX_HEADER];
    header[0] = FIN | opcode;
    let used = match len {
        0..=125 => {
            header[1] = len as u8;
            2
        }
        126..=0xFFFF => {
            header[1] = 126;
            header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    let start = MAX_HEADER - used;
    out[start..MAX_HEADER].copy_from_slice(&header[..used]);
    start
}

/// One frame in a fresh buffer: header, then `payload`.
fn framed(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(MAX_HEADER + payload.len());
    out.put_bytes(0, MAX_HEADER);
    let start = write_header(&mut out, opcode, payload.len());
    out.extend_from_slice(payload);
    out.freeze().slice(start..)
}

/// An outgoing Engine.IO message, encoded once however many sessions it is queued on.
///
/// It holds the whole WebSocket frame; the payload (`4…` text, or the binary data) is the
/// part after the header. Cloning is a reference count.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The WebSocket frame: header and payload.
    bytes: Bytes,
    /// Where the payload starts.
    payload_at: u8,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_text() {
            Some(text) => f.debug_tuple("Frame::Text").field(&text).finish(),
            None => f
                .debug_tuple("Frame::Binary")
                .field(&self.payload().len())
                .finish(),
        }
    }
}

impl Frame {
    /// The text message `payload`, with its `4` type prefix.
    pub fn text(payload: &str) -> Frame {
        let mut text = Frame::text_buffer();
        text.push_str(payload);
        Frame::from_text_buffer(text)
    }

    /// A binary message (a binary WebSocket frame, `b` + base64 when polling).
    pub fn binary(payload: &[u8]) -> Frame {
        let bytes = framed(BINARY, payload);
        let payload_at = (bytes.len() - payload.len()) as u8;
        Frame { bytes, payload_at }
    }

    /// A buffer to write a text message into, behind room for its frame header and with
    /// its `4` prefix already there: [`Frame::from_text_buffer`] then frames it in place,
    /// without copying the text.
    pub(crate) fn text_buffer() -> String {
        let mut text = String::with_capacity(64);
        text.extend(std::iter::repeat_n('\0', MAX_HEADER));
        text.push('4');
        text
    }

    /// The text message written after [`Frame::text_buffer`]'s reserved room.
    pub(crate) fn from_text_buffer(text: String) -> Frame {
        let mut bytes = text.into_bytes();
        let len = bytes.len() - MAX_HEADER;
        let start = write_header(&mut bytes, TEXT, len);
        Frame {
            bytes: Bytes::from(bytes).slice(start..),
            payload_at: (MAX_HEADER - start) as u8,
        }
    }

    /// Whether it is a binary message.
    pub fn is_binary(&self) -> bool {
        self.bytes[0] & 0x0F == BINARY
    }

    /// The message: `4` + text, or the binary data.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[usize::from(self.payload_at)..]
    }

    /// The text message with its `4` prefix, unless it is binary.
    pub fn as_text(&self) -> Option<&str> {
        if self.is_binary() {
            return None;
        }
        // Text frames are only built from strings.
        std::str::from_utf8(self.payload()).ok()
    }

    /// The whole WebSocket frame, shared.
    pub fn websocket(&self) -> &Bytes {
        &self.bytes
    }
}

/// A close frame with `code` (RFC 6455 §5.5.1).
pub(crate) fn close_frame(code: u16) -> Bytes {
    framed(CLOSE, &code.to_be_bytes())
}

/// The pong answering a ping with `payload`.
pub(crate) fn pong_frame(payload: &[u8]) -> Bytes {
    framed(PONG, payload)
}

/// A text frame for a control packet of Engine.IO (`2`, `3probe`, `6`, …).
pub(crate) fn text_frame(text: &str) -> Bytes {
    framed(TEXT, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_rfc_6455_writes_them() {
        // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
        assert_eq!(
            &text_frame("Hello")[..],
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        // §5.7: 256 bytes of binary data in a single unmasked frame.
        let frame = Frame::binary(&[7u8; 256]);
        assert_eq!(&frame.websocket()[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(frame.payload(), &[7u8; 256][..]);
        // §5.7: 64 KiB in a single unmasked frame.
        let frame = Frame::binary(&vec![0u8; 65536]);
        assert_eq!(
            &frame.websocket()[..10],
            [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
        );
        assert_eq!(frame.websocket().len(), 65546);
    }

    #[test]
    fn text_frames_carry_the_engine_io_message() {
        let frame = Frame::text("hello");
        assert_eq!(&frame.websocket()[..], b"\x81\x064hello");
        assert_eq!(frame.as_text(), Some("4hello"));
        assert!(!frame.is_binary());
        let long = "é".repeat(100);
        let frame = Frame::text(&long);
        assert_eq!(&frame.websocket()[..4], [0x81, 126, 0, 201]);
        assert_eq!(frame.as_text().unwrap(), format!("4{long}"));
    }

    #[test]
    fn binary_frames_have_no_text() {
        let frame = Frame::binary(&[1, 2, 3]);
        assert_eq!(&frame.websocket()[..], [0x82, 3, 1, 2, 3]);
        assert!(frame.is_binary());
        assert_eq!(frame.as_text(), None);
    }

    #[test]
    fn control_frames() {
        assert_eq!(&close_frame(1000)[..], [0x88, 2, 0x03, 0xE8]);
        assert_eq!(&close_frame(1009)[..], [0x88, 2, 0x03, 0xF1]);
        assert_eq!(&pong_frame(b"hi")[..], [0x8A, 2, b'h', b'i']);
        assert_eq!(&pong_frame(b"")[..], [0x8A, 0]);
    }
}
