//! JSON as `JSON.stringify` writes it, for the messages Node's adapters send as text.
//!
//! serde_json writes the same strings and key order (the workspace keeps map order),
//! but not the same numbers: `2.0` and `1e21` are `2` and `1e+21` to JavaScript. A
//! placeholder with a valid attachment is written as `JSON.stringify` writes a Buffer,
//! `{"type":"Buffer","data":[...]}`, which is what a Node node does with binary in a
//! message it sends as JSON (the receiver gets an object, not bytes).

use bytes::Bytes;
use serde_json::{Number, Value};

use super::msgpack::placeholder_index;
use super::WireError;

/// `JSON.stringify(value)`, with `binary` standing behind the placeholders.
pub fn to_string(value: &Value, binary: &[Bytes]) -> String {
    let mut out = String::with_capacity(64);
    write(&mut out, value, binary);
    out
}

/// Parses JSON text from a peer.
pub fn parse(text: &[u8]) -> Result<Value, WireError> {
    Ok(serde_json::from_slice(text)?)
}

fn write(out: &mut String, value: &Value, binary: &[Bytes]) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, binary);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if let Some(index) = placeholder_index(map, binary.len()) {
                out.push_str(r#"{"type":"Buffer","data":["#);
                for (i, byte) in binary[index].iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&byte.to_string());
                }
                out.push_str("]}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write(out, item, binary);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    // serde_json escapes exactly JSON.stringify's set: `"`, `\`, and the C0 controls
    // (\b \f \n \r \t by name, the rest as lowercase \u00xx). A str always serializes.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn write_number(out: &mut String, n: &Number) {
    match n.as_f64().filter(|_| n.is_f64()) {
        Some(v) => write_js_double(out, v),
        None => out.push_str(&n.to_string()),
    }
}

/// ECMAScript Number::toString for a double (JSON.stringify's number form; NaN and the
/// infinities are `null`).
pub(crate) fn write_js_double(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` writes the shortest digits that read back as `v`, as JavaScript does.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i64;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn js(v: f64) -> String {
        let mut out = String::new();
        write_js_double(&mut out, v);
        out
    }

    #[test]
    fn numbers_as_javascript_writes_them() {
        assert_eq!(js(2.0), "2");
        assert_eq!(js(-0.0), "0");
        assert_eq!(js(0.1), "0.1");
        assert_eq!(js(123.456), "123.456");
        assert_eq!(js(1e21), "1e+21");
        assert_eq!(js(1e20), "100000000000000000000");
        assert_eq!(js(1.5e-7), "1.5e-7");
        assert_eq!(js(0.000001), "0.000001");
        assert_eq!(js(-1.7976931348623157e308), "-1.7976931348623157e+308");
        assert_eq!(js(5e-324), "5e-324");
        assert_eq!(js(f64::NAN), "null");
    }

    #[test]
    fn strings_keys_and_buffers() {
        let value = json!({"b": "é\n\u{1}\"", "a": [1, 2.5, null, true], "c": {"_placeholder": true, "num": 0}});
        assert_eq!(
            to_string(&value, &[Bytes::from_static(&[1, 255])]),
            r#"{"b":"é\n\u0001\"","a":[1,2.5,null,true],"c":{"type":"Buffer","data":[1,255]}}"#
        );
    }
}
