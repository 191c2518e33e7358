package io.lulea.kafka.revocation;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * The two kinds of mTLS listener, told apart by who may connect. Both take certificates from the same
 * CA, so the CN decides: a project member is {@code <project>__<user>}, a platform service account
 * never contains {@code __} (the CA's profiles, services/ca/src/lulea/ca/domain/profiles.py).
 */
public enum ListenerKind {
    /** Lulea's own components: service certificates only. */
    PLATFORM("LuleaPlatform"),
    /** Project members: {@code <project>__<user>} certificates only. */
    MEMBER("LuleaMember");

    static final String SEPARATOR = "__";

    private final String algorithm;

    ListenerKind(String algorithm) {
        this.algorithm = algorithm;
    }

    /** The TrustManagerFactory algorithm: {@code listener.name.<l>.ssl.trustmanager.algorithm}. */
    public String algorithm() {
        return algorithm;
    }

    /** Why a client whose subject is {@code subject} may not use this listener, or empty if it may. */
    public Optional<String> refusal(X500Principal subject) {
        List<String> cns = commonNames(subject);
        if (cns.size() != 1) {
            return Optional.of("the subject must carry exactly one CN, it has " + cns.size());
        }
        return refusal(cns.get(0));
    }

    Optional<String> refusal(String cn) {
        int at = cn.indexOf(SEPARATOR);
        boolean member = at > 0 && at + SEPARATOR.length() < cn.length();
        if (this == MEMBER && !member) {
            return Optional.of("not a member certificate (CN must be <project>__<user>)");
        }
        if (this == PLATFORM && cn.contains(SEPARATOR)) {
            return Optional.of("a member certificate may not use the platform listener");
        }
        if (cn.isBlank()) {
            return Optional.of("empty CN");
        }
        return Optional.empty();
    }

    /** The CN values of a subject, most specific first (the order Kafka's principal rules see). */
    static List<String> commonNames(X500Principal subject) {
        List<String> cns = new ArrayList<>();
        try {
            List<Rdn> rdns = new LdapName(subject.getName(X500Principal.RFC2253)).getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                // Every CN value, also inside a multi-valued RDN (CN=a+O=b), so none can hide.
                Attribute cn = rdns.get(i).toAttributes().get("CN");
                for (int v = 0; cn != null && v < cn.size(); v++) {
                    cns.add(String.valueOf(cn.get(v)));
                }
            }
        } catch (NamingException e) {
            // An RFC 2253 name the JDK wrote itself does not fail to parse; if it does, no CN.
        }
        return cns;
    }

    /** For a log line: the one CN, or the whole subject when there is not exactly one. */
    static String describe(X500Principal subject) {
        List<String> cns = commonNames(subject);
        return cns.size() == 1 ? cns.get(0) : subject.getName(X500Principal.RFC2253);
    }
}
