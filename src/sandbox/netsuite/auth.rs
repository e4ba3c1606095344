//! The simulator's token endpoint checks (reference §1.3–1.6): the assertion is verified as
//! NetSuite does, refusals get RFC 6749 bodies, and the real reason goes only to the simulated
//! Login Audit Trail, as in NetSuite.

use std::collections::HashMap;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p521::ecdsa::signature::Verifier as _;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::Value as Json;
use x509_cert::der::{DecodePem, Encode};

/// A public key NetSuite would hold for a mapped certificate.
#[derive(Clone)]
pub(crate) enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
}

#[derive(Clone)]
pub(crate) struct Certificate {
    key: PublicKey,
    /// Validity window (epoch seconds); `None` for a raw public key registered by `sandbox`.
    not_before: Option<i64>,
    not_after: Option<i64>,
    revoked: bool,
}

fn key_from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
        let bits = k.size() * 8;
        if bits < 3072 {
            return Err(format!(
                "RSA {bits}-bit certificates are not accepted: use RSA 3072 or 4096, or EC P-256/384/521"
            ));
        }
        return Ok(PublicKey::Rsa(k));
    }
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        return Ok(PublicKey::P256(k));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
        return Ok(PublicKey::P384(k));
    }
    if let Ok(k) = p521::PublicKey::from_public_key_der(der) {
        return Ok(PublicKey::P521(k));
    }
    Err("the simulator verifies RSA (3072/4096) and EC P-256/P-384/P-521 keys only".into())
}

impl Certificate {
    /// From an X.509 PEM certificate, as uploaded on the M2M setup page.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("not an X.509 PEM certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| format!("bad public key: {e}"))?;
        let v = &tbs.validity;
        Ok(Self {
            key: key_from_spki_der(&spki)?,
            not_before: Some(v.not_before.to_unix_duration().as_secs() as i64),
            not_after: Some(v.not_after.to_unix_duration().as_secs() as i64),
            revoked: false,
        })
    }

    /// From a `BEGIN PUBLIC KEY` PEM (used by `sandbox`, which makes its key pair in-process).
    pub fn from_public_key_pem(pem: &str) -> Result<Self, String> {
        let (_, der) = rsa::pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| format!("not a PEM public key: {e}"))?;
        Ok(Self {
            key: key_from_spki_der(&der)?,
            not_before: None,
            not_after: None,
            revoked: false,
        })
    }
}

/// An accepted assertion algorithm (NetSuite: PS256/384/512 and ES256/384/512, never RS256).
#[derive(Clone, Copy, Debug)]
enum AssertionAlg {
    /// Verified by jsonwebtoken.
    Jwt(Algorithm),
    /// Verified here with `p521`: jsonwebtoken has no ES512.
    Es512,
}

impl AssertionAlg {
    fn parse(alg: &str) -> Option<Self> {
        match alg {
            "ES512" => Some(Self::Es512),
            _ => match Algorithm::from_str(alg).ok()? {
                a @ (Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384) => Some(Self::Jwt(a)),
                _ => None,
            },
        }
    }
}

/// The JOSE header fields the endpoint reads. Parsed here rather than by
/// `jsonwebtoken::decode_header`, whose `Algorithm` cannot represent ES512.
#[derive(serde::Deserialize)]
struct AssertionHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

fn malformed(why: impl std::fmt::Display) -> Refusal {
    refuse(
        400,
        "invalid_request",
        "InvalidRequest",
        format!("malformed assertion: {why}"),
    )
}

fn bad_signature(why: impl std::fmt::Display) -> Refusal {
    refuse(
        400,
        "invalid_grant",
        "InvalidSignature",
        format!("signature check failed: {why}"),
    )
}

fn decode_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| format!("not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
}

/// Checks a JWS with jsonwebtoken (every accepted algorithm but ES512) and returns its claims.
fn verify_jwt(jwt: &str, key: &DecodingKey, alg: Algorithm) -> Result<Json, Refusal> {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Json>(jwt, key, &validation)
        .map(|data| data.claims)
        .map_err(bad_signature)
}

/// Checks an ES512 compact JWS (RFC 7518 §3.4: ECDSA P-521 with SHA-512 over the ASCII
/// `header.payload`, signature the raw 132-byte `r ‖ s`) and returns its claims.
fn verify_es512(jwt: &str, key: &p521::PublicKey) -> Result<Json, Refusal> {
    let Some((signing_input, signature)) = jwt.rsplit_once('.') else {
        return Err(malformed("not three dot-separated parts"));
    };
    let raw = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| bad_signature("the signature is not base64url"))?;
    if raw.len() != 132 {
        return Err(bad_signature(format!(
            "an ES512 signature is 132 bytes (r ‖ s), this one has {}",
            raw.len()
        )));
    }
    let signature = p521::ecdsa::Signature::from_slice(&raw)
        .map_err(|_| bad_signature("r or s is out of range"))?;
    let verifier = p521::ecdsa::VerifyingKey::from_affine(*key.as_affine())
        .map_err(|_| refuse(500, "server_error", "TokenRejected", "key encoding"))?;
    verifier
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| bad_signature("InvalidSignature"))?;
    let payload = signing_input
        .split_once('.')
        .map(|(_, payload)| payload)
        .unwrap_or_default();
    decode_segment(payload).map_err(|e| malformed(format!("payload {e}")))
}

/// One line of the simulated Login Audit Trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAuditEntry {
    pub status: String,
    /// `InvalidSignature`, `TokenRejected`, `UnknownIntegration`, … or `Success`.
    pub detail: String,
    /// The simulator's explanation (NetSuite gives none; this helps a failing test).
    pub note: String,
}

/// A refusal: RFC 6749 `error` and HTTP status; the detail goes to the audit trail.
pub(crate) struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub audit: &'static str,
    pub note: String,
}

fn refuse(
    status: u16,
    error: &'static str,
    audit: &'static str,
    note: impl Into<String>,
) -> Refusal {
    Refusal {
        status,
        error,
        audit,
        note: note.into(),
    }
}

#[derive(Default)]
pub(crate) struct AuthState {
    pub certificates: HashMap<String, Certificate>,
    /// Opaque bearer token → expiry (simulated clock, epoch seconds).
    pub tokens: HashMap<String, i64>,
    pub audit: Vec<LoginAuditEntry>,
}

impl AuthState {
    pub fn revoke(&mut self, kid: &str) -> bool {
        match self.certificates.get_mut(kid) {
            Some(c) => {
                c.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Checks a token request's form fields and assertion. `wall_now` is the wall clock (the
    /// client signs with its NTP clock), used for the assertion and certificate validity.
    pub fn check_token_request(
        &self,
        form: &HashMap<String, String>,
        client_id: &str,
        token_url: &str,
        wall_now: i64,
    ) -> Result<(), Refusal> {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err(refuse(
                400,
                "invalid_request",
                "InvalidRequest",
                "grant_type must be client_credentials",
            ));
        }
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(refuse(
                400,
                "invalid_request",
                "InvalidRequest",
                "wrong client_assertion_type",
            ));
        }
        if form.contains_key("client_secret") || form.contains_key("client_id") {
            return Err(refuse(
                400,
                "invalid_request",
                "InvalidRequest",
                "more than one client authentication method",
            ));
        }
        let Some(jwt) = form.get("client_assertion") else {
            return Err(refuse(
                400,
                "invalid_request",
                "InvalidRequest",
                "client_assertion missing",
            ));
        };
        let segments: Vec<&str> = jwt.split('.').collect();
        if segments.len() != 3 {
            return Err(malformed("a JWS has three dot-separated parts"));
        }
        let header: AssertionHeader =
            decode_segment(segments[0]).map_err(|e| malformed(format!("header {e}")))?;
        if header.typ.as_deref() != Some("JWT") {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "header typ must be JWT",
            ));
        }
        let Some(alg) = AssertionAlg::parse(&header.alg) else {
            return Err(refuse(
                400,
                "invalid_grant",
                "InvalidSignature",
                format!(
                    "algorithm {:?} is not accepted (PS256/384/512, ES256/384/512 only)",
                    header.alg
                ),
            ));
        };
        let Some(kid) = header.kid.as_deref() else {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "header kid missing",
            ));
        };
        let Some(cert) = self.certificates.get(kid) else {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                format!("no certificate mapped with id {kid:?}"),
            ));
        };
        if cert.revoked {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "certificate revoked",
            ));
        }
        if cert.not_after.is_some_and(|t| wall_now > t)
            || cert.not_before.is_some_and(|t| wall_now < t)
        {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "certificate expired or not yet valid",
            ));
        }
        let claims: Json = match (&cert.key, alg) {
            (PublicKey::P521(k), AssertionAlg::Es512) => verify_es512(jwt, k)?,
            (
                PublicKey::Rsa(k),
                AssertionAlg::Jwt(a @ (Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)),
            ) => {
                let der = k
                    .to_pkcs1_der()
                    .map_err(|_| refuse(500, "server_error", "TokenRejected", "key encoding"))?;
                verify_jwt(jwt, &DecodingKey::from_rsa_der(der.as_bytes()), a)?
            }
            (PublicKey::P256(k), AssertionAlg::Jwt(a @ Algorithm::ES256)) => verify_jwt(
                jwt,
                &DecodingKey::from_ec_der(k.to_sec1_bytes().as_ref()),
                a,
            )?,
            (PublicKey::P384(k), AssertionAlg::Jwt(a @ Algorithm::ES384)) => verify_jwt(
                jwt,
                &DecodingKey::from_ec_der(k.to_sec1_bytes().as_ref()),
                a,
            )?,
            _ => {
                return Err(refuse(
                    400,
                    "invalid_grant",
                    "InvalidSignature",
                    format!("{} does not match the certificate's key type", header.alg),
                ));
            }
        };
        if claims.get("iss").and_then(Json::as_str) != Some(client_id) {
            return Err(refuse(
                401,
                "invalid_client",
                "UnknownIntegration",
                "iss is not a known client ID",
            ));
        }
        if claims.get("aud").and_then(Json::as_str) != Some(token_url) {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                format!("aud must be exactly {token_url}"),
            ));
        }
        let scopes: Vec<String> = match claims.get("scope") {
            Some(Json::String(s)) => s.split(',').map(|x| x.trim().to_owned()).collect(),
            Some(Json::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        };
        if !scopes.iter().any(|s| s == "rest_webservices") {
            return Err(refuse(
                400,
                "invalid_grant",
                "ScopeMismatched",
                "scope must include rest_webservices",
            ));
        }
        let (Some(iat), Some(exp)) = (
            claims.get("iat").and_then(Json::as_i64),
            claims.get("exp").and_then(Json::as_i64),
        ) else {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "iat and exp are required",
            ));
        };
        if exp - iat >= 3600 {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "exp must be less than 60 minutes after iat",
            ));
        }
        if exp <= wall_now {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "assertion expired",
            ));
        }
        if iat > wall_now + 60 {
            return Err(refuse(
                400,
                "invalid_grant",
                "TokenRejected",
                "iat is in the future (clock skew)",
            ));
        }
        Ok(())
    }
}
