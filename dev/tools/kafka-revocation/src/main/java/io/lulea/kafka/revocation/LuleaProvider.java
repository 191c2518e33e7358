package io.lulea.kafka.revocation;

import java.security.Provider;
import java.util.List;
import java.util.Map;

/**
 * A JCA provider offering two TrustManagerFactory algorithms, {@code LuleaPlatform} and
 * {@code LuleaMember}, that share one CRL poller. It offers nothing else, so the JDK's own algorithms
 * (PKIX for the other listeners, every cipher and signature) are untouched by its place in the list.
 */
public final class LuleaProvider extends Provider {
    public static final String NAME = "LuleaRevocation";
    private static final long serialVersionUID = 1L;

    private final transient Revocation revocation;

    public LuleaProvider(RevocationConfig config) {
        this(new Revocation(config));
    }

    LuleaProvider(Revocation revocation) {
        super(NAME, "1.0", "Lulea mTLS trust managers: PKIX, listener CN rules and a polled CRL");
        this.revocation = revocation;
        for (ListenerKind kind : ListenerKind.values()) {
            putService(new TrustManagerService(this, kind, revocation));
        }
    }

    Revocation revocation() {
        return revocation;
    }

    /** Builds the factory itself (instead of by reflection) so that it gets this provider's poller. */
    private static final class TrustManagerService extends Provider.Service {
        private final ListenerKind kind;
        private final Revocation revocation;

        TrustManagerService(Provider provider, ListenerKind kind, Revocation revocation) {
            super(provider, "TrustManagerFactory", kind.algorithm(), LuleaTrustManagerFactory.class.getName(),
                    List.of(), Map.of());
            this.kind = kind;
            this.revocation = revocation;
        }

        @Override
        public Object newInstance(Object constructorParameter) {
            return new LuleaTrustManagerFactory(kind, revocation);
        }
    }
}
