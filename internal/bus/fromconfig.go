package bus

import "github.com/kopru/kopru/internal/config"

// FromConfig is how every Köprü command reaches NATS: the nats section of the configuration (YAML and
// KOPRU_NATS_* variables, secrets from *_FILE already read) as ConnectOptions, under the connection
// name given. kopru run, dev, publish, dlq, status and events all connect through it, so TLS, a
// credentials file, an NKey seed, user and password or a token work the same for each.
func FromConfig(n config.NATS, name string) ConnectOptions {
	return ConnectOptions{URL: n.URL, Name: name, Creds: n.Creds, NKeySeedFile: n.NKeySeedFile,
		User: n.User, Password: n.Password, Token: n.Token, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey}
}

// RedactURLs hides the password or token written in any URL of a comma-separated list.
func RedactURLs(list string) string { return redactURLs(list) }
