package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/event"
)

// DefaultMaxWait caps Prefer: wait when Events.MaxWait is 0.
const DefaultMaxWait = 30 * time.Second

// PreferWait reads RFC 7240's `Prefer: wait=<seconds>` from h (any of several Prefer headers or
// comma-separated preferences), capped at max. It returns 0 when there is none.
func PreferWait(h http.Header, max time.Duration) time.Duration {
	for _, v := range h.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			tok, _, _ := strings.Cut(pref, ";") // parameters of a preference do not matter here
			name, val, ok := strings.Cut(strings.TrimSpace(tok), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err != nil || n <= 0 {
				return 0
			}
			d := time.Duration(n) * time.Second
			if max > 0 && d > max {
				d = max
			}
			return d
		}
	}
	return 0
}

// Wait waits up to d for every route that event id (of type typ) feeds to finish, and returns the
// event's status then (Done false when d ended first). It listens on the outcome and DLQ subjects
// (one shared subscription per process, while someone waits) for the event's derived outcome ids and
// its dead letters, and reads the ledger once before and once after: no polling.
func (ev *Events) Wait(ctx context.Context, id, typ string, d time.Duration) (*EventStatus, error) {
	var routes []EventRoute
	for _, r := range ev.Routes {
		if r.EventType == typ {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 || ev.NC == nil {
		return ev.status(ctx, id, typ)
	}
	w, err := ev.waitHub().add(id, routes)
	if err != nil {
		return nil, err
	}
	defer ev.hub.remove(w)
	st, err := ev.status(ctx, id, typ)
	if err != nil || st.Done {
		return st, err
	}
	for _, rs := range st.Routes {
		if rs.terminal() {
			w.settle(rs.Route)
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	woken := false
	select {
	case <-w.done:
		woken = true
	case <-t.C:
	case <-ctx.Done():
	}
	// The ledger is written before the outcome or dead letter is published: it has the final word.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st, err = ev.status(sctx, id, typ)
	// A subscriber can hear a dead letter a moment before the DLQ stream has stored it: when woken,
	// look again a few times (bounded: at most settleReads reads, settleGap apart).
	for i := 0; woken && err == nil && !st.Done && i < settleReads; i++ {
		select {
		case <-time.After(settleGap):
		case <-sctx.Done():
			return st, err
		}
		st, err = ev.status(sctx, id, typ)
	}
	return st, err
}

// settleReads and settleGap bound the second look Wait takes after its subscription has heard every
// route finish but the streams do not show it yet.
const (
	settleReads = 20
	settleGap   = 25 * time.Millisecond
)

func (ev *Events) waitHub() *hub {
	ev.once.Do(func() {
		ev.hub = &hub{nc: ev.NC, routes: ev.Routes, log: ev.logger(), byKey: map[string][]*waiter{}}
	})
	return ev.hub
}

// hub routes the messages of the outcome and DLQ subjects to the requests waiting on them. It holds
// the subscriptions only while someone waits (plus a linger, so bursts do not resubscribe).
type hub struct {
	nc     *nats.Conn
	routes []EventRoute
	log    *zap.Logger

	mu    sync.Mutex
	subs  []*nats.Subscription
	byKey map[string][]*waiter // outcome id, or "dlq\x00route\x00event id"
	n     int                  // waiters
	idle  *time.Timer
}

// waiter is one waiting request.
type waiter struct {
	keys    map[string]string // key → route
	mu      sync.Mutex
	pending map[string]bool // routes not yet terminal
	done    chan struct{}
}

func (w *waiter) settle(route string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.pending[route] {
		return
	}
	delete(w.pending, route)
	if len(w.pending) == 0 {
		close(w.done)
	}
}

func dlqKey(route, id string) string { return "dlq\x00" + route + "\x00" + id }

// lingerSubs is how long the subscriptions stay after the last waiter left.
const lingerSubs = 30 * time.Second

func (h *hub) add(id string, routes []EventRoute) (*waiter, error) {
	w := &waiter{keys: map[string]string{}, pending: map[string]bool{}, done: make(chan struct{})}
	for _, r := range routes {
		w.keys[event.OutcomeID(r.Name, id)] = r.Name
		w.keys[dlqKey(r.Name, id)] = r.Name
		w.pending[r.Name] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	if h.subs == nil {
		if err := h.subscribe(); err != nil {
			return nil, err
		}
	}
	for k := range w.keys {
		h.byKey[k] = append(h.byKey[k], w)
	}
	h.n++
	return w, nil
}

func (h *hub) remove(w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range w.keys {
		ws := h.byKey[k]
		for i, x := range ws {
			if x == w {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(h.byKey, k)
		} else {
			h.byKey[k] = ws
		}
	}
	h.n--
	if h.n == 0 && h.subs != nil {
		h.idle = time.AfterFunc(lingerSubs, h.unsubscribeIfIdle)
	}
}

func (h *hub) unsubscribeIfIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 {
		return
	}
	for _, s := range h.subs {
		_ = s.Unsubscribe()
	}
	h.subs, h.idle = nil, nil
}

// subscribe listens on each route's outcome subject and dead-letter subject; the server has the
// interest before it returns (a flush), so nothing published afterwards is missed. Holds h.mu.
func (h *hub) subscribe() error {
	seen := map[string]bool{}
	var subjects []string
	for _, r := range h.routes {
		for _, s := range []string{event.OutcomesPrefix + r.OutcomeType, event.DLQPrefix + r.Name} {
			if !seen[s] {
				seen[s] = true
				subjects = append(subjects, s)
			}
		}
	}
	var subs []*nats.Subscription
	for _, s := range subjects {
		sub, err := h.nc.Subscribe(s, h.deliver)
		if err != nil {
			for _, x := range subs {
				_ = x.Unsubscribe()
			}
			return err
		}
		_ = sub.SetPendingLimits(-1, 64<<20)
		subs = append(subs, sub)
	}
	if err := h.nc.Flush(); err != nil {
		for _, x := range subs {
			_ = x.Unsubscribe()
		}
		return errors.Join(errors.New("cannot subscribe to outcomes"), err)
	}
	h.subs = subs
	return nil
}

// deliver is the subscriptions' callback: a header lookup and a map lookup per message.
func (h *hub) deliver(m *nats.Msg) {
	var key string
	if strings.HasPrefix(m.Subject, event.DLQPrefix) {
		key = dlqKey(strings.TrimPrefix(m.Subject, event.DLQPrefix), m.Header.Get(deadletter.HdrEventID))
	} else {
		key = m.Header.Get(nats.MsgIdHdr)
	}
	h.mu.Lock()
	ws := append([]*waiter(nil), h.byKey[key]...)
	h.mu.Unlock()
	for _, w := range ws {
		w.settle(w.keys[key])
	}
}
