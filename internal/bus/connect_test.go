package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/kopru/kopru/internal/bus"
	"github.com/kopru/kopru/internal/bus/bustest"
)

const (
	natsUser     = "kopru"
	natsPassword = "pw-S3cret-nats-5f1d"
	natsToken    = "tok-S3cret-nats-77ab"
)

// clientURL is ns's loopback address with scheme (nats or tls).
func clientURL(ns *server.Server, scheme string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, ns.Addr().(*net.TCPAddr).Port)
}

// connectFails asserts bus.Connect(o) fails, that the error holds none of the secrets and has want in it.
func connectFails(t *testing.T, o bus.ConnectOptions, want string) error {
	t.Helper()
	nc, err := bus.Connect(o)
	if err == nil {
		nc.Close()
		t.Fatalf("Connect(%+v) succeeded", redacted(o))
	}
	for _, s := range []string{natsPassword, natsToken, "wrong-S3cret"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error holds a secret: %v", err)
		}
	}
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error is not one line: %q", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	t.Logf("refused as expected: %v", err)
	return err
}

func redacted(o bus.ConnectOptions) bus.ConnectOptions {
	o.Password, o.Token = "…", "…"
	return o
}

// jetStreamWorks connects with o and proves JetStream usable: streams and ledger created, an event
// published and read back.
func jetStreamWorks(t *testing.T, o bus.ConnectOptions) {
	t.Helper()
	nc, err := bus.Connect(o)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bus.Ensure(ctx, js, bus.StreamConfig{MemoryStorage: true})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("ledger put: %v", err)
	}
	if _, err := js.Publish(ctx, "events.test", []byte(`{}`), jetstream.WithMsgID("e1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	st, err := js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx, "events.test")
	if err != nil || string(m.Data) != `{}` {
		t.Fatalf("read back: %v", err)
	}
}

func TestConnectUserPassword(t *testing.T) {
	ns := bustest.StartServer(t, false, func(o *server.Options) {
		o.Users = []*server.User{{Username: natsUser, Password: natsPassword}}
	})
	url := clientURL(ns, "nats")
	connectFails(t, bus.ConnectOptions{URL: url}, "refused the credentials")
	connectFails(t, bus.ConnectOptions{URL: url, User: natsUser, Password: "wrong-S3cret"}, "refused the credentials")
	connectFails(t, bus.ConnectOptions{URL: strings.Replace(url, "nats://", "nats://"+natsUser+":wrong-S3cret@", 1)}, "xxxxx@127.0.0.1")
	jetStreamWorks(t, bus.ConnectOptions{URL: url, User: natsUser, Password: natsPassword})

	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte(natsPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jetStreamWorks(t, bus.ConnectOptions{URL: url, User: natsUser, PasswordFile: pw})
}

func TestConnectToken(t *testing.T) {
	ns := bustest.StartServer(t, false, func(o *server.Options) { o.Authorization = natsToken })
	url := clientURL(ns, "nats")
	connectFails(t, bus.ConnectOptions{URL: url}, "refused the credentials")
	connectFails(t, bus.ConnectOptions{URL: url, Token: "wrong-S3cret"}, "refused the credentials")
	jetStreamWorks(t, bus.ConnectOptions{URL: url, Token: natsToken})
	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte(natsToken), 0o600); err != nil {
		t.Fatal(err)
	}
	jetStreamWorks(t, bus.ConnectOptions{URL: url, TokenFile: tf})
}

func TestConnectNKey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	ns := bustest.StartServer(t, false, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	url := clientURL(ns, "nats")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	connectFails(t, bus.ConnectOptions{URL: url}, "refused the credentials")
	err = connectFails(t, bus.ConnectOptions{URL: url, NKeySeedFile: write("other.nk", otherSeed)}, "refused the credentials")
	if strings.Contains(err.Error(), string(otherSeed)) {
		t.Fatalf("error holds the seed: %v", err)
	}
	err = connectFails(t, bus.ConnectOptions{URL: url, NKeySeedFile: filepath.Join(dir, "missing.nk")}, "NKey seed file")
	if !errors.Is(err, bus.ErrConnectConfig) {
		t.Fatalf("a missing seed file is not ErrConnectConfig: %v", err)
	}
	jetStreamWorks(t, bus.ConnectOptions{URL: url, NKeySeedFile: write("user.nk", seed)})
}

func TestConnectTLS(t *testing.T) {
	pki := bustest.NewPKI(t)
	ns := bustest.StartServer(t, false, func(o *server.Options) {
		o.TLS, o.TLSVerify, o.TLSTimeout = true, true, 5
		o.TLSConfig = pki.MutualTLSServerConfig(t)
		o.Users = []*server.User{{Username: natsUser, Password: natsPassword}}
	})
	url := clientURL(ns, "tls")
	creds := bus.ConnectOptions{URL: url, User: natsUser, Password: natsPassword}

	// No CA: the server's certificate is not trusted.
	connectFails(t, creds, "TLS")
	// CA but no client certificate: the server refuses the handshake.
	o := creds
	o.TLSCA = pki.CAFile
	connectFails(t, o, "connect to NATS")
	// Everything but the password.
	o.TLSCert, o.TLSKey = pki.ClientCert, pki.ClientKey
	o.Password = "wrong-S3cret"
	connectFails(t, o, "refused the credentials")
	// Everything.
	o.Password = natsPassword
	jetStreamWorks(t, o)
	// A plain nats:// URL still gets TLS when a CA is set.
	o.URL = clientURL(ns, "nats")
	jetStreamWorks(t, o)
}

func TestConnectOptionConflicts(t *testing.T) {
	dir := t.TempDir()
	for name, o := range map[string]bus.ConnectOptions{
		"two ways":         {Creds: "x.creds", Token: natsToken},
		"user no password": {User: natsUser},
		"password no user": {Password: natsPassword},
		"cert without key": {TLSCert: filepath.Join(dir, "c.pem")},
		"missing CA":       {TLSCA: filepath.Join(dir, "ca.pem")},
		"missing password": {User: natsUser, PasswordFile: filepath.Join(dir, "nope")},
	} {
		t.Run(name, func(t *testing.T) {
			o.URL = "nats://127.0.0.1:1"
			_, err := bus.Connect(o)
			if !errors.Is(err, bus.ErrConnectConfig) {
				t.Fatalf("err = %v, want ErrConnectConfig", err)
			}
			if strings.Contains(err.Error(), natsPassword) || strings.Contains(err.Error(), natsToken) {
				t.Fatalf("error holds a secret: %v", err)
			}
		})
	}
}

func TestConnectErrorHidesURLPassword(t *testing.T) {
	// Nothing listens there: the dial fails, and the URL in the error is redacted.
	_, err := bus.Connect(bus.ConnectOptions{URL: "nats://" + natsUser + ":" + natsPassword + "@127.0.0.1:1,nats://" + natsToken + "@127.0.0.1:2"})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if strings.Contains(err.Error(), natsPassword) || strings.Contains(err.Error(), natsToken) {
		t.Fatalf("error holds a secret: %v", err)
	}
	if !errors.Is(err, nats.ErrNoServers) && !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("unexpected error: %v", err)
	}
}

// TestConnectHintsTheEmbeddedServerOnlyWhereItExists: "leave it empty" is advice only for callers that
// can run an embedded server.
func TestConnectHintsTheEmbeddedServerOnlyWhereItExists(t *testing.T) {
	for _, embedded := range []bool{false, true} {
		_, err := bus.Connect(bus.ConnectOptions{URL: "nats://127.0.0.1:1", EmbeddedHint: embedded})
		if err == nil {
			t.Fatal("connected to nothing")
		}
		if !strings.Contains(err.Error(), "check KOPRU_NATS_URL") || strings.Contains(err.Error(), "leave it empty") != embedded {
			t.Errorf("EmbeddedHint %v: %v", embedded, err)
		}
	}
}
