package io.lulea.kafka.revocation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CRLException;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the {@link CrlStore} fed: the cache file once at start, then the URL every refresh period, on a
 * daemon thread. A failed fetch keeps whatever is held (the store decides whether it is still valid);
 * each CRL put in force is written to the cache file, atomically, for the next start.
 */
final class CrlPoller implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(CrlPoller.class);
    /** While fetches keep failing, one log line per minute is enough. */
    private static final long FAILURE_LOG_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final RevocationConfig config;
    private final CrlFetcher fetcher;
    private CrlStore store;
    private int failures;
    private long lastFailureLog;
    private boolean validBefore = true;
    /** Not the poller's own lock: the store calls {@link #persist} from handshake threads too. */
    private final Object cacheLock = new Object();

    CrlPoller(RevocationConfig config, CrlFetcher fetcher) {
        this.config = config;
        this.fetcher = fetcher;
    }

    void attach(CrlStore crls) {
        this.store = crls;
    }

    /** Reads the cache file, then fetches once, before any handshake needs a CRL. */
    synchronized void prime() {
        config.cacheFile().ifPresent(this::readCache);
        poll();
    }

    @Override
    public void run() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(config.refresh().toMillis());
                poll();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("CRL poll of {} failed unexpectedly; trying again in {} ms", config.crlUrl(),
                        config.refresh().toMillis(), e);
            }
        }
    }

    synchronized void poll() {
        CrlFetcher.Result result = fetcher.fetch();
        if (result instanceof CrlFetcher.Fetched fetched) {
            try {
                store.offer(fetched.body(), config.crlUrl().toString());
                recovered();
            } catch (CRLException e) {
                failed("not a usable CRL: " + e.getMessage());
            }
        } else if (result instanceof CrlFetcher.Failed failure) {
            failed(failure.reason());
        } else {
            recovered();
        }
        reportValidity();
    }

    /** Called by the store for each CRL it puts in force. */
    void persist(Crl crl) {
        Path file = config.cacheFile().orElse(null);
        if (file == null || crl.source.equals(cacheSource(file))) {
            return;
        }
        synchronized (cacheLock) {
            write(file, crl);
        }
    }

    private static void write(Path file, Crl crl) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            try {
                Files.write(tmp, crl.der);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            LOG.warn("Could not write the CRL cache file {}: {}", file, e.toString());
        }
    }

    private void readCache(Path file) {
        try {
            store.offer(Files.readAllBytes(file), cacheSource(file));
            LOG.info("Read {} from the cache file {}", store.latest().orElseThrow(), file);
        } catch (NoSuchFileException e) {
            LOG.info("No CRL cache file {} yet; it is written once a fetched CRL verifies", file);
        } catch (IOException | CRLException e) {
            LOG.warn("Ignored the CRL cache file {}: {}", file, e.toString());
        }
    }

    private static String cacheSource(Path file) {
        return "cache file " + file;
    }

    private void failed(String reason) {
        failures++;
        long now = System.nanoTime();
        if (failures == 1 || now - lastFailureLog >= FAILURE_LOG_NANOS) {
            lastFailureLog = now;
            LOG.warn("CRL fetch from {} failed ({} in a row): {}; {}", config.crlUrl(), failures, reason,
                    store.holdsValidCrl() ? "keeping the CRL held until its nextUpdate"
                            : "no valid CRL is held, so client certificates are refused");
        }
    }

    private void recovered() {
        if (failures > 0) {
            LOG.info("CRL fetch from {} works again after {} failures", config.crlUrl(), failures);
            failures = 0;
        }
    }

    private void reportValidity() {
        boolean valid = store.holdsValidCrl();
        if (validBefore && !valid) {
            LOG.warn("No valid CRL is held ({}): every client certificate on a LuleaPlatform or LuleaMember "
                    + "listener is refused until a CRL is fetched from {}",
                    store.latest().map(c -> "latest: " + c).orElse("none fetched, no cache file"), config.crlUrl());
        } else if (!validBefore && valid) {
            LOG.info("A CRL within its nextUpdate is held again: {}", store.latest().orElseThrow());
        }
        validBefore = valid;
    }
}
