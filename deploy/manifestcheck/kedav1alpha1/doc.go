// Package v1alpha1 holds KEDA's API types (ScaledObject, TriggerAuthentication and what they contain),
// copied from github.com/kedacore/keda/v2@v2.18.3 apis/keda/v1alpha1 (Apache-2.0, the KEDA Authors).
// KEDA ships them only inside its operator module, whose package also holds the admission webhooks:
// importing it builds controller-runtime and client-go, minutes of compiling for a manifest check.
// The type files depend on k8s.io/api and k8s.io/apimachinery only; the deep-copy functions and the
// scheme registration are left out (the check only decodes). Refresh by copying the *_types.go files
// of a newer KEDA and dropping their init().
package v1alpha1
