// Package bus is Köprü's JetStream plumbing: an embedded nats-server for dev and tests, connecting to a
// real one, and creating the streams and the ledger bucket of the public contract idempotently.
package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kopru/kopru/internal/event"
	"github.com/kopru/kopru/internal/redact"
)

// Stream and bucket names of the public contract.
const (
	StreamEvents   = "EVENTS"
	StreamOutcomes = "OUTCOMES"
	StreamDLQ      = "DLQ"
	LedgerBucket   = "KOPRU_LEDGER"
)

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	Dir        string // JetStream file store; required
	Host       string // default 127.0.0.1
	Port       int    // 0 or -1 picks a free port
	SyncAlways bool   // fsync every write (production durability; see README "Durability")
}

// ErrPortTaken is wrapped by StartEmbedded's error when its client port is in use already (another
// kopru or nats-server listens there).
var ErrPortTaken = errors.New("the port is taken")

// StartEmbedded starts a JetStream-enabled nats-server in this process and waits until it accepts
// connections. The caller owns it: Shutdown and WaitForShutdown when done.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded nats-server: a store directory is required")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := cfg.Port
	if port <= 0 {
		port = server.RANDOM_PORT
	}
	if port > 0 {
		// nats-server only logs a failed listen and never becomes ready: find out here, at once.
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("embedded nats-server: %w: %s is in use by another process", ErrPortTaken, addr)
			}
			return nil, fmt.Errorf("embedded nats-server: listen on %s: %w", addr, err)
		}
		_ = ln.Close()
	}
	opts := &server.Options{
		ServerName: "kopru-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		SyncAlways: cfg.SyncAlways,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats-server did not become ready within 10s")
	}
	return ns, nil
}

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

func oneLine(s string) string { return redact.OneLine(s) }

// StreamConfig sets the durability and retention of Köprü's streams and ledger.
type StreamConfig struct {
	Replicas        int           // 1 or 3
	EventsMaxAge    time.Duration // 0: 7 days
	OutcomesMaxAge  time.Duration // 0: 7 days
	DLQMaxAge       time.Duration // 0: 30 days
	LedgerMaxAge    time.Duration // 0: 30 days; must outlive EventsMaxAge so a redelivery finds its entry
	DuplicateWindow time.Duration // 0: 10 minutes; Nats-Msg-Id dedup window on every stream
	MemoryStorage   bool          // tests only
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.EventsMaxAge, 7*24*time.Hour)
	def(&c.OutcomesMaxAge, 7*24*time.Hour)
	def(&c.DLQMaxAge, 30*24*time.Hour)
	def(&c.LedgerMaxAge, 30*24*time.Hour)
	def(&c.DuplicateWindow, 10*time.Minute)
	return c
}

// Validate reports settings JetStream would refuse or that would break idempotency.
func (c StreamConfig) Validate() error {
	c = c.withDefaults()
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		return fmt.Errorf("stream replicas must be 1, 3 or 5, not %d", c.Replicas)
	}
	if c.LedgerMaxAge < c.EventsMaxAge {
		return fmt.Errorf("ledger max age %s is shorter than events max age %s: a late redelivery could call a vendor twice", c.LedgerMaxAge, c.EventsMaxAge)
	}
	return nil
}

// Ensure creates or updates the streams EVENTS, OUTCOMES, DLQ and the ledger bucket. It is idempotent
// and safe to run from every worker at start-up. Each JetStream call has its own CallTimeout. It makes
// one pass: run it under Retry to wait out a cluster that is still electing. An error Transient says
// nothing about may be waited out; one wrapping ErrSetupConflict says what to change on the server.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.KeyValue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	storage := jetstream.FileStorage
	if cfg.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	dup := func(maxAge time.Duration) time.Duration { return min(cfg.DuplicateWindow, maxAge) }
	streams := []jetstream.StreamConfig{
		{Name: StreamEvents, Subjects: []string{"events.>"}, MaxAge: cfg.EventsMaxAge, Duplicates: dup(cfg.EventsMaxAge),
			MaxMsgSize: event.MaxSize, Description: "Domain events for Köprü routes (events.<type>)"},
		{Name: StreamOutcomes, Subjects: []string{"outcomes.>"}, MaxAge: cfg.OutcomesMaxAge, Duplicates: dup(cfg.OutcomesMaxAge),
			Description: "Köprü outcomes (outcomes.<type>)"},
		{Name: StreamDLQ, Subjects: []string{"dlq.>"}, MaxAge: cfg.DLQMaxAge, Duplicates: dup(cfg.DLQMaxAge),
			Description: "Köprü dead letters (dlq.<route>)", AllowDirect: true},
	}
	for _, sc := range streams {
		sc.Storage = storage
		sc.Replicas = cfg.Replicas
		sc.Retention = jetstream.LimitsPolicy
		sc.Discard = jetstream.DiscardOld
		cctx, cancel := callCtx(ctx)
		_, err := js.CreateOrUpdateStream(cctx, sc)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("create or update stream %s: %w", sc.Name, explain(ctx, js, sc.Name, sc.Subjects[0], err))
		}
	}
	cctx, cancel := callCtx(ctx)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(cctx, jetstream.KeyValueConfig{
		Bucket:      LedgerBucket,
		Description: "Köprü idempotency ledger: (route, event id) → started | retrying | succeeded | dead",
		History:     1,
		TTL:         cfg.LedgerMaxAge,
		Storage:     storage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update ledger bucket %s: %w", LedgerBucket,
			explain(ctx, js, "KV_"+LedgerBucket, "$KV."+LedgerBucket+".>", err))
	}
	return kv, nil
}
