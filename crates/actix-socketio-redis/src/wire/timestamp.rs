//! Dates: what `JSON.stringify` writes for the `Date` a msgpack timestamp decodes to.

use serde_json::Value;

/// Milliseconds a JavaScript `Date` may be from the epoch, either way (ECMAScript
/// TimeClip).
const MAX_TIME_MS: f64 = 8.64e15;

const MS_PER_DAY: i64 = 86_400_000;

/// `JSON.stringify(new Date(ms))`: the `toISOString()` text, or null for an invalid
/// date (out of range, NaN).
pub(crate) fn date_json(ms: f64) -> Value {
    if !ms.is_finite() || ms.abs() > MAX_TIME_MS {
        return Value::Null;
    }
    // TimeClip truncates toward zero; |ms| <= 8.64e15 fits i64 exactly.
    Value::String(iso_string(ms.trunc() as i64))
}

/// `Date.prototype.toISOString` for a valid time value: `YYYY-MM-DDTHH:mm:ss.sssZ`, with
/// a signed six-digit year outside 0..=9999.
pub(crate) fn iso_string(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_strings_match_to_iso_string() {
        assert_eq!(iso_string(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_string(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_string(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_string(951_782_400_000), "2000-02-29T00:00:00.000Z");
        // new Date(-62198755200000).toISOString(): year 0 has four digits.
        assert_eq!(
            iso_string(-62_198_755_200_000),
            "-000001-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso_string(253_402_300_800_000),
            "+010000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso_string(8_640_000_000_000_000),
            "+275760-09-13T00:00:00.000Z"
        );
    }

    #[test]
    fn invalid_dates_are_null() {
        assert_eq!(date_json(8.64e15 + 1.0), Value::Null);
        assert_eq!(date_json(f64::NAN), Value::Null);
        assert_eq!(
            date_json(-0.5),
            Value::String("1970-01-01T00:00:00.000Z".into())
        );
    }
}
