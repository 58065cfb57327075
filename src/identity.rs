//! Who a visitor is in the chat: an opaque random id kept in their session, and how others
//! see it. The book names people by a `color-hash` colour of their session id; two such
//! colours can be all but equal (#344bb2 and #3447b2), so here a person is shown by a short
//! generated name ("졸린 수달") in one of a few clearly different colours.

use rand::{rngs::OsRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How many colours people are drawn in: the CSS classes `tone-0` to `tone-9` of
/// static/main.css, each readable on the page's backgrounds and far from the others.
pub const TONES: u8 = 10;

/// 32 × 32 names, and each in one of [`TONES`] colours: two people in a room look the same
/// with a chance of 1 in 10,240.
const ADJECTIVES: [&str; 32] = [
    "용감한",
    "졸린",
    "배고픈",
    "신난",
    "조용한",
    "수줍은",
    "느긋한",
    "재빠른",
    "똑똑한",
    "엉뚱한",
    "씩씩한",
    "다정한",
    "명랑한",
    "부지런한",
    "날쌘",
    "행복한",
    "까칠한",
    "듬직한",
    "상냥한",
    "침착한",
    "귀여운",
    "멋진",
    "웃는",
    "노래하는",
    "춤추는",
    "꿈꾸는",
    "반짝이는",
    "포근한",
    "당당한",
    "새침한",
    "심심한",
    "솔직한",
];
const ANIMALS: [&str; 32] = [
    "수달",
    "판다",
    "고양이",
    "강아지",
    "여우",
    "너구리",
    "다람쥐",
    "토끼",
    "햄스터",
    "고슴도치",
    "펭귄",
    "부엉이",
    "참새",
    "고래",
    "돌고래",
    "문어",
    "거북이",
    "코알라",
    "캥거루",
    "기린",
    "사자",
    "호랑이",
    "곰",
    "늑대",
    "사슴",
    "알파카",
    "하마",
    "코끼리",
    "오리",
    "까치",
    "두더지",
    "물개",
];

/// What others see of someone: never their id, secret or public.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Look {
    /// A generated name, e.g. "졸린 수달".
    pub name: String,
    /// Which of the [`TONES`] colours (CSS class `tone-{tone}`).
    pub tone: u8,
}

/// The look of a public id, the same every time (the name and the colour come from
/// independent parts of its SHA-256).
pub fn look_for(public_id: &str) -> Look {
    let digest = Sha256::digest(public_id.as_bytes());
    let adjective = ADJECTIVES[usize::from(digest[0]) % ADJECTIVES.len()];
    let animal = ANIMALS[usize::from(digest[1]) % ANIMALS.len()];
    // Two bytes, so the remainder is all but uniform over the tones.
    let tone = u16::from_be_bytes([digest[2], digest[3]]) % u16::from(TONES);
    Look {
        name: format!("{adjective} {animal}"),
        tone: u8::try_from(tone).unwrap_or(0),
    }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The tone classes as static/main.css defines them: `.tone-N { color: #rrggbb; }`.
    fn css_tones() -> Vec<(u8, [u8; 3])> {
        let css = include_str!("../static/main.css");
        css.lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix(".tone-")?;
                let (index, rule) = rest.split_once(' ')?;
                let hex = rule.strip_prefix("{ color: #")?.strip_suffix("; }")?;
                let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex");
                Some((
                    index.parse().expect("tone index"),
                    [channel(0), channel(2), channel(4)],
                ))
            })
            .collect()
    }

    fn linear(c: u8) -> f64 {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    fn luminance(rgb: [u8; 3]) -> f64 {
        0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
    }

    /// WCAG 2 contrast ratio.
    fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// CIE L*a*b* (D65).
    fn lab(rgb: [u8; 3]) -> [f64; 3] {
        let [r, g, b] = rgb.map(linear);
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.950_47;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.088_83;
        let f = |t: f64| {
            if t > 0.008_856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        [
            116.0 * f(y) - 16.0,
            500.0 * (f(x) - f(y)),
            200.0 * (f(y) - f(z)),
        ]
    }

    #[test]
    fn the_stylesheet_defines_every_tone_readable_and_far_from_the_others() {
        let tones = css_tones();
        let indices: Vec<u8> = tones.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, (0..TONES).collect::<Vec<_>>());
        // The page, a bubble of one's own, of others, of a whisper.
        let backgrounds = [
            [0xff; 3],
            [0xf6, 0xf7, 0xf9],
            [0xee, 0xf4, 0xff],
            [0xf3, 0xf4, 0xf6],
            [0xff, 0xf7, 0xe6],
        ];
        for (i, rgb) in &tones {
            for bg in backgrounds {
                let ratio = contrast(*rgb, bg);
                assert!(ratio >= 4.5, "tone {i} has contrast {ratio:.2} on {bg:?}");
            }
        }
        // ΔE*76 of 25 and more: told apart at a glance, not only side by side.
        for (i, a) in &tones {
            for (j, b) in tones.iter().filter(|(j, _)| j > i) {
                let (la, lb) = (lab(*a), lab(*b));
                let distance = la
                    .iter()
                    .zip(lb)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(
                    distance >= 25.0,
                    "tones {i} and {j} are {distance:.1} apart"
                );
            }
        }
    }

    #[test]
    fn a_look_is_stable_and_made_of_the_word_lists() {
        for id in ["", "a", "ba7816bf8f01cfea", "김철수"] {
            let look = look_for(id);
            assert_eq!(look, look_for(id), "{id:?} is not stable");
            let (adjective, animal) = look.name.split_once(' ').expect("two words");
            assert!(ADJECTIVES.contains(&adjective), "{look:?}");
            assert!(ANIMALS.contains(&animal), "{look:?}");
            assert!(look.tone < TONES, "{look:?}");
        }
        // SHA-256("ba7816bf8f01cfea") starts 32 b5 89 9f: adjective 0x32 % 32 = 18,
        // animal 0xb5 % 32 = 21, tone 0x899f % 10 = 1.
        assert_eq!(
            look_for("ba7816bf8f01cfea"),
            Look {
                name: "상냥한 호랑이".to_owned(),
                tone: 1,
            }
        );
    }

    #[test]
    fn the_word_lists_have_no_repeats() {
        assert_eq!(
            ADJECTIVES.iter().collect::<HashSet<_>>().len(),
            ADJECTIVES.len()
        );
        assert_eq!(ANIMALS.iter().collect::<HashSet<_>>().len(), ANIMALS.len());
    }

    #[test]
    fn looks_spread_over_every_name_part_and_tone() {
        let looks: Vec<Look> = (0..4000).map(|i| look_for(&format!("{i:016x}"))).collect();
        let tones: HashSet<u8> = looks.iter().map(|l| l.tone).collect();
        assert_eq!(tones.len(), usize::from(TONES));
        let names: HashSet<&str> = looks.iter().map(|l| l.name.as_str()).collect();
        // 1024 names: 4000 ids leave only a few unused.
        assert!(names.len() > 950, "only {} distinct names", names.len());
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
