// Package schemas embeds the JSON Schemas of every event and outcome `data` Köprü knows, named
// `<type>.v<N>.json`, and an example `data` document for each under examples/. They are the authority
// for the public contract: fields may be added, never renamed.
package schemas

import "embed"

// FS holds the schemas (*.json) and examples (examples/*.json).
//
//go:embed *.json examples/*.json
var FS embed.FS
