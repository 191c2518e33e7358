{{/* Common labels for every object of the chart. */}}
{{- define "lulea.labels" -}}
app.kubernetes.io/part-of: lulea
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The image of a component: lulea.image (dict "root" . "name" "operator-project") */}}
{{- define "lulea.image" -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* The platform CA's Service, and the URLs of its two ports. */}}
{{- define "lulea.caHost" -}}
lulea-ca.{{ .Values.platformNamespace }}.svc.{{ .Values.clusterDomain }}
{{- end -}}

{{/* What every platform pod gets (lulea.core.platform.PlatformSettings):
     include "lulea.platformEnv" (dict "root" . "account" "lulea-ca" "serves" "lulea-ca") */}}
{{- define "lulea.platformEnv" -}}
- {name: LULEA_SERVICE_ACCOUNT, value: {{ .account | quote }}}
- {name: LULEA_CA_URL, value: {{ printf "https://%s:9443" (include "lulea.caHost" .root) | quote }}}
- {name: LULEA_CRL_URL, value: {{ printf "http://%s:8080/crl" (include "lulea.caHost" .root) | quote }}}
- {name: LULEA_TRUST_FILE, value: /var/run/lulea/trust/ca.crt}
- {name: LULEA_TOKEN_FILE, value: /var/run/lulea/token/token}
- {name: LULEA_IDENTITY_DIR, value: /var/run/lulea/identity}
- {name: LULEA_KAFKA_BOOTSTRAP, value: {{ .root.Values.kafka.bootstrapServers | quote }}}
{{- if .root.Values.kafka.trustBundle }}
- {name: LULEA_KAFKA_TRUST_FILE, value: /var/run/lulea/trust/kafka-ca.crt}
{{- end }}
{{- if .serves }}
- {name: LULEA_SERVER_NAMES, value: {{ list (printf "%s.%s.svc.%s" .serves .root.Values.platformNamespace .root.Values.clusterDomain) | toJson | quote }}}
{{- end }}
{{- end -}}

{{- define "lulea.platformMounts" -}}
- {name: identity, mountPath: /var/run/lulea/identity}
- {name: lulea-token, mountPath: /var/run/lulea/token, readOnly: true}
- {name: trust, mountPath: /var/run/lulea/trust, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- end -}}

{{/* The component's key stays in memory; its token is bound to the audience `lulea`, so a
     Lulea service accepts it and the API server does not. */}}
{{- define "lulea.platformVolumes" -}}
- {name: identity, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
- name: lulea-token
  projected:
    sources:
      - serviceAccountToken: {audience: lulea, expirationSeconds: 3600, path: token}
- {name: trust, configMap: {name: lulea-trust}}
- {name: tmp, emptyDir: {}}
{{- end -}}

{{/* A component's ServiceAccount (tokens are projected with the audience each use needs). */}}
{{- define "lulea.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
  namespace: {{ .root.Values.platformNamespace }}
  labels: {{- include "lulea.labels" .root | nindent 4 }}
{{- end -}}

{{/* Leader election: get, create and update of the component's own Lease, nothing else. */}}
{{- define "lulea.leaseRole" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}-leader-election
  namespace: {{ .root.Values.platformNamespace }}
  labels: {{- include "lulea.labels" .root | nindent 4 }}
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [create]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [{{ .name }}]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}-leader-election
  namespace: {{ .root.Values.platformNamespace }}
  labels: {{- include "lulea.labels" .root | nindent 4 }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: {{ .name }}-leader-election}
subjects:
  - {kind: ServiceAccount, name: {{ .name }}, namespace: {{ .root.Values.platformNamespace }}}
{{- end -}}

{{/* A ClusterRoleBinding of the component's ClusterRole (same name) to its ServiceAccount. */}}
{{- define "lulea.clusterBinding" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .name }}
  labels: {{- include "lulea.labels" .root | nindent 4 }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {{ .name }}}
subjects:
  - {kind: ServiceAccount, name: {{ .name }}, namespace: {{ .root.Values.platformNamespace }}}
{{- end -}}
