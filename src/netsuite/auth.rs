//! OAuth 2.0 client credentials with a signed JWT assertion (reference §1).
//!
//! Key handling: NetSuite accepts RSA 3072/4096 (signed PS256, never RS256) and EC P-256/P-384/
//! P-521 (ES256/384/512). jsonwebtoken has no ES512 signer, so a P-521 key is refused at start-up
//! with advice to use P-256 or RSA instead of failing at the first token request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// The only scope the daemon needs: SuiteQL and the record API both fall under it (§1.4).
pub const SCOPE: &str = "rest_webservices";
/// Assertion lifetime: well under NetSuite's strict "< 60 minutes" (§1.4 inference: 300–1800 s).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);
/// A cached access token is renewed this long before it expires (§1.5).
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// Selects jsonwebtoken's RustCrypto provider for the process. jsonwebtoken 11 picks a provider
/// from crate features and panics at the first signature if feature unification ever enables
/// both backends; installing one explicitly removes that possibility. Idempotent: if a provider
/// is already installed (by us or by the embedding program) that one stays.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// A loaded private key ready to sign assertions. Holds key material, so `Debug` is redacted.
pub struct SigningKey {
    key: EncodingKey,
    alg: Algorithm,
    description: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("key", &self.description)
            .finish()
    }
}

fn key_error(what: &str) -> Error {
    Error::Config(format!("netsuite private key: {what}"))
}

impl SigningKey {
    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) RSA key, or a
    /// PKCS#8 / SEC1 (`BEGIN EC PRIVATE KEY`) EC key, and picks the algorithm from the key.
    pub fn from_pem(pem: &SecretString) -> Result<Self> {
        install_crypto_provider();
        let text = pem.expose_secret();
        let (label, der) = rsa::pkcs8::der::pem::decode_vec(text.trim().as_bytes()).map_err(|_| {
            key_error(
                "not a readable PEM file; expected the auth-key.pem written by `openssl req -x509 \
                 -newkey rsa:4096 -sha256 -keyout auth-key.pem -out auth-cert.pem -nodes -days 730`",
            )
        })?;
        match label {
            "ENCRYPTED PRIVATE KEY" => Err(key_error(
                "the key is encrypted; the daemon cannot prompt for a passphrase. Decrypt it with \
                 `openssl pkcs8 -in auth-key.pem -out auth-key-plain.pem` (keep it readable only \
                 by the service user) or create the key with `-nodes`",
            )),
            "RSA PRIVATE KEY" => {
                let k = rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|_| key_error("the PKCS#1 RSA key cannot be parsed"))?;
                Self::rsa(k)
            }
            "EC PRIVATE KEY" => {
                // SEC1: the curve is in the key's parameters; try the curves we can sign with.
                if let Ok(k) = p256::SecretKey::from_sec1_der(&der) {
                    return Self::ec_p256(k);
                }
                if let Ok(k) = p384::SecretKey::from_sec1_der(&der) {
                    return Self::ec_p384(k);
                }
                Err(key_error(
                    "the EC key is not on P-256 or P-384 (a P-521 key cannot be used: no ES512 \
                     signer is available). Create a P-256 key and certificate instead",
                ))
            }
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            other => Err(key_error(&format!(
                "a PEM block labelled {other:?} is not a private key; point private_key_file at \
                 the key (auth-key.pem), not the certificate"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = rsa::pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|_| key_error("the PKCS#8 key cannot be parsed"))?;
        let oid = info.algorithm.oid.to_string();
        match oid.as_str() {
            OID_RSA => {
                let k = rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map_err(|_| key_error("the PKCS#8 RSA key cannot be parsed"))?;
                Self::rsa(k)
            }
            OID_RSA_PSS => Err(key_error(
                "the key is typed RSA-PSS (made by `openssl genpkey -algorithm RSA-PSS`); \
                 NetSuite and this client need a plain RSA key, which is still signed with PSS. \
                 Create it with `openssl req -x509 -newkey rsa:4096 …`",
            )),
            OID_EC => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => Self::ec_p256(
                        p256::SecretKey::from_pkcs8_der(der)
                            .map_err(|_| key_error("the P-256 key cannot be parsed"))?,
                    ),
                    OID_P384 => Self::ec_p384(
                        p384::SecretKey::from_pkcs8_der(der)
                            .map_err(|_| key_error("the P-384 key cannot be parsed"))?,
                    ),
                    OID_P521 => Err(key_error(
                        "P-521 keys (ES512) are not supported by this client's signer; create an \
                         EC P-256 or RSA 4096 key and certificate and map that one in NetSuite",
                    )),
                    _ => Err(key_error(
                        "the EC key is on a curve NetSuite does not accept",
                    )),
                }
            }
            _ => Err(key_error(&format!(
                "unsupported key algorithm {oid}; NetSuite accepts RSA 3072/4096 or EC P-256/384/521"
            ))),
        }
    }

    fn rsa(k: rsa::RsaPrivateKey) -> Result<Self> {
        let bits = k.size() * 8;
        if bits < 3072 {
            return Err(key_error(&format!(
                "the RSA key has {bits} bits; NetSuite only accepts 3072 or 4096-bit RSA \
                 certificates for M2M (reference §1.2)"
            )));
        }
        let der = k
            .to_pkcs1_der()
            .map_err(|_| key_error("the RSA key cannot be re-encoded"))?;
        Ok(Self {
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            alg: Algorithm::PS256,
            description: format!("RSA {bits}"),
        })
    }

    fn ec_p256(k: p256::SecretKey) -> Result<Self> {
        let der = k
            .to_pkcs8_der()
            .map_err(|_| key_error("the P-256 key cannot be re-encoded"))?;
        Ok(Self {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            alg: Algorithm::ES256,
            description: "EC P-256".into(),
        })
    }

    fn ec_p384(k: p384::SecretKey) -> Result<Self> {
        let der = k
            .to_pkcs8_der()
            .map_err(|_| key_error("the P-384 key cannot be re-encoded"))?;
        Ok(Self {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            alg: Algorithm::ES384,
            description: "EC P-384".into(),
        })
    }

    /// The JWT `alg` this key signs with (PS256, ES256 or ES384).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Signs a fresh client assertion (never reused: reference §10.5).
    pub fn assertion(
        &self,
        client_id: &str,
        certificate_id: &str,
        token_url: &str,
        now: SystemTime,
    ) -> Result<SecretString> {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Config("the system clock is before 1970".into()))?
            .as_secs();
        let mut header = Header::new(self.alg);
        header.typ = Some("JWT".into());
        header.kid = Some(certificate_id.to_owned());
        let claims = AssertionClaims {
            iss: client_id,
            scope: SCOPE,
            aud: token_url,
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| key_error(&format!("signing the assertion failed: {e}")))
    }
}

/// The assertion's claims (reference §1.4). `scope` is the documented string form.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims<'a> {
    pub iss: &'a str,
    pub scope: &'a str,
    pub aud: &'a str,
    pub iat: u64,
    pub exp: u64,
}

/// Token endpoint answer (§1.5). `expires_in` may be a number or a string (VERIFY), so both parse.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_in: Option<u64>,
}

/// RFC 6749 error body of the token endpoint.
#[derive(Deserialize, Default)]
pub(crate) struct TokenError {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        N(u64),
        S(String),
    }
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        Some(NumOrStr::N(n)) => Some(n),
        Some(NumOrStr::S(s)) => s.trim().parse().ok(),
        None => None,
    })
}

/// A cached access token and when to stop using it (5 minutes before its expiry).
pub(crate) struct CachedToken {
    pub token: SecretString,
    pub renew_at: tokio::time::Instant,
}

impl CachedToken {
    pub fn new(token: String, expires_in: Option<u64>, obtained: tokio::time::Instant) -> Self {
        // NetSuite tokens live 60 minutes (§1.5); assume that when the answer does not say.
        let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
        Self {
            token: SecretString::from(token),
            renew_at: obtained + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
        }
    }

    pub fn is_fresh(&self, now: tokio::time::Instant) -> bool {
        now < self.renew_at
    }
}
