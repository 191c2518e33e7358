package io.lulea.kafka.revocation;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the certificate whose key signed a leaf PKIX has just accepted: among the chain the peer sent
 * and the trust anchors, the one named as the leaf's issuer whose public key verifies the leaf's signature.
 * That key is the one a CRL must be signed with. Verified pairs are remembered (a signature never stops
 * verifying), so a reconnecting client costs a map lookup, not a second signature check.
 */
final class IssuerLocator {
    /** Enough for every member of a busy cluster; past it the memo starts over rather than grow. */
    private static final int MEMO_LIMIT = 50_000;

    private final Map<X509Certificate, X509Certificate> memo = new ConcurrentHashMap<>();

    Optional<X509Certificate> issuerOf(X509Certificate[] chain, X509Certificate[] anchors) {
        X509Certificate leaf = chain[0];
        X509Certificate known = memo.get(leaf);
        if (known != null) {
            return Optional.of(known);
        }
        for (int i = 1; i < chain.length; i++) {
            if (signed(chain[i], leaf)) {
                return Optional.of(remember(leaf, chain[i]));
            }
        }
        for (X509Certificate anchor : anchors) {
            if (signed(anchor, leaf)) {
                return Optional.of(remember(leaf, anchor));
            }
        }
        return Optional.empty();
    }

    private X509Certificate remember(X509Certificate leaf, X509Certificate issuer) {
        if (memo.size() >= MEMO_LIMIT) {
            memo.clear();
        }
        memo.put(leaf, issuer);
        return issuer;
    }

    private static boolean signed(X509Certificate issuer, X509Certificate leaf) {
        if (!issuer.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
            return false;
        }
        try {
            leaf.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
