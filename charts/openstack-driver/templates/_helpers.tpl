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
{{- include "openstack-driver.checkSecurity" . -}}
{{- end -}}

{{/*
Stops the install when the TLS, token or Kafka security values do not fit
together. Every secret comes from a Secret the operator made: a switch
without its Secret would start a driver that cannot read its files, or
silently leave the security off.
*/}}
{{- define "openstack-driver.checkSecurity" -}}
{{- if and .Values.tls.clientCA (empty .Values.tls.existingSecret) -}}
{{- fail "tls.clientCA is true but tls.existingSecret is empty: client certificates are checked only over HTTPS. Name a Secret holding tls.crt, tls.key and ca.crt (the CA that signs the clients' certificates)." -}}
{{- end -}}
{{- $ktls := .Values.kafka.tls -}}
{{- if and $ktls.existingSecret (not $ktls.enabled) -}}
{{- fail "kafka.tls.existingSecret is set but kafka.tls.enabled is false: set kafka.tls.enabled=true to connect to the brokers over TLS, or leave the Secret out." -}}
{{- end -}}
{{- if and $ktls.clientCert (empty $ktls.existingSecret) -}}
{{- fail "kafka.tls.clientCert is true but kafka.tls.existingSecret is empty: name a Secret holding ca.crt, tls.crt and tls.key." -}}
{{- end -}}
{{- $sasl := .Values.kafka.sasl -}}
{{- if $sasl.mechanism -}}
{{- if empty $sasl.existingSecret -}}
{{- fail (printf "kafka.sasl.mechanism is %s but kafka.sasl.existingSecret is empty: create a Secret holding the SASL password under the key %s (kafka.sasl.passwordKey) and name it here. The chart takes no password in its values; docs/install.md shows how." $sasl.mechanism $sasl.passwordKey) -}}
{{- end -}}
{{- if empty $sasl.username -}}
{{- fail (printf "kafka.sasl.mechanism is %s but kafka.sasl.username is empty: set the SASL user name." $sasl.mechanism) -}}
{{- end -}}
{{- else if or $sasl.existingSecret $sasl.username -}}
{{- fail "kafka.sasl.username or kafka.sasl.existingSecret is set but kafka.sasl.mechanism is empty: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, or SASL stays off." -}}
{{- end -}}
{{- end -}}

{{/* Where the pod mounts what the driver reads and writes. */}}
{{- define "openstack-driver.configFile" -}}/etc/openstack-driver/config/driver.yaml{{- end -}}
{{- define "openstack-driver.jobKeyDir" -}}/etc/openstack-driver/job-key{{- end -}}
{{- define "openstack-driver.dataDir" -}}/var/lib/openstack-driver{{- end -}}
{{- define "openstack-driver.tlsDir" -}}/etc/openstack-driver/tls{{- end -}}
{{- define "openstack-driver.apiTokenDir" -}}/etc/openstack-driver/api-token{{- end -}}
{{- define "openstack-driver.kafkaTLSDir" -}}/etc/openstack-driver/kafka-tls{{- end -}}
{{- define "openstack-driver.kafkaSASLDir" -}}/etc/openstack-driver/kafka-sasl{{- end -}}

{{/* HTTP or HTTPS, as the driver's port serves. */}}
{{- define "openstack-driver.scheme" -}}
{{- if .Values.tls.existingSecret -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}
