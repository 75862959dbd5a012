// Package sim holds what the vendor simulators share: scripted and random fault injection. Each
// simulator (internal/sim/licrus, leansoft, dia) is an http.Handler that follows its vendor's doc,
// records every request it accepted, and consults a *Faults before acting.
package sim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is what a simulator does to one request instead of, or after, answering normally.
type Fault struct {
	Status     int             // answer this HTTP status without acting (e.g. 503); 0 = none
	RetryAfter time.Duration   // with Status: send Retry-After (whole seconds)
	Body       string          // with Status: the body to send (default: the status text)
	Delay      time.Duration   // wait this long before handling (a slow vendor)
	Hold       <-chan struct{} // wait until this is closed before handling (a vendor a test holds)
	// After acting on the request (the record exists), do not answer normally:
	HangAfterAct  bool // hold the answer until the client gives up (a timeout after the body was read)
	ResetAfterAct bool // close the connection without answering (a reset mid-response)
	// Vendor-level refusal a simulator understands (Licrus HasError, Lean Soft Result:false, DİA code):
	VendorError string
}

// Rates injects faults at random, for chaos runs. Each is a probability in [0,1].
type Rates struct {
	Status503 float64 // 503 with Retry-After 1s, no effect
	Status500 float64 // 500, no effect (Köprü cannot know that: an unknown outcome)
	Hang      float64 // act, then hang
	Reset     float64 // act, then reset the connection
	Slow      float64 // act after SlowDelay
	SlowDelay time.Duration
}

// Faults is a queue of scripted faults (consumed one per request, in order) plus random rates. The zero
// value injects nothing. Safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	queue  []Fault
	always *Fault
	rates  Rates
}

// Push scripts the next len(fs) requests. A zero Fault lets one request through untouched.
func (f *Faults) Push(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// Always applies fault to every request once the script is used up; nil stops it.
func (f *Faults) Always(fault *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.always = fault
}

// SetRates sets random fault rates, applied when no scripted or Always fault is pending.
func (f *Faults) SetRates(r Rates) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rates = r
}

// Reset clears script, Always and rates.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.always, f.rates = nil, nil, Rates{}
}

// Next returns the fault for the next request.
func (f *Faults) Next() Fault {
	if f == nil {
		return Fault{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) > 0 {
		ft := f.queue[0]
		f.queue = f.queue[1:]
		return ft
	}
	if f.always != nil {
		return *f.always
	}
	r := f.rates
	p := rand.Float64()
	switch {
	case p < r.Status503:
		return Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second}
	case p < r.Status503+r.Status500:
		return Fault{Status: http.StatusInternalServerError}
	case p < r.Status503+r.Status500+r.Hang:
		return Fault{HangAfterAct: true}
	case p < r.Status503+r.Status500+r.Hang+r.Reset:
		return Fault{ResetAfterAct: true}
	case p < r.Status503+r.Status500+r.Hang+r.Reset+r.Slow:
		return Fault{Delay: r.SlowDelay}
	}
	return Fault{}
}

// Before applies the part of ft that comes before acting: the hold, the delay, then a status answer. It reports
// whether it answered (the handler must then stop without acting).
func Before(w http.ResponseWriter, r *http.Request, ft Fault) bool {
	if ft.Hold != nil {
		select {
		case <-ft.Hold:
		case <-r.Context().Done():
			return true
		}
	}
	if ft.Delay > 0 {
		select {
		case <-time.After(ft.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	if ft.Status == 0 {
		return false
	}
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ft.RetryAfter+time.Second-1)/time.Second)))
	}
	body := ft.Body
	if body == "" {
		body = http.StatusText(ft.Status)
	}
	w.WriteHeader(ft.Status)
	_, _ = w.Write([]byte(body))
	return true
}

// After applies the part of ft that comes after acting: hang until the client gives up, or reset the
// connection. It reports whether it took over the answer.
func After(w http.ResponseWriter, r *http.Request, ft Fault) bool {
	switch {
	case ft.HangAfterAct:
		<-r.Context().Done()
		return true
	case ft.ResetAfterAct:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
					_ = tc.SetLinger(0) // RST, not FIN
				}
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // aborts the response without a body
	}
	return false
}
