package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/kopru/kopru/internal/deadletter"
	"github.com/kopru/kopru/internal/ops"
)

// runEditor opens path in the user's editor (tests replace it).
var runEditor = func(path string) error {
	ed := os.Getenv("VISUAL")
	if ed == "" {
		ed = os.Getenv("EDITOR")
	}
	if ed == "" {
		ed = "vi"
	}
	parts := strings.Fields(ed)
	cmd := exec.Command(parts[0], append(parts[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("editor %q: %w (set EDITOR, or use --edit-file)", ed, err)
	}
	return nil
}

// dlqReplay is `kopru dlq replay`: puts the selected dead letters back on their subject, after
// asking (or --yes); with --edit or --edit-file one of them is replayed as edited.
func dlqReplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("dlq replay", `dlq replay [--route R] [--class C] [--id ID] [filters] [--dry-run] [--allow-ambiguous] [--rate N] [--edit | --edit-file F] [--editor-user NAME] [--yes]

Puts dead letters back on their original subject, for their route only, oldest first. For each one
the ledger entry of (route, event id) is reset so the event runs again, the event is republished with
Nats-Msg-Id "<event id>/replay/<ID>", and the dead letter is deleted only once JetStream acknowledged
the republish. A replay that stops midway can simply be run again: nothing is lost, and what was
republished already is dropped as a duplicate.

Class ambiguous means the vendor may already have acted (Licrus may have opened the call): look in the
vendor's system first, then purge it, or replay it with --allow-ambiguous. Without that flag ambiguous
dead letters are skipped and listed.

Without --yes it shows how many would go and asks; when standard input is not a terminal it refuses.

Examples:
  kopru dlq replay --id 1234
  kopru dlq replay --route licrus-installation --class exhausted --since 2h --dry-run
  kopru dlq replay --route dia-customer --rate 5 --yes
  kopru dlq replay --id 1234 --edit                  # fix the event in $EDITOR, then replay it
  kopru dlq replay --id 1234 --edit-file fixed.json --editor-user ayse --yes
`, stderr)
	ff := addFilterFlags(fs, true, 0)
	dry := fs.Bool("dry-run", false, "only list what would be replayed; change nothing")
	allowAmb := fs.Bool("allow-ambiguous", false, "replay class ambiguous too (the vendor may be called a second time)")
	rate := fs.Float64("rate", 0, "at most N republishes per second (0: as fast as JetStream acknowledges)")
	edit := fs.Bool("edit", false, "with one --id: open the event in $EDITOR and replay the edited version")
	editFile := fs.String("edit-file", "", "with one --id: replay the CloudEvent in this file instead (same event id)")
	editor := fs.String("editor-user", "", "who edits, recorded in Kopru-Edited-By (default: $USER)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	f, err := parseSelection(fs, ff, args, "replay", "replay")
	if err != nil {
		return err
	}
	if err := ops.CheckRate(*rate); err != nil {
		return usageError{fmt.Sprintf("--rate %v is out of range: give %v to %v republishes per second, or 0 for no limit", *rate, ops.MinRate, ops.MaxRate)}
	}
	if (*edit || *editFile != "") && len(f.IDs) != 1 {
		return usageError{"--edit and --edit-file work on exactly one dead letter: give one --id"}
	}
	o, items, closeFn, err := selectDeadLetters(ctx, stderr, f, "replay")
	if err != nil || len(items) == 0 {
		return err
	}
	defer closeFn()
	ro := ops.ReplayOptions{Filter: ops.Filter{IDs: idsOf(items)}, DryRun: *dry, AllowAmbiguous: *allowAmb, Rate: *rate, By: "cli:" + currentUser()}
	if *edit || *editFile != "" {
		by := *editor
		if by == "" {
			by = currentUser()
		}
		b, err := editedEvent(ctx, o, f.IDs[0], *editFile)
		if err != nil {
			return err
		}
		ro.Edit = &ops.Edit{Event: b, By: by}
	}
	if !*dry && !*yes {
		q := fmt.Sprintf("Replay %d dead letter(s) (%s)?", len(items), classCounts(items))
		if n := countClass(items, deadletter.Ambiguous); n > 0 && !*allowAmb {
			q = fmt.Sprintf("Replay %d dead letter(s) (%s; the %d ambiguous are skipped without --allow-ambiguous)?", len(items), classCounts(items), n)
		}
		if err := confirm(stdin, stderr, q); err != nil {
			return err
		}
	}
	verb := "replayed"
	if *dry {
		verb = "would replay"
	}
	ro.Progress = progressEvery(stderr, verb, len(items))
	rep, err := o.Replay(ctx, ro)
	if rep != nil {
		if perr := printReport(stdout, rep, *asJSON); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if rep.Counts[ops.ResultSkipped] > 0 && countClass(items, deadletter.Ambiguous) > 0 && !*allowAmb {
		fmt.Fprintln(stderr, "ambiguous dead letters were skipped: check the vendor for a record made from each event, then purge it or replay it with --allow-ambiguous")
	}
	if !rep.OK() {
		return fmt.Errorf("%d failed: their dead letters are still in the DLQ (or, if republished, will be deduplicated on the next replay); run the same command again", rep.Counts[ops.ResultFailed]+rep.Counts[ops.ResultNotDeleted])
	}
	return nil
}

// currentUser is who runs the command, recorded as the replay's author: $USER, else the OS user.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// editedEvent reads the edited event from file, or lets the user edit dead letter id in $EDITOR.
func editedEvent(ctx context.Context, o *ops.Ops, id uint64, file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	d, err := o.Show(ctx, id)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kopru-edit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, fmt.Sprintf("dead-letter-%d.json", id))
	orig := []byte(d.Pretty() + "\n")
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		return nil, err
	}
	if err := runEditor(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if string(b) == string(orig) {
		return nil, errors.New("the event was not changed; nothing was replayed")
	}
	return b, nil
}
