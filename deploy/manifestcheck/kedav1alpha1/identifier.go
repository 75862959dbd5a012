/*
Copyright 2022 The KEDA Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Copied unchanged from github.com/kedacore/keda/v2@v2.18.3 apis/keda/v1alpha1/identifier.go (Apache-2.0).

package v1alpha1

import (
	"fmt"
	"strings"
)

// GenerateIdentifier returns identifier for the object in form "kind.namespace.name" (lowercase)
func GenerateIdentifier(kind, namespace, name string) string {
	return strings.ToLower(fmt.Sprintf("%s.%s.%s", kind, namespace, name))
}
