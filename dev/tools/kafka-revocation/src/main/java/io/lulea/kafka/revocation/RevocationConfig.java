package io.lulea.kafka.revocation;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.kafka.common.config.ConfigException;

/**
 * The plug-in's broker properties. They are global (one CRL for the broker), read from the map Kafka
 * hands to {@link LuleaSecurityProviderCreator#configure}; a missing or bad value fails the broker's start.
 *
 * @param crlUrl     {@value #CRL_URL}: where the CA publishes its DER CRL (http, https or file)
 * @param refresh    {@value #REFRESH_MS}: how often the URL is polled
 * @param timeout    {@value #TIMEOUT_MS}: connect + response timeout of one fetch
 * @param cacheFile  {@value #CACHE_FILE}: the last CRL that verified, read at start
 * @param truststore {@value #TRUSTSTORE}: PEM CA certificates for an https CRL URL's server
 */
public record RevocationConfig(URI crlUrl, Duration refresh, Duration timeout,
                               Optional<Path> cacheFile, Optional<Path> truststore) {

    public static final String CRL_URL = "lulea.revocation.crl.url";
    public static final String REFRESH_MS = "lulea.revocation.refresh.ms";
    public static final String TIMEOUT_MS = "lulea.revocation.fetch.timeout.ms";
    public static final String CACHE_FILE = "lulea.revocation.cache.file";
    public static final String TRUSTSTORE = "lulea.revocation.truststore";

    public static final long DEFAULT_REFRESH_MS = 1000;
    public static final long DEFAULT_TIMEOUT_MS = 5000;
    /** Below this the poller would mostly measure the CA's latency; one fetch per 100 ms is plenty. */
    static final long MIN_REFRESH_MS = 100;
    private static final Set<String> SCHEMES = Set.of("http", "https", "file");

    public RevocationConfig {
        if (refresh.toMillis() < MIN_REFRESH_MS) {
            throw new ConfigException(REFRESH_MS, refresh.toMillis(), "must be at least " + MIN_REFRESH_MS);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new ConfigException(TIMEOUT_MS, timeout.toMillis(), "must be positive");
        }
    }

    /** Reads and checks the plug-in's keys; other keys of the broker's config are ignored. */
    public static RevocationConfig from(Map<String, ?> configs) {
        String url = string(configs, CRL_URL)
                .orElseThrow(() -> new ConfigException(CRL_URL + " is required: the URL of the CA's CRL "
                        + "(http, https or file); without it every client handshake would be refused"));
        Optional<Path> truststore = string(configs, TRUSTSTORE).map(Path::of);
        truststore.ifPresent(p -> {
            if (!Files.isReadable(p)) {
                throw new ConfigException(TRUSTSTORE, p.toString(), "is not a readable file");
            }
            try {
                CrlFetcher.sslContext(p);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(TRUSTSTORE, p.toString(), e.getMessage());
            }
        });
        return new RevocationConfig(
                uri(url),
                Duration.ofMillis(millis(configs, REFRESH_MS, DEFAULT_REFRESH_MS)),
                Duration.ofMillis(millis(configs, TIMEOUT_MS, DEFAULT_TIMEOUT_MS)),
                string(configs, CACHE_FILE).map(Path::of),
                truststore);
    }

    private static URI uri(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new ConfigException(CRL_URL, value, "is not a URI: " + e.getMessage());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!SCHEMES.contains(scheme)) {
            throw new ConfigException(CRL_URL, value, "must be an http, https or file URL");
        }
        return uri;
    }

    private static Optional<String> string(Map<String, ?> configs, String key) {
        Object value = configs.get(key);
        if (value == null) {
            return Optional.empty();
        }
        String text = String.valueOf(value).trim();
        return text.isEmpty() ? Optional.empty() : Optional.of(text);
    }

    private static long millis(Map<String, ?> configs, String key, long fallback) {
        Optional<String> text = string(configs, key);
        if (text.isEmpty()) {
            return fallback;
        }
        try {
            return Long.parseLong(text.get());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text.get(), "must be a whole number of milliseconds");
        }
    }
}
