package manifestcheck

import (
	"encoding/json"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The KEDA objects Köprü's manifests use (keda.sh/v1alpha1), written here from KEDA's documented
// ScaledObject and TriggerAuthentication specs. KEDA publishes its Go types only inside its operator
// module, whose controller-runtime and client-go pins conflict with the Kubernetes and Prometheus
// Operator versions this module decodes with; so these types are our own, and cover every field of
// the spec (sections Köprü does not use are kept as raw JSON, so they are accepted but not checked).

// ScaledObject is keda.sh/v1alpha1 ScaledObject.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
	Status            json.RawMessage  `json:"status,omitempty"`
}

// ScaledObjectSpec is a ScaledObject's spec.
type ScaledObjectSpec struct {
	ScaleTargetRef        ScaleTarget     `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTrigger  `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

// ScaleTarget names the workload a ScaledObject scales.
type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// AdvancedConfig is spec.advanced.
type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HPAConfig      `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool            `json:"restoreToOriginalReplicaCount,omitempty"`
	ScalingModifiers              json.RawMessage `json:"scalingModifiers,omitempty"`
}

// HPAConfig is spec.advanced.horizontalPodAutoscalerConfig; behavior is Kubernetes' own type.
type HPAConfig struct {
	Name     string                                         `json:"name,omitempty"`
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// ScaleTrigger is one entry of spec.triggers.
type ScaleTrigger struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// AuthenticationRef points a trigger at a (Cluster)TriggerAuthentication.
type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// Fallback is spec.fallback: the replicas kept while the scaler fails.
type Fallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

// TriggerAuthentication is keda.sh/v1alpha1 TriggerAuthentication.
type TriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TriggerAuthenticationSpec `json:"spec"`
	Status            json.RawMessage           `json:"status,omitempty"`
}

// TriggerAuthenticationSpec is a TriggerAuthentication's spec; the secret stores Köprü does not use
// are kept raw.
type TriggerAuthenticationSpec struct {
	PodIdentity         json.RawMessage   `json:"podIdentity,omitempty"`
	SecretTargetRef     []SecretTargetRef `json:"secretTargetRef,omitempty"`
	Env                 []EnvRef          `json:"env,omitempty"`
	HashiCorpVault      json.RawMessage   `json:"hashiCorpVault,omitempty"`
	AzureKeyVault       json.RawMessage   `json:"azureKeyVault,omitempty"`
	AwsSecretManager    json.RawMessage   `json:"awsSecretManager,omitempty"`
	GCPSecretManager    json.RawMessage   `json:"gcpSecretManager,omitempty"`
	ConfigMapTargetRef  json.RawMessage   `json:"configMapTargetRef,omitempty"`
	BoundServiceAccount json.RawMessage   `json:"boundServiceAccountToken,omitempty"`
}

// SecretTargetRef maps a trigger parameter to a key of a Secret.
type SecretTargetRef struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// EnvRef maps a trigger parameter to an environment variable of the target's container.
type EnvRef struct {
	Parameter     string `json:"parameter"`
	Name          string `json:"name"`
	ContainerName string `json:"containerName,omitempty"`
}
