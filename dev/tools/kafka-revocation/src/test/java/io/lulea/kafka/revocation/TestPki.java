package io.lulea.kafka.revocation;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A CA shaped like Lulea's (services/ca): a root that signs one intermediate (pathLen 0), which signs
 * member, service and server leaves (ECDSA P-256) and the CRL. Built in memory for each test class.
 */
final class TestPki {
    private static final SecureRandom RANDOM = new SecureRandom();
    static final char[] PASSWORD = "test".toCharArray();

    /** A leaf: its certificate, key and the chain a client sends (leaf, intermediate). */
    record Leaf(X509Certificate cert, PrivateKey key, X509Certificate[] chain) {
        BigInteger serial() {
            return cert.getSerialNumber();
        }
    }

    final X509Certificate root;
    final X509Certificate intermediate;
    private final KeyPair intermediateKeys;

    /** A CA whose names are Lulea's: two of them have the same names but different keys. */
    TestPki() {
        try {
            KeyPair rootKeys = keys();
            X500Name rootName = new X500Name("O=Lulea,CN=Lulea Root CA");
            root = ca(rootName, rootName, rootKeys, rootKeys.getPrivate(), 1);
            intermediateKeys = keys();
            intermediate = ca(new X500Name("O=Lulea,CN=Lulea Intermediate CA"), rootName, intermediateKeys,
                    rootKeys.getPrivate(), 0);
        } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Leaf member(String project, String user) {
        return leaf("O=" + project + ",OU=DataScientist,CN=" + project + "__" + user, false);
    }

    Leaf service(String account) {
        return leaf("O=Lulea,CN=" + account, false);
    }

    /** The broker's certificate (serverAuth + clientAuth, SAN 127.0.0.1). */
    Leaf server(String cn) {
        return leaf("O=Lulea,CN=" + cn, true);
    }

    Leaf leaf(String subject, boolean server) {
        try {
            KeyPair keys = keys();
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(intermediate,
                    new BigInteger(127, RANDOM), Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(Duration.ofDays(30))), new X500Name(subject), keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, server
                            ? new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})
                            : new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(intermediate));
            if (server) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
            }
            X509Certificate cert = convert(builder.build(signer(intermediateKeys.getPrivate())));
            return new Leaf(cert, keys.getPrivate(), new X509Certificate[] {cert, intermediate});
        } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A DER CRL signed by this intermediate, valid from now for {@code validity}. */
    byte[] crl(long number, Duration validity, BigInteger... revoked) {
        Instant now = Instant.now();
        return crl(number, now.minusSeconds(1), now.plus(validity), revoked);
    }

    byte[] crl(long number, Instant thisUpdate, Instant nextUpdate, BigInteger... revoked) {
        try {
            X509v2CRLBuilder builder = new X509v2CRLBuilder(
                    X500Name.getInstance(intermediate.getSubjectX500Principal().getEncoded()), Date.from(thisUpdate));
            builder.setNextUpdate(Date.from(nextUpdate));
            builder.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(number)));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(intermediateKeys.getPublic()));
            for (BigInteger serial : revoked) {
                builder.addCRLEntry(serial, Date.from(thisUpdate), CRLReason.affiliationChanged);
            }
            return builder.build(signer(intermediateKeys.getPrivate())).getEncoded();
        } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    KeyStore truststore() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("root", root);
            return store;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An SSLContext presenting {@code leaf} and trusting this CA's root, with the given trust managers. */
    SSLContext context(Leaf leaf, TrustManager[] trust) {
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("leaf", leaf.key(), PASSWORD, leaf.chain());
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(keys, PASSWORD);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), trust, null);
            return context;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client's context: presents {@code leaf}, validates the server with plain PKIX against our root. */
    SSLContext clientContext(Leaf leaf) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(truststore());
            return context(leaf, tmf.getTrustManagers());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate ca(X500Name subject, X500Name issuer, KeyPair keys, PrivateKey signer, int pathLen)
            throws GeneralSecurityException, OperatorCreationException, java.io.IOException {
        Instant now = Instant.now();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(365))), subject,
                keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(pathLen))
                .addExtension(Extension.keyUsage, true,
                        new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
        return convert(builder.build(signer(signer)));
    }

    private static KeyPair keys() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
        return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    }

    private static X509Certificate convert(org.bouncycastle.cert.X509CertificateHolder holder)
            throws GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }
}
