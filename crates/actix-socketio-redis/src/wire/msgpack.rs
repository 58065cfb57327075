//! MessagePack as Node's adapters write and read it.
//!
//! The classic and sharded Redis adapters and the emitter use notepack.io 3.0.1; the
//! streams adapter uses @msgpack/msgpack 2.8. Both write maps with string keys, the
//! smallest integer encoding, float64 for every other number and bin for bytes; they
//! differ for integers beyond 2^53 (notepack: uint64/int64, @msgpack/msgpack: float64),
//! which is all [`Flavor`] decides. One decoder reads both: every integer and float
//! width, nil, bin, the timestamp extension (-1) and notepack's legacy extension 0.
//!
//! Values are `serde_json::Value`s, as in [`actix_socketio::Payload`]: a bin becomes a
//! `{"_placeholder":true,"num":N}` object and its bytes the N-th attachment, and the
//! encoder writes such a placeholder back as bin. A timestamp decodes to the string
//! `JSON.stringify` gives for the `Date` Node would have made, so a Node client that
//! receives it through us sees what it would see through a Node server.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use super::{timestamp, WireError};

/// Deepest nesting the decoder reads (the encoding depth limit of @msgpack/msgpack):
/// each level costs a stack frame, and the input is a peer's.
pub const MAX_DEPTH: usize = 100;

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Which Node encoder's bytes to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// notepack.io 3.0.1: the classic and sharded adapters and the emitter.
    Notepack,
    /// @msgpack/msgpack 2.8: the streams adapter.
    MsgpackJs,
}

/// A decoded MessagePack value and the bytes of its bins, in the order they appeared.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The value, with a placeholder where each bin was.
    pub value: Value,
    /// The bins' bytes (slices of the input, not copies), indexed by the placeholders.
    pub binary: Vec<Bytes>,
}

/// Decodes one MessagePack value that fills `input` exactly.
pub fn decode(input: &Bytes) -> Result<Decoded, WireError> {
    let mut reader = Reader {
        input,
        pos: 0,
        binary: Vec::new(),
    };
    let value = reader.value(0)?.into_value();
    if reader.pos != input.len() {
        return Err(WireError::TrailingBytes(input.len() - reader.pos));
    }
    Ok(Decoded {
        value,
        binary: reader.binary,
    })
}

/// Encodes `value` as `flavor` does, writing each valid placeholder as a bin of
/// `binary`.
pub fn encode(value: &Value, binary: &[Bytes], flavor: Flavor) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value, binary, flavor);
    out
}

/// The index of the attachment `value` stands for, if it is a placeholder with a valid
/// number (socket.io-parser's own test when it rebuilds a packet).
pub(crate) fn placeholder_index(value: &Map<String, Value>, attachments: usize) -> Option<usize> {
    if value.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let num = value.get("num")?.as_u64()?;
    usize::try_from(num).ok().filter(|&n| n < attachments)
}

/// What one position of the input held: notepack's legacy `undefined` extension has to
/// vanish from maps and become null in arrays, as `JSON.stringify` treats `undefined`.
enum Item {
    Value(Value),
    Undefined,
}

impl Item {
    fn into_value(self) -> Value {
        match self {
            Item::Value(value) => value,
            Item::Undefined => Value::Null,
        }
    }
}

struct Reader<'a> {
    /// The whole input; bins are slices of it.
    input: &'a Bytes,
    /// Where the next value starts.
    pos: usize,
    /// The bins read so far, numbered by the placeholders that replace them.
    binary: Vec<Bytes>,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let slice = self.input.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, WireError> {
        Ok(u16::from_be_bytes(self.array()?).into())
    }

    fn u32(&mut self) -> Result<usize, WireError> {
        // u32 fits usize on every target this crate builds for (64-bit and 32-bit).
        Ok(u32::from_be_bytes(self.array()?) as usize)
    }

    /// A length that claims more items than bytes are left is refused before anything
    /// is allocated for it: every item takes at least one byte.
    fn check_items(&self, count: usize) -> Result<(), WireError> {
        if count > self.input.len() - self.pos {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    fn bin(&mut self, len: usize) -> Result<Value, WireError> {
        let end = self.pos.checked_add(len).ok_or(WireError::Truncated)?;
        if end > self.input.len() {
            return Err(WireError::Truncated);
        }
        let bytes = self.input.slice(self.pos..end);
        self.pos = end;
        let num = self.binary.len();
        self.binary.push(bytes);
        Ok(actix_socketio::socket::packet::placeholder(num))
    }

    fn str(&mut self, len: usize) -> Result<Value, WireError> {
        let bytes = self.bytes(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| WireError::InvalidUtf8)?;
        Ok(Value::String(text.to_owned()))
    }

    fn seq(&mut self, len: usize, depth: usize) -> Result<Value, WireError> {
        self.check_items(len)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.value(depth + 1)?.into_value());
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, WireError> {
        // A key and a value: two bytes at least.
        self.check_items(len.saturating_mul(2))?;
        let mut map = Map::new();
        for _ in 0..len {
            let key = match self.value(depth + 1)? {
                Item::Value(Value::String(key)) => key,
                // notepack assigns `value[key]`, so a number key becomes its decimal text.
                Item::Value(Value::Number(n)) => n.to_string(),
                _ => return Err(WireError::InvalidKey),
            };
            match self.value(depth + 1)? {
                Item::Value(value) => {
                    map.insert(key, value);
                }
                Item::Undefined => {
                    map.remove(&key);
                }
            }
        }
        Ok(Value::Object(map))
    }

    /// An extension of `len` bytes and type `kind`, the type byte already read.
    fn ext(&mut self, kind: i8, len: usize, marker: u8) -> Result<Item, WireError> {
        match (kind, marker) {
            // Legacy notepack: fixext 1 type 0 is `undefined`.
            (0, 0xd4) => {
                self.bytes(1)?;
                Ok(Item::Undefined)
            }
            // Legacy notepack: fixext 8 type 0 is a Date of signed milliseconds.
            (0, 0xd7) => {
                let hi = i32::from_be_bytes(self.array()?);
                let lo = u32::from_be_bytes(self.array()?);
                let ms = f64::from(hi) * 4_294_967_296.0 + f64::from(lo);
                Ok(Item::Value(timestamp::date_json(ms)))
            }
            // Legacy notepack: ext 8/16/32 type 0 is an ArrayBuffer.
            (0, 0xc7..=0xc9) => Ok(Item::Value(self.bin(len)?)),
            (-1, _) => {
                let ms = match len {
                    4 => f64::from(u32::from_be_bytes(self.array()?)) * 1e3,
                    8 => {
                        let hi = u32::from_be_bytes(self.array()?);
                        let lo = u32::from_be_bytes(self.array()?);
                        let seconds = f64::from(hi & 0x3) * 4_294_967_296.0 + f64::from(lo);
                        seconds * 1e3 + f64::from(hi >> 2) / 1e6
                    }
                    12 => {
                        let ns = u32::from_be_bytes(self.array()?);
                        let hi = i32::from_be_bytes(self.array()?);
                        let lo = u32::from_be_bytes(self.array()?);
                        (f64::from(hi) * 4_294_967_296.0 + f64::from(lo)) * 1e3
                            + f64::from(ns) / 1e6
                    }
                    other => return Err(WireError::InvalidTimestamp(other)),
                };
                Ok(Item::Value(timestamp::date_json(ms)))
            }
            // Any other extension: notepack's `[type, Buffer]`.
            _ => Ok(Item::Value(Value::Array(vec![
                Value::from(kind),
                self.bin(len)?,
            ]))),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Item, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep(MAX_DEPTH));
        }
        let marker = self.u8()?;
        let value = match marker {
            0x00..=0x7f => Value::from(marker),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f))?,
            0xc0 => Value::Null,
            0xc1 => return Err(WireError::InvalidByte(marker)),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let len = self.u8()?.into();
                self.bin(len)?
            }
            0xc5 => {
                let len = self.u16()?;
                self.bin(len)?
            }
            0xc6 => {
                let len = self.u32()?;
                self.bin(len)?
            }
            0xc7 => {
                let len = self.u8()?.into();
                let kind = self.u8()? as i8;
                return self.ext(kind, len, marker);
            }
            0xc8 => {
                let len = self.u16()?;
                let kind = self.u8()? as i8;
                return self.ext(kind, len, marker);
            }
            0xc9 => {
                let len = self.u32()?;
                let kind = self.u8()? as i8;
                return self.ext(kind, len, marker);
            }
            0xca => js_number(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => js_number(f64::from_be_bytes(self.array()?)),
            0xcc => Value::from(self.u8()?),
            0xcd => Value::from(u16::from_be_bytes(self.array()?)),
            0xce => Value::from(u32::from_be_bytes(self.array()?)),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::from(i8::from_be_bytes(self.array()?)),
            0xd1 => Value::from(i16::from_be_bytes(self.array()?)),
            0xd2 => Value::from(i32::from_be_bytes(self.array()?)),
            0xd3 => Value::from(i64::from_be_bytes(self.array()?)),
            0xd4..=0xd8 => {
                let kind = self.u8()? as i8;
                let len = 1 << (marker - 0xd4);
                return self.ext(kind, len, marker);
            }
            0xd9 => {
                let len = self.u8()?.into();
                self.str(len)?
            }
            0xda => {
                let len = self.u16()?;
                self.str(len)?
            }
            0xdb => {
                let len = self.u32()?;
                self.str(len)?
            }
            0xdc => {
                let len = self.u16()?;
                self.seq(len, depth)?
            }
            0xdd => {
                let len = self.u32()?;
                self.seq(len, depth)?
            }
            0xde => {
                let len = self.u16()?;
                self.map(len, depth)?
            }
            0xdf => {
                let len = self.u32()?;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::from(marker as i8),
        };
        Ok(Item::Value(value))
    }
}

/// A decoded float as the JavaScript number it becomes: an integral one is an integer
/// (`JSON.stringify(2.0)` is `2`), NaN and the infinities are null (what
/// `JSON.stringify` writes for them).
pub(crate) fn js_number(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    if v.fract() == 0.0 && v.abs() <= MAX_SAFE_INTEGER {
        // Exact: |v| <= 2^53. `-0.0` lands on 0, as JSON.stringify(-0) is "0".
        return if v >= 0.0 {
            Value::from(v as u64)
        } else {
            Value::from(v as i64)
        };
    }
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn write_value(out: &mut Vec<u8>, value: &Value, binary: &[Bytes], flavor: Flavor) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => write_number(out, n, flavor),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            write_len(out, items.len(), 0x90, 0xdc, 0xdd);
            for item in items {
                write_value(out, item, binary, flavor);
            }
        }
        Value::Object(map) => {
            if let Some(index) = placeholder_index(map, binary.len()) {
                write_bin(out, &binary[index]);
                return;
            }
            write_len(out, map.len(), 0x80, 0xde, 0xdf);
            for (key, item) in map {
                write_str(out, key);
                write_value(out, item, binary, flavor);
            }
        }
    }
}

/// A fix, 16-bit or 32-bit header of an array or map (fix forms hold up to 15 items).
fn write_len(out: &mut Vec<u8>, len: usize, fix: u8, m16: u8, m32: u8) {
    if len < 0x10 {
        out.push(fix | len as u8);
    } else if len < 0x1_0000 {
        out.push(m16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 0x20 {
        out.push(0xa0 | len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len < 0x1_0000 {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn write_bin(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 0x100 {
        out.extend_from_slice(&[0xc4, len as u8]);
    } else if len < 0x1_0000 {
        out.push(0xc5);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn write_number(out: &mut Vec<u8>, n: &Number, flavor: Flavor) {
    if let Some(u) = n.as_u64() {
        if flavor == Flavor::MsgpackJs && u as f64 > MAX_SAFE_INTEGER {
            return write_f64(out, u as f64);
        }
        return write_unsigned(out, u);
    }
    if let Some(i) = n.as_i64() {
        if flavor == Flavor::MsgpackJs && (i as f64) < -MAX_SAFE_INTEGER {
            return write_f64(out, i as f64);
        }
        return write_signed(out, i);
    }
    let v = n.as_f64().unwrap_or(f64::NAN);
    if !v.is_finite() || v.fract() != 0.0 {
        return write_f64(out, v);
    }
    // An integral float is an integer to JavaScript.
    match flavor {
        Flavor::MsgpackJs if v.abs() > MAX_SAFE_INTEGER => write_f64(out, v),
        Flavor::MsgpackJs => {
            if v >= 0.0 {
                write_unsigned(out, v as u64)
            } else {
                write_signed(out, v as i64)
            }
        }
        Flavor::Notepack => write_notepack_integral(out, v),
    }
}

/// notepack's integer path for a JavaScript number: exact below 2^64 in magnitude, and
/// the same bytes as its 32-bit word arithmetic beyond.
fn write_notepack_integral(out: &mut Vec<u8>, v: f64) {
    const TWO_32: f64 = 4_294_967_296.0;
    if v >= 0.0 {
        if v < TWO_32 {
            return write_unsigned(out, v as u64);
        }
        // hi = (value / 2^32) >> 0; lo = value >>> 0
        let hi = to_int32(v / TWO_32) as u32;
        let lo = to_uint32(v);
        out.push(0xcf);
        out.extend_from_slice(&hi.to_be_bytes());
        out.extend_from_slice(&lo.to_be_bytes());
    } else {
        if v >= -2_147_483_648.0 {
            return write_signed(out, v as i64);
        }
        // hi = Math.floor(value / 2^32); lo = value >>> 0
        let hi = to_int32((v / TWO_32).floor()) as u32;
        let lo = to_uint32(v);
        out.push(0xd3);
        out.extend_from_slice(&hi.to_be_bytes());
        out.extend_from_slice(&lo.to_be_bytes());
    }
}

/// ECMAScript ToUint32.
fn to_uint32(v: f64) -> u32 {
    if !v.is_finite() {
        return 0;
    }
    v.trunc().rem_euclid(4_294_967_296.0) as u32
}

/// ECMAScript ToInt32.
fn to_int32(v: f64) -> i32 {
    to_uint32(v) as i32
}

fn write_unsigned(out: &mut Vec<u8>, u: u64) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u < 0x100 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 0x1_0000 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 0x1_0000_0000 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

fn write_signed(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        return write_unsigned(out, i as u64);
    }
    if i >= -0x20 {
        out.push(i as u8);
    } else if i >= -0x80 {
        out.extend_from_slice(&[0xd0, i as u8]);
    } else if i >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(b: &[u8]) -> Bytes {
        Bytes::copy_from_slice(b)
    }

    #[test]
    fn every_integer_width_decodes() {
        let cases: &[(&[u8], Value)] = &[
            (&[0x05], json!(5)),
            (&[0xcc, 0xff], json!(255)),
            (&[0xcd, 0x01, 0x00], json!(256)),
            (&[0xce, 0x00, 0x01, 0x00, 0x00], json!(65536)),
            (&[0xcf, 0, 0, 0, 1, 0, 0, 0, 0], json!(4294967296u64)),
            (&[0xff], json!(-1)),
            (&[0xd0, 0x80], json!(-128)),
            (&[0xd1, 0x80, 0x00], json!(-32768)),
            (&[0xd2, 0x80, 0, 0, 0], json!(-2147483648i64)),
            (
                &[0xd3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
                json!(-4294967296i64),
            ),
            (&[0xca, 0x3f, 0xc0, 0, 0], json!(1.5)),
            (&[0xca, 0x40, 0, 0, 0], json!(2)),
            (&[0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0], json!(2)),
            (&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], Value::Null),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &decode(&bytes(input)).unwrap().value,
                expected,
                "{input:02x?}"
            );
        }
    }

    #[test]
    fn integers_take_the_smallest_encoding_and_big_ones_differ_by_flavor() {
        let cases: &[(Value, &[u8])] = &[
            (json!(127), &[0x7f]),
            (json!(128), &[0xcc, 0x80]),
            (json!(-32), &[0xe0]),
            (json!(-33), &[0xd0, 0xdf]),
            (json!(65535), &[0xcd, 0xff, 0xff]),
            (
                json!(-2147483649i64),
                &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff],
            ),
            (json!(2.0), &[0x02]),
            (json!(-0.0), &[0x00]),
            (json!(0.5), &[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]),
        ];
        for (value, expected) in cases {
            assert_eq!(&encode(value, &[], Flavor::Notepack), expected, "{value}");
            assert_eq!(&encode(value, &[], Flavor::MsgpackJs), expected, "{value}");
        }
        let big = json!(u64::MAX);
        assert_eq!(encode(&big, &[], Flavor::Notepack)[0], 0xcf);
        assert_eq!(encode(&big, &[], Flavor::MsgpackJs)[0], 0xcb);
    }

    #[test]
    fn bins_become_placeholders_and_back() {
        let input = bytes(&[0x92, 0xc4, 0x02, 0x01, 0x02, 0x81, 0xa1, 0x62, 0xc4, 0x00]);
        let decoded = decode(&input).unwrap();
        assert_eq!(
            decoded.value,
            json!([{"_placeholder": true, "num": 0}, {"b": {"_placeholder": true, "num": 1}}])
        );
        assert_eq!(decoded.binary, vec![bytes(&[1, 2]), bytes(&[])]);
        assert_eq!(
            encode(&decoded.value, &decoded.binary, Flavor::Notepack),
            input.to_vec()
        );
    }

    #[test]
    fn legacy_extension_zero_is_accepted() {
        // ext 8 type 0: an ArrayBuffer; fixext 1 type 0: undefined (dropped from maps).
        let input = bytes(&[
            0x82, 0xa1, 0x61, 0xc7, 0x01, 0x00, 0x09, 0xa1, 0x62, 0xd4, 0x00, 0x00,
        ]);
        let decoded = decode(&input).unwrap();
        assert_eq!(
            decoded.value,
            json!({"a": {"_placeholder": true, "num": 0}})
        );
        assert_eq!(decoded.binary, vec![bytes(&[9])]);
        let in_array = decode(&bytes(&[0x91, 0xd4, 0x00, 0x00])).unwrap();
        assert_eq!(in_array.value, json!([null]));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let cases: &[&[u8]] = &[
            &[],
            &[0xc1],
            &[0x92, 0x01],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0xdf, 0xff, 0xff, 0xff, 0xff],
            &[0xc6, 0xff, 0xff, 0xff, 0xff, 0x00],
            &[0xa2, 0xff, 0xfe],
            &[0x81, 0x90, 0x01],
            &[0x01, 0x02],
            &[0xd5, 0xff, 0x00, 0x00],
        ];
        for input in cases {
            assert!(decode(&bytes(input)).is_err(), "{input:02x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 10_000).collect();
        assert!(matches!(
            decode(&Bytes::from(deep)),
            Err(WireError::TooDeep(_))
        ));
    }

    #[test]
    fn number_keys_become_strings() {
        let decoded = decode(&bytes(&[0x81, 0x01, 0xc3])).unwrap();
        assert_eq!(decoded.value, json!({"1": true}));
    }
}
