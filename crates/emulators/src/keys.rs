//! Which API keys an emulated vendor accepts: the FASHN bearer keys and the Gemini API's
//! `x-goog-api-key`. Configuration, not state: [`Emulator::reset`](crate::Emulator::reset)
//! keeps it. Set in code ([`Emulator::set_fashn_keys`](crate::Emulator::set_fashn_keys),
//! [`Emulator::set_gemini_api_keys`](crate::Emulator::set_gemini_api_keys)) or over HTTP
//! (`PUT /_emulator/keys/fashn`, `PUT /_emulator/keys/gemini-api` with this type's JSON;
//! `GET` the same paths to read it).
//!
//! The default accepts any non-empty key: the emulators never check a key's format (the
//! Gemini reference §1 warns that `AQ.` auth keys break tools that expect `AIza`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A vendor's key policy. JSON: `{"valid": [..] | null, "invalid": [..], "standard": [..]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeys {
    /// When set, only these keys are valid; unset (the default), any non-empty key is,
    /// except those listed below.
    #[serde(default)]
    pub valid: Option<BTreeSet<String>>,
    /// Keys refused as wrong, deleted or inactive (FASHN 401 `UnauthorizedAccess`, Gemini
    /// API 400 `API_KEY_INVALID`).
    #[serde(default)]
    pub invalid: BTreeSet<String>,
    /// Gemini API only: legacy *standard* keys, refused since the 2026 migration with 401
    /// `ACCESS_TOKEN_TYPE_UNSUPPORTED` (Gemini reference §1, §4). FASHN has no such notion
    /// and refuses them as invalid.
    #[serde(default)]
    pub standard: BTreeSet<String>,
}

/// What a policy makes of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVerdict {
    Valid,
    Invalid,
    Standard,
}

fn set<I, S>(keys: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    keys.into_iter().map(Into::into).collect()
}

impl ApiKeys {
    /// Any non-empty key (the default).
    pub fn any() -> Self {
        ApiKeys::default()
    }

    /// Only `keys`.
    pub fn only<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ApiKeys { valid: Some(set(keys)), ..ApiKeys::default() }
    }

    /// This policy with `keys` refused as invalid.
    pub fn with_invalid<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.invalid.extend(set(keys));
        self
    }

    /// This policy with `keys` refused as standard keys (Gemini API).
    pub fn with_standard<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.standard.extend(set(keys));
        self
    }

    /// The verdict on `key`: empty or listed invalid → invalid; listed standard →
    /// standard; outside an explicit `valid` list → invalid; otherwise valid.
    pub fn verdict(&self, key: &str) -> KeyVerdict {
        if key.is_empty() || self.invalid.contains(key) {
            KeyVerdict::Invalid
        } else if self.standard.contains(key) {
            KeyVerdict::Standard
        } else if self.valid.as_ref().is_some_and(|v| !v.contains(key)) {
            KeyVerdict::Invalid
        } else {
            KeyVerdict::Valid
        }
    }
}

/// A key as the call logs show it: its first four characters and its length, never the key.
pub(crate) fn masked(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…({} chars)", key.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_takes_any_non_empty_key_but_the_listed_ones() {
        let keys = ApiKeys::any().with_invalid(["fa-dead"]).with_standard(["AIzaOld"]);
        assert_eq!(keys.verdict("fa-live-1"), KeyVerdict::Valid);
        assert_eq!(keys.verdict(""), KeyVerdict::Invalid);
        assert_eq!(keys.verdict("fa-dead"), KeyVerdict::Invalid);
        assert_eq!(keys.verdict("AIzaOld"), KeyVerdict::Standard);
        let only = ApiKeys::only(["a"]);
        assert_eq!((only.verdict("a"), only.verdict("b")), (KeyVerdict::Valid, KeyVerdict::Invalid));
        let parsed: ApiKeys = serde_json::from_str(r#"{"valid": ["a"], "standard": ["s"]}"#).unwrap();
        assert_eq!(parsed, ApiKeys::only(["a"]).with_standard(["s"]));
        assert!(masked("fa-secret-key").starts_with("fa-s…"));
    }
}
