//! The SSH agent protocol's wire format (RFC 9987; OpenSSH's `PROTOCOL.agent`
//! and `authfd.h` for the numbers): a message is a uint32 length, a type byte
//! and a body. This module reads and writes one message and parses or builds
//! the ones kps speaks, on ssh-key's encoders; it signs nothing and decides
//! nothing. Its decoders take untrusted bytes and are fuzzed
//! (`fuzz/fuzz_targets/agent_proto.rs`).

use ssh_key::encoding::{self, Decode, Encode, Reader};
use ssh_key::public::KeyData;
use ssh_key::{PrivateKey, Signature};
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The largest message either side accepts, as OpenSSH's agent and client
/// do (`AGENT_MAX_LEN`): more is a broken or hostile peer.
pub const MAX_MESSAGE: usize = 256 * 1024;

pub const FAILURE: u8 = 5;
pub const SUCCESS: u8 = 6;
pub const REQUEST_IDENTITIES: u8 = 11;
pub const IDENTITIES_ANSWER: u8 = 12;
pub const SIGN_REQUEST: u8 = 13;
pub const SIGN_RESPONSE: u8 = 14;
pub const ADD_IDENTITY: u8 = 17;
pub const REMOVE_IDENTITY: u8 = 18;
pub const ADD_ID_CONSTRAINED: u8 = 25;
pub const EXTENSION: u8 = 27;

/// SIGN_REQUEST flags for an RSA key: which hash; neither means SHA-1
/// (`ssh-rsa`).
pub const RSA_SHA2_256: u32 = 0x02;
pub const RSA_SHA2_512: u32 = 0x04;

const CONSTRAIN_LIFETIME: u8 = 1;
const CONSTRAIN_CONFIRM: u8 = 2;

/// OpenSSH's extension by which ssh tells its agent which server (host key)
/// and which session (its id, signed by the host key) a connection serves.
pub const SESSION_BIND: &str = "session-bind@openssh.com";

/// Types a client may send that kps's agent does not serve, answered with
/// FAILURE and the connection kept: the SSH-1 requests (1, 3, 7, 8, 9),
/// add/remove/remove-all (17, 18, 19), smartcards (20, 21, 26), lock and
/// unlock (22, 23), constrained adds (24, 25) and extensions (27) other than
/// [`SESSION_BIND`]. Any other number is no agent request at all: the
/// connection is closed.
const UNSERVED_REQUESTS: &[u8] = &[1, 3, 7, 8, 9, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];

/// Why a message was refused. Each one closes the connection it came on.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("a message of length 0")]
    Empty,
    #[error("a message of {0} bytes, over the {MAX_MESSAGE}-byte limit")]
    TooLong(u64),
    #[error("the connection ended inside a message")]
    Truncated,
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("malformed {0} message")]
    Malformed(&'static str),
    #[error("cannot encode the message")]
    Encode,
    #[error(transparent)]
    Io(std::io::Error),
}

/// Read one message (type byte and body, without the length). `None` when
/// the peer closed the connection between messages.
pub fn read_message(r: &mut impl Read) -> Result<Option<Vec<u8>>, ProtoError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ProtoError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ProtoError::Io(e)),
        }
    }
    let len = u32::from_be_bytes(len) as u64;
    if len == 0 {
        return Err(ProtoError::Empty);
    }
    if len > MAX_MESSAGE as u64 {
        return Err(ProtoError::TooLong(len));
    }
    let mut message = vec![0u8; len as usize];
    r.read_exact(&mut message).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ProtoError::Truncated,
        _ => ProtoError::Io(e),
    })?;
    Ok(Some(message))
}

/// Write one framed message (as the encoders below return them).
pub fn write_message(w: &mut impl Write, framed: &[u8]) -> Result<(), ProtoError> {
    w.write_all(framed)
        .and_then(|()| w.flush())
        .map_err(ProtoError::Io)
}

/// What a client asks of the agent.
#[derive(Debug)]
pub enum Request {
    RequestIdentities,
    Sign(SignRequest),
    /// `session-bind@openssh.com`, parsed (its signature not yet checked).
    SessionBind(SessionBind),
    /// A request the protocol defines and kps does not serve: FAILURE.
    /// Also a `session-bind@openssh.com` whose body does not parse (a host
    /// certificate, a key type ssh-key does not know): FAILURE and the
    /// connection kept, as OpenSSH's agent does, since ssh goes on to use
    /// the same connection to log in.
    Unserved(u8),
}

/// The body of `session-bind@openssh.com` (OpenSSH's `PROTOCOL.agent`):
/// string host key, string session identifier, string signature of the
/// session identifier by the host key, bool is-forwarding.
#[derive(Debug)]
pub struct SessionBind {
    pub host_key: KeyData,
    pub session_id: Vec<u8>,
    pub signature: Signature,
    pub forwarding: bool,
}

#[derive(Debug)]
pub struct SignRequest {
    /// The key blob as the client sent it; held keys are found by it.
    pub key_blob: Vec<u8>,
    /// The same blob, checked to be a well-formed public key.
    pub key: KeyData,
    pub data: Vec<u8>,
    pub flags: u32,
}

/// Parse a request (a message as [`read_message`] returns it). Bodies kps
/// serves are parsed strictly: a short or overlong field, trailing bytes or a
/// key blob that is no public key are [`ProtoError::Malformed`].
pub fn decode_request(message: &[u8]) -> Result<Request, ProtoError> {
    let (&kind, mut body) = message.split_first().ok_or(ProtoError::Empty)?;
    match kind {
        REQUEST_IDENTITIES => {
            if !body.is_empty() {
                return Err(ProtoError::Malformed("REQUEST_IDENTITIES"));
            }
            Ok(Request::RequestIdentities)
        }
        SIGN_REQUEST => {
            let bad = |_| ProtoError::Malformed("SIGN_REQUEST");
            let key_blob = Vec::<u8>::decode(&mut body).map_err(bad)?;
            let data = Vec::<u8>::decode(&mut body).map_err(bad)?;
            let flags = u32::decode(&mut body).map_err(bad)?;
            if !body.is_empty() {
                return Err(ProtoError::Malformed("SIGN_REQUEST"));
            }
            let key = key_from_blob(&key_blob).ok_or(ProtoError::Malformed("SIGN_REQUEST"))?;
            Ok(Request::Sign(SignRequest {
                key_blob,
                key,
                data,
                flags,
            }))
        }
        EXTENSION => {
            let name = String::decode(&mut body).map_err(|_| ProtoError::Malformed("EXTENSION"))?;
            if name != SESSION_BIND {
                return Ok(Request::Unserved(EXTENSION));
            }
            Ok(
                decode_session_bind(body)
                    .map_or(Request::Unserved(EXTENSION), Request::SessionBind),
            )
        }
        k if UNSERVED_REQUESTS.contains(&k) => Ok(Request::Unserved(k)),
        k => Err(ProtoError::UnknownType(k)),
    }
}

/// A session-bind body, all of it; `None` if anything is off.
fn decode_session_bind(mut body: &[u8]) -> Option<SessionBind> {
    let key_blob = Vec::<u8>::decode(&mut body).ok()?;
    let host_key = key_from_blob(&key_blob)?;
    let session_id = Vec::<u8>::decode(&mut body).ok()?;
    let signature_blob = Vec::<u8>::decode(&mut body).ok()?;
    let mut reader = signature_blob.as_slice();
    let signature = Signature::decode(&mut reader).ok()?;
    let (&forwarding, rest) = body.split_first()?;
    if !reader.is_empty() || !rest.is_empty() || forwarding > 1 {
        return None;
    }
    Some(SessionBind {
        host_key,
        session_id,
        signature,
        forwarding: forwarding == 1,
    })
}

/// A public key blob, all of it: trailing bytes make it no key.
fn key_from_blob(blob: &[u8]) -> Option<KeyData> {
    let mut reader = blob;
    let key = KeyData::decode(&mut reader).ok()?;
    reader.is_finished().then_some(key)
}

/// One entry of an IDENTITIES_ANSWER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub key: KeyData,
    pub comment: String,
}

/// What the agent answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Response {
    Failure,
    Success,
    Identities(Vec<Identity>),
    Signature(Signature),
}

/// A response, framed and ready to write.
pub fn encode_response(response: &Response) -> Result<Vec<u8>, ProtoError> {
    match response {
        Response::Failure => Ok(frame(FAILURE, &[])),
        Response::Success => Ok(frame(SUCCESS, &[])),
        Response::Identities(ids) => {
            let mut body = Vec::new();
            (ids.len() as u32).encode(&mut body).map_err(enc)?;
            for id in ids {
                id.key.encode_prefixed(&mut body).map_err(enc)?;
                id.comment.encode(&mut body).map_err(enc)?;
            }
            Ok(frame(IDENTITIES_ANSWER, &body))
        }
        Response::Signature(signature) => {
            let mut body = Vec::new();
            signature.encode_prefixed(&mut body).map_err(enc)?;
            Ok(frame(SIGN_RESPONSE, &body))
        }
    }
}

/// Parse what an agent answered (the client side: `kps ssh-add`, tests).
pub fn decode_response(message: &[u8]) -> Result<Response, ProtoError> {
    let (&kind, mut body) = message.split_first().ok_or(ProtoError::Empty)?;
    let response = match kind {
        FAILURE => Response::Failure,
        SUCCESS => Response::Success,
        IDENTITIES_ANSWER => {
            let bad = |_| ProtoError::Malformed("IDENTITIES_ANSWER");
            let n = u32::decode(&mut body).map_err(bad)?;
            let mut ids = Vec::new();
            for _ in 0..n {
                let blob = Vec::<u8>::decode(&mut body).map_err(bad)?;
                let key = key_from_blob(&blob).ok_or(ProtoError::Malformed("IDENTITIES_ANSWER"))?;
                let comment = String::decode(&mut body).map_err(bad)?;
                ids.push(Identity { key, comment });
            }
            Response::Identities(ids)
        }
        SIGN_RESPONSE => {
            let bad = |_| ProtoError::Malformed("SIGN_RESPONSE");
            let blob = Vec::<u8>::decode(&mut body).map_err(bad)?;
            let mut reader = blob.as_slice();
            let signature = Signature::decode(&mut reader)
                .map_err(|_| ProtoError::Malformed("SIGN_RESPONSE"))?;
            if !reader.is_empty() {
                return Err(ProtoError::Malformed("SIGN_RESPONSE"));
            }
            Response::Signature(signature)
        }
        k => return Err(ProtoError::UnknownType(k)),
    };
    if !body.is_empty() {
        return Err(ProtoError::Malformed("response"));
    }
    Ok(response)
}

/// REQUEST_IDENTITIES, framed.
pub fn request_identities() -> Vec<u8> {
    frame(REQUEST_IDENTITIES, &[])
}

/// SIGN_REQUEST for `key` over `data`, framed.
pub fn sign_request(key: &KeyData, data: &[u8], flags: u32) -> Result<Vec<u8>, ProtoError> {
    let mut body = Vec::new();
    key.encode_prefixed(&mut body).map_err(enc)?;
    data.encode(&mut body).map_err(enc)?;
    flags.encode(&mut body).map_err(enc)?;
    Ok(frame(SIGN_REQUEST, &body))
}

/// `session-bind@openssh.com`, framed: what ssh sends its agent after the
/// key exchange (kps's tests and fuzz seeds).
pub fn session_bind(
    host_key: &KeyData,
    session_id: &[u8],
    signature: &Signature,
    forwarding: bool,
) -> Result<Vec<u8>, ProtoError> {
    let mut body = Vec::new();
    SESSION_BIND.encode(&mut body).map_err(enc)?;
    host_key.encode_prefixed(&mut body).map_err(enc)?;
    session_id.encode(&mut body).map_err(enc)?;
    signature.encode_prefixed(&mut body).map_err(enc)?;
    body.push(u8::from(forwarding));
    Ok(frame(EXTENSION, &body))
}

/// A constraint on a key added to an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// The agent forgets the key after this many seconds.
    Lifetime(u32),
    /// The agent asks its user before each signature.
    Confirm,
}

/// ADD_IDENTITY (no constraints) or ADD_ID_CONSTRAINED, framed: the key
/// type and private fields as OpenSSH's key format holds them, the comment,
/// then the constraints. The buffer holds the private key: it is zeroized
/// when dropped, and sized up front so that no reallocation leaves a copy.
pub fn add_identity(
    key: &PrivateKey,
    comment: &str,
    constraints: &[Constraint],
) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let keypair = key.key_data();
    let mut constraint_bytes = Vec::new();
    for c in constraints {
        match c {
            Constraint::Lifetime(seconds) => {
                constraint_bytes.push(CONSTRAIN_LIFETIME);
                constraint_bytes.extend_from_slice(&seconds.to_be_bytes());
            }
            Constraint::Confirm => constraint_bytes.push(CONSTRAIN_CONFIRM),
        }
    }
    let body_len = keypair.encoded_len().map_err(enc)?
        + comment.encoded_len().map_err(enc)?
        + constraint_bytes.len();
    let kind = if constraints.is_empty() {
        ADD_IDENTITY
    } else {
        ADD_ID_CONSTRAINED
    };
    let len = u32::try_from(body_len + 1).map_err(|_| ProtoError::Encode)?;
    let mut out = Zeroizing::new(Vec::with_capacity(body_len + 5));
    out.extend_from_slice(&len.to_be_bytes());
    out.push(kind);
    keypair.encode(&mut *out).map_err(enc)?;
    comment.encode(&mut *out).map_err(enc)?;
    out.extend_from_slice(&constraint_bytes);
    if out.len() != body_len + 5 {
        return Err(ProtoError::Encode);
    }
    Ok(out)
}

/// REMOVE_IDENTITY of the key with this public key, framed.
pub fn remove_identity(key: &KeyData) -> Result<Vec<u8>, ProtoError> {
    let mut body = Vec::new();
    key.encode_prefixed(&mut body).map_err(enc)?;
    Ok(frame(REMOVE_IDENTITY, &body))
}

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.extend_from_slice(&((body.len() + 1) as u32).to_be_bytes());
    out.push(kind);
    out.extend_from_slice(body);
    out
}

fn enc(_: encoding::Error) -> ProtoError {
    ProtoError::Encode
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032's test 1 public key (`d75a9801...`) as an SSH key blob:
    /// string "ssh-ed25519", string 32 bytes.
    fn ed25519_blob() -> Vec<u8> {
        let mut b = vec![0, 0, 0, 11];
        b.extend_from_slice(b"ssh-ed25519");
        b.extend_from_slice(&[0, 0, 0, 32]);
        b.extend_from_slice(
            &crate::hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
                .unwrap(),
        );
        b
    }

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn request_identities_is_five_bytes() {
        assert_eq!(request_identities(), [0, 0, 0, 1, 11]);
        let mut r: &[u8] = &[0, 0, 0, 1, 11];
        let message = read_message(&mut r).unwrap().unwrap();
        assert!(matches!(
            decode_request(&message).unwrap(),
            Request::RequestIdentities
        ));
        assert!(read_message(&mut r).unwrap().is_none());
    }

    #[test]
    fn sign_request_as_the_rfc_lays_it_out() {
        // byte 13, string key blob, string data, uint32 flags.
        let mut message = vec![SIGN_REQUEST];
        message.extend(string(&ed25519_blob()));
        message.extend(string(b"to be signed"));
        message.extend([0, 0, 0, 4]);
        let Request::Sign(req) = decode_request(&message).unwrap() else {
            panic!("not a sign request");
        };
        assert_eq!(req.key_blob, ed25519_blob());
        assert_eq!(req.data, b"to be signed");
        assert_eq!(req.flags, RSA_SHA2_512);
        assert!(req.key.ed25519().is_some());
        // And the encoder writes the same bytes, framed.
        let framed = sign_request(&req.key, b"to be signed", RSA_SHA2_512).unwrap();
        assert_eq!(&framed[4..], message.as_slice());
        assert_eq!(framed[..4], (message.len() as u32).to_be_bytes());
    }

    #[test]
    fn malformed_sign_requests_are_refused() {
        let good = {
            let mut m = vec![SIGN_REQUEST];
            m.extend(string(&ed25519_blob()));
            m.extend(string(b"x"));
            m.extend([0, 0, 0, 0]);
            m
        };
        assert!(decode_request(&good).is_ok());
        // Truncated anywhere.
        for cut in 1..good.len() {
            assert!(
                matches!(decode_request(&good[..cut]), Err(ProtoError::Malformed(_))),
                "cut at {cut}"
            );
        }
        // Trailing bytes.
        let mut long = good.clone();
        long.push(0);
        assert!(decode_request(&long).is_err());
        // A key blob that is no key: a short Ed25519 key, and one with a
        // byte after the key.
        for blob in [
            {
                let mut b = vec![0, 0, 0, 11];
                b.extend_from_slice(b"ssh-ed25519");
                b.extend(string(&[1; 10]));
                b
            },
            {
                let mut b = ed25519_blob();
                b.push(7);
                b
            },
        ] {
            let mut m = vec![SIGN_REQUEST];
            m.extend(string(&blob));
            m.extend(string(b"x"));
            m.extend([0, 0, 0, 0]);
            assert!(matches!(
                decode_request(&m),
                Err(ProtoError::Malformed("SIGN_REQUEST"))
            ));
        }
    }

    #[test]
    fn frames_of_length_zero_or_over_the_cap_or_cut_short() {
        let mut r: &[u8] = &[0, 0, 0, 0];
        assert!(matches!(read_message(&mut r), Err(ProtoError::Empty)));
        let mut r: &[u8] = &[0, 4, 0, 1, 11];
        assert!(matches!(
            read_message(&mut r),
            Err(ProtoError::TooLong(262145))
        ));
        // Exactly the cap is allowed.
        let mut big = (MAX_MESSAGE as u32).to_be_bytes().to_vec();
        big.resize(4 + MAX_MESSAGE, 0);
        assert_eq!(
            read_message(&mut big.as_slice()).unwrap().unwrap().len(),
            MAX_MESSAGE
        );
        let mut r: &[u8] = &[0, 0, 0, 5, 13, 0];
        assert!(matches!(read_message(&mut r), Err(ProtoError::Truncated)));
        let mut r: &[u8] = &[0, 0];
        assert!(matches!(read_message(&mut r), Err(ProtoError::Truncated)));
    }

    #[test]
    fn unserved_requests_and_unknown_types() {
        // session-bind@openssh.com: byte 27, string name, raw contents.
        let mut bind = vec![EXTENSION];
        bind.extend(string(b"session-bind@openssh.com"));
        bind.extend(string(b"anything"));
        assert!(matches!(
            decode_request(&bind).unwrap(),
            Request::Unserved(EXTENSION)
        ));
        for k in [
            ADD_IDENTITY,
            REMOVE_IDENTITY,
            19,
            22,
            23,
            ADD_ID_CONSTRAINED,
        ] {
            assert!(matches!(
                decode_request(&[k]).unwrap(),
                Request::Unserved(_)
            ));
        }
        for k in [0u8, 2, 5, 6, 12, 14, 28, 99, 255] {
            assert!(matches!(
                decode_request(&[k]),
                Err(ProtoError::UnknownType(_))
            ));
        }
        assert!(decode_request(&[REQUEST_IDENTITIES, 0]).is_err());
        assert!(matches!(decode_request(&[]), Err(ProtoError::Empty)));
    }

    #[test]
    fn session_bind_parsed_strictly_and_a_bad_body_is_only_unserved() {
        let key = key_from_blob(&ed25519_blob()).unwrap();
        let sig = Signature::new(ssh_key::Algorithm::Ed25519, vec![3u8; 64]).unwrap();
        let framed = session_bind(&key, b"sid", &sig, true).unwrap();
        // byte 27, string name, string host key, string sid, string sig, bool.
        let mut expected = vec![EXTENSION];
        expected.extend(string(SESSION_BIND.as_bytes()));
        expected.extend(string(&ed25519_blob()));
        expected.extend(string(b"sid"));
        let mut inner = string(b"ssh-ed25519");
        inner.extend(string(&[3u8; 64]));
        expected.extend(string(&inner));
        expected.push(1);
        assert_eq!(&framed[4..], expected.as_slice());
        let Request::SessionBind(bind) = decode_request(&framed[4..]).unwrap() else {
            panic!("not a session-bind");
        };
        assert_eq!(
            (bind.host_key, bind.session_id, bind.forwarding),
            (key, b"sid".to_vec(), true)
        );
        // Cut anywhere after the name, a trailing byte, a bool of 2: FAILURE
        // (unserved), never a closed connection, since ssh logs in on it.
        let name_end = 1 + 4 + SESSION_BIND.len();
        for cut in name_end..expected.len() {
            assert!(matches!(
                decode_request(&expected[..cut]).unwrap(),
                Request::Unserved(EXTENSION)
            ));
        }
        for bad in [[&expected[..], &[0]].concat(), {
            let mut b = expected.clone();
            *b.last_mut().unwrap() = 2;
            b
        }] {
            assert!(matches!(
                decode_request(&bad).unwrap(),
                Request::Unserved(EXTENSION)
            ));
        }
        // An extension with no readable name is malformed.
        assert!(matches!(
            decode_request(&[EXTENSION, 0, 0, 0, 9, b'x']),
            Err(ProtoError::Malformed("EXTENSION"))
        ));
    }

    #[test]
    fn identities_answer_layout_and_round_trip() {
        let key = key_from_blob(&ed25519_blob()).unwrap();
        let answer = Response::Identities(vec![Identity {
            key: key.clone(),
            comment: "web01".into(),
        }]);
        let framed = encode_response(&answer).unwrap();
        // byte 12, uint32 nkeys, then string key blob, string comment.
        let mut expected = vec![IDENTITIES_ANSWER, 0, 0, 0, 1];
        expected.extend(string(&ed25519_blob()));
        expected.extend(string(b"web01"));
        assert_eq!(&framed[4..], expected.as_slice());
        assert_eq!(decode_response(&framed[4..]).unwrap(), answer);
        assert_eq!(
            encode_response(&Response::Failure).unwrap(),
            [0, 0, 0, 1, 5]
        );
        assert_eq!(
            encode_response(&Response::Success).unwrap(),
            [0, 0, 0, 1, 6]
        );
    }

    #[test]
    fn sign_response_wraps_the_signature_in_a_string() {
        let sig = Signature::new(ssh_key::Algorithm::Ed25519, vec![9u8; 64]).unwrap();
        let framed = encode_response(&Response::Signature(sig.clone())).unwrap();
        let mut inner = string(b"ssh-ed25519");
        inner.extend(string(&[9u8; 64]));
        let mut expected = vec![SIGN_RESPONSE];
        expected.extend(string(&inner));
        assert_eq!(&framed[4..], expected.as_slice());
        assert_eq!(
            decode_response(&framed[4..]).unwrap(),
            Response::Signature(sig)
        );
    }

    #[test]
    fn add_identity_carries_the_private_fields_comment_and_constraints() {
        // RFC 8032 test 1: the seed and its public key.
        let seed: [u8; 32] =
            crate::hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let key = PrivateKey::new(keypair.into(), "c").unwrap();
        let plain = add_identity(&key, "web01", &[]).unwrap();
        let blob = ed25519_blob();
        let public = &blob[19..];
        let mut expected = vec![ADD_IDENTITY];
        expected.extend(string(b"ssh-ed25519"));
        expected.extend(string(public));
        let mut secret = seed.to_vec();
        secret.extend_from_slice(public);
        expected.extend(string(&secret));
        expected.extend(string(b"web01"));
        assert_eq!(&plain[4..], expected.as_slice());
        assert_eq!(plain[..4], (expected.len() as u32).to_be_bytes());

        let constrained = add_identity(
            &key,
            "web01",
            &[Constraint::Lifetime(600), Constraint::Confirm],
        )
        .unwrap();
        assert_eq!(constrained[4], ADD_ID_CONSTRAINED);
        assert_eq!(&constrained[5..plain.len()], &expected[1..]);
        assert_eq!(&constrained[plain.len()..], &[1, 0, 0, 2, 0x58, 2]);

        let removal = remove_identity(key.public_key().key_data()).unwrap();
        let mut expected = vec![REMOVE_IDENTITY];
        expected.extend(string(&ed25519_blob()));
        assert_eq!(&removal[4..], expected.as_slice());
    }

    /// What the fuzz target does (fuzz/fuzz_targets/agent_proto.rs), in
    /// the ordinary test run and deterministically: valid messages of every
    /// kind kps writes or reads, cut at every byte and mutated (bit flips,
    /// overwritten bytes, lengths set to extremes), fed to the frame reader
    /// and both decoders. Each gives a value or an error; none panics.
    #[test]
    fn mutated_messages_never_panic() {
        let key = KeyData::decode(&mut ed25519_blob().as_slice()).unwrap();
        let private = crate::keygen::generate(crate::algorithm::KeySpec::Ed25519, "web01").unwrap();
        let seeds: Vec<Vec<u8>> = vec![
            request_identities(),
            sign_request(&key, b"session hash and more", RSA_SHA2_256).unwrap(),
            remove_identity(&key).unwrap(),
            add_identity(&private, "web01", &[]).unwrap().to_vec(),
            add_identity(
                &private,
                "web01",
                &[Constraint::Lifetime(30), Constraint::Confirm],
            )
            .unwrap()
            .to_vec(),
            encode_response(&Response::Failure).unwrap(),
            encode_response(&Response::Success).unwrap(),
        ];
        let feed = |bytes: &[u8]| {
            let mut stream = bytes;
            while let Ok(Some(message)) = read_message(&mut stream) {
                let _ = decode_request(&message);
                let _ = decode_response(&message);
            }
            let _ = decode_request(bytes.get(4..).unwrap_or_default());
            let _ = decode_response(bytes.get(4..).unwrap_or_default());
        };
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for seed in &seeds {
            for cut in 0..seed.len() {
                feed(&seed[..cut]);
            }
            for _ in 0..2000 {
                let mut m = seed.clone();
                for _ in 0..=(next() % 4) {
                    let at = (next() % m.len() as u64) as usize;
                    match next() % 3 {
                        0 => m[at] ^= 1 << (next() % 8),
                        1 => m[at] = next() as u8,
                        _ => {
                            // A length field (frame or string) to an extreme.
                            let at = at.min(m.len().saturating_sub(4));
                            let v: u32 = [0, 1, 0x7fff_ffff, u32::MAX][(next() % 4) as usize];
                            m[at..at + 4].copy_from_slice(&v.to_be_bytes());
                        }
                    }
                }
                feed(&m);
            }
        }
    }
}
