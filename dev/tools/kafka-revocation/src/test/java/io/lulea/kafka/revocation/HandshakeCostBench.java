package io.lulea.kafka.revocation;

import java.nio.file.Path;
import java.time.Duration;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the plug-in adds to a TLS 1.3 mTLS handshake (in memory, SSLEngine to SSLEngine, both sides on one
 * thread), interleaved so drift hits all three: PKIX when the client resumes its session (a Java client
 * reconnecting), PKIX with full handshakes (librdkafka never resumes), and LuleaMember, which always runs
 * the full handshake because it makes sessions non-resumable. Prints numbers, asserts nothing.
 *
 *     mvn -q test -Dlulea.excludedGroups= -Dtest=HandshakeCostBench
 */
@Tag("bench")
class HandshakeCostBench {
    private static final int WARMUP = 400;
    private static final int ROUNDS = 5;
    private static final int PER_ROUND = 100;

    @TempDir
    Path dir;

    @Test
    void pkixAgainstLuleaMember() throws Exception {
        TestPki pki = new TestPki();
        TestPki.Leaf broker = pki.server("kafka-broker");
        TestPki.Leaf alice = pki.member("proj", "alice");
        try (Fixture fixture = new Fixture(dir, pki)) {
            fixture.publish(pki.crl(1, Duration.ofDays(1), pki.member("proj", "bob").serial()));
            TrustManagerFactory plain = TrustManagerFactory.getInstance("PKIX");
            plain.init(pki.truststore());
            TrustManagerFactory lulea = TrustManagerFactory.getInstance("LuleaMember", fixture.provider);
            lulea.init(pki.truststore());
            SSLContext pkixServer = pki.context(broker, plain.getTrustManagers());
            SSLContext luleaServer = pki.context(broker, lulea.getTrustManagers());
            SSLContext client = pki.clientContext(alice);
            run(client, pkixServer, true, WARMUP);
            run(client, pkixServer, false, WARMUP);
            run(client, luleaServer, false, WARMUP);
            long resumed = 0;
            long full = 0;
            long ours = 0;
            for (int round = 0; round < ROUNDS; round++) {
                resumed += run(client, pkixServer, true, PER_ROUND);
                full += run(client, pkixServer, false, PER_ROUND);
                ours += run(client, luleaServer, true, PER_ROUND);
            }
            double n = (double) ROUNDS * PER_ROUND;
            System.out.printf("handshake, client+server CPU on one thread: PKIX resumed %.0f us, PKIX full %.0f us, "
                    + "LuleaMember %.0f us (x%.2f of PKIX full, x%.2f of PKIX resumed)%n", resumed / n / 1e3,
                    full / n / 1e3, ours / n / 1e3, (double) ours / full, (double) ours / resumed);
            TrustManager tm = lulea.getTrustManagers()[0];
            javax.net.ssl.X509ExtendedTrustManager check = (javax.net.ssl.X509ExtendedTrustManager) tm;
            javax.net.ssl.X509ExtendedTrustManager pkixOnly = (javax.net.ssl.X509ExtendedTrustManager) plain.getTrustManagers()[0];
            System.out.printf("checkClientTrusted alone: PKIX %.1f us, LuleaMember %.1f us%n",
                    check(pkixOnly, alice) / 1e3, check(check, alice) / 1e3);
        }
    }

    /**
     * Nanoseconds for {@code n} handshakes, each a fresh pair of engines. A client engine made without a peer
     * host never looks for a session to resume; one made with the same host and port each time does.
     */
    private static long run(SSLContext client, SSLContext server, boolean mayResume, int n) {
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            javax.net.ssl.SSLEngine engine = mayResume ? Tls.clientEngine(client) : client.createSSLEngine();
            engine.setUseClientMode(true);
            if (!Tls.handshake(engine, Tls.serverEngine(server))) {
                throw new IllegalStateException("handshake refused");
            }
        }
        return System.nanoTime() - start;
    }

    /** Mean nanoseconds of one checkClientTrusted over the member's chain. */
    private static double check(javax.net.ssl.X509ExtendedTrustManager tm, TestPki.Leaf leaf) throws Exception {
        for (int i = 0; i < 20_000; i++) {
            tm.checkClientTrusted(leaf.chain(), "EC");
        }
        int n = 50_000;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            tm.checkClientTrusted(leaf.chain(), "EC");
        }
        return (System.nanoTime() - start) / (double) n;
    }
}
