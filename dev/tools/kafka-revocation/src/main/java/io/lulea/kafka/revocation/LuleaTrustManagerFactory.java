package io.lulea.kafka.revocation;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.NoSuchAlgorithmException;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The {@code LuleaPlatform} / {@code LuleaMember} TrustManagerFactory: initialised with the listener's
 * truststore like the JDK's PKIX one (which does the chain validation), it hands out
 * {@link LuleaTrustManager}s. Initialising it starts the broker's CRL poller (once).
 */
public final class LuleaTrustManagerFactory extends TrustManagerFactorySpi {
    private final ListenerKind kind;
    private final Revocation revocation;
    private TrustManagerFactory pkix;

    LuleaTrustManagerFactory(ListenerKind kind, Revocation revocation) {
        this.kind = kind;
        this.revocation = revocation;
    }

    @Override
    protected void engineInit(KeyStore truststore) throws KeyStoreException {
        pkix = pkix();
        pkix.init(truststore);
        revocation.start();
    }

    @Override
    protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
        pkix = pkix();
        pkix.init(spec);
        revocation.start();
    }

    @Override
    protected TrustManager[] engineGetTrustManagers() {
        if (pkix == null) {
            throw new IllegalStateException(kind.algorithm() + " TrustManagerFactory is not initialized");
        }
        TrustManager[] managers = pkix.getTrustManagers();
        TrustManager[] wrapped = new TrustManager[managers.length];
        for (int i = 0; i < managers.length; i++) {
            if (!(managers[i] instanceof X509ExtendedTrustManager)) {
                throw new IllegalStateException("PKIX returned a " + managers[i].getClass().getName()
                        + ", not an X509ExtendedTrustManager");
            }
            wrapped[i] = new LuleaTrustManager((X509ExtendedTrustManager) managers[i], kind,
                    revocation.crls(), revocation.issuers());
        }
        return wrapped;
    }

    private static TrustManagerFactory pkix() {
        try {
            return TrustManagerFactory.getInstance("PKIX");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no PKIX TrustManagerFactory", e);
        }
    }
}
