package io.lulea.kafka.revocation;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One CRL as fetched: its bytes, parsed form and number, and which issuer keys its signature verified with. */
final class Crl {
    private static final String CRL_NUMBER_OID = "2.5.29.20";

    final byte[] der;
    final X509CRL crl;
    final BigInteger number;
    final String source;
    private final Map<ByteBuffer, Boolean> verified = new ConcurrentHashMap<>();

    private Crl(byte[] der, X509CRL crl, BigInteger number, String source) {
        this.der = der;
        this.crl = crl;
        this.number = number;
        this.source = source;
    }

    /** Parses a DER (or PEM) CRL; refuses one with critical extensions we do not understand (RFC 5280 5.2). */
    static Crl parse(byte[] der, String source) throws CRLException {
        X509CRL crl;
        try {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new CRLException(e);
        }
        if (crl == null) {
            throw new CRLException("empty CRL");
        }
        if (crl.hasUnsupportedCriticalExtension()) {
            throw new CRLException("unsupported critical extension " + crl.getCriticalExtensionOIDs());
        }
        if (crl.getNextUpdate() == null) {
            throw new CRLException("no nextUpdate: a CRL must say how long it may be used");
        }
        return new Crl(der.clone(), crl, number(crl), source);
    }

    /** The CRL number extension (an INTEGER inside an OCTET STRING); -1 if absent. */
    private static BigInteger number(X509CRL crl) throws CRLException {
        byte[] ext = crl.getExtensionValue(CRL_NUMBER_OID);
        if (ext == null) {
            return BigInteger.ONE.negate();
        }
        // OCTET STRING { INTEGER }: tag, length, then the INTEGER's tag, length and content.
        int at = 1 + lengthOfLength(ext, 1);
        if (at >= ext.length || ext[at] != 0x02) {
            throw new CRLException("malformed CRL number");
        }
        int contentAt = at + 1 + lengthOfLength(ext, at + 1);
        if (contentAt > ext.length) {
            throw new CRLException("malformed CRL number");
        }
        return new BigInteger(Arrays.copyOfRange(ext, contentAt, ext.length));
    }

    private static int lengthOfLength(byte[] der, int at) throws CRLException {
        if (at >= der.length) {
            throw new CRLException("truncated DER");
        }
        int first = der[at] & 0xff;
        return first < 0x80 ? 1 : 1 + (first & 0x7f);
    }

    /** True if {@code issuer} wrote this CRL: same name, and its key verifies the signature. */
    boolean signedBy(X509Certificate issuer) {
        if (!crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        PublicKey key = issuer.getPublicKey();
        return verified.computeIfAbsent(ByteBuffer.wrap(key.getEncoded()), k -> {
            try {
                crl.verify(key);
                return true;
            } catch (GeneralSecurityException e) {
                return false;
            }
        });
    }

    Instant nextUpdate() {
        return crl.getNextUpdate().toInstant();
    }

    Instant thisUpdate() {
        return crl.getThisUpdate().toInstant();
    }

    int revokedCount() {
        return crl.getRevokedCertificates() == null ? 0 : crl.getRevokedCertificates().size();
    }

    boolean sameBytes(byte[] other) {
        return Arrays.equals(der, other);
    }

    @Override
    public String toString() {
        return "CRL number " + number + " (" + revokedCount() + " revoked, next update " + nextUpdate() + ")";
    }
}
