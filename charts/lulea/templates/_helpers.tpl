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
