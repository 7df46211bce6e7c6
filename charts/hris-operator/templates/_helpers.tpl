{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "hris-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-<chart>, or the release name alone when it already contains the chart name.
Truncated so that the longest suffix this chart adds ("-leader-election") still fits 63 characters.
*/}}
{{- define "hris-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 47 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart label value: name-version.
*/}}
{{- define "hris-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels of every object.
*/}}
{{- define "hris-operator.labels" -}}
helm.sh/chart: {{ include "hris-operator.chart" . }}
{{ include "hris-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hris-operator
{{- end }}

{{/*
Selector labels of the controller Pods (stable across upgrades).
*/}}
{{- define "hris-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hris-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/*
Labels of objects that belong to the sync Jobs rather than the controller.
*/}}
{{- define "hris-operator.syncLabels" -}}
helm.sh/chart: {{ include "hris-operator.chart" . }}
app.kubernetes.io/name: {{ include "hris-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sync
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hris-operator
{{- end }}

{{/*
ServiceAccount names.
*/}}
{{- define "hris-operator.controllerServiceAccountName" -}}
{{- default (printf "%s-controller" (include "hris-operator.fullname" .)) .Values.serviceAccount.controller.name }}
{{- end }}

{{- define "hris-operator.syncServiceAccountName" -}}
{{- default (printf "%s-sync" (include "hris-operator.fullname" .)) .Values.serviceAccount.sync.name }}
{{- end }}

{{/*
Name of the ClusterRole holding the sync Jobs' permissions.
*/}}
{{- define "hris-operator.syncRoleName" -}}
{{- printf "%s-sync" (include "hris-operator.fullname" .) }}
{{- end }}

{{/*
Controller image: repository:tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "hris-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Rules the controller needs in every namespace it watches. The secrets verbs include what the sync
role grants (create, update, patch), because RBAC lets the controller create a Role or RoleBinding
only with permissions it holds itself.
*/}}
{{- define "hris-operator.controllerRules" -}}
- apiGroups: ["hris-operator.io"]
  resources: ["hrisconnections"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["hris-operator.io"]
  resources: ["hrisconnections/status"]
  verbs: ["get", "patch", "update"]
# Sync Jobs: started, watched, and pruned beyond the history limits.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
# A finished sync Pod's termination message carries the run's summary (no personal data).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
# Report Secrets are written by the sync Jobs; the controller only prunes them. It never reads
# them (they hold personal data).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["deletecollection"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
# The sync ServiceAccount and its RoleBinding to the sync ClusterRole, created in a connection's
# namespace when missing; `bind` on that one ClusterRole only, so the controller needs none of
# the sync role's permissions itself.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["clusterroles"]
  verbs: ["bind"]
  resourceNames: [{{ include "hris-operator.syncRoleName" . | quote }}]
{{- end }}

{{/*
The sync Jobs' rules: read their HrisConnection, write the report Secrets. Nothing else.
*/}}
{{- define "hris-operator.syncRules" -}}
- apiGroups: ["hris-operator.io"]
  resources: ["hrisconnections"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "get", "patch", "update"]
{{- end }}
