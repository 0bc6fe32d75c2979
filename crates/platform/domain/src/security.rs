//! Security policies as data plus pure decisions: the password policy and login lockout.
//! The settings live in the store (system console "安全设置"); the server applies them.

use serde::{Deserialize, Serialize};

/// Passwords shorter than this are never accepted, whatever the settings say.
pub const PASSWORD_CHARS_MIN_FLOOR: u32 = 8;
/// Longest accepted password, in bytes (bounds hashing work).
pub const PASSWORD_BYTES_MAX: usize = 256;
/// Largest password history the settings may ask for.
pub const PASSWORD_HISTORY_MAX: u32 = 24;

/// Common passwords that are refused outright (compared case-insensitively). A short
/// embedded list of the most used passwords, including common Chinese-keyboard choices.
const COMMON_PASSWORDS: &[&str] = &[
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password123",
    "qwerty",
    "qwerty123",
    "qwertyuiop",
    "abc123",
    "abc12345",
    "abcd1234",
    "111111",
    "11111111",
    "000000",
    "00000000",
    "123123",
    "123123123",
    "1q2w3e4r",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "zaq12wsx",
    "iloveyou",
    "admin",
    "admin123",
    "admin@123",
    "administrator",
    "root",
    "letmein",
    "welcome",
    "welcome1",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "master",
    "shadow",
    "superman",
    "trustno1",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "5201314",
    "woaini",
    "woaini1314",
    "woaini520",
    "a123456",
    "a12345678",
    "aa123456",
    "qq123456",
    "88888888",
    "666666",
    "66666666",
    "987654321",
    "147258369",
    "159357",
    "123qwe",
    "qweasdzxc",
    "asdfghjkl",
    "zxcvbnm",
    "1234qwer",
    "changeme",
    "default",
    "suanli",
    "suanli123",
    "computer",
    "internet",
    "test1234",
    "guest",
    "user1234",
];

/// Password rules; stored as system settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in characters (never below [`PASSWORD_CHARS_MIN_FLOOR`]).
    pub min_chars: u32,
    /// How many previous passwords may not be reused (0..=[`PASSWORD_HISTORY_MAX`]).
    pub history: u32,
    /// Whether at least three of: lower case, upper case, digit, other are required.
    pub require_mixed: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 10,
            history: 5,
            require_mixed: false,
        }
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error("password must have at least {min} characters")]
    TooShort {
        /// Minimum characters.
        min: u32,
    },
    /// Too long.
    #[error("password must have at most {PASSWORD_BYTES_MAX} bytes")]
    TooLong,
    /// On the common-password list.
    #[error("password is too common")]
    Common,
    /// Contains the login name.
    #[error("password must not contain the login name")]
    ContainsLogin,
    /// Not enough character classes.
    #[error("password must mix at least three of: lower case, upper case, digits, symbols")]
    NotMixed,
    /// Used recently (checked by the caller against stored hashes).
    #[error("password was used recently")]
    Reused,
}

/// Why a settings value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: &'static str,
}

impl PasswordPolicy {
    /// Checks the policy's own bounds.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.min_chars < PASSWORD_CHARS_MIN_FLOOR || self.min_chars > 128 {
            return Err(SettingsError {
                field: "password.min_chars",
                message: "must be between 8 and 128",
            });
        }
        if self.history > PASSWORD_HISTORY_MAX {
            return Err(SettingsError {
                field: "password.history",
                message: "must be at most 24",
            });
        }
        Ok(())
    }

    /// Checks a candidate password (everything except history, which needs the stored
    /// hashes and is checked by the caller).
    pub fn check(&self, candidate: &str, login: &str) -> Result<(), PasswordError> {
        let min = self.min_chars.max(PASSWORD_CHARS_MIN_FLOOR);
        if candidate.len() > PASSWORD_BYTES_MAX {
            return Err(PasswordError::TooLong);
        }
        if (candidate.chars().count() as u64) < u64::from(min) {
            return Err(PasswordError::TooShort { min });
        }
        let lower = candidate.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(PasswordError::Common);
        }
        let login = login.to_lowercase();
        if login.len() >= 3 && lower.contains(&login) {
            return Err(PasswordError::ContainsLogin);
        }
        if self.require_mixed {
            let classes = [
                candidate.chars().any(|c| c.is_lowercase()),
                candidate.chars().any(|c| c.is_uppercase()),
                candidate.chars().any(|c| c.is_ascii_digit()),
                candidate.chars().any(|c| !c.is_alphanumeric()),
            ];
            if classes.iter().filter(|x| **x).count() < 3 {
                return Err(PasswordError::NotMixed);
            }
        }
        Ok(())
    }
}

/// Login throttling and session rules; stored as system settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginPolicy {
    /// Consecutive failed logins that lock the account.
    pub failures_max: u32,
    /// How long a locked account stays locked, in seconds.
    pub lock_secs: u32,
    /// Session lifetime, in seconds.
    pub session_ttl_secs: u32,
    /// Concurrent sessions per user; logging in beyond it ends the oldest session.
    pub sessions_per_user_max: u32,
    /// Failed logins from one client address within `ip_window_secs` after which that
    /// address is refused until the window ends (absent in older settings: default).
    #[serde(default = "default_ip_failures_max")]
    pub ip_failures_max: u32,
    /// The per-address window, in seconds.
    #[serde(default = "default_ip_window_secs")]
    pub ip_window_secs: u32,
}

fn default_ip_failures_max() -> u32 {
    50
}

fn default_ip_window_secs() -> u32 {
    300
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            failures_max: 5,
            lock_secs: 15 * 60,
            session_ttl_secs: 8 * 3600,
            sessions_per_user_max: 3,
            ip_failures_max: default_ip_failures_max(),
            ip_window_secs: default_ip_window_secs(),
        }
    }
}

impl LoginPolicy {
    /// Checks the policy's own bounds.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=100).contains(&self.failures_max) {
            return Err(SettingsError {
                field: "login.failures_max",
                message: "must be between 1 and 100",
            });
        }
        if !(1..=7 * 86_400).contains(&self.lock_secs) {
            return Err(SettingsError {
                field: "login.lock_secs",
                message: "must be between 1 and 604800",
            });
        }
        if !(60..=30 * 86_400).contains(&self.session_ttl_secs) {
            return Err(SettingsError {
                field: "login.session_ttl_secs",
                message: "must be between 60 and 2592000",
            });
        }
        if !(1..=100).contains(&self.sessions_per_user_max) {
            return Err(SettingsError {
                field: "login.sessions_per_user_max",
                message: "must be between 1 and 100",
            });
        }
        if !(1..=100_000).contains(&self.ip_failures_max) {
            return Err(SettingsError {
                field: "login.ip_failures_max",
                message: "must be between 1 and 100000",
            });
        }
        if !(1..=86_400).contains(&self.ip_window_secs) {
            return Err(SettingsError {
                field: "login.ip_window_secs",
                message: "must be between 1 and 86400",
            });
        }
        Ok(())
    }

    /// After a failed attempt that brought the consecutive failures to `failures`, until
    /// when (ms) is the account locked? `None`: not locked.
    pub fn lock_after_failure(&self, failures: u32, now_ms: i64) -> Option<i64> {
        (failures >= self.failures_max).then(|| now_ms + i64::from(self.lock_secs) * 1000)
    }
}

/// The security settings as one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Password rules.
    pub password: PasswordPolicy,
    /// Login rules.
    pub login: LoginPolicy,
}

impl SecuritySettings {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.password.validate()?;
        self.login.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("short", "bob"),
            Err(PasswordError::TooShort { min: 10 })
        );
        assert_eq!(p.check("Password123", "bob"), Err(PasswordError::Common));
        assert_eq!(
            p.check("bobby-the-great", "bobby"),
            Err(PasswordError::ContainsLogin)
        );
        assert_eq!(
            p.check(&"x".repeat(300), "bob"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(p.check("correct horse battery", "bob"), Ok(()));
        let mixed = PasswordPolicy {
            require_mixed: true,
            ..p
        };
        assert_eq!(
            mixed.check("correct horse battery", "bob"),
            Err(PasswordError::NotMixed)
        );
        assert_eq!(mixed.check("Correct horse 9", "bob"), Ok(()));
    }

    #[test]
    fn min_length_never_below_floor() {
        let weak = PasswordPolicy {
            min_chars: 2,
            ..PasswordPolicy::default()
        };
        assert!(weak.validate().is_err());
        assert_eq!(
            weak.check("abcdefg", "zz"),
            Err(PasswordError::TooShort { min: 8 })
        );
    }

    #[test]
    fn lockout() {
        let l = LoginPolicy::default();
        assert_eq!(l.lock_after_failure(4, 1_000), None);
        assert_eq!(l.lock_after_failure(5, 1_000), Some(1_000 + 900_000));
        assert!(SecuritySettings::default().validate().is_ok());
    }
}
