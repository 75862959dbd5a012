package bus

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kopru/kopru/internal/redact"
)

// ConnectOptions says how to reach NATS and how to prove who we are. At most one way to
// authenticate may be set: Creds, NKeySeedFile, User (with a password) or a token. TLS is used when
// the URL says tls:// or TLSCA is set; TLSCert and TLSKey add a client certificate (mutual TLS).
// Secrets (Password, Token) never appear in an error; nor does a password written in the URL.
type ConnectOptions struct {
	URL  string // one URL or a comma-separated list; nats://, tls://
	Name string // connection name shown by the server

	Creds        string // credentials file (JWT + NKey seed), for operator/account setups
	NKeySeedFile string // file holding an NKey user seed (SU…), for servers with nkey users
	User         string // user name, with Password or PasswordFile
	Password     string
	PasswordFile string // file holding the password (whitespace trimmed); wins over Password
	Token        string
	TokenFile    string // file holding the token (whitespace trimmed); wins over Token

	TLSCA   string // PEM file of the CA that signed the server's certificate
	TLSCert string // PEM client certificate, with TLSKey
	TLSKey  string

	// EmbeddedHint says the caller could run an embedded server instead (kopru run, kopru dev): an
	// unreachable server's error then suggests leaving KOPRU_NATS_URL empty. The operator commands
	// need a server, so for them it stays false.
	EmbeddedHint bool
}

// ErrConnectConfig is wrapped by Connect's errors about the options themselves (nothing was dialled).
var ErrConnectConfig = errors.New("NATS connection settings")

// natsOptions turns o into nats.go options: authentication and TLS.
func (o ConnectOptions) natsOptions() ([]nats.Option, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConnectConfig, fmt.Sprintf(format, args...))
	}
	readSecret := func(file, what string) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", bad("%s file: %v", what, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", bad("%s file %s is empty", what, file)
		}
		return s, nil
	}
	password, token := o.Password, o.Token
	var err error
	if o.PasswordFile != "" {
		if password, err = readSecret(o.PasswordFile, "password"); err != nil {
			return nil, err
		}
	}
	if o.TokenFile != "" {
		if token, err = readSecret(o.TokenFile, "token"); err != nil {
			return nil, err
		}
	}
	var ways []string
	if o.Creds != "" {
		ways = append(ways, "credentials file (KOPRU_NATS_CREDS)")
	}
	if o.NKeySeedFile != "" {
		ways = append(ways, "NKey seed file (KOPRU_NATS_NKEY_SEED_FILE)")
	}
	if o.User != "" || password != "" {
		ways = append(ways, "user and password (KOPRU_NATS_USER, KOPRU_NATS_PASSWORD)")
	}
	if token != "" {
		ways = append(ways, "token (KOPRU_NATS_TOKEN)")
	}
	switch {
	case len(ways) > 1:
		return nil, bad("set one way to authenticate, not %s", strings.Join(ways, " and "))
	case o.User != "" && password == "":
		return nil, bad("user %q has no password (KOPRU_NATS_PASSWORD or KOPRU_NATS_PASSWORD_FILE)", o.User)
	case o.User == "" && password != "":
		return nil, bad("a password is set without a user (KOPRU_NATS_USER)")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return nil, bad("a TLS client certificate needs both KOPRU_NATS_TLS_CERT and KOPRU_NATS_TLS_KEY")
	}

	var opts []nats.Option
	switch {
	case o.Creds != "":
		opts = append(opts, nats.UserCredentials(o.Creds))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, bad("NKey seed file %s: %v", o.NKeySeedFile, oneLine(err.Error()))
		}
		opts = append(opts, opt)
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, password))
	case token != "":
		opts = append(opts, nats.Token(token))
	}
	if o.TLSCA != "" {
		if _, err := os.Stat(o.TLSCA); err != nil {
			return nil, bad("TLS CA file: %v", err)
		}
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey); err != nil {
			return nil, bad("TLS client certificate %s / key %s: %v", o.TLSCert, o.TLSKey, oneLine(err.Error()))
		}
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	return opts, nil
}

// Connect dials NATS and keeps reconnecting for as long as the process runs. A first connection that
// fails (unreachable server, refused credentials, TLS) is an error at once, with a hint at the
// setting to look at; the error never holds a password or token.
func Connect(o ConnectOptions) (*nats.Conn, error) {
	opts, err := o.natsOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(false),
		// Notice a hung server in ~30 s (the default, 2 minutes × 2, would stall a worker for minutes).
		nats.PingInterval(10*time.Second),
		nats.MaxPingsOutstanding(3),
	)
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		hint := "check KOPRU_NATS_URL"
		if o.EmbeddedHint {
			hint += ", or leave it empty for the embedded server"
		}
		msg := strings.ToLower(err.Error())
		switch {
		case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
			strings.Contains(msg, "authorization") || strings.Contains(msg, "authentication"):
			hint = "the server refused the credentials: set KOPRU_NATS_CREDS, KOPRU_NATS_NKEY_SEED_FILE, KOPRU_NATS_USER and KOPRU_NATS_PASSWORD, or KOPRU_NATS_TOKEN to what it expects"
		case errors.Is(err, nats.ErrSecureConnRequired) || strings.Contains(msg, "secure connection"):
			hint = "the server requires TLS: use a tls:// URL and set KOPRU_NATS_TLS_CA (and KOPRU_NATS_TLS_CERT/KOPRU_NATS_TLS_KEY if it asks for a client certificate)"
		case strings.Contains(msg, "x509") || strings.Contains(msg, "tls") || strings.Contains(msg, "certificate"):
			hint = "TLS failed: check KOPRU_NATS_TLS_CA (the CA of the server's certificate), the server name in KOPRU_NATS_URL, and the client certificate"
		}
		text := oneLine(err.Error())
		for _, secret := range []string{o.Password, o.Token} {
			if secret != "" {
				text = strings.ReplaceAll(text, secret, redact.Mask)
			}
		}
		return nil, fmt.Errorf("connect to NATS at %s: %s (%s)", redactURLs(o.URL), text, hint)
	}
	return nc, nil
}

// redactURLs hides the password (or token) of every URL in a comma-separated list.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		switch {
		case err != nil && strings.Contains(p, "@"):
			parts[i] = "(unparsable URL)"
		case err != nil:
			parts[i] = p
		case u.User != nil:
			if _, hasPW := u.User.Password(); hasPW {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx") // a token written as the user
			}
			parts[i] = u.String()
		default:
			parts[i] = p
		}
	}
	return strings.Join(parts, ",")
}

// oneLine is s on one line (redact.OneLine), for errors that quote a library's message.
func oneLine(s string) string { return redact.OneLine(s) }
