package io.lulea.kafka.revocation;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK's PKIX trust manager (chain validation against the listener's truststore, unchanged), then
 * Lulea's two rules for a client: its CN fits the listener ({@link ListenerKind}) and its serial is not
 * on the CRL in force for its issuer ({@link CrlStore}). A refusal is a {@link CertificateException}, so
 * the handshake ends with a TLS alert.
 *
 * <p>An accepted client's session is made non-resumable: a resumed TLS session skips the trust manager,
 * so a removed member holding a session ticket would otherwise reconnect without being checked.
 *
 * <p>When the broker is the client (inter-broker or controller traffic over this listener) the server's
 * certificate gets PKIX and the CRL, not the CN rule: the broker's own name is a service name.
 */
final class LuleaTrustManager extends X509ExtendedTrustManager {
    private static final Logger LOG = LoggerFactory.getLogger(LuleaTrustManager.class);

    private final X509ExtendedTrustManager pkix;
    private final ListenerKind kind;
    private final CrlStore crls;
    private final IssuerLocator issuers;

    LuleaTrustManager(X509ExtendedTrustManager pkix, ListenerKind kind, CrlStore crls, IssuerLocator issuers) {
        this.pkix = pkix;
        this.kind = kind;
        this.crls = crls;
        this.issuers = issuers;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
        admitClient(chain, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        pkix.checkClientTrusted(chain, authType, socket);
        admitClient(chain, socket instanceof SSLSocket ? ((SSLSocket) socket).getHandshakeSession() : null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        pkix.checkClientTrusted(chain, authType, engine);
        admitClient(chain, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
        admitServer(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        pkix.checkServerTrusted(chain, authType, socket);
        admitServer(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        pkix.checkServerTrusted(chain, authType, engine);
        admitServer(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }

    private void admitClient(X509Certificate[] chain, SSLSession handshake) throws CertificateException {
        X509Certificate leaf = chain[0];
        Optional<String> refusal = kind.refusal(leaf.getSubjectX500Principal());
        if (refusal.isEmpty()) {
            refusal = revocation(chain);
        }
        if (refusal.isPresent()) {
            throw refused("client", leaf, refusal.get());
        }
        if (handshake != null) {
            handshake.invalidate();
        }
    }

    private void admitServer(X509Certificate[] chain) throws CertificateException {
        Optional<String> refusal = revocation(chain);
        if (refusal.isPresent()) {
            throw refused("server", chain[0], refusal.get());
        }
    }

    private Optional<String> revocation(X509Certificate[] chain) {
        Optional<X509Certificate> issuer = issuers.issuerOf(chain, pkix.getAcceptedIssuers());
        if (issuer.isEmpty()) {
            // PKIX accepted the chain, so this is a leaf that is itself a trust anchor: no issuer, no CRL.
            return Optional.of("no issuing certificate found for it in the chain or the truststore");
        }
        return crls.refusal(chain[0], issuer.get());
    }

    private CertificateException refused(String role, X509Certificate leaf, String why) {
        String cn = ListenerKind.describe(leaf.getSubjectX500Principal());
        String serial = leaf.getSerialNumber().toString(16);
        LOG.info("Refused {} certificate CN={} serial={} on a {} listener: {}", role, cn, serial, kind.algorithm(), why);
        return new CertificateException(kind.algorithm() + " refused CN=" + cn + " serial=" + serial + ": " + why);
    }
}
