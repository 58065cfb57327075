//! Who a visitor is in the chat: an opaque random id kept in their session, and the colour
//! that shows it (the book uses `color-hash` on the session id for the same purpose).

use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Saturations and lightnesses picked by the hash, like color-hash's `saturation`/`lightness`
/// options. All lightnesses are at most 0.45 so names stay readable on the white page.
const SATURATIONS: [f64; 3] = [0.55, 0.7, 0.85];
const LIGHTNESSES: [f64; 3] = [0.3, 0.38, 0.45];

/// WCAG AA contrast for normal text. Hues that look light even at 0.45 (yellow, cyan) are
/// darkened until they reach it.
const MIN_CONTRAST_ON_WHITE: f64 = 4.5;
const DARKEN_STEP: f64 = 0.05;

/// A user's colour (their name and text colour everywhere): `#rrggbb` derived
/// deterministically from an opaque session user id, like the color-hash npm package
/// (hash → HSL with a fixed set of saturations/lightnesses readable on white → hex).
pub fn colour_for(user_id: &str) -> String {
    // SHA-256 rather than color-hash's BKDR hash: ids that differ in one character (or are
    // long hex strings) still spread evenly over the hues.
    let digest = Sha256::digest(user_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let mut n = u64::from_be_bytes(first);

    // Same decomposition as color-hash: hue from the low "digit", then saturation, then lightness.
    let hue = (n % 360) as f64;
    n /= 360;
    let saturation = SATURATIONS[(n % SATURATIONS.len() as u64) as usize];
    n /= SATURATIONS.len() as u64;
    let mut lightness = LIGHTNESSES[(n % LIGHTNESSES.len() as u64) as usize];

    let mut rgb = hsl_to_rgb(hue, saturation, lightness);
    // Terminates: at lightness 0 the colour is black (contrast 21).
    while contrast_on_white(rgb) < MIN_CONTRAST_ON_WHITE && lightness > 0.0 {
        lightness = (lightness - DARKEN_STEP).max(0.0);
        rgb = hsl_to_rgb(hue, saturation, lightness);
    }
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// A new random user id for a session (128 bits from the OS CSPRNG, hex).
///
/// Panics only if the operating system cannot supply randomness, in which case no session
/// (nor cookie key, nor salt) could be made safely either.
pub fn new_user_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HSL (hue in degrees, saturation and lightness in 0..=1) to 8-bit sRGB.
fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> [u8; 3] {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue / 60.0;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    // Clamped, so float error can never wrap a channel.
    let channel = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [channel(r), channel(g), channel(b)]
}

/// WCAG 2 contrast ratio of `rgb` against white.
fn contrast_on_white(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    1.05 / (luminance + 0.05)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn parse_hex(colour: &str) -> [u8; 3] {
        let channel = |i: usize| u8::from_str_radix(&colour[i..i + 2], 16).expect("hex channel");
        [channel(1), channel(3), channel(5)]
    }

    fn is_hex_colour(s: &str) -> bool {
        s.len() == 7
            && s.starts_with('#')
            && s[1..]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn colour_is_deterministic_and_well_formed() {
        for id in [
            "",
            "a",
            "alice",
            "0123456789abcdef0123456789abcdef",
            "김철수",
        ] {
            let colour = colour_for(id);
            assert!(is_hex_colour(&colour), "{id:?} gave {colour:?}");
            assert_eq!(colour, colour_for(id), "{id:?} is not stable");
        }
    }

    #[test]
    fn different_ids_usually_get_different_colours() {
        let colours: HashSet<String> = (0..200).map(|_| colour_for(&new_user_id())).collect();
        // 360 hues × 9 saturation/lightness pairs: 200 random ids collide only a little.
        assert!(
            colours.len() > 180,
            "only {} distinct colours",
            colours.len()
        );
        assert_ne!(colour_for("alice"), colour_for("alicf"));
    }

    #[test]
    fn every_colour_is_readable_on_white() {
        for i in 0..2000 {
            let colour = colour_for(&format!("user-{i}"));
            let ratio = contrast_on_white(parse_hex(&colour));
            assert!(
                ratio >= MIN_CONTRAST_ON_WHITE,
                "{colour} has contrast {ratio:.2}"
            );
        }
    }

    #[test]
    fn hsl_conversion_matches_known_values() {
        assert_eq!(hsl_to_rgb(0.0, 1.0, 0.5), [255, 0, 0]);
        assert_eq!(hsl_to_rgb(120.0, 1.0, 0.25), [0, 128, 0]);
        assert_eq!(hsl_to_rgb(240.0, 1.0, 0.5), [0, 0, 255]);
        assert_eq!(hsl_to_rgb(359.0, 0.0, 0.0), [0, 0, 0]);
        assert_eq!(hsl_to_rgb(60.0, 0.0, 1.0), [255, 255, 255]);
    }

    #[test]
    fn user_ids_are_32_hex_chars_and_unique() {
        let ids: HashSet<String> = (0..1000).map(|_| new_user_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
        }
    }
}
