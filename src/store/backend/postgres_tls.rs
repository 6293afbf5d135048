//! TLS to PostgreSQL: rustls (ring provider) behind tokio-postgres's
//! `MakeTlsConnect` / `TlsConnect` traits, with libpq's `sslmode` meanings.
//! tokio-postgres itself knows only disable / prefer / require and checks
//! no certificate; what is verified is decided here, from the mode and the
//! root certificate file:
//!
//! | sslmode | root certificate | what is checked |
//! |---|---|---|
//! | disable | | no TLS |
//! | allow, prefer | | TLS if the server offers it; nothing verified |
//! | require | none at hand | TLS; nothing verified (encrypted against a passive listener only) |
//! | require | a file (named, or `~/.postgresql/root.crt` present) | as verify-ca (libpq's rule) |
//! | verify-ca | required | the chain up to the root; not the name |
//! | verify-full | required | the chain and the host name or IP address |
//!
//! Even unverified, the server's handshake signature is checked against
//! the certificate it sent. No channel binding is offered (SCRAM without
//! `-PLUS`). Over a Unix socket there is no TLS, whatever the mode (the
//! server offers none there; libpq ignores sslmode too).

use crate::store::location::{RootCert, SslMode};
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The TLS client configuration for `sslmode` and `root`; `None` for
/// `disable`. Errors: a root certificate file that a mode needs and is
/// missing, unreadable or holds no certificate (the message names it).
pub(crate) fn client_config(
    mode: SslMode,
    root: &RootCert,
) -> Result<Option<Arc<ClientConfig>>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    // The root file, if this mode uses one: libpq's rules for which.
    let roots = match (mode, root) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Allow | SslMode::Prefer, _) => None,
        (_, RootCert::File(path)) => Some(load_roots(path)?),
        (_, RootCert::Default(path)) if path.exists() => Some(load_roots(path)?),
        (SslMode::Require, _) => None,
        (_, RootCert::Default(path)) => {
            return Err(format!(
                "root certificate file {} does not exist: sslmode={} needs the CA's certificate \
                 (give sslrootcert=FILE, or change sslmode)",
                path.display(),
                mode.as_str()
            ));
        }
        (_, RootCert::None) => {
            return Err(format!(
                "sslmode={} needs the CA's certificate and there is no home directory to find \
                 ~/.postgresql/root.crt in: give sslrootcert=FILE",
                mode.as_str()
            ));
        }
    };
    let builder = match (mode, roots) {
        (SslMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots),
        (_, Some(roots)) => {
            let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS setup: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(chain)))
        }
        (_, None) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
    };
    let mut config = builder.with_no_client_auth();
    // What PostgreSQL 17's direct TLS checks, and older servers ignore.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The certificates of a PEM file, as trust anchors.
fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let bad = |why: String| format!("root certificate file {}: {why}", path.display());
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(roots)
}

/// verify-ca: the chain must verify; the name is not looked at.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the name only after the chain: a name error means
        // the chain verified.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// prefer, or require with no root certificate: any certificate, but the
/// handshake must be signed by the key in it.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What `postgres::Config::connect` takes: makes one [`Connect`] per host.
/// With no configuration (sslmode=disable, or a Unix socket) tokio-postgres
/// never asks it to connect.
#[derive(Clone)]
pub(crate) struct MakeRustls(pub(crate) Option<Arc<ClientConfig>>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<Connect> {
        // Called for Unix sockets too (with no name): the name is checked
        // when a handshake is made, not here.
        Ok(Connect {
            config: self.0.clone(),
            domain: domain.to_string(),
        })
    }
}

pub(crate) struct Connect {
    config: Option<Arc<ClientConfig>>,
    domain: String,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS is disabled (sslmode=disable)"))?;
            let name = ServerName::try_from(self.domain.clone()).map_err(|_| {
                io::Error::other(format!(
                    "'{}' is not a host name or IP address TLS can verify",
                    crate::text::escape(&self.domain)
                ))
            })?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(Stream(tls))
        })
    }
}

/// A TLS connection, as tokio-postgres reads and writes it.
pub(crate) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
