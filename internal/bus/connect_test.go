package bus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
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
)

const (
	natsUser     = "kopru"
	natsPassword = "pw-S3cret-nats-5f1d"
	natsToken    = "tok-S3cret-nats-77ab"
)

// secureServer starts a JetStream server on 127.0.0.1 with the authentication mod sets up.
func secureServer(t *testing.T, mod func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true}
	mod(opts)
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func clientURL(ns *server.Server, scheme string) string {
	a := ns.Addr().(*net.TCPAddr)
	return scheme + "://127.0.0.1:" + itoa(a.Port)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// connectFails asserts Connect(o) fails, that the error holds none of the secrets and has want in it.
func connectFails(t *testing.T, o ConnectOptions, want string) error {
	t.Helper()
	nc, err := Connect(o)
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

func redacted(o ConnectOptions) ConnectOptions {
	o.Password, o.Token = "…", "…"
	return o
}

// jetStreamWorks connects with o and proves JetStream usable: streams and ledger created, an event
// published and read back.
func jetStreamWorks(t *testing.T, o ConnectOptions) {
	t.Helper()
	nc, err := Connect(o)
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
	kv, err := Ensure(ctx, js, StreamConfig{MemoryStorage: true})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("ledger put: %v", err)
	}
	if _, err := js.Publish(ctx, "events.test", []byte(`{}`), jetstream.WithMsgID("e1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	st, err := js.Stream(ctx, StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx, "events.test")
	if err != nil || string(m.Data) != `{}` {
		t.Fatalf("read back: %v", err)
	}
}

func TestConnectUserPassword(t *testing.T) {
	ns := secureServer(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: natsUser, Password: natsPassword}}
	})
	url := clientURL(ns, "nats")
	connectFails(t, ConnectOptions{URL: url}, "refused the credentials")
	connectFails(t, ConnectOptions{URL: url, User: natsUser, Password: "wrong-S3cret"}, "refused the credentials")
	connectFails(t, ConnectOptions{URL: strings.Replace(url, "nats://", "nats://"+natsUser+":wrong-S3cret@", 1)}, "xxxxx@127.0.0.1")
	jetStreamWorks(t, ConnectOptions{URL: url, User: natsUser, Password: natsPassword})

	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte(natsPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jetStreamWorks(t, ConnectOptions{URL: url, User: natsUser, PasswordFile: pw})
}

func TestConnectToken(t *testing.T) {
	ns := secureServer(t, func(o *server.Options) { o.Authorization = natsToken })
	url := clientURL(ns, "nats")
	connectFails(t, ConnectOptions{URL: url}, "refused the credentials")
	connectFails(t, ConnectOptions{URL: url, Token: "wrong-S3cret"}, "refused the credentials")
	jetStreamWorks(t, ConnectOptions{URL: url, Token: natsToken})
	tf := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tf, []byte(natsToken), 0o600); err != nil {
		t.Fatal(err)
	}
	jetStreamWorks(t, ConnectOptions{URL: url, TokenFile: tf})
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
	ns := secureServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	url := clientURL(ns, "nats")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	connectFails(t, ConnectOptions{URL: url}, "refused the credentials")
	err = connectFails(t, ConnectOptions{URL: url, NKeySeedFile: write("other.nk", otherSeed)}, "refused the credentials")
	if strings.Contains(err.Error(), string(otherSeed)) {
		t.Fatalf("error holds the seed: %v", err)
	}
	err = connectFails(t, ConnectOptions{URL: url, NKeySeedFile: filepath.Join(dir, "missing.nk")}, "NKey seed file")
	if !errors.Is(err, ErrConnectConfig) {
		t.Fatalf("a missing seed file is not ErrConnectConfig: %v", err)
	}
	jetStreamWorks(t, ConnectOptions{URL: url, NKeySeedFile: write("user.nk", seed)})
}

func TestConnectTLS(t *testing.T) {
	pki := newPKI(t)
	ns := secureServer(t, func(o *server.Options) {
		cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pki.caPEM)
		o.TLS, o.TLSVerify, o.TLSTimeout = true, true, 5
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
		o.Users = []*server.User{{Username: natsUser, Password: natsPassword}}
	})
	url := clientURL(ns, "tls")
	creds := ConnectOptions{URL: url, User: natsUser, Password: natsPassword}

	// No CA: the server's certificate is not trusted.
	connectFails(t, creds, "TLS")
	// CA but no client certificate: the server refuses the handshake.
	o := creds
	o.TLSCA = pki.caFile
	connectFails(t, o, "connect to NATS")
	// Everything but the password.
	o.TLSCert, o.TLSKey = pki.clientCert, pki.clientKey
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
	for name, o := range map[string]ConnectOptions{
		"two ways":         {Creds: "x.creds", Token: natsToken},
		"user no password": {User: natsUser},
		"password no user": {Password: natsPassword},
		"cert without key": {TLSCert: filepath.Join(dir, "c.pem")},
		"missing CA":       {TLSCA: filepath.Join(dir, "ca.pem")},
		"missing password": {User: natsUser, PasswordFile: filepath.Join(dir, "nope")},
	} {
		t.Run(name, func(t *testing.T) {
			o.URL = "nats://127.0.0.1:1"
			_, err := Connect(o)
			if !errors.Is(err, ErrConnectConfig) {
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
	_, err := Connect(ConnectOptions{URL: "nats://" + natsUser + ":" + natsPassword + "@127.0.0.1:1,nats://" + natsToken + "@127.0.0.1:2"})
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

// pki is a throwaway CA with a server certificate for 127.0.0.1 and a client certificate, as PEM files.
type pki struct {
	caPEM                 []byte
	caFile                string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kopru test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p := pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

// TestConnectHintsTheEmbeddedServerOnlyWhereItExists: "leave it empty" is advice only for callers that
// can run an embedded server.
func TestConnectHintsTheEmbeddedServerOnlyWhereItExists(t *testing.T) {
	for _, embedded := range []bool{false, true} {
		_, err := Connect(ConnectOptions{URL: "nats://127.0.0.1:1", EmbeddedHint: embedded})
		if err == nil {
			t.Fatal("connected to nothing")
		}
		if !strings.Contains(err.Error(), "check KOPRU_NATS_URL") || strings.Contains(err.Error(), "leave it empty") != embedded {
			t.Errorf("EmbeddedHint %v: %v", embedded, err)
		}
	}
}
