//! The agent: answers REQUEST_IDENTITIES and SIGN_REQUEST with the keys it
//! holds, on a Unix socket, a thread per connection. Only the user the
//! agent runs as may connect (SO_PEERCRED); anything the protocol defines
//! but kps does not serve is answered with FAILURE and the connection kept;
//! a malformed message closes its own connection and nothing else.
//!
//! With an [`Approve`] (`kps agent --confirm`) each signature is approved
//! first, one approval at a time; the question names the key and, where ssh
//! bound the connection to a session (`session-bind@openssh.com`, its
//! signature checked), the server's host key.

use super::proto::{self, Identity, ProtoError, Request, Response, SessionBind, SignRequest};
use ssh_key::encoding::Encode;
use ssh_key::private::KeypairData;
use ssh_key::{Algorithm, HashAlg, PrivateKey, Signature};
use std::fmt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// More connections at once than this are closed as they come: a runaway
/// client of the same user must not make the agent spawn threads unbounded.
const MAX_CONNECTIONS: usize = 256;

/// A client that sends half a message and stalls holds its thread no
/// longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A private key the agent serves, under its keypair name (the comment
/// clients list). ssh-key zeroizes the key's secret parts when dropped.
pub struct HeldKey {
    name: String,
    blob: Vec<u8>,
    key: PrivateKey,
}

impl HeldKey {
    /// Only what the agent can sign with: Ed25519, ECDSA, RSA.
    pub fn new(name: String, key: PrivateKey) -> crate::Result<HeldKey> {
        if !servable(key.algorithm()) {
            return Err(unservable(&name, key.algorithm().as_str()));
        }
        let blob = key.public_key().key_data().encode_vec().map_err(|_| {
            crate::Error::bad_key(format!("keypair '{name}': cannot encode its public key"))
        })?;
        Ok(HeldKey { name, blob, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for HeldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Can the agent sign with keys of this algorithm (SSH name)?
pub fn servable_algorithm(name: &str) -> bool {
    Algorithm::new(name).is_ok_and(servable)
}

fn servable(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ed25519 | Algorithm::Ecdsa { .. } | Algorithm::Rsa { .. }
    )
}

/// The error for a keypair the agent cannot serve (DSA).
pub fn unservable(name: &str, algorithm: &str) -> crate::Error {
    crate::Error::bad_key_with_hint(
        format!("keypair '{name}' is {algorithm}: kps agent serves Ed25519, ECDSA and RSA keys"),
        "leave it out of the names given; OpenSSH no longer accepts DSA keys",
    )
}

/// Policy the agent applies to every signature.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Sign with SHA-1 (`ssh-rsa`) when an RSA signature is asked for with
    /// neither SHA-2 flag. Off: such requests get FAILURE.
    pub allow_sha1: bool,
}

/// Asks the user whether a signature may be made (`--confirm`): at a
/// terminal or through `SSH_ASKPASS`, which the command provides (the
/// library never talks to the user). `false` (no, no answer in time, or
/// the question could not be asked) refuses the signature.
pub trait Approve: Send + Sync {
    fn approve(&self, question: &Question) -> bool;
}

/// What a signature is asked for: the key, and the server ssh bound the
/// connection to, if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The keypair name.
    pub key: String,
    /// The key's SHA256 fingerprint (`SHA256:...`).
    pub fingerprint: String,
    /// The SHA256 fingerprint of the host key of the last session bound to
    /// the connection (the destination, when ssh forwards the agent).
    pub host: Option<String>,
    /// The connection was bound by a forwarded agent (`ssh -A`): the
    /// request comes from a host the user logged in to, not from ssh here.
    pub forwarded: bool,
}

impl Question {
    /// The question as lines of text, every piece that came from the store
    /// or the client escaped for a terminal (and for askpass's argv).
    pub fn lines(&self) -> Vec<String> {
        let esc = |s: &str| crate::text::escape(s).into_owned();
        let mut lines = vec![format!(
            "Allow use of key {} ({})?",
            esc(&self.key),
            esc(&self.fingerprint)
        )];
        match &self.host {
            Some(host) if self.forwarded => lines.push(format!(
                "Requested through a forwarded agent, for the host with key {}.",
                esc(host)
            )),
            Some(host) => lines.push(format!("Host key {}.", esc(host))),
            None => lines.push("The client did not name the host (no session-bind).".into()),
        }
        lines
    }
}

/// How many sessions one connection may bind (OpenSSH's
/// `AGENT_MAX_SESSION_IDS`): a chain of forwarded agents, not more.
const MAX_SESSION_BINDS: usize = 128;

/// A connection's own state: the sessions ssh bound it to, in order.
#[derive(Debug, Default)]
pub struct Connection {
    binds: Vec<Bound>,
}

#[derive(Debug)]
struct Bound {
    host_key: ssh_key::public::KeyData,
    session_id: Vec<u8>,
    forwarding: bool,
}

/// The keys and the policy; shared by every connection's thread.
pub struct Agent {
    keys: RwLock<Vec<HeldKey>>,
    options: Options,
    uid: rustix::process::Uid,
    connections: AtomicUsize,
    /// With `--confirm`; the mutex makes approvals one at a time.
    approver: Option<Mutex<Box<dyn Approve>>>,
}

impl Agent {
    pub fn new(keys: Vec<HeldKey>, options: Options) -> Arc<Agent> {
        Agent::build(keys, options, None)
    }

    /// An agent that asks `approver` before each signature.
    pub fn confirming(
        keys: Vec<HeldKey>,
        options: Options,
        approver: Box<dyn Approve>,
    ) -> Arc<Agent> {
        Agent::build(keys, options, Some(Mutex::new(approver)))
    }

    fn build(
        keys: Vec<HeldKey>,
        options: Options,
        approver: Option<Mutex<Box<dyn Approve>>>,
    ) -> Arc<Agent> {
        Arc::new(Agent {
            keys: RwLock::new(keys),
            options,
            uid: rustix::process::geteuid(),
            connections: AtomicUsize::new(0),
            approver,
        })
    }

    /// The names of the keys held now.
    pub fn names(&self) -> Vec<String> {
        self.read_keys().iter().map(|k| k.name.clone()).collect()
    }

    /// Drop every key (their secrets are zeroized): at the end of the
    /// lifetime and when the agent stops. The agent keeps answering, with
    /// no keys, as ssh-agent does after `-t`.
    pub fn forget_keys(&self) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.clear();
        keys.shrink_to_fit();
    }

    /// Accept connections until the listener fails.
    pub fn serve(self: &Arc<Self>, listener: &UnixListener) -> std::io::Result<()> {
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e),
            };
            // Refused here, in the accepting thread, before anything is
            // read: another user's connection costs no thread.
            if !self.peer_allowed(&stream) {
                continue;
            }
            if self.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                self.connections.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let agent = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("agent-client".into())
                .spawn(move || {
                    agent.converse(stream);
                    agent.connections.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                self.connections.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn peer_allowed(&self, stream: &UnixStream) -> bool {
        rustix::net::sockopt::socket_peercred(stream).is_ok_and(|cred| cred.uid == self.uid)
    }

    /// One client: messages in turn until it closes or sends something
    /// malformed (then the connection is dropped).
    fn converse(&self, mut stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        let mut connection = Connection::default();
        loop {
            let message = match proto::read_message(&mut stream) {
                Ok(Some(m)) => m,
                Ok(None) | Err(_) => return,
            };
            let Ok(reply) = self.answer_on(&mut connection, &message) else {
                return;
            };
            if proto::write_message(&mut stream, &reply).is_err() {
                return;
            }
        }
    }

    /// The framed reply to one message on a connection of its own, or why
    /// the connection must close.
    pub fn answer(&self, message: &[u8]) -> Result<Vec<u8>, ProtoError> {
        self.answer_on(&mut Connection::default(), message)
    }

    /// The framed reply to one message on `connection`, or why the
    /// connection must close.
    pub fn answer_on(
        &self,
        connection: &mut Connection,
        message: &[u8],
    ) -> Result<Vec<u8>, ProtoError> {
        let response = match proto::decode_request(message)? {
            Request::RequestIdentities => Response::Identities(
                self.read_keys()
                    .iter()
                    .map(|k| Identity {
                        key: k.key.public_key().key_data().clone(),
                        comment: k.name.clone(),
                    })
                    .collect(),
            ),
            Request::Sign(request) => match self.sign(connection, &request) {
                Some(signature) => Response::Signature(signature),
                None => Response::Failure,
            },
            Request::SessionBind(bind) => match connection.bind(bind) {
                true => Response::Success,
                false => Response::Failure,
            },
            Request::Unserved(_) => Response::Failure,
        };
        proto::encode_response(&response)
    }

    /// The signature, or `None` (FAILURE) for a key not held, a hash not
    /// allowed, an approval refused, or a signer that failed.
    fn sign(&self, connection: &Connection, request: &SignRequest) -> Option<Signature> {
        let rsa_hash = if request.flags & proto::RSA_SHA2_256 != 0 {
            // OpenSSH's agent looks at the SHA-256 flag first.
            Some(HashAlg::Sha256)
        } else if request.flags & proto::RSA_SHA2_512 != 0 {
            Some(HashAlg::Sha512)
        } else {
            None
        };
        let question = {
            let keys = self.read_keys();
            let held = keys.iter().find(|k| k.blob == request.key_blob)?;
            if matches!(held.key.key_data(), KeypairData::Rsa(_))
                && rsa_hash.is_none()
                && !self.options.allow_sha1
            {
                return None;
            }
            Question {
                key: held.name.clone(),
                fingerprint: held.key.fingerprint(HashAlg::Sha256).to_string(),
                host: connection
                    .binds
                    .last()
                    .map(|b| b.host_key.fingerprint(HashAlg::Sha256).to_string()),
                forwarded: connection.binds.iter().any(|b| b.forwarding),
            }
        };
        // Asked with the keys let go of: an expiry or a stop while nobody
        // answers must not wait for the answer.
        if let Some(approver) = &self.approver {
            let approver = approver.lock().unwrap_or_else(|e| e.into_inner());
            if !approver.approve(&question) {
                return None;
            }
        }
        self.sign_now(request, rsa_hash)
    }

    /// Sign with the held key (found again: it may have been forgotten
    /// while the user was asked).
    fn sign_now(&self, request: &SignRequest, rsa_hash: Option<HashAlg>) -> Option<Signature> {
        use signature::Signer;
        let keys = self.read_keys();
        let held = keys.iter().find(|k| k.blob == request.key_blob)?;
        match held.key.key_data() {
            KeypairData::Rsa(rsa) => {
                let hash = match rsa_hash {
                    Some(hash) => Some(hash),
                    None if self.options.allow_sha1 => None,
                    None => return None,
                };
                match hash {
                    Some(hash) => (rsa, Some(hash)).try_sign(&request.data).ok(),
                    None => sign_rsa_sha1(rsa, &request.data),
                }
            }
            KeypairData::Ed25519(_) | KeypairData::Ecdsa(_) => {
                held.key.try_sign(&request.data).ok()
            }
            _ => None,
        }
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, Vec<HeldKey>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Connection {
    /// Record a session-bind as OpenSSH's agent does: only with a signature
    /// of the session id by the host key that verifies; a connection bound
    /// for a login (not forwarding) is never bound again; the same session
    /// twice is fine, the same session id with another host key is not.
    fn bind(&mut self, bind: SessionBind) -> bool {
        use signature::Verifier;
        if bind
            .host_key
            .verify(&bind.session_id, &bind.signature)
            .is_err()
        {
            return false;
        }
        for bound in &self.binds {
            if !bound.forwarding {
                return false;
            }
            if bound.session_id == bind.session_id {
                return bound.host_key == bind.host_key;
            }
        }
        if self.binds.len() >= MAX_SESSION_BINDS {
            return false;
        }
        self.binds.push(Bound {
            host_key: bind.host_key,
            session_id: bind.session_id,
            forwarding: bind.forwarding,
        });
        true
    }
}

/// `ssh-rsa`: PKCS#1 v1.5 over SHA-1, for old servers, only with
/// `--allow-sha1` (ssh-key signs SHA-1 only with a feature kps leaves off,
/// so that nothing else in kps can make such a signature by accident).
fn sign_rsa_sha1(rsa: &ssh_key::private::RsaKeypair, data: &[u8]) -> Option<Signature> {
    use signature::{SignatureEncoding, Signer};
    let signer = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::try_from(rsa).ok()?;
    let raw = signer.try_sign(data).ok()?;
    Signature::new(Algorithm::Rsa { hash: None }, raw.to_vec()).ok()
}

/// accept() errors that say nothing about the listener itself; when out of
/// file descriptors or memory, wait a little for a client to finish.
fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
    ) {
        return true;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM.
    if matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12)) {
        std::thread::sleep(Duration::from_millis(50));
        return true;
    }
    false
}

/// Forget the agent's keys after `lifetime`, on a thread of its own.
pub fn expire_after(agent: &Arc<Agent>, lifetime: Duration) {
    let agent = Arc::clone(agent);
    std::thread::spawn(move || {
        std::thread::sleep(lifetime);
        agent.forget_keys();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use signature::Verifier;
    use ssh_key::PublicKey;

    fn key(algorithm: Algorithm) -> PrivateKey {
        let mut rng = getrandom::SysRng;
        PrivateKey::random(&mut rand_core::UnwrapErr(&mut rng), algorithm).unwrap()
    }

    fn agent_with(keys: Vec<(&str, PrivateKey)>, allow_sha1: bool) -> Arc<Agent> {
        let held = keys
            .into_iter()
            .map(|(n, k)| HeldKey::new(n.into(), k).unwrap())
            .collect();
        Agent::new(held, Options { allow_sha1 })
    }

    fn ask(agent: &Agent, framed: &[u8]) -> Response {
        let reply = agent.answer(&framed[4..]).unwrap();
        proto::decode_response(&reply[4..]).unwrap()
    }

    #[test]
    fn lists_and_signs_with_every_served_algorithm() {
        let keys = vec![
            ("ed", key(Algorithm::Ed25519)),
            (
                "p256",
                key(Algorithm::Ecdsa {
                    curve: ssh_key::EcdsaCurve::NistP256,
                }),
            ),
        ];
        let publics: Vec<PublicKey> = keys.iter().map(|(_, k)| k.public_key().clone()).collect();
        let agent = agent_with(keys, false);
        let Response::Identities(ids) = ask(&agent, &proto::request_identities()) else {
            panic!("no identities answer");
        };
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].comment, "ed");
        for public in &publics {
            let req = proto::sign_request(public.key_data(), b"data", 0).unwrap();
            let Response::Signature(sig) = ask(&agent, &req) else {
                panic!("no signature");
            };
            public.key_data().verify(b"data", &sig).unwrap();
        }
        // A key the agent does not hold: FAILURE, not a closed connection.
        let other = key(Algorithm::Ed25519);
        let req = proto::sign_request(other.public_key().key_data(), b"data", 0).unwrap();
        assert_eq!(ask(&agent, &req), Response::Failure);
        agent.forget_keys();
        assert_eq!(
            ask(&agent, &proto::request_identities()),
            Response::Identities(vec![])
        );
        let req = proto::sign_request(publics[0].key_data(), b"data", 0).unwrap();
        assert_eq!(ask(&agent, &req), Response::Failure);
    }

    #[test]
    fn rsa_hash_follows_the_flags_and_sha1_needs_allowing() {
        let rsa = key(Algorithm::Rsa { hash: None });
        let public = rsa.public_key().clone();
        let strict = agent_with(vec![("rsa", rsa.clone())], false);
        let lenient = agent_with(vec![("rsa", rsa)], true);
        for (flags, name) in [
            (proto::RSA_SHA2_256, "rsa-sha2-256"),
            (proto::RSA_SHA2_512, "rsa-sha2-512"),
            (proto::RSA_SHA2_256 | proto::RSA_SHA2_512, "rsa-sha2-256"),
        ] {
            let req = proto::sign_request(public.key_data(), b"data", flags).unwrap();
            let Response::Signature(sig) = ask(&strict, &req) else {
                panic!("no signature for {name}");
            };
            assert_eq!(sig.algorithm().as_str(), name);
            public.key_data().verify(b"data", &sig).unwrap();
        }
        let req = proto::sign_request(public.key_data(), b"data", 0).unwrap();
        assert_eq!(ask(&strict, &req), Response::Failure);
        let Response::Signature(sig) = ask(&lenient, &req) else {
            panic!("no SHA-1 signature with allow_sha1");
        };
        assert_eq!(sig.algorithm().as_str(), "ssh-rsa");
        // Checked independently of ssh-key's verifier: rsa's PKCS#1 v1.5 with SHA-1.
        let verifying = rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(
            rsa::PublicKey::try_from(public.key_data().rsa().unwrap()).unwrap(),
        );
        let raw = rsa::pkcs1v15::Signature::try_from(sig.as_bytes()).unwrap();
        verifying.verify(b"data", &raw).unwrap();
    }

    /// An approver that answers `yes` and records what it was asked.
    struct Recorder {
        yes: bool,
        asked: Arc<Mutex<Vec<Question>>>,
    }

    impl Approve for Recorder {
        fn approve(&self, question: &Question) -> bool {
            self.asked.lock().unwrap().push(question.clone());
            self.yes
        }
    }

    fn bind_message(host: &PrivateKey, sid: &[u8], signed: &[u8], forwarding: bool) -> Vec<u8> {
        use signature::Signer;
        let sig: Signature = host.try_sign(signed).unwrap();
        proto::session_bind(host.public_key().key_data(), sid, &sig, forwarding).unwrap()
    }

    fn ask_on(agent: &Agent, connection: &mut Connection, framed: &[u8]) -> Response {
        let reply = agent.answer_on(connection, &framed[4..]).unwrap();
        proto::decode_response(&reply[4..]).unwrap()
    }

    #[test]
    fn session_bind_is_verified_recorded_and_named_in_the_question() {
        let user = key(Algorithm::Ed25519);
        let public = user.public_key().clone();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let held = vec![HeldKey::new("web01".into(), user).unwrap()];
        let agent = Agent::confirming(
            held,
            Options::default(),
            Box::new(Recorder {
                yes: true,
                asked: Arc::clone(&asked),
            }),
        );
        let host = key(Algorithm::Ecdsa {
            curve: ssh_key::EcdsaCurve::NistP256,
        });
        let host_fp = host.fingerprint(HashAlg::Sha256).to_string();
        let sign = proto::sign_request(public.key_data(), b"data", 0).unwrap();

        // Unbound: the question has no host.
        let mut conn = Connection::default();
        assert!(matches!(
            ask_on(&agent, &mut conn, &sign),
            Response::Signature(_)
        ));
        // A signature over something else than the session id: FAILURE,
        // not recorded, and the connection still answers.
        let forged = bind_message(&host, b"session-1", b"session-2", false);
        assert_eq!(ask_on(&agent, &mut conn, &forged), Response::Failure);
        // Another key's signature over the right session id.
        let other = key(Algorithm::Ed25519);
        let sig = {
            use signature::Signer;
            let s: Signature = other.try_sign(b"session-1").unwrap();
            s
        };
        let wrong_key =
            proto::session_bind(host.public_key().key_data(), b"session-1", &sig, false).unwrap();
        assert_eq!(ask_on(&agent, &mut conn, &wrong_key), Response::Failure);
        assert!(conn.binds.is_empty());
        // A good one: SUCCESS, and the next question names the host key.
        let good = bind_message(&host, b"session-1", b"session-1", false);
        assert_eq!(ask_on(&agent, &mut conn, &good), Response::Success);
        assert!(matches!(
            ask_on(&agent, &mut conn, &sign),
            Response::Signature(_)
        ));
        // Bound for a login: never bound again, not even to the same session.
        assert_eq!(ask_on(&agent, &mut conn, &good), Response::Failure);
        let asked = asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 2);
        assert_eq!(asked[0].host, None);
        assert_eq!(asked[1].host.as_deref(), Some(host_fp.as_str()));
        assert_eq!(asked[1].key, "web01");
        assert_eq!(
            asked[1].fingerprint,
            public.fingerprint(HashAlg::Sha256).to_string()
        );
        assert!(!asked[1].forwarded);
        let lines = asked[1].lines();
        assert!(
            lines[0].contains("web01") && lines[1].contains(&host_fp),
            "{lines:?}"
        );

        // Forwarding binds chain; the question names the last host; the
        // same session id under another host key is refused.
        let hop2 = key(Algorithm::Ed25519);
        let mut conn = Connection::default();
        let first = bind_message(&host, b"s1", b"s1", true);
        assert_eq!(ask_on(&agent, &mut conn, &first), Response::Success);
        assert_eq!(ask_on(&agent, &mut conn, &first), Response::Success);
        let clash = bind_message(&hop2, b"s1", b"s1", true);
        assert_eq!(ask_on(&agent, &mut conn, &clash), Response::Failure);
        let second = bind_message(&hop2, b"s2", b"s2", false);
        assert_eq!(ask_on(&agent, &mut conn, &second), Response::Success);
        assert_eq!(conn.binds.len(), 2);
    }

    #[test]
    fn a_refused_approval_is_failure_and_nothing_is_signed() {
        let user = key(Algorithm::Ed25519);
        let public = user.public_key().clone();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let agent = Agent::confirming(
            vec![HeldKey::new("ed".into(), user).unwrap()],
            Options::default(),
            Box::new(Recorder {
                yes: false,
                asked: Arc::clone(&asked),
            }),
        );
        let sign = proto::sign_request(public.key_data(), b"data", 0).unwrap();
        assert_eq!(ask(&agent, &sign), Response::Failure);
        // A key not held is refused without asking anybody.
        let other = key(Algorithm::Ed25519);
        let sign = proto::sign_request(other.public_key().key_data(), b"data", 0).unwrap();
        assert_eq!(ask(&agent, &sign), Response::Failure);
        assert_eq!(asked.lock().unwrap().len(), 1);
    }

    #[test]
    fn question_text_escapes_what_it_did_not_write() {
        let q = Question {
            key: "a\x1b[2Jb".into(),
            fingerprint: "SHA256:x\ny".into(),
            host: Some("SHA256:\u{9b}z".into()),
            forwarded: true,
        };
        let text = q.lines().join("\n");
        assert!(!text.contains('\x1b') && !text.contains('\u{9b}'), "{text}");
        assert_eq!(q.lines().len(), 2);
        assert!(
            text.contains("a\\x1b[2Jb") && text.contains("forwarded"),
            "{text}"
        );
    }

    #[test]
    fn debug_names_the_key_only() {
        let held = HeldKey::new("ed".into(), key(Algorithm::Ed25519)).unwrap();
        assert_eq!(format!("{held:?}"), "HeldKey { name: \"ed\", .. }");
    }
}
