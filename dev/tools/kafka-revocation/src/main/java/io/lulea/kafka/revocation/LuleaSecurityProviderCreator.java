package io.lulea.kafka.revocation;

import java.security.Provider;
import java.util.Map;

import org.apache.kafka.common.security.auth.SecurityProviderCreator;

/**
 * Kafka's hook for a JCA provider (KIP-492): {@code security.providers=} this class. Kafka instantiates
 * it and calls {@link #configure} with the broker's configs each time it builds an SSL engine factory,
 * then inserts the provider first in the JVM's list; a provider of the same name already there stays, so
 * the first one configured serves every listener until the broker restarts.
 */
public final class LuleaSecurityProviderCreator implements SecurityProviderCreator {
    private LuleaProvider provider;

    @Override
    public void configure(Map<String, ?> configs) {
        provider = new LuleaProvider(RevocationConfig.from(configs));
    }

    @Override
    public Provider getProvider() {
        if (provider == null) {
            throw new IllegalStateException("configure() first: the provider needs " + RevocationConfig.CRL_URL);
        }
        return provider;
    }
}
