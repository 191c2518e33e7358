package io.lulea.kafka.revocation;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Security;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.security.ssl.DefaultSslEngineFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through Kafka's own code: the config map a listener's DefaultSslEngineFactory receives installs the
 * provider via {@code security.providers}, and the SSLEngines it builds use the listener's algorithm.
 */
class KafkaSslEngineFactoryTest {
    private static final TestPki PKI = new TestPki();
    private static final TestPki.Leaf BROKER = PKI.server("kafka-broker");
    private static final TestPki.Leaf ALICE = PKI.member("proj", "alice");
    private static final TestPki.Leaf SERVICE = PKI.service("lulea-ca");

    @TempDir
    Path dir;

    @AfterEach
    void uninstall() throws InterruptedException {
        if (Security.getProvider(LuleaProvider.NAME) instanceof LuleaProvider installed) {
            installed.revocation().stop();
        }
        Security.removeProvider(LuleaProvider.NAME);
    }

    /** What SslFactory hands a listener's engine factory: the parsed ssl.* configs plus the broker's originals. */
    private Map<String, Object> listener(String algorithm, Path crl) throws CertificateEncodingException {
        Map<String, Object> props = new HashMap<>();
        props.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
        props.put(SslConfigs.SSL_KEYSTORE_KEY_CONFIG, pem("PRIVATE KEY", BROKER.key().getEncoded()));
        props.put(SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG, pem(BROKER.chain()));
        props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        props.put(SslConfigs.SSL_TRUSTSTORE_CERTIFICATES_CONFIG, pem(PKI.root));
        props.put(SslConfigs.SSL_TRUSTMANAGER_ALGORITHM_CONFIG, algorithm);
        Map<String, Object> configs = new HashMap<>(new ConfigDef().withClientSslSupport().parse(props));
        configs.put(BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG, "required");
        configs.put("security.providers", LuleaSecurityProviderCreator.class.getName());
        configs.put(RevocationConfig.CRL_URL, crl.toUri().toString());
        configs.put(RevocationConfig.REFRESH_MS, "60000");
        return configs;
    }

    @Test
    void twoListenersShareTheFirstProviderInstalled() throws Exception {
        Path crl = dir.resolve("crl.der");
        Fixture.write(crl, PKI.crl(1, Duration.ofDays(1)));
        DefaultSslEngineFactory member = new DefaultSslEngineFactory();
        member.configure(listener("LuleaMember", crl));
        LuleaProvider installed = (LuleaProvider) Security.getProvider(LuleaProvider.NAME);
        DefaultSslEngineFactory platform = new DefaultSslEngineFactory();
        platform.configure(listener("LuleaPlatform", crl));
        assertSame(installed, Security.getProvider(LuleaProvider.NAME), "a second configure replaced the provider");

        assertTrue(handshake(member, ALICE), "member on the member listener");
        assertFalse(handshake(member, SERVICE), "service on the member listener");
        assertTrue(handshake(platform, SERVICE), "service on the platform listener");
        assertFalse(handshake(platform, ALICE), "member on the platform listener");

        Fixture.write(crl, PKI.crl(2, Duration.ofDays(1), ALICE.serial()));
        installed.revocation().pollNow();
        assertFalse(handshake(member, ALICE), "revoked member");
        member.close();
        platform.close();
    }

    @Test
    void aBrokerWithoutACrlUrlFailsToStart() throws Exception {
        Map<String, Object> configs = listener("LuleaMember", dir.resolve("crl.der"));
        configs.remove(RevocationConfig.CRL_URL);
        ConfigException e = assertThrows(ConfigException.class, () -> new DefaultSslEngineFactory().configure(configs));
        assertTrue(e.getMessage().contains(RevocationConfig.CRL_URL), e.getMessage());
    }

    private static boolean handshake(DefaultSslEngineFactory broker, TestPki.Leaf client) {
        return Tls.handshake(Tls.clientEngine(PKI.clientContext(client)), broker.createServerSslEngine("127.0.0.1", 40000));
    }

    private static String pem(X509Certificate... certs) throws CertificateEncodingException {
        StringBuilder out = new StringBuilder();
        for (X509Certificate cert : certs) {
            out.append(pem("CERTIFICATE", cert.getEncoded()));
        }
        return out.toString();
    }

    private static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }
}
