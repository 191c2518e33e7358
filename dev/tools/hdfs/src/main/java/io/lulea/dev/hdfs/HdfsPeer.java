package io.lulea.dev.hdfs;

import java.io.File;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Apache HDFS for bench/storage: one NameNode and one DataNode in this JVM (Hadoop's own
 * MiniDFSCluster), WebHDFS on 127.0.0.1:&lt;http-port&gt;, everything under &lt;data-dir&gt;.
 * Prints one line {@code HDFS_PEER_READY <webhdfs url>} on stdout once the DataNode has
 * registered, then runs until it is killed (SIGTERM shuts the cluster down cleanly).
 *
 * <pre>java --add-opens ... -cp 'libs/*:peer.jar' io.lulea.dev.hdfs.HdfsPeer --http-port N --rpc-port M --data DIR
 *     [--conf key=value ...]</pre>
 * ({@code --conf} sets any Hadoop property, e.g. to tune the peer for a second measurement.)
 *
 * Permissions are off and authentication is "simple" (user.name): the peer is a throughput
 * reference on loopback, not a security one.
 */
public final class HdfsPeer {
    private HdfsPeer() {}

    public static void main(String[] args) throws Exception {
        int httpPort = -1;
        int rpcPort = -1;
        String data = null;
        java.util.List<String[]> overrides = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--http-port" -> { httpPort = Integer.parseInt(value); i++; }
                case "--rpc-port" -> { rpcPort = Integer.parseInt(value); i++; }
                case "--data" -> { data = value; i++; }
                case "--conf" -> {
                    if (value == null || !value.contains("=")) usage("--conf takes key=value");
                    overrides.add(value.split("=", 2));
                    i++;
                }
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (httpPort <= 0 || rpcPort <= 0 || data == null) {
            usage("--http-port, --rpc-port and --data are required");
        }

        Configuration conf = new HdfsConfiguration();
        conf.setBoolean("dfs.webhdfs.enabled", true);
        conf.setBoolean("dfs.permissions.enabled", false);
        conf.setInt("dfs.replication", 1);
        conf.set("hadoop.security.authentication", "simple");
        // Loopback only: the NameNode's HTTP (WebHDFS) and RPC, and the DataNode's ports.
        conf.set("dfs.namenode.http-address", "127.0.0.1:" + httpPort);
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");

        for (String[] kv : overrides) {
            conf.set(kv[0], kv[1]);
        }

        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, new File(data))
                .numDataNodes(1)
                .nameNodePort(rpcPort)
                .nameNodeHttpPort(httpPort)
                .format(true)
                .build();
        cluster.waitActive();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                cluster.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "hdfs-peer-shutdown"));
        System.out.println("HDFS_PEER_READY http://127.0.0.1:" + httpPort + "/webhdfs/v1");
        System.out.flush();
        stopped.await();
    }

    private static void usage(String why) {
        System.err.println("hdfs-peer: " + why);
        System.err.println("usage: HdfsPeer --http-port N --rpc-port M --data DIR [--conf key=value ...]");
        System.exit(2);
    }
}
