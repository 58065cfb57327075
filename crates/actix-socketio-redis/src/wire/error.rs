//! The one error type of the wire layer.

/// Why bytes from Redis could not be read as a message. The adapter logs it and drops
/// the message; nothing here panics on what a peer sends.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The MessagePack input ends inside a value.
    #[error("msgpack: input ends inside a value")]
    Truncated,
    /// A whole value was read and bytes are left (notepack refuses these too).
    #[error("msgpack: {0} trailing bytes")]
    TrailingBytes(usize),
    /// 0xc1, the one byte MessagePack never uses.
    #[error("msgpack: invalid byte 0x{0:02x}")]
    InvalidByte(u8),
    /// Nesting deeper than [`MAX_DEPTH`](super::msgpack::MAX_DEPTH): refused before it
    /// can exhaust the stack.
    #[error("msgpack: nested deeper than {0}")]
    TooDeep(usize),
    /// A string that is not UTF-8.
    #[error("msgpack: string is not UTF-8")]
    InvalidUtf8,
    /// A map key that is neither a string nor a number.
    #[error("msgpack: map key is not a string")]
    InvalidKey,
    /// A timestamp extension of a length the spec does not define.
    #[error("msgpack: timestamp of {0} bytes")]
    InvalidTimestamp(usize),
    /// JSON text that does not parse.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Base64 text (streams adapter data and sessions) that does not decode.
    #[error("base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Well-formed data without the shape of the message it should be.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A message or request type this protocol does not define.
    #[error("unknown message type {0}")]
    UnknownType(i64),
}
