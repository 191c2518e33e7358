package io.lulea.kafka.revocation;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** A CA's CRL endpoint on loopback: serves the current DER with an ETag and answers 304 when it matches. */
final class CrlServer implements AutoCloseable {
    private final HttpServer server;
    private final AtomicReference<byte[]> crl = new AtomicReference<>();
    /** Responses that carried a body (200), i.e. polls that could have brought a new CRL. */
    final AtomicInteger served = new AtomicInteger();
    final AtomicInteger notModified = new AtomicInteger();

    CrlServer(byte[] initial) throws IOException {
        crl.set(initial);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/crl", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/crl";
    }

    void publish(byte[] der) {
        crl.set(der);
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] body = crl.get();
        String etag = '"' + etag(body) + '"';
        exchange.getResponseHeaders().set("ETag", etag);
        if (etag.equals(exchange.getRequestHeaders().getFirst("If-None-Match"))) {
            notModified.incrementAndGet();
            exchange.sendResponseHeaders(304, -1);
            exchange.close();
            return;
        }
        served.incrementAndGet();
        exchange.getResponseHeaders().set("Content-Type", "application/pkix-crl");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static String etag(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
