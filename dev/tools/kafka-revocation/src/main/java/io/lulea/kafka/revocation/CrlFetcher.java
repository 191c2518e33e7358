package io.lulea.kafka.revocation;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * One GET of the CRL URL. Over http(s) it is conditional when the server gave an ETag or Last-Modified
 * (the CA's own endpoint gives neither, so each poll is a full, small, GET); a file URL is simply read.
 */
final class CrlFetcher {
    /** A CRL this size would be millions of entries; a larger body is refused rather than buffered. */
    static final int MAX_BYTES = 16 << 20;

    /** What one fetch gave: new bytes, nothing new, or why it failed. */
    sealed interface Result permits Fetched, NotModified, Failed {}

    record Fetched(byte[] body) implements Result {}

    record NotModified() implements Result {}

    record Failed(String reason) implements Result {}

    private final URI url;
    private final Duration timeout;
    private final Optional<Path> truststore;
    private HttpClient http;
    private String etag;
    private String lastModified;

    CrlFetcher(URI url, Duration timeout, Optional<Path> truststore) {
        this.url = url;
        this.timeout = timeout;
        this.truststore = truststore;
    }

    /** Not thread-safe: the poller calls it from one thread at a time. */
    Result fetch() {
        try {
            return "file".equalsIgnoreCase(url.getScheme()) ? readFile() : get();
        } catch (IOException e) {
            return new Failed(e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Failed("interrupted");
        }
    }

    private Result readFile() throws IOException {
        Path path = Path.of(url);
        if (Files.size(path) > MAX_BYTES) {
            return new Failed(path + " is larger than " + MAX_BYTES + " bytes");
        }
        return new Fetched(Files.readAllBytes(path));
    }

    private Result get() throws IOException, InterruptedException {
        if (http == null) {
            http = client(timeout, truststore); // here, not in the constructor: a client starts a thread
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(timeout).GET()
                .header("Accept", "application/pkix-crl")
                .header("Cache-Control", "no-cache");
        if (etag != null) {
            request.header("If-None-Match", etag);
        }
        if (lastModified != null) {
            request.header("If-Modified-Since", lastModified);
        }
        HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            if (response.statusCode() == 304) {
                return new NotModified();
            }
            if (response.statusCode() != 200) {
                return new Failed("HTTP " + response.statusCode());
            }
            byte[] bytes = body.readNBytes(MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) {
                return new Failed("response larger than " + MAX_BYTES + " bytes");
            }
            etag = response.headers().firstValue("ETag").orElse(null);
            lastModified = response.headers().firstValue("Last-Modified").orElse(null);
            return new Fetched(bytes);
        }
    }

    private static HttpClient client(Duration timeout, Optional<Path> truststore) {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL);
        truststore.ifPresent(path -> builder.sslContext(sslContext(path)));
        return builder.build();
    }

    /** An SSLContext that trusts only the CA certificates in a PEM file. */
    static SSLContext sslContext(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException(pem + " holds no PEM certificate");
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int i = 0;
            for (Certificate cert : certs) {
                store.setCertificateEntry("ca-" + i++, cert);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read " + RevocationConfig.TRUSTSTORE + " " + pem + ": " + e, e);
        }
    }
}
