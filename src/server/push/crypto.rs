//! The two pieces of cryptography Web Push asks of a server, with `ring`
//! (already wachat's, through rustls): the message encrypted for one
//! subscription (RFC 8291, content coding `aes128gcm` of RFC 8188), and
//! the token that says which server sends it (VAPID, RFC 8292).
//!
//! Encryption: a fresh P-256 key pair and a fresh 16-byte salt for every
//! push; ECDH with the browser's key (`p256dh`), HKDF-SHA256 mixing in the
//! browser's secret (`auth`), then one AES-128-GCM record. The push service
//! in between sees the record's size and nothing else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use ring::{digest, hmac};

/// The record size written in the header: one record holds the whole
/// message, and push services take bodies of up to 4,096 bytes.
pub const RECORD_SIZE: u32 = 4096;

/// The header: salt (16), record size (4), key id length (1), the
/// sender's public key (65).
pub const HEADER_LEN: usize = 16 + 4 + 1 + 65;

/// What AES-GCM adds (its tag) and the padding delimiter (`0x02`).
const OVERHEAD: usize = 16 + 1;

/// The longest plaintext whose body stays within [`RECORD_SIZE`] bytes,
/// header included: what every push service accepts (RFC 8030 §7.2 asks
/// for at least 4,096).
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - HEADER_LEN - OVERHEAD;

/// A subscription's keys, as the browser gave them (`PushSubscription.getKey`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UaKeys {
    /// The browser's P-256 public key, uncompressed (65 bytes, `0x04` first).
    pub p256dh: [u8; 65],
    /// The shared authentication secret.
    pub auth: [u8; 16],
}

impl UaKeys {
    /// The two keys in base64url (padding allowed, as some browsers send
    /// it), checked: `p256dh` must be a point of P-256, `auth` 16 bytes.
    pub fn parse(p256dh: &str, auth: &str) -> Result<UaKeys, String> {
        let p256dh: [u8; 65] = decode(p256dh)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("p256dh must be 65 bytes of base64url (an uncompressed P-256 key)")?;
        let auth: [u8; 16] =
            decode(auth).ok().and_then(|b| b.try_into().ok()).ok_or("auth must be 16 bytes of base64url")?;
        // ring checks the point when it agrees on a secret: an agreement
        // with a throwaway key says whether it lies on the curve.
        let rng = SystemRandom::new();
        let mine = EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| "no random numbers")?;
        agree_ephemeral(mine, &UnparsedPublicKey::new(&ECDH_P256, &p256dh[..]), |_| ())
            .map_err(|_| "p256dh is not a point of P-256")?;
        Ok(UaKeys { p256dh, auth })
    }

    pub fn p256dh_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.p256dh)
    }

    pub fn auth_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
}

/// base64url, with or without its `=` padding.
pub fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
}

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `plaintext` encrypted for `to` (RFC 8291): the body of the push
/// request. The plaintext is cut to [`MAX_PLAINTEXT`] by its caller.
pub fn encrypt(to: &UaKeys, plaintext: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
    let rng = SystemRandom::new();
    let mine = EphemeralPrivateKey::generate(&ECDH_P256, &rng)?;
    let as_public = mine.compute_public_key()?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)?;
    let secret = agree_ephemeral(mine, &UnparsedPublicKey::new(&ECDH_P256, &to.p256dh[..]), |s| s.to_vec())?;
    seal(&secret, as_public.as_ref(), to, &salt, plaintext)
}

/// The key schedule and the record of RFC 8291 §3.4 and §4, given the
/// ECDH secret: everything but the key agreement, so that a test can
/// hold it to the RFC's example, whose sender key is fixed.
pub fn seal(
    ecdh_secret: &[u8],
    as_public: &[u8],
    to: &UaKeys,
    salt: &[u8; 16],
    plaintext: &[u8],
) -> Result<Vec<u8>, ring::error::Unspecified> {
    if plaintext.len() > MAX_PLAINTEXT || as_public.len() != 65 {
        return Err(ring::error::Unspecified);
    }
    let mut key_info = Vec::with_capacity(14 + 130);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(&to.p256dh);
    key_info.extend_from_slice(as_public);
    let ikm: [u8; 32] = expand(&Salt::new(HKDF_SHA256, &to.auth).extract(ecdh_secret), &key_info)?;
    let prk = Salt::new(HKDF_SHA256, salt).extract(&ikm);
    let cek: [u8; 16] = expand(&prk, b"Content-Encoding: aes128gcm\0")?;
    let nonce: [u8; 12] = expand(&prk, b"Content-Encoding: nonce\0")?;

    let mut body = Vec::with_capacity(HEADER_LEN + plaintext.len() + OVERHEAD);
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public);
    let mut record = Vec::with_capacity(plaintext.len() + OVERHEAD);
    record.extend_from_slice(plaintext);
    record.push(2); // the last (and only) record, no padding
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek)?);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut record)?;
    body.extend_from_slice(&record);
    Ok(body)
}

/// HKDF-Expand of `N` bytes.
fn expand<const N: usize>(prk: &ring::hkdf::Prk, info: &[u8]) -> Result<[u8; N], ring::error::Unspecified> {
    struct Len(usize);
    impl KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let mut out = [0u8; N];
    prk.expand(&[info], Len(N))?.fill(&mut out)?;
    Ok(out)
}

/// The server's VAPID key (RFC 8292): an ECDSA P-256 key pair, kept as
/// PKCS#8 in the data directory (`push::keys`).
pub struct Vapid {
    pair: EcdsaKeyPair,
    /// The key of the pushes' `Topic`s ([`Vapid::topic`]): a hash of the
    /// private key and a label of its own, so a secret that lives (and is
    /// backed up, and restored) with the key, and tells nothing of it.
    topic_key: hmac::Key,
}

/// How long a VAPID token is good for: RFC 8292 §2 allows up to 24 hours;
/// one made per push, so 12 is plenty and leaves room for a skewed clock.
pub const TOKEN_SECS: u64 = 12 * 3600;

impl Vapid {
    /// A new key pair, as PKCS#8 bytes.
    pub fn generate() -> Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        Ok(EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)?.as_ref().to_vec())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Vapid, String> {
        let rng = SystemRandom::new();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map(|pair| {
                let mut label = b"wachat push Topic key\0".to_vec();
                label.extend_from_slice(pkcs8);
                let topic_key =
                    hmac::Key::new(hmac::HMAC_SHA256, digest::digest(&digest::SHA256, &label).as_ref());
                Vapid { pair, topic_key }
            })
            .map_err(|e| format!("not a P-256 key in PKCS#8: {e}"))
    }

    /// The public key, uncompressed (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The public key in base64url: `PUSHKEY`'s answer, the
    /// `applicationServerKey` a browser subscribes with.
    pub fn public_b64(&self) -> String {
        encode(self.public_key())
    }

    /// A signed JWT (ES256) for the push service at `audience` (the
    /// endpoint's origin, `https://host[:port]`), expiring at `exp` (Unix
    /// seconds).
    pub fn token(&self, audience: &str, exp: u64) -> Result<String, ring::error::Unspecified> {
        let header = encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        // The audience is an origin that `endpoint::Endpoint` checked: no
        // quote nor backslash to escape.
        let claims = encode(format!(r#"{{"aud":"{audience}","exp":{exp},"sub":"{SUBJECT}"}}"#).as_bytes());
        let input = format!("{header}.{claims}");
        let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes())?;
        Ok(format!("{input}.{}", encode(signature.as_ref())))
    }

    /// The `Topic` of `user`'s notifications of `chat` (RFC 8030 §5.4: at
    /// most 32 base64url characters, so 24 bytes): an HMAC of the two
    /// names (folded) under this server's secret, so that a push service
    /// that knows a class's names cannot hash them and learn who writes
    /// to whom; the same for a chat at every push, so that the service
    /// keeps only its latest.
    pub fn topic(&self, user: &str, chat: &str) -> String {
        let names = format!("{}\n{}", crate::protocol::names::fold(user), crate::protocol::names::fold(chat));
        encode(&hmac::sign(&self.topic_key, names.as_bytes()).as_ref()[..24])
    }

    /// The `Authorization` header's value (RFC 8292 §3).
    pub fn authorization(&self, audience: &str, now_s: u64) -> Result<String, ring::error::Unspecified> {
        Ok(format!("vapid t={}, k={}", self.token(audience, now_s + TOKEN_SECS)?, self.public_b64()))
    }
}

/// The `sub` claim: who a push service may write to about this server's
/// pushes. RFC 8292 §2.1 makes it optional; Apple's service requires one.
pub const SUBJECT: &str = "mailto:wachat@invalid";

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey as Verifying};

    // RFC 8291 §5 and Appendix A.
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const ECDH_SECRET: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    #[test]
    fn the_encryption_is_rfc_8291s_example_byte_for_byte() {
        let ua = UaKeys::parse(UA_PUBLIC, AUTH).unwrap();
        let salt: [u8; 16] = decode(SALT).unwrap().try_into().unwrap();
        let body = seal(
            &decode(ECDH_SECRET).unwrap(),
            &decode(AS_PUBLIC).unwrap(),
            &ua,
            &salt,
            PLAINTEXT.as_bytes(),
        )
        .unwrap();
        assert_eq!(encode(&body), BODY);
    }

    #[test]
    fn a_push_is_at_most_one_record_of_4096_bytes() {
        let ua = UaKeys::parse(UA_PUBLIC, AUTH).unwrap();
        let body = encrypt(&ua, &[b'x'; MAX_PLAINTEXT]).unwrap();
        assert_eq!(body.len(), RECORD_SIZE as usize);
        assert_eq!(&body[16..21], &[0, 0, 16, 0, 65]);
        assert!(encrypt(&ua, &[b'x'; MAX_PLAINTEXT + 1]).is_err());
    }

    #[test]
    fn subscription_keys_are_checked() {
        assert!(UaKeys::parse(UA_PUBLIC, AUTH).is_ok());
        assert!(UaKeys::parse(&format!("{UA_PUBLIC}="), &format!("{AUTH}==")).is_ok());
        // Not on the curve: the last byte of y changed.
        let mut off = decode(UA_PUBLIC).unwrap();
        off[64] ^= 1;
        assert!(UaKeys::parse(&encode(&off), AUTH).unwrap_err().contains("not a point"));
        assert!(UaKeys::parse(&UA_PUBLIC[..60], AUTH).is_err());
        assert!(UaKeys::parse(UA_PUBLIC, "AAAA").is_err());
        assert!(UaKeys::parse(UA_PUBLIC, "not base64!").is_err());
    }

    #[test]
    fn the_vapid_token_verifies_with_es256_against_the_public_key() {
        let vapid = Vapid::from_pkcs8(&Vapid::generate().unwrap()).unwrap();
        let header = vapid.authorization("https://push.example.net", 1_000).unwrap();
        let (t, k) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, vapid.public_b64());
        assert_eq!(decode(k).unwrap().len(), 65);
        let (input, signature) = t.rsplit_once('.').unwrap();
        let key = Verifying::new(&ECDSA_P256_SHA256_FIXED, decode(k).unwrap());
        key.verify(input.as_bytes(), &decode(signature).unwrap()).unwrap();
        let mut forged = input.to_string();
        forged.push('x');
        assert!(key.verify(forged.as_bytes(), &decode(signature).unwrap()).is_err());
        let claims = String::from_utf8(decode(input.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(
            claims,
            format!(r#"{{"aud":"https://push.example.net","exp":{},"sub":"{SUBJECT}"}}"#, 1_000 + TOKEN_SECS)
        );
    }
}
