package v1alpha1

// Constants the type files use, defined in KEDA's *_webhook.go files (github.com/kedacore/keda/v2@v2.18.3
// apis/keda/v1alpha1/scaledobject_webhook.go and triggerauthentication_webhook.go), which are not copied.
var (
	memoryString = "memory"
	cpuString    = "cpu"
)

const workloadString = "workload"
