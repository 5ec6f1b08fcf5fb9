{{/*
Names and labels shared by every object of the chart.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "openstack-driver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of the release's objects: fullnameOverride, or the release name
with the chart name unless the release name already holds it. Kubernetes
names are at most 63 characters.
*/}}
{{- define "openstack-driver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The labels that select the driver's pods; they never change. */}}
{{- define "openstack-driver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "openstack-driver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The labels of every object. */}}
{{- define "openstack-driver.labels" -}}
{{ include "openstack-driver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: resource-driver
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "openstack-driver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "openstack-driver.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Stops the install with a clear message when a value the driver cannot run
without is missing. The chart always points the driver at an outside
Kafka, and with one the driver refuses to start without job-queue keys:
better to say so now than to leave pods in a crash loop.
*/}}
{{- define "openstack-driver.checkRequired" -}}
{{- if empty .Values.kafka.brokers -}}
{{- fail "kafka.brokers is empty: list the Kafka bootstrap brokers that Brent uses, e.g. --set 'kafka.brokers={kafka-0.kafka:9092}'. The chart does not run the driver's embedded broker, which is only for trying the driver on one machine." -}}
{{- end -}}
{{- if empty .Values.jobKey.existingSecret -}}
{{- fail "jobKey.existingSecret is empty: create a Secret holding the job-queue keys and name it here (docs/install.md shows how). With Kafka the driver encrypts its job records with these keys, and every replica must read the same ones." -}}
{{- end -}}
{{- end -}}

{{/* Where the pod mounts what the driver reads and writes. */}}
{{- define "openstack-driver.configFile" -}}/etc/openstack-driver/config/driver.yaml{{- end -}}
{{- define "openstack-driver.jobKeyDir" -}}/etc/openstack-driver/job-key{{- end -}}
{{- define "openstack-driver.dataDir" -}}/var/lib/openstack-driver{{- end -}}
