//! The signature algorithms sesame signs ID tokens with, by their JOSE names: vocabulary that
//! the store, the configuration, the CLI, discovery and the signing code all share. It uses
//! nothing else in the crate (ring's side of each algorithm lives in `crypto::keys`).

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm sesame signs ID tokens with (RFC 7518 names).
///
/// It is stored, configured, sent over the control socket and published in discovery as its
/// JOSE name (`"ES384"`): serde and [`FromStr`] both use [`Alg::as_str`], exactly and
/// case-sensitively (RFC 7515 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alg {
    /// ECDSA on P-384 with SHA-384: the default, as in Logto.
    #[default]
    Es384,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (OIDC Core §15.1 requires every provider
    /// to offer it).
    Rs256,
}

impl Alg {
    /// Every algorithm, each of which always has an active key; the default first. Lists of
    /// allowed values (configuration, CLI, discovery) come from here, in this order.
    pub const ALL: [Alg; 3] = [Alg::Es384, Alg::Es256, Alg::Rs256];

    /// The JOSE names of [`Alg::ALL`], in its order: `["ES384", "ES256", "RS256"]`.
    pub const NAMES: [&'static str; 3] = {
        let mut names = [""; 3];
        let mut i = 0;
        while i < names.len() {
            names[i] = Alg::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The JOSE name: `ES256`, `ES384` or `RS256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Rs256 => "RS256",
        }
    }
}

/// A name that is none of sesame's algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlg(pub String);

impl fmt::Display for UnknownAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported algorithm {:?}", self.0)
    }
}

impl std::error::Error for UnknownAlg {}

impl FromStr for Alg {
    type Err = UnknownAlg;

    /// Exact, case-sensitive JOSE names (RFC 7515 §4.1.1: `alg` values are case-sensitive).
    fn from_str(s: &str) -> Result<Alg, UnknownAlg> {
        Alg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlg(s.to_string()))
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Alg {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Alg {
    /// The exact JOSE name; anything else is refused naming the allowed ones.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Alg, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse()
            .map_err(|_| de::Error::unknown_variant(&name, &Alg::NAMES))
    }
}
