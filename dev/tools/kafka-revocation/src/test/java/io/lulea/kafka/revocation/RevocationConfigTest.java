package io.lulea.kafka.revocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RevocationConfigTest {
    @Test
    void defaults() {
        RevocationConfig config = RevocationConfig.from(Map.of(RevocationConfig.CRL_URL, "http://127.0.0.1:8080/v1/crl"));
        assertEquals(Duration.ofMillis(1000), config.refresh());
        assertEquals(Duration.ofMillis(5000), config.timeout());
        assertEquals(Optional.empty(), config.cacheFile());
        assertEquals(Optional.empty(), config.truststore());
    }

    /** One row per bad broker config and the message the operator reads. */
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "lulea.revocation.crl.url          |                     | is required",
        "lulea.revocation.crl.url          | ldap://ca/crl       | must be an http, https or file URL",
        "lulea.revocation.crl.url          | http://a b/         | is not a URI",
        "lulea.revocation.refresh.ms       | 10                  | must be at least 100",
        "lulea.revocation.refresh.ms       | soon                | whole number of milliseconds",
        "lulea.revocation.fetch.timeout.ms | 0                   | must be positive",
        "lulea.revocation.truststore       | /nonexistent.pem    | is not a readable file",
    })
    void badValuesFailTheStart(String key, String value, String message) {
        Map<String, Object> configs = new HashMap<>();
        configs.put(RevocationConfig.CRL_URL, "https://ca.lulea.svc.cluster.local/v1/crl");
        configs.put(key, value == null ? "" : value);
        ConfigException e = assertThrows(ConfigException.class, () -> RevocationConfig.from(configs));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
