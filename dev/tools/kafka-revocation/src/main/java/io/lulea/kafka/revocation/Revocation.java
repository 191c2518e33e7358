package io.lulea.kafka.revocation;

import java.time.Clock;

/**
 * What the trust managers of one provider share: the CRL store, the issuer memo and the poller.
 * Nothing runs until the first TrustManagerFactory is initialised: Kafka builds a provider for every
 * SSL engine factory it configures (one per listener and reconfiguration) but installs only the first,
 * so only that one may start a thread.
 */
final class Revocation {
    private final RevocationConfig config;
    private final CrlStore crls;
    private final IssuerLocator issuers = new IssuerLocator();
    private final CrlPoller poller;
    private Thread thread;

    Revocation(RevocationConfig config) {
        this(config, Clock.systemUTC());
    }

    Revocation(RevocationConfig config, Clock clock) {
        this.config = config;
        this.poller = new CrlPoller(config, new CrlFetcher(config.crlUrl(), config.timeout(), config.truststore()));
        this.crls = new CrlStore(clock, poller::persist);
        poller.attach(crls);
    }

    /** Reads the cache, fetches once, then polls on a daemon thread. Idempotent. */
    synchronized void start() {
        if (thread != null) {
            return;
        }
        poller.prime();
        thread = new Thread(poller, "lulea-crl-poller");
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops the poller (tests; the broker simply exits). */
    synchronized void stop() throws InterruptedException {
        if (thread != null) {
            thread.interrupt();
            thread.join();
            thread = null;
        }
    }

    /** One poll now, on the caller's thread (tests). */
    void pollNow() {
        poller.poll();
    }

    RevocationConfig config() {
        return config;
    }

    CrlStore crls() {
        return crls;
    }

    IssuerLocator issuers() {
        return issuers;
    }
}
