{{/*
Values that contradict each other fail to render, with what to change, instead of making a
release that cannot work. Included by the Deployment.
*/}}
{{- define "hris-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: replicas would reconcile the same connections at once and start duplicate sync Jobs. Set leaderElection.enabled=true, or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- $ownEnv := list "HRIS_SYNC_IMAGE" "HRIS_SYNC_IMAGE_PULL_SECRETS" "POD_NAME" "POD_NAMESPACE" "RUST_LOG" }}
{{- range .Values.extraEnv }}
{{- if has .name $ownEnv }}
{{- fail (printf "extraEnv sets %s, which the chart sets itself; use sync.image, imagePullSecrets or logLevel instead (POD_NAME and POD_NAMESPACE come from the Pod)." .name) }}
{{- end }}
{{- end }}
{{- $ownFlags := dict "--metrics-addr" "metrics.port" "--health-addr" "health.port" "--leader-elect" "leaderElection.enabled" "--namespaces" "watchNamespaces" "--sync-pod-settings" "sync.pod" }}
{{- range .Values.extraArgs }}
{{- $flag := regexReplaceAll "=.*$" . "" }}
{{- if hasKey $ownFlags $flag }}
{{- fail (printf "extraArgs has %s, which the chart sets itself; use %s instead." $flag (get $ownFlags $flag)) }}
{{- end }}
{{- end }}
{{- with .Values.podDisruptionBudget }}
{{- if and .enabled (gt (int $.Values.replicaCount) 0) }}
{{- $replicas := int $.Values.replicaCount }}
{{- if not (kindIs "invalid" .minAvailable) }}
{{- /* Kubernetes rounds a percentage up: 50% of one replica is one. */}}
{{- $needed := 0 }}
{{- if kindIs "string" .minAvailable }}
{{- $needed = div (add (mul (int (trimSuffix "%" .minAvailable)) $replicas) 99) 100 }}
{{- else }}
{{- $needed = int .minAvailable }}
{{- end }}
{{- if ge (int $needed) $replicas }}
{{- fail (printf "podDisruptionBudget.minAvailable is %v with replicaCount %d: no controller Pod could ever be evicted, so every node drain would hang. Lower minAvailable, or set maxUnavailable instead." .minAvailable $replicas) }}
{{- end }}
{{- else if and (not (kindIs "invalid" .maxUnavailable)) (or (eq (toString .maxUnavailable) "0") (eq (toString .maxUnavailable) "0%")) }}
{{- fail "podDisruptionBudget.maxUnavailable is 0: no controller Pod could ever be evicted, so every node drain would hang. Set it to 1, or disable the budget." }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
