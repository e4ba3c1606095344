//! OAuth 2.0 client credentials with a signed JWT assertion (reference §1).
//!
//! Key handling: NetSuite accepts RSA 3072/4096 (signed PS256, never RS256) and EC P-256/P-384/
//! P-521 (ES256/384/512). jsonwebtoken signs PS256, ES256 and ES384; it has no ES512, so a P-521
//! key signs its assertion here with the `p521` crate (RFC 7515 compact form, RFC 7518 §3.4
//! signature: raw `r ‖ s`, 66 + 66 bytes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p521::ecdsa::signature::Signer as _;
use p521::elliptic_curve::zeroize::Zeroize as _;
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

/// The JWS `alg` of an assertion: PS256 for RSA keys, ES256/ES384/ES512 for EC P-256/384/521.
/// Our own type because jsonwebtoken's `Algorithm` has no ES512.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlgorithm {
    PS256,
    ES256,
    ES384,
    ES512,
}

impl JwsAlgorithm {
    /// The header value (`"PS256"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
        }
    }
}

impl std::fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What signs: jsonwebtoken for the algorithms it has, `p521` by hand for ES512.
enum Signer {
    Jwt(EncodingKey, Algorithm),
    Es512(p521::ecdsa::SigningKey),
}

/// A loaded private key ready to sign assertions. Holds key material, so `Debug` is redacted.
pub struct SigningKey {
    signer: Signer,
    alg: JwsAlgorithm,
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
                if let Ok(k) = p521::SecretKey::from_sec1_der(&der) {
                    return Self::ec_p521(&k);
                }
                Err(key_error(
                    "the EC key cannot be parsed or is on a curve NetSuite does not accept \
                     (P-256, P-384 or P-521 only)",
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
                    OID_P521 => Self::ec_p521(
                        &p521::SecretKey::from_pkcs8_der(der)
                            .map_err(|_| key_error("the P-521 key cannot be parsed"))?,
                    ),
                    _ => Err(key_error(
                        "the EC key is on a curve NetSuite does not accept (P-256, P-384 or P-521 \
                         only)",
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
            signer: Signer::Jwt(EncodingKey::from_rsa_der(der.as_bytes()), Algorithm::PS256),
            alg: JwsAlgorithm::PS256,
            description: format!("RSA {bits}"),
        })
    }

    fn ec_p256(k: p256::SecretKey) -> Result<Self> {
        let der = k
            .to_pkcs8_der()
            .map_err(|_| key_error("the P-256 key cannot be re-encoded"))?;
        Ok(Self {
            signer: Signer::Jwt(EncodingKey::from_ec_der(der.as_bytes()), Algorithm::ES256),
            alg: JwsAlgorithm::ES256,
            description: "EC P-256".into(),
        })
    }

    fn ec_p384(k: p384::SecretKey) -> Result<Self> {
        let der = k
            .to_pkcs8_der()
            .map_err(|_| key_error("the P-384 key cannot be re-encoded"))?;
        Ok(Self {
            signer: Signer::Jwt(EncodingKey::from_ec_der(der.as_bytes()), Algorithm::ES384),
            alg: JwsAlgorithm::ES384,
            description: "EC P-384".into(),
        })
    }

    fn ec_p521(k: &p521::SecretKey) -> Result<Self> {
        let mut scalar = k.to_bytes();
        let key = p521::ecdsa::SigningKey::from_bytes(&scalar);
        scalar[..].zeroize();
        Ok(Self {
            signer: Signer::Es512(
                key.map_err(|_| key_error("the P-521 key cannot be used for signing"))?,
            ),
            alg: JwsAlgorithm::ES512,
            description: "EC P-521".into(),
        })
    }

    /// The JWT `alg` this key signs with (PS256, ES256, ES384 or ES512).
    pub fn algorithm(&self) -> JwsAlgorithm {
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
        let claims = AssertionClaims {
            iss: client_id,
            scope: SCOPE,
            aud: token_url,
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
        };
        match &self.signer {
            Signer::Jwt(key, alg) => {
                let mut header = Header::new(*alg);
                header.typ = Some("JWT".into());
                header.kid = Some(certificate_id.to_owned());
                jsonwebtoken::encode(&header, &claims, key)
                    .map(SecretString::from)
                    .map_err(|e| key_error(&format!("signing the assertion failed: {e}")))
            }
            Signer::Es512(key) => es512_jws(key, certificate_id, &claims).map(SecretString::from),
        }
    }
}

/// The JOSE header of a hand-signed assertion, in jsonwebtoken's field order.
#[derive(Serialize)]
struct JwsHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    kid: &'a str,
}

/// RFC 7515 compact serialisation signed with ES512 (RFC 7518 §3.4): ECDSA P-521 with SHA-512
/// over the ASCII `base64url(header) "." base64url(payload)`, signature the fixed-size `r ‖ s`
/// (132 bytes), all base64url without padding.
fn es512_jws(
    key: &p521::ecdsa::SigningKey,
    certificate_id: &str,
    claims: &AssertionClaims<'_>,
) -> Result<String> {
    let header = JwsHeader {
        typ: "JWT",
        alg: JwsAlgorithm::ES512.as_str(),
        kid: certificate_id,
    };
    let mut jws = format!("{}.{}", b64_json(&header)?, b64_json(claims)?);
    let signature: p521::ecdsa::Signature = key
        .try_sign(jws.as_bytes())
        .map_err(|_| key_error("signing the assertion failed (ES512)"))?;
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    Ok(jws)
}

fn b64_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|_| key_error("encoding the assertion failed"))
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

#[cfg(test)]
mod tests {
    use p521::ecdsa::signature::Verifier as _;
    use p521::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, LineEnding};
    use x509_cert::der::{DecodePem as _, Encode as _};

    use super::*;

    const P521_KEY: &str = include_str!("../../tests/fixtures/netsuite/ec-p521-key.pem");
    const P521_CERT: &str = include_str!("../../tests/fixtures/netsuite/ec-p521-cert.pem");

    /// The verifier comes from the certificate, not from the signing key.
    fn cert_verifier() -> p521::ecdsa::VerifyingKey {
        let cert = x509_cert::Certificate::from_pem(P521_CERT.as_bytes()).unwrap();
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let public = p521::PublicKey::from_public_key_der(&spki).unwrap();
        p521::ecdsa::VerifyingKey::from_affine(*public.as_affine()).unwrap()
    }

    fn sign(pem: &str) -> String {
        let key = SigningKey::from_pem(&SecretString::from(pem.to_owned())).unwrap();
        assert_eq!(key.algorithm(), JwsAlgorithm::ES512);
        let now = UNIX_EPOCH + Duration::from_secs(1_768_500_000);
        key.assertion("client-1", "cert-521", "https://sim/token", now)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    fn check_es512(jwt: &str) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"typ": "JWT", "alg": "ES512", "kid": "cert-521"})
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iss": "client-1", "scope": SCOPE, "aud": "https://sim/token",
                "iat": 1_768_500_000u64, "exp": 1_768_500_600u64})
        );
        let raw = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(raw.len(), 132, "ES512 signature is r ‖ s, 66 bytes each");
        let signature = p521::ecdsa::Signature::from_slice(&raw).unwrap();
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let verifier = cert_verifier();
        verifier
            .verify(signing_input.as_bytes(), &signature)
            .expect("the certificate's key verifies the assertion");
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(verifier.verify(tampered.as_bytes(), &signature).is_err());
    }

    #[test]
    fn es512_assertion_is_a_verifiable_132_byte_signature() {
        check_es512(&sign(P521_KEY));
    }

    #[test]
    fn sec1_p521_key_signs_es512_too() {
        let sec1 = p521::SecretKey::from_pkcs8_pem(P521_KEY)
            .unwrap()
            .to_sec1_pem(LineEnding::LF)
            .unwrap();
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        check_es512(&sign(&sec1));
    }

    #[test]
    fn p521_key_debug_is_redacted() {
        let key = SigningKey::from_pem(&SecretString::from(P521_KEY.to_owned())).unwrap();
        let text = format!("{key:?}");
        assert!(
            text.contains("EC P-521") && text.contains("ES512"),
            "{text}"
        );
        let key_line = P521_KEY.lines().nth(1).unwrap();
        assert!(!text.contains(key_line), "{text}");
    }
}
