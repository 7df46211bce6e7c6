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
ServiceAccount names.
*/}}
{{- define "hris-operator.controllerServiceAccountName" -}}
{{- default (printf "%s-controller" (include "hris-operator.fullname" .)) .Values.serviceAccount.controller.name }}
{{- end }}

{{/*
Controller image: repository@digest when a digest is set, else repository:tag, the tag
defaulting to the chart's appVersion.
*/}}
{{- define "hris-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Where the controller reads the sync Pod settings (sync.pod), mounted from a ConfigMap.
*/}}
{{- define "hris-operator.syncPodSettingsDir" -}}
/etc/hris-operator
{{- end }}
{{- define "hris-operator.syncPodSettingsFile" -}}
sync-pod.yaml
{{- end }}

{{/*
Rules the controller needs in every namespace it watches: exactly what src/controller uses
(tests/manifests/controller-rules.json is the contract; check.py and tests/it/controller_e2e.rs hold
the chart and the code to it). It never reads Secrets: they hold credentials and personal data.
*/}}
{{- define "hris-operator.controllerRules" -}}
# The connections it reconciles; status by server-side apply. `get` only because each sync
# Job's Role grants it on that Job's own connection (RBAC lets the controller create a Role only
# with permissions it holds itself).
- apiGroups: ["hris-operator.io"]
  resources: ["hrisconnections"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["hris-operator.io"]
  resources: ["hrisconnections/status"]
  verbs: ["patch"]
# Sync Jobs: started, watched, and pruned beyond the history limits.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create", "patch", "delete"]
# A finished sync Pod's termination message carries the run's summary (no personal data).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
# Report Secrets: deletecollection prunes a forgotten run's reports by label. create and patch
# only because each sync Job's Role grants them on that run's report Secret names; the
# controller itself never writes, reads, lists or watches a Secret.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "patch", "deletecollection"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
# Per connection, in its namespace: the sync ServiceAccount, its Role (rewritten for each run)
# and their RoleBinding, by server-side apply, owned by the connection.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["create", "patch"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create", "patch"]
{{- end }}
