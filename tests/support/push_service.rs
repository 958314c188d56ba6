//! A push service on loopback for the Web Push tests (RFC 8030's side of
//! a browser vendor): HTTPS with its own CA (made here with rcgen, handed
//! to `wachat serve --push-test-ca`), every request it receives recorded,
//! each answered as the test says (a status and `Retry-After`, or never).
//! And the browser's side ([`Browser`]): a subscription's keys made by
//! the test (P-256 with RustCrypto's p256, which can agree on many
//! secrets with one key), the decryption of RFC 8291, and the check of
//! the VAPID token (RFC 8292) against the server's `PUSHKEY`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};

/// How the service answers a request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// This status, with `Retry-After: <seconds>` if given.
    Status(u16, Option<u64>),
    /// Nothing, ever: the connection is held open until the test ends.
    Never,
    /// This status, after this long (a push service slow to answer).
    Late(Duration, u16),
    /// One byte of an answer every this long, for ever (a hostile push
    /// service, after the TLS handshake and the request).
    Drip(Duration),
}

/// One request the service received.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

type Policy = Box<dyn Fn(usize, &str) -> Answer + Send>;

/// The running service.
pub struct PushService {
    pub addr: SocketAddr,
    /// The CA's certificate (PEM), for `--push-test-ca`.
    pub ca: PathBuf,
    received: Arc<Mutex<Vec<Received>>>,
    policy: Arc<Mutex<Policy>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl PushService {
    /// A service answering `201 Created` to everything.
    pub fn start() -> PushService {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "test push CA");
        ca_params.key_usages =
            vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let ca = dir.path().join("push-ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();

        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let policy: Arc<Mutex<Policy>> = Arc::new(Mutex::new(Box::new(|_, _| Answer::Status(201, None))));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (received, policy, stop) = (received.clone(), policy.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (config, received, policy, stop) =
                        (config.clone(), received.clone(), policy.clone(), stop.clone());
                    std::thread::spawn(move || serve(stream, config, &received, &policy, &stop));
                }
            });
        }
        PushService { addr, ca, received, policy, stop, _dir: dir }
    }

    /// `--push-test-ca <its CA>`.
    pub fn ca_arg(&self) -> String {
        self.ca.display().to_string()
    }

    /// An endpoint of this service, `https://127.0.0.1:<port>/push/<name>`.
    pub fn endpoint(&self, name: &str) -> String {
        self.endpoint_at("127.0.0.1", name)
    }

    /// An endpoint of this service under the host name `host` (one its
    /// certificate carries: `127.0.0.1` or `localhost`).
    pub fn endpoint_at(&self, host: &str, name: &str) -> String {
        format!("https://{host}:{}/push/{name}", self.addr.port())
    }

    /// From now on, the `n`th request (from 0) to `path` is answered `policy(n, path)`.
    pub fn answer(&self, policy: impl Fn(usize, &str) -> Answer + Send + 'static) {
        *self.policy.lock().unwrap() = Box::new(policy);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// What was received for `name`'s endpoint.
    pub fn received_for(&self, name: &str) -> Vec<Received> {
        let path = format!("/push/{name}");
        self.received().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits up to `within` until `n` requests came for `name`.
    pub fn wait_for(&self, name: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received_for(name);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One connection: the TLS handshake, one request, its answer.
fn serve(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    received: &Mutex<Vec<Received>>,
    policy: &Mutex<Policy>,
    stop: &AtomicBool,
) {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    while data.len() < head_end + length {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = data[head_end..head_end + length].to_vec();
    let answer = {
        let mut received = received.lock().unwrap();
        let n = received.iter().filter(|r| r.path == path).count();
        received.push(Received { at: Instant::now(), path: path.clone(), headers, body });
        (policy.lock().unwrap())(n, &path)
    };
    let mut reply = |status: u16, retry_after: Option<u64>| {
        let retry = retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default();
        let reply = format!("HTTP/1.1 {status} X\r\n{retry}Content-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = tls.write_all(reply.as_bytes());
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    };
    match answer {
        Answer::Status(status, retry_after) => reply(status, retry_after),
        Answer::Late(wait, status) => {
            std::thread::sleep(wait);
            reply(status, None);
        }
        Answer::Never => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Answer::Drip(every) => {
            for byte in b"HTTP/1.1 201 Created\r\n".iter().cycle() {
                if stop.load(Ordering::SeqCst) || tls.write_all(&[*byte]).and_then(|()| tls.flush()).is_err()
                {
                    return;
                }
                std::thread::sleep(every);
            }
        }
    }
}

/// One connection to a [`Dripper`].
#[derive(Clone, Copy, Debug)]
pub struct Dripped {
    /// The host it came to: its index in [`Dripper::start`]'s `hosts`.
    pub host: usize,
    pub at: Instant,
    /// When it ended (`None`: open).
    pub end: Option<Instant>,
}

/// Every connection that came, in the order they came.
pub type Seen = Arc<Mutex<Vec<Dripped>>>;

/// A hostile push service that needs no certificate: on each connection
/// it sends the first bytes of a TLS record (a handshake's), one every
/// `every`, for ever, at each of its addresses (127.0.0.x: a host each).
/// It notes when each connection came and when it ended.
pub struct Dripper {
    ports: Vec<(std::net::IpAddr, u16)>,
    pub seen: Seen,
    stop: Arc<AtomicBool>,
}

impl Dripper {
    /// A dripper listening at each of `hosts`.
    pub fn start(hosts: &[&str], every: Duration) -> Dripper {
        let seen: Seen = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut ports = Vec::new();
        for (host, name) in hosts.iter().enumerate() {
            let listener = TcpListener::bind((*name, 0)).unwrap();
            let addr = listener.local_addr().unwrap();
            ports.push((addr.ip(), addr.port()));
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let (seen, stop) = (seen.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let i = {
                            let mut seen = seen.lock().unwrap();
                            seen.push(Dripped { host, at: Instant::now(), end: None });
                            seen.len() - 1
                        };
                        // A ServerHello's record header, then its body, a byte at a time.
                        let record = [0x16u8, 0x03, 0x03, 0x40, 0x00, 0x02];
                        for byte in record.iter().chain(std::iter::repeat(&0u8)) {
                            if stop.load(Ordering::SeqCst) || stream.write_all(&[*byte]).is_err() {
                                break;
                            }
                            // The client's end is seen as soon as it comes
                            // (a read of its end, within the wait).
                            stream.set_read_timeout(Some(every)).unwrap();
                            let mut buf = [0u8; 4096];
                            let ended = loop {
                                match stream.read(&mut buf) {
                                    Ok(0) => break true,
                                    Ok(_) => continue, // its ClientHello
                                    Err(e)
                                        if e.kind() == std::io::ErrorKind::WouldBlock
                                            || e.kind() == std::io::ErrorKind::TimedOut =>
                                    {
                                        break false;
                                    }
                                    Err(_) => break true,
                                }
                            };
                            if ended {
                                break;
                            }
                        }
                        seen.lock().unwrap()[i].end = Some(Instant::now());
                    });
                }
            });
        }
        Dripper { ports, seen, stop }
    }

    /// The endpoint `name` at its `i`th address.
    pub fn endpoint(&self, i: usize, name: &str) -> String {
        let (ip, port) = self.ports[i];
        format!("https://{ip}:{port}/push/{name}")
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.seen.lock().unwrap().iter().filter(|d| d.end.is_none()).count()
    }

    /// When the first connection came, if one did.
    pub fn first(&self) -> Option<Instant> {
        self.seen.lock().unwrap().first().map(|d| d.at)
    }
}

impl Drop for Dripper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for (ip, port) in &self.ports {
            let _ = TcpStream::connect((*ip, *port));
        }
    }
}

/// The browser's side of a subscription.
pub struct Browser {
    secret: p256::SecretKey,
    public: Vec<u8>,
    auth: [u8; 16],
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let public = secret.public_key().to_encoded_point(false).as_bytes().to_vec();
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Browser { secret, public, auth }
    }

    /// The two keys in base64url: what `PushSubscription.getKey` gives.
    pub fn keys_b64(&self) -> (String, String) {
        (URL_SAFE_NO_PAD.encode(&self.public), URL_SAFE_NO_PAD.encode(self.auth))
    }

    /// `PUSH:<p256dh>:<auth>:<endpoint>`.
    pub fn push_line(&self, endpoint: &str) -> String {
        format!(
            "PUSH:{}:{}:{endpoint}",
            URL_SAFE_NO_PAD.encode(&self.public),
            URL_SAFE_NO_PAD.encode(self.auth)
        )
    }

    /// The plaintext of a push's body (RFC 8291), or why not.
    pub fn decrypt(&self, body: &[u8]) -> Result<String, String> {
        if body.len() < 86 + 17 || body[20] != 65 {
            return Err(format!("not an aes128gcm body of one key id ({} bytes)", body.len()));
        }
        let (salt, as_public, record) = (&body[..16], &body[21..86], &body[86..]);
        let sender = p256::PublicKey::from_sec1_bytes(as_public).map_err(|e| format!("sender key: {e}"))?;
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&self.public);
        info.extend_from_slice(as_public);
        let ikm: [u8; 32] =
            expand(&Salt::new(HKDF_SHA256, &self.auth).extract(shared.raw_secret_bytes().as_slice()), &info);
        let prk = Salt::new(HKDF_SHA256, salt).extract(&ikm);
        let cek: [u8; 16] = expand(&prk, b"Content-Encoding: aes128gcm\0");
        let nonce: [u8; 12] = expand(&prk, b"Content-Encoding: nonce\0");
        let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).unwrap());
        let mut record = record.to_vec();
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut record)
            .map_err(|_| "the record does not decrypt".to_string())?;
        let end = plain.iter().rposition(|&b| b != 0).ok_or("no delimiter")?;
        if plain[end] != 2 {
            return Err("not the last record's delimiter".into());
        }
        String::from_utf8(plain[..end].to_vec()).map_err(|e| e.to_string())
    }
}

fn expand<const N: usize>(prk: &ring::hkdf::Prk, info: &[u8]) -> [u8; N] {
    struct Len(usize);
    impl KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let mut out = [0u8; N];
    prk.expand(&[info], Len(N)).unwrap().fill(&mut out).unwrap();
    out
}

/// Checks a push's `Authorization: vapid t=…, k=…` (RFC 8292): `k` is
/// `server_key` (the server's `PUSHKEY`), the token is an ES256 JWT
/// signed by it, for the audience `origin`, not expired and good for
/// 24 hours at most. Returns the claims.
pub fn check_vapid(received: &Received, server_key: &str, origin: &str) -> String {
    let auth = received.headers.get("authorization").expect("an Authorization header");
    let (t, k) = auth.strip_prefix("vapid t=").and_then(|r| r.split_once(", k=")).expect("vapid t=…, k=…");
    assert_eq!(k, server_key, "the token's key is the server's PUSHKEY");
    let (input, signature) = t.rsplit_once('.').unwrap();
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        URL_SAFE_NO_PAD.decode(k).unwrap(),
    );
    key.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).unwrap()).expect("an ES256 signature");
    let (header, claims) = input.split_once('.').unwrap();
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert!(header.contains(r#""alg":"ES256""#), "{header}");
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert!(claims.contains(&format!(r#""aud":"{origin}""#)), "{claims}");
    let exp: u64 =
        claims.split(r#""exp":"#).nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");
    claims
}
