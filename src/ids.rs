//! The ids that name stored things — project keys, session ids, visitor ids — and the one rule
//! they follow. Routes and the envelope parse them here; every storage key is built from these
//! types (`storage`), so a key built from an unchecked string does not compile.
//!
//! Why the rule exists: ids are spliced into R2 keys (`sessions/{project}/{session}/…`) and
//! Durable Object names (`{project}:{session}`). An id holding `/`, `:` or `.` could name another
//! object — a session id such as `x/anchor/01` would address the project's audit anchor chain
//! `{project}/anchor/NN`, and `../` or `/` would leave its prefix. Ids are therefore only
//! `[A-Za-z0-9_-]`, so no session can take a name another object uses.

use std::fmt;

/// The characters every id is made of: safe in keys, object names and URLs as they are.
fn id_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Session and visitor ids: 8–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id_chars(id)
}

/// Project keys: 1–64 of `[A-Za-z0-9_-]` (the seeded `demo` is four).
pub fn is_valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len()) && id_chars(key)
}

/// A key for a project created now: 8–64, long enough not to be guessed by chance. Existing
/// shorter keys stay usable (`is_valid_key`).
pub fn is_valid_new_key(key: &str) -> bool {
    (8..=64).contains(&key.len()) && id_chars(key)
}

/// A string that is not a valid id of the named kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidId(pub &'static str);

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {}", self.0)
    }
}

impl std::error::Error for InvalidId {}

impl From<InvalidId> for crate::error::ApiError {
    fn from(e: InvalidId) -> Self {
        crate::error::ApiError::new(crate::error::ErrorCode::InvalidId, e.to_string())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $rule:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Option<Self> {
                $rule(s).then(|| $name(s.to_string()))
            }
            /// `parse`, with an error that says which kind of id was refused (`?` turns it
            /// into a 400 `invalid_id`).
            pub fn checked(s: &str) -> Result<Self, InvalidId> {
                $name::parse(s).ok_or(InvalidId($what))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }


        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        /// Checked on the way in too: a stored or sent id is held to the same rule.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(InvalidId($what)))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        /// Tests write expected values as literals; a literal that breaks the rule is a bug
        /// in the test.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::parse(s).unwrap_or_else(|| panic!("{s:?} is not a valid {}", $what))
            }
        }
    };
}

id_type!(
    /// A project's key (`is_valid_key`).
    ProjectKey,
    "project key",
    is_valid_key
);
id_type!(
    /// A recording session's id, chosen by the client (`is_valid_id`).
    SessionId,
    "session id",
    is_valid_id
);
id_type!(
    /// A visitor's id, chosen by the client (`is_valid_id`).
    VisitorId,
    "visitor id",
    is_valid_id
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_8_to_64_safe_characters() {
        let long = "a".repeat(64);
        for (id, ok) in [
            ("abcd_EF-9", true),
            (long.as_str(), true),
            (&long[..7], false),
            ("abcd efgh", false),
            ("abcd%2Fef", false),
            ("abcdéfgh", false),
        ] {
            assert_eq!(is_valid_id(id), ok, "{id:?}");
        }
        assert!(!is_valid_id(&"a".repeat(65)));
    }

    #[test]
    fn no_id_can_name_another_object() {
        // Anchor chains are `{project}/anchor/NN`, session objects `{project}:{session}`.
        for bad in [
            "x/anchor/01",
            "demo:s_12345678",
            "../../etc/passwd",
            "s_1234\u{0}5678",
            "s_12345678/",
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
            assert!(VisitorId::parse(bad).is_none(), "{bad:?}");
            assert!(ProjectKey::parse(bad).is_none(), "{bad:?}");
        }
        // `_anchor-01` is a fine session id: it cannot spell a `/`.
        assert!(SessionId::parse("_anchor-01").is_some());
    }

    #[test]
    fn project_keys() {
        assert!(is_valid_key("demo"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("a.b"));
        assert!(!is_valid_new_key("demo"));
        assert!(is_valid_new_key("shop-prod"));
        let k = ProjectKey::parse("demo").unwrap();
        assert_eq!(k.as_str(), "demo");
        assert_eq!(
            format!("{k}:{}", SessionId::from("s_12345678")),
            "demo:s_12345678"
        );
        assert_eq!(SessionId::checked("short"), Err(InvalidId("session id")));
        assert_eq!(
            serde_json::to_string(&VisitorId::from("v_12345678")).unwrap(),
            "\"v_12345678\""
        );
        assert!(serde_json::from_str::<SessionId>("\"a/anchor/01\"").is_err());
        let e: crate::error::ApiError = InvalidId("visitor id").into();
        assert_eq!((e.status, e.code), (400, "invalid_id"));
    }
}
