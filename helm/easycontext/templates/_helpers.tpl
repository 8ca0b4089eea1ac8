{{/* Chart name, truncated to 63 characters (a DNS label). */}}
{{- define "easycontext.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, followed by the chart name unless the release name already contains it. */}}
{{- define "easycontext.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "easycontext.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "easycontext.selectorLabels" -}}
app.kubernetes.io/name: {{ include "easycontext.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "easycontext.labels" -}}
helm.sh/chart: {{ include "easycontext.chart" . }}
{{ include "easycontext.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: easycontext
{{- end }}

{{- define "easycontext.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "easycontext.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "easycontext.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The claim mounted at /data. */}}
{{- define "easycontext.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "easycontext.fullname" .)) }}
{{- end }}
