package io.lulea.kafka.revocation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.X509ExtendedTrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trust managers' decisions, called directly (the handshake tests drive them through TLS). */
class TrustManagerTest {
    private static final TestPki PKI = new TestPki();
    private static final TestPki.Leaf ALICE = PKI.member("proj", "alice");
    private static final TestPki.Leaf BOB = PKI.member("proj", "bob");
    private static final TestPki.Leaf SERVICE = PKI.service("lulea-ca");
    private static final Duration DAY = Duration.ofDays(1);

    @TempDir
    Path dir;
    private Fixture fixture;

    @AfterEach
    void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    private Fixture fixture() {
        fixture = new Fixture(dir, PKI);
        return fixture;
    }

    private static void accepted(X509ExtendedTrustManager tm, TestPki.Leaf leaf) {
        assertDoesNotThrow(() -> tm.checkClientTrusted(leaf.chain(), "EC"));
    }

    private static void refused(X509ExtendedTrustManager tm, TestPki.Leaf leaf, String why) {
        CertificateException e = assertThrows(CertificateException.class, () -> tm.checkClientTrusted(leaf.chain(), "EC"));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void aValidMemberIsAcceptedOnTheMemberListener() {
        Fixture f = fixture();
        f.publish(PKI.crl(1, DAY, BOB.serial()));
        accepted(f.trustManager(ListenerKind.MEMBER), ALICE);
    }

    @Test
    void eachListenerRefusesTheOtherKindOfCertificate() {
        Fixture f = fixture();
        f.publish(PKI.crl(1, DAY));
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        X509ExtendedTrustManager platform = f.trustManager(ListenerKind.PLATFORM);
        refused(member, SERVICE, "not a member certificate");
        refused(platform, ALICE, "may not use the platform listener");
        accepted(platform, SERVICE);
        accepted(member, ALICE);
    }

    @Test
    void aRevokedSerialIsRefusedAndOnlyThatOne() {
        Fixture f = fixture();
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        f.publish(PKI.crl(1, DAY));
        accepted(member, BOB);
        f.publish(PKI.crl(2, DAY, BOB.serial()));
        refused(member, BOB, "revoked at");
        accepted(member, ALICE);
    }

    @Test
    void aServiceOnTheCrlIsRefusedOnThePlatformListener() {
        Fixture f = fixture();
        f.publish(PKI.crl(1, DAY, SERVICE.serial()));
        refused(f.trustManager(ListenerKind.PLATFORM), SERVICE, "revoked at");
    }

    @Test
    void aCrlSignedByAnotherKeyIsIgnored() {
        TestPki impostor = new TestPki(); // the same names as PKI's CA, other keys
        Fixture f = fixture();
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        f.publish(impostor.crl(1, DAY));
        refused(member, ALICE, "no valid CRL");

        f.publish(PKI.crl(2, DAY, BOB.serial()));
        refused(member, BOB, "revoked at");
        // A forged, newer CRL that would clear Bob changes nothing.
        f.publish(impostor.crl(3, DAY));
        refused(member, BOB, "revoked at");
        accepted(member, ALICE);
    }

    @Test
    void aCrlPastItsNextUpdateRefusesEveryone() {
        Fixture f = fixture();
        Instant now = Instant.now();
        f.publish(PKI.crl(1, now.minus(Duration.ofDays(2)), now.minusSeconds(60)));
        refused(f.trustManager(ListenerKind.MEMBER), ALICE, "expired at");
    }

    @Test
    void aCrlThatExpiresWhileHeldStartsRefusing() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        Clock clock = new Clock() {
            @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
            @Override public Clock withZone(java.time.ZoneId zone) { return this; }
            @Override public Instant instant() { return now.get(); }
        };
        fixture = new Fixture(dir, PKI, clock, Map.of());
        fixture.publish(PKI.crl(1, Duration.ofHours(1)));
        X509ExtendedTrustManager member = fixture.trustManager(ListenerKind.MEMBER);
        accepted(member, ALICE);
        now.set(now.get().plus(Duration.ofHours(2)));
        refused(member, ALICE, "expired at");
    }

    @Test
    void noCrlAtAllRefuses() {
        refused(fixture().trustManager(ListenerKind.MEMBER), ALICE, "no valid CRL");
        refused(fixture.trustManager(ListenerKind.PLATFORM), SERVICE, "no valid CRL");
    }

    @Test
    void theCacheFileServesAtStartWhenTheCaDoesNotAnswer() throws Exception {
        // Port 9 on loopback: nothing listens, the fetch fails at once.
        fixture = new Fixture(dir, PKI, Clock.systemUTC(), Map.of(RevocationConfig.CRL_URL, "http://127.0.0.1:9/crl"));
        Fixture.write(fixture.cacheFile, PKI.crl(4, DAY, BOB.serial()));
        X509ExtendedTrustManager member = fixture.trustManager(ListenerKind.MEMBER);
        accepted(member, ALICE);
        refused(member, BOB, "revoked at");
    }

    @Test
    void aCrlIsCachedOnlyOnceItVerifies() throws Exception {
        Fixture f = fixture();
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        f.publish(new TestPki().crl(7, DAY));
        refused(member, ALICE, "no valid CRL");
        assertFalse(Files.exists(f.cacheFile), "a CRL that did not verify was cached");

        byte[] good = PKI.crl(8, DAY, BOB.serial());
        f.publish(good);
        accepted(member, ALICE);
        assertArrayEquals(good, Files.readAllBytes(f.cacheFile));
    }

    @Test
    void anOlderCrlNumberDoesNotReplaceANewerOne() {
        Fixture f = fixture();
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        // A replayed list from before Bob was removed, before any handshake has named the issuer...
        f.publish(PKI.crl(5, DAY, BOB.serial()));
        f.publish(PKI.crl(4, DAY));
        refused(member, BOB, "revoked at");
        // ...and after.
        f.publish(PKI.crl(6, DAY, BOB.serial()));
        f.publish(PKI.crl(3, DAY));
        refused(member, BOB, "revoked at");
    }

    @Test
    void aFailedFetchKeepsTheValidCrlHeld() throws Exception {
        Fixture f = fixture();
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        f.publish(PKI.crl(1, DAY, BOB.serial()));
        Files.delete(f.crlFile);
        f.revocation.pollNow();
        accepted(member, ALICE);
        refused(member, BOB, "revoked at");
        Fixture.write(f.crlFile, "not a CRL".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        f.revocation.pollNow();
        accepted(member, ALICE);
    }

    @Test
    void pkixStillDecidesTheChain() {
        Fixture f = fixture();
        f.publish(PKI.crl(1, DAY));
        TestPki.Leaf stranger = new TestPki().member("proj", "alice");
        CertificateException e = assertThrows(CertificateException.class,
                () -> f.trustManager(ListenerKind.MEMBER).checkClientTrusted(stranger.chain(), "EC"));
        assertFalse(e.getMessage().contains("refused"), "PKIX, not our check, should refuse: " + e.getMessage());
    }

    @Test
    void theServerSideChecksTheCrlButNotTheCn() {
        Fixture f = fixture();
        TestPki.Leaf broker = PKI.server("kafka-broker");
        X509ExtendedTrustManager member = f.trustManager(ListenerKind.MEMBER);
        f.publish(PKI.crl(1, DAY));
        assertDoesNotThrow(() -> member.checkServerTrusted(broker.chain(), "ECDHE_ECDSA"));
        f.publish(PKI.crl(2, DAY, broker.serial()));
        assertThrows(CertificateException.class, () -> member.checkServerTrusted(broker.chain(), "ECDHE_ECDSA"));
    }

    @Test
    void serialsCompareAsNumbers() {
        Fixture f = fixture();
        f.publish(PKI.crl(1, DAY, new BigInteger(ALICE.serial().toString(16), 16)));
        refused(f.trustManager(ListenerKind.MEMBER), ALICE, "revoked at");
    }
}
