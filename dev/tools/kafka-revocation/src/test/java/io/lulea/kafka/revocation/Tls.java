package io.lulea.kafka.revocation;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/** Real handshakes for the tests: over a loopback socket, and between two SSLEngines in memory (Kafka's way). */
final class Tls {
    private Tls() {
    }

    /** A TLS server on loopback that requires a client certificate and answers "ok" once it is accepted. */
    static final class Server implements AutoCloseable {
        private final SSLServerSocket socket;
        private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "tls-test-server");
            t.setDaemon(true);
            return t;
        });

        Server(SSLContext context) throws IOException {
            socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
            socket.setNeedClientAuth(true);
            pool.execute(this::accept);
        }

        int port() {
            return socket.getLocalPort();
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    SSLSocket client = (SSLSocket) socket.accept();
                    pool.execute(() -> serve(client));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void serve(SSLSocket client) {
            try (client) {
                client.startHandshake();
                OutputStream out = client.getOutputStream();
                out.write("ok\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                client.getInputStream().read(); // until the client closes
            } catch (IOException e) {
                // a refused handshake: the client sees the alert
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            pool.shutdownNow();
        }
    }

    /**
     * Connects with {@code client} and waits for the server's "ok". True if the server accepted the client's
     * certificate; false if the handshake ended in an alert. (In TLS 1.3 the client finishes its side before
     * the server has checked its certificate, so only the first read tells.)
     */
    static boolean connect(SSLContext client, int port) throws IOException {
        return connect(client, port, "TLSv1.3");
    }

    static boolean connect(SSLContext client, int port, String protocol) throws IOException {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            InputStream in = socket.getInputStream();
            byte[] ok = in.readNBytes(3);
            return new String(ok, StandardCharsets.US_ASCII).equals("ok\n");
        } catch (SSLException | SocketException e) {
            return false; // the alert, or the server closing while our Finished was still on its way
        }
    }

    /**
     * A full handshake between a client and a server engine, then one application record from client to
     * server. True if it got through; false if either engine failed (a refused certificate).
     */
    static boolean handshake(SSLEngine client, SSLEngine server) {
        try {
            int packet = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
            int app = Math.max(client.getSession().getApplicationBufferSize(), server.getSession().getApplicationBufferSize());
            ByteBuffer toServer = ByteBuffer.allocate(packet * 4);
            ByteBuffer toClient = ByteBuffer.allocate(packet * 4);
            ByteBuffer clientIn = ByteBuffer.allocate(app * 2);
            ByteBuffer serverIn = ByteBuffer.allocate(app * 2);
            ByteBuffer ping = ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII));
            ByteBuffer none = ByteBuffer.allocate(0);
            client.beginHandshake();
            server.beginHandshake();
            for (int round = 0; round < 100; round++) {
                boolean clientDone = client.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING;
                client.wrap(clientDone ? ping : none, toServer);
                tasks(client);
                server.wrap(none, toClient);
                tasks(server);
                toServer.flip();
                toClient.flip();
                client.unwrap(toClient, clientIn);
                tasks(client);
                server.unwrap(toServer, serverIn);
                tasks(server);
                toServer.compact();
                toClient.compact();
                if (serverIn.position() >= 4) {
                    return true; // the server decrypted application data: it accepted the client
                }
                if (client.isOutboundDone() || server.isOutboundDone()) {
                    return false;
                }
            }
            throw new IllegalStateException("handshake did not finish in 100 rounds");
        } catch (SSLException e) {
            return false;
        }
    }

    private static void tasks(SSLEngine engine) {
        for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
            task.run();
        }
    }

    static SSLEngine serverEngine(SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setNeedClientAuth(true);
        return engine;
    }

    static SSLEngine clientEngine(SSLContext context) {
        SSLEngine engine = context.createSSLEngine("127.0.0.1", 9093);
        engine.setUseClientMode(true);
        return engine;
    }
}
