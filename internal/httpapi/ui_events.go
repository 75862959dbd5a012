package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kopru/kopru/internal/ops"
)

// groupScan bounds the dead letters the page groups by cause.
const groupScan = 10000

// groups is GET /v1/admin/dlq/groups: the dead letters the filter selects, grouped by route, class
// and normalised error, the largest group first.
func (a *Admin) groups(w http.ResponseWriter, r *http.Request) {
	f, err := filterFromQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, problemResponse{Error: err.Error()})
		return
	}
	if f.Limit == 0 || f.Limit > groupScan {
		f.Limit = groupScan
	}
	gs, err := a.Ops.Groups(r.Context(), f)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": gs})
}

func (a *Admin) uiGroups(ctx context.Context, f ops.Filter) []ops.Group {
	f.Limit = groupScan
	gs, err := a.Ops.Groups(ctx, f)
	if err != nil {
		return nil
	}
	return gs
}

// uiEvent is the event page: search by event id, then the timeline of GET /v1/events/{id}.
func (a *Admin) uiEvent(w http.ResponseWriter, r *http.Request, s session) {
	p := a.basePage("Event", s)
	p.EventID = strings.TrimSpace(r.URL.Query().Get("id"))
	code := http.StatusOK
	if p.EventID != "" {
		if a.Events == nil {
			p.Error = "event status is not available in this process"
		} else if st, err := a.Events.Status(r.Context(), p.EventID); errors.Is(err, ErrEventNotFound) {
			// Not an event id: a business key (serial number, customer id, tax number, customer code)?
			key := p.EventID
			p.EventID = MaskKey(key) // a business key is personal data: do not echo it
			if p.Matches, err = a.Events.SearchKey(r.Context(), key, 50); err != nil {
				p.Error = "search: " + err.Error()
			} else if len(p.Matches) == 0 {
				p.Error, code = "no event with id "+quote(p.EventID)+", nor with that serial number, customer id, tax number or customer code, is known", http.StatusNotFound
			}
		} else if err != nil {
			p.Error = "event status: " + err.Error()
		} else {
			p.Event, p.Title = st, "Event "+p.EventID
		}
	}
	a.render(w, code, "event", p)
}

// uiEdit returns the edit of the show page's replay form: the event text when it differs from the
// dead letter's, else nil (a plain replay).
func (a *Admin) uiEdit(r *http.Request, id uint64) *ops.Edit {
	text := strings.TrimSpace(r.PostFormValue("event"))
	if text == "" {
		return nil
	}
	d, err := a.Ops.Show(r.Context(), id)
	if err != nil {
		return nil
	}
	var x, y bytes.Buffer
	if json.Compact(&x, []byte(text)) == nil && json.Compact(&y, d.Raw) == nil && bytes.Equal(x.Bytes(), y.Bytes()) {
		return nil
	}
	return &ops.Edit{Event: []byte(text), By: "operator-page"}
}

// formIDs reads a comma-separated list of dead-letter ids.
func formIDs(v string) ([]uint64, bool) {
	var ids []uint64
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, len(ids) > 0
}
