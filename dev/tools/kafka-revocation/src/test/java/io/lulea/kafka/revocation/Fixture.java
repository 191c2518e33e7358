package io.lulea.kafka.revocation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A provider whose CRL URL is a file the test writes. The poller's own thread waits a minute between
 * polls, so a test moves on by {@link #publish}, which polls at once: no test waits on a clock.
 */
final class Fixture implements AutoCloseable {
    final TestPki pki;
    final Path crlFile;
    final Path cacheFile;
    final Revocation revocation;
    final LuleaProvider provider;

    Fixture(Path dir, TestPki pki) {
        this(dir, pki, Clock.systemUTC(), Map.of());
    }

    Fixture(Path dir, TestPki pki, Clock clock, Map<String, String> overrides) {
        this.pki = pki;
        this.crlFile = dir.resolve("crl.der");
        this.cacheFile = dir.resolve("cache").resolve("crl.der");
        Map<String, Object> configs = new HashMap<>();
        configs.put(RevocationConfig.CRL_URL, crlFile.toUri().toString());
        configs.put(RevocationConfig.REFRESH_MS, "60000");
        configs.put(RevocationConfig.CACHE_FILE, cacheFile.toString());
        configs.putAll(overrides);
        this.revocation = new Revocation(RevocationConfig.from(configs), clock);
        this.provider = new LuleaProvider(revocation);
    }

    /** A trust manager of {@code kind} over this CA's root; the first one starts the poller. */
    X509ExtendedTrustManager trustManager(ListenerKind kind) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(kind.algorithm(), provider);
            tmf.init(pki.truststore());
            return (X509ExtendedTrustManager) tmf.getTrustManagers()[0];
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Puts {@code crl} at the URL (atomically, as a CA would) and polls it now. */
    void publish(byte[] crl) {
        write(crlFile, crl);
        revocation.pollNow();
    }

    static void write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "crl", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            revocation.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
