package io.lulea.kafka.revocation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import javax.security.auth.x500.X500Principal;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One row per subject: which listener takes it (the CN rule alone, no CRL). */
class ListenerKindTest {
    @ParameterizedTest(name = "{0}: member={1} platform={2}")
    @CsvSource(delimiter = '|', value = {
        "O=proj,OU=DataScientist,CN=proj__alice | true  | false",
        "CN=proj__alice__x                      | true  | false",
        "O=Lulea,CN=lulea-ca                    | false | true",
        "O=Lulea,CN=kafka-broker                | false | true",
        "CN=__alice                             | false | false",
        "CN=proj__                              | false | false",
        "CN=proj_alice                          | false | true",
        "O=proj__alice                          | false | false",
        "CN=lulea-ca,CN=proj__alice             | false | false",
        "CN=lulea-ca+O=x,CN=proj__alice         | false | false",
    })
    void cnRule(String subject, boolean member, boolean platform) {
        X500Principal principal = new X500Principal(subject);
        assertEquals(member, ListenerKind.MEMBER.refusal(principal).isEmpty(), () -> "member listener: " + principal);
        assertEquals(platform, ListenerKind.PLATFORM.refusal(principal).isEmpty(), () -> "platform listener: " + principal);
    }

    @ParameterizedTest
    @CsvSource({"'O=proj,OU=r,CN=proj__alice', proj__alice", "'CN=b+O=x,CN=a', b;a"})
    void commonNamesAreListedMostSpecificFirst(String subject, String expected) {
        List<String> cns = ListenerKind.commonNames(new X500Principal(subject));
        assertEquals(List.of(expected.split(";")), cns);
    }
}
