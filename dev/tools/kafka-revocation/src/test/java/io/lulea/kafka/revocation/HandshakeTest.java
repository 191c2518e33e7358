package io.lulea.kafka.revocation;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real TLS handshakes through the trust managers, with the CRL served over HTTP and polled on its own thread. */
class HandshakeTest {
    private static final TestPki PKI = new TestPki();
    private static final TestPki.Leaf BROKER = PKI.server("kafka-broker");
    private static final TestPki.Leaf ALICE = PKI.member("proj", "alice");
    private static final TestPki.Leaf SERVICE = PKI.service("lulea-ca");
    private static final long REFRESH_MS = 200;

    @TempDir
    Path dir;
    private CrlServer ca;
    private Fixture fixture;

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
        if (ca != null) {
            ca.close();
        }
    }

    /** A broker-side SSLContext whose trust managers are {@code kind}, polling {@link #ca} every 200 ms. */
    private SSLContext broker(ListenerKind kind) throws Exception {
        ca = new CrlServer(PKI.crl(1, Duration.ofDays(1)));
        fixture = new Fixture(dir, PKI, Clock.systemUTC(), Map.of(
                RevocationConfig.CRL_URL, ca.url(), RevocationConfig.REFRESH_MS, String.valueOf(REFRESH_MS)));
        return PKI.context(BROKER, trustManagers(fixture.provider, kind));
    }

    private static javax.net.ssl.TrustManager[] trustManagers(LuleaProvider provider, ListenerKind kind)
            throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(kind.algorithm(), provider);
        tmf.init(PKI.truststore());
        return tmf.getTrustManagers();
    }

    @Test
    void aMemberIsRefusedWithinTwoPollsOfItsSerialAppearingOnTheCrl() throws Exception {
        try (Tls.Server server = new Tls.Server(broker(ListenerKind.MEMBER))) {
            assertTrue(Tls.connect(PKI.clientContext(ALICE), server.port()), "a valid member is accepted");
            long polled = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ca.notModified.get() == 0) {
                assertTrue(System.nanoTime() < polled, "the poller never sent a conditional GET");
                Thread.sleep(10);
            }

            int servedBefore = ca.served.get();
            long changed = System.nanoTime();
            ca.publish(PKI.crl(2, Duration.ofDays(1), ALICE.serial()));
            long deadline = changed + Duration.ofSeconds(10).toNanos();
            while (Tls.connect(PKI.clientContext(ALICE), server.port())) {
                if (System.nanoTime() > deadline) {
                    fail("still accepted 10 s after the CRL changed");
                }
                Thread.sleep(10);
            }
            long ms = Duration.ofNanos(System.nanoTime() - changed).toMillis();
            int polls = ca.served.get() - servedBefore;
            System.out.printf("refused %d ms after the CRL changed (refresh %d ms, %d polls)%n", ms, REFRESH_MS, polls);
            // Counted in polls, not milliseconds: the first poll after the change must be enough.
            assertTrue(polls <= 2, "needed " + polls + " polls that brought a new CRL");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aRemovedMemberCannotResumeASessionFromBeforeItsRemoval(String protocol) throws Exception {
        try (Tls.Server server = new Tls.Server(broker(ListenerKind.MEMBER))) {
            // One client context: it would offer its session (a TLS 1.3 ticket, a TLS 1.2 session id).
            SSLContext alice = PKI.clientContext(ALICE);
            assertTrue(Tls.connect(alice, server.port(), protocol));
            assertTrue(Tls.connect(alice, server.port(), protocol));
            ca.publish(PKI.crl(2, Duration.ofDays(1), ALICE.serial()));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Tls.connect(PKI.clientContext(ALICE), server.port()) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertFalse(Tls.connect(alice, server.port(), protocol), "a resumed session skipped the revocation check");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void kafkasSslEnginePathRefusesTheWrongKindAndRevokedCertificates(String protocol) throws Exception {
        SSLContext member = broker(ListenerKind.MEMBER);
        SSLContext platform = PKI.context(BROKER, trustManagers(fixture.provider, ListenerKind.PLATFORM));
        assertTrue(engines(member, ALICE, protocol), "member on the member listener");
        assertFalse(engines(member, SERVICE, protocol), "service on the member listener");
        assertFalse(engines(platform, ALICE, protocol), "member on the platform listener");
        assertTrue(engines(platform, SERVICE, protocol), "service on the platform listener");

        ca.publish(PKI.crl(2, Duration.ofDays(1), ALICE.serial()));
        fixture.revocation.pollNow();
        assertFalse(engines(member, ALICE, protocol), "revoked member");
    }

    private static boolean engines(SSLContext server, TestPki.Leaf client, String protocol) {
        javax.net.ssl.SSLEngine clientEngine = Tls.clientEngine(PKI.clientContext(client));
        clientEngine.setEnabledProtocols(new String[] {protocol});
        return Tls.handshake(clientEngine, Tls.serverEngine(server));
    }
}
