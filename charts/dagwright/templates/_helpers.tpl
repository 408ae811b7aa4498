{{/* Names and labels. */}}
{{- define "dagwright.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dagwright.fullname" -}}
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

{{/* Cluster-scoped objects carry the release namespace, so two releases never collide. */}}
{{- define "dagwright.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "dagwright.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dagwright.serviceAccountName" -}}
{{- default (include "dagwright.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "dagwright.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dagwright.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "dagwright.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "dagwright.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dagwright
{{- end }}

{{/* Namespaces that get the task ServiceAccounts. */}}
{{- define "dagwright.taskNamespaces" -}}
{{- $namespaces := .Values.taskServiceAccounts.namespaces }}
{{- if not $namespaces }}
{{- $namespaces = .Values.watchNamespaces }}
{{- end }}
{{- if not $namespaces }}
{{- $namespaces = list .Release.Namespace }}
{{- end }}
{{- toJson (uniq $namespaces) }}
{{- end }}

{{/*
The operator's rules on namespaced resources: in a ClusterRole when it watches every
namespace, in a Role per namespace otherwise. Each rule is read off
operator/dagwright/kube/resources.py (the only module that calls the API) and kopf's needs;
tests/unit/test_chart.py holds the same table and fails when they drift apart.
*/}}
{{- define "dagwright.operatorRules" -}}
# create_job, get_job (adopt an existing Job on 409), watch_jobs_path (JobIndex: list + watch), suspend_job + fail_job + annotate_job (patch)
- apiGroups: [batch]
  resources: [jobs]
  verbs: [create, get, list, watch, patch]
# watch_pods_path (JobIndex: finished pods decide attempts at once; exit codes, outputs), list_pods;
# taskResource: Pod - create_pod, get_pod (adopt on 409), annotate_pod (patch), delete_pod (cancel)
- apiGroups: [""]
  resources: [pods]
  verbs: [create, get, list, watch, patch, delete]
# pod_log_tail (a timed-out attempt keeps the last lines of its log on its Job)
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
# create_configmap, get_configmap (largeOutputs: a task's outputs collected from its log, owned by the run)
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create, get]
# create_event, and kopf's own Events about the objects it serves
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# get_secret_value: notification webhook URLs (urlFrom.secretKeyRef)
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
# get_custom (a run's Workflow); kopf lists and watches; kopf patches (removes stale finalizers)
- apiGroups: [dagwright.io]
  resources: [workflows]
  verbs: [get, list, watch, patch]
# patch_status on Workflows (last run, next fire time, conditions)
- apiGroups: [dagwright.io]
  resources: [workflows/status]
  verbs: [patch]
# kopf lists and watches; the scheduler creates runs (create_custom), patches them (patch_custom:
# cancel on Replace) and garbage-collects old ones (delete_custom); get_custom
- apiGroups: [dagwright.io]
  resources: [workflowruns]
  verbs: [get, list, watch, create, patch, delete]
# patch_status: one merge patch per reconcile pass
- apiGroups: [dagwright.io]
  resources: [workflowruns/status]
  verbs: [patch]
# kopf lists and watches Pools (sizes); get_custom reads one the watch has not shown yet;
# patch_status writes their inUse, waiting and holders
- apiGroups: [dagwright.io]
  resources: [pools]
  verbs: [get, list, watch, patch]
- apiGroups: [dagwright.io]
  resources: [pools/status]
  verbs: [patch]
- apiGroups: [dagwright.io]
  resources: [dataassets]
  verbs: [get, create]
- apiGroups: [dagwright.io]
  resources: [dataassets/status]
  verbs: [update]
{{- end }}

{{/*
Cluster-scoped rules: watching all namespaces, kopf lists and watches the CRDs to notice
Dagwright's resources appear or change. Watching named namespaces, the operator turns kopf's
scanning off (it finds its resources once, through discovery), so it needs no cluster-scoped
rule at all. With the managed admission webhook, it writes its ValidatingWebhookConfiguration.
*/}}
{{- define "dagwright.clusterRules" -}}
{{- if not .Values.watchNamespaces }}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- end }}
{{- if and .Values.webhook.enabled .Values.webhook.managed }}
# kopf's managed admission webhook: create the configuration if absent (create cannot be limited
# by name), then patch its webhooks (only this one).
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  verbs: [create]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  resourceNames: [validate.dagwright.io]
  verbs: [patch]
{{- end }}
{{- end }}

{{- define "dagwright.operatorArgs" -}}
- operator
{{- if .Values.watchNamespaces }}
{{- range .Values.watchNamespaces }}
- --namespace
- {{ . | quote }}
{{- end }}
{{- else }}
- --all-namespaces
{{- end }}
{{- if .Values.operator.jsonLogs }}
- --json-logs
{{- end }}
{{- if .Values.operator.verbose }}
- --verbose
{{- end }}
- --liveness-endpoint
- {{ printf "http://0.0.0.0:%v/healthz" .Values.operator.healthPort | quote }}
- --metrics-port
- {{ .Values.service.metricsPort | quote }}
{{- if .Values.notifications.allowLinkLocalWebhooks }}
- --allow-link-local-webhooks
{{- end }}
{{- with .Values.operator.podStartGraceSeconds }}
- --pod-start-grace
- {{ . | quote }}
{{- end }}
{{- if .Values.webhook.enabled }}
- --webhook
- --webhook-port
- {{ .Values.service.webhookPort | quote }}
- --webhook-listen
- 0.0.0.0
- --webhook-host
- {{ printf "%s.%s.svc" (include "dagwright.fullname" .) .Release.Namespace | quote }}
- --webhook-cert-dir
- /tmp/dagwright-webhook
{{- if not .Values.webhook.managed }}
- --webhook-unmanaged
{{- end }}
{{- end }}
{{- with .Values.operator.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The web view's rules (templates/ui.yaml): read only, read off operator/dagwright/ui/cache.py
(the watches) and operator/dagwright/ui/logs.py (a task's log tail).
*/}}
{{- define "dagwright.uiRules" -}}
# ui/cache.py: list + watch of workflows and runs
- apiGroups: [dagwright.io]
  resources: [workflows, workflowruns]
  verbs: [get, list, watch]
# JobIndex (list + watch), logs.py: get_job for the log tail the operator kept
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch]
# JobIndex (list + watch), logs.py: list_pods for a task's pod
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
# logs.py: pod_log_tail
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
{{- end }}
