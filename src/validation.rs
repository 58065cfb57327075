//! Checking the "new room" form before anything is stored.
//!
//! The limits mirror the CHECK constraints of `migrations/0001_init.sql`, so a form that
//! passes here is never refused by the database.

use serde::Deserialize;

pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_PASSWORD_CHARS: usize = 100;
/// Room size when the form leaves it empty (the book's default).
pub const DEFAULT_MAX: i64 = 10;
pub const MIN_MAX: i64 = 2;
pub const MAX_MAX: i64 = 100;

/// The room form as posted. Every field defaults to empty, so a request missing one gets the
/// same friendly message as an empty field instead of a bare 400.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RoomForm {
    pub title: String,
    pub max: String,
    pub password: String,
}

/// A form that passed [`validate_room`]; ready for `store::NewRoom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRoom {
    pub title: String,
    pub max: i64,
    /// `None` for a public room.
    pub password: Option<String>,
}

/// Why a room form was refused; `Display` is the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("방 제목을 입력하세요.")]
    TitleMissing,
    #[error("방 제목은 100자 이하여야 합니다.")]
    TitleTooLong,
    #[error("허용 인원은 2명 이상 100명 이하의 숫자여야 합니다.")]
    InvalidMax,
    #[error("비밀번호는 100자 이하여야 합니다.")]
    PasswordTooLong,
}

impl ValidationError {
    /// The form field at fault, so the page can mark it.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::TitleMissing | ValidationError::TitleTooLong => "title",
            ValidationError::InvalidMax => "max",
            ValidationError::PasswordTooLong => "password",
        }
    }
}

/// Trims the title; 1–100 characters (chars, not bytes); max empty → 10, else an integer
/// 2–100; empty password → public, else 1–100 chars (not trimmed).
pub fn validate_room(form: &RoomForm) -> Result<ValidRoom, ValidationError> {
    let title = form.title.trim();
    if title.is_empty() {
        return Err(ValidationError::TitleMissing);
    }
    // chars, not bytes: a Korean syllable is 3 bytes in UTF-8 but one character to the user,
    // and SQLite's length() in the CHECK counts characters too.
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ValidationError::TitleTooLong);
    }

    // Surrounding spaces are forgiven; anything else that is not a whole number in range
    // (including "1.5", overflow and negative numbers) is refused rather than clamped.
    let max = match form.max.trim() {
        "" => DEFAULT_MAX,
        text => text
            .parse::<i64>()
            .ok()
            .filter(|n| (MIN_MAX..=MAX_MAX).contains(n))
            .ok_or(ValidationError::InvalidMax)?,
    };

    // Not trimmed: spaces may be part of a password, and the user typed exactly this.
    let password = if form.password.is_empty() {
        None
    } else if form.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ValidationError::PasswordTooLong);
    } else {
        Some(form.password.clone())
    };

    Ok(ValidRoom {
        title: title.to_owned(),
        max,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(title: &str, max: &str, password: &str) -> RoomForm {
        RoomForm {
            title: title.to_owned(),
            max: max.to_owned(),
            password: password.to_owned(),
        }
    }

    #[test]
    fn accepts_a_public_room_with_defaults() {
        assert_eq!(
            validate_room(&form("  수다방  ", "", "")),
            Ok(ValidRoom {
                title: "수다방".to_owned(),
                max: DEFAULT_MAX,
                password: None,
            })
        );
    }

    #[test]
    fn accepts_a_secret_room_and_keeps_password_spaces() {
        let room = validate_room(&form("secret", "5", " pw ")).expect("valid");
        assert_eq!(room.max, 5);
        assert_eq!(room.password.as_deref(), Some(" pw "));
    }

    #[test]
    fn title_is_required() {
        for title in ["", "   ", "\t\n"] {
            let err = validate_room(&form(title, "", "")).expect_err(title);
            assert_eq!(err, ValidationError::TitleMissing);
            assert_eq!(err.field(), "title");
            assert_eq!(err.to_string(), "방 제목을 입력하세요.");
        }
    }

    #[test]
    fn title_length_is_counted_in_chars() {
        assert!(validate_room(&form(&"a".repeat(100), "", "")).is_ok());
        assert_eq!(
            validate_room(&form(&"a".repeat(101), "", "")),
            Err(ValidationError::TitleTooLong)
        );
        // 100 Korean syllables are 300 bytes but 100 characters.
        let korean = "가".repeat(100);
        assert_eq!(korean.len(), 300);
        assert_eq!(
            validate_room(&form(&korean, "", "")).map(|r| r.title),
            Ok(korean)
        );
        let err = validate_room(&form(&"가".repeat(101), "", "")).expect_err("101 chars");
        assert_eq!(err, ValidationError::TitleTooLong);
        assert_eq!(err.field(), "title");
        assert_eq!(err.to_string(), "방 제목은 100자 이하여야 합니다.");
        // Trimming happens before counting.
        assert!(validate_room(&form(&format!("  {}  ", "a".repeat(100)), "", "")).is_ok());
    }

    #[test]
    fn max_bounds() {
        for (max, expected) in [("", 10), ("2", 2), ("100", 100), (" 7 ", 7)] {
            assert_eq!(
                validate_room(&form("t", max, "")).map(|r| r.max),
                Ok(expected),
                "{max:?}"
            );
        }
        for max in [
            "1",
            "0",
            "-5",
            "101",
            "abc",
            "1.5",
            "99999999999999999999",
            "10명",
        ] {
            let err = validate_room(&form("t", max, "")).expect_err(max);
            assert_eq!(err, ValidationError::InvalidMax, "{max:?}");
            assert_eq!(err.field(), "max");
            assert_eq!(
                err.to_string(),
                "허용 인원은 2명 이상 100명 이하의 숫자여야 합니다."
            );
        }
    }

    #[test]
    fn password_bounds() {
        let ok = "비".repeat(100);
        assert_eq!(
            validate_room(&form("t", "", &ok)).map(|r| r.password),
            Ok(Some(ok))
        );
        assert_eq!(
            validate_room(&form("t", "", "x")).map(|r| r.password),
            Ok(Some("x".to_owned()))
        );
        let err = validate_room(&form("t", "", &"비".repeat(101))).expect_err("too long");
        assert_eq!(err, ValidationError::PasswordTooLong);
        assert_eq!(err.field(), "password");
        assert_eq!(err.to_string(), "비밀번호는 100자 이하여야 합니다.");
    }

    #[test]
    fn missing_form_fields_default_to_empty() {
        let form: RoomForm = serde_json::from_str(r#"{"title":"방"}"#).expect("deserializes");
        assert_eq!(
            validate_room(&form),
            Ok(ValidRoom {
                title: "방".to_owned(),
                max: DEFAULT_MAX,
                password: None,
            })
        );
    }
}
