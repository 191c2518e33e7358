package io.lulea.kafka.revocation;

import java.nio.ByteBuffer;
import java.security.cert.CRLException;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CRLs the broker holds and the revocation decision.
 *
 * <p>The poller {@link #offer}s whatever the URL (or the cache file) returned as the latest CRL. A CRL is
 * put in force for an issuer only once its signature verifies with that issuer's key; issuers are learnt
 * from the chains PKIX has validated (the certificate that signed an accepted leaf), so a CRL signed by
 * any other key never counts. An issuer's CRL in force is replaced only by one with a higher CRL number
 * (no rollback to an older list), unless the one in force has expired. Until a handshake has named an
 * issuer, the last few distinct CRLs are kept, so that one replayed after a newer one cannot win.
 *
 * <p>The decision fails closed: no CRL in force for the leaf's issuer, or one past its nextUpdate, refuses.
 */
final class CrlStore {
    private static final Logger LOG = LoggerFactory.getLogger(CrlStore.class);
    /** Distinct CRLs kept for an issuer not yet seen: a CA publishes one list at a time, so a few suffice. */
    static final int RECENT = 8;

    private final Clock clock;
    private final Consumer<Crl> onInForce;
    private volatile Crl latest;
    private final Deque<Crl> recent = new ArrayDeque<>();
    private final Map<ByteBuffer, X509Certificate> issuers = new ConcurrentHashMap<>();
    private final Map<ByteBuffer, Crl> inForce = new ConcurrentHashMap<>();

    /** {@code onInForce} hears of each CRL put in force (the poller keeps it in the cache file). */
    CrlStore(Clock clock, Consumer<Crl> onInForce) {
        this.clock = clock;
        this.onInForce = onInForce;
    }

    /** Takes the latest CRL from {@code source}. False if it is the one already held. */
    boolean offer(byte[] der, String source) throws CRLException {
        Crl held = latest;
        if (held != null && held.sameBytes(der)) {
            return false;
        }
        Crl crl = Crl.parse(der, source);
        synchronized (this) {
            latest = crl;
            recent.addFirst(crl);
            if (recent.size() > RECENT) {
                recent.removeLast();
            }
        }
        LOG.debug("Fetched {} from {}", crl, source);
        boolean anyIssuer = false;
        for (X509Certificate issuer : issuers.values()) {
            anyIssuer |= consider(crl, issuer);
        }
        if (!anyIssuer && !issuers.isEmpty()) {
            LOG.warn("The CRL from {} (issuer {}) is not signed by any issuer of the certificates this broker "
                    + "has validated; ignored", source, crl.crl.getIssuerX500Principal().getName());
        }
        return true;
    }

    /** Why {@code leaf} (signed by {@code issuer}) is refused, or empty if it is not revoked. */
    Optional<String> refusal(X509Certificate leaf, X509Certificate issuer) {
        ByteBuffer key = keyOf(issuer);
        if (issuers.putIfAbsent(key, issuer) == null) {
            learn(issuer, leaf);
        }
        Crl crl = inForce.get(key);
        if (crl == null) {
            return Optional.of("no valid CRL from " + issuer.getSubjectX500Principal().getName()
                    + " (none fetched yet, or none signed by that issuer)");
        }
        Instant now = clock.instant();
        if (!now.isBefore(crl.nextUpdate())) {
            return Optional.of(crl + " expired at " + crl.nextUpdate());
        }
        X509CRLEntry entry = crl.crl.getRevokedCertificate(leaf.getSerialNumber());
        if (entry != null) {
            return Optional.of("revoked at " + entry.getRevocationDate().toInstant() + " (" + crl + ")");
        }
        return Optional.empty();
    }

    /** The CRL in force for {@code issuer}, if any. */
    Optional<Crl> inForce(X509Certificate issuer) {
        return Optional.ofNullable(inForce.get(keyOf(issuer)));
    }

    /**
     * For the poller's log lines: true if a CRL in force has not passed its nextUpdate, or, before any
     * handshake has named an issuer, if the latest CRL (still to be verified) has not.
     */
    boolean holdsValidCrl() {
        Instant now = clock.instant();
        if (!inForce.isEmpty()) {
            return inForce.values().stream().anyMatch(c -> now.isBefore(c.nextUpdate()));
        }
        Crl candidate = latest;
        return candidate != null && issuers.isEmpty() && now.isBefore(candidate.nextUpdate());
    }

    Optional<Crl> latest() {
        return Optional.ofNullable(latest);
    }

    /** A new issuer: the highest-numbered recent CRL that it signed goes in force. */
    private synchronized void learn(X509Certificate issuer, X509Certificate leaf) {
        List<Crl> candidates = new ArrayList<>(recent);
        candidates.sort(Comparator.comparing((Crl c) -> c.number).reversed());
        for (Crl candidate : candidates) {
            if (consider(candidate, issuer)) {
                return;
            }
        }
        if (!candidates.isEmpty()) {
            LOG.warn("No CRL from {} is signed by {}, the issuer of {}; they are ignored", latest.source,
                    issuer.getSubjectX500Principal().getName(), ListenerKind.describe(leaf.getSubjectX500Principal()));
        }
    }

    /** Puts {@code crl} in force for {@code issuer} if it is signed by it and newer; true if it is signed by it. */
    private synchronized boolean consider(Crl crl, X509Certificate issuer) {
        if (!crl.signedBy(issuer)) {
            return false;
        }
        ByteBuffer key = keyOf(issuer);
        Crl held = inForce.get(key);
        if (held == crl) {
            return true;
        }
        if (held != null && !newer(crl, held)) {
            LOG.warn("Ignored {} from {}: {} is in force and a CRL may only move forward", crl, crl.source, held);
            return true;
        }
        inForce.put(key, crl);
        LOG.info("In force for {}: {} from {} (was {})", issuer.getSubjectX500Principal().getName(), crl,
                crl.source, held == null ? "none" : "number " + held.number);
        onInForce.accept(crl);
        return true;
    }

    private boolean newer(Crl crl, Crl held) {
        int order = crl.number.compareTo(held.number);
        if (order != 0) {
            // A lower number only replaces an expired list (a CA whose counter was reset), never a valid one.
            Instant now = clock.instant();
            return order > 0 || (!now.isBefore(held.nextUpdate()) && now.isBefore(crl.nextUpdate()));
        }
        return crl.thisUpdate().isAfter(held.thisUpdate());
    }

    private static ByteBuffer keyOf(X509Certificate issuer) {
        return ByteBuffer.wrap(issuer.getPublicKey().getEncoded());
    }
}
