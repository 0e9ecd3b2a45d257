package web

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/scrub"
	"maps"
	"slices"
	"sync"
)

// The bot page shows the end of the bot's own log, read from the newest
// file of its instance's logs/ folder (where Hummingbot writes, and which
// outlives the container) when the page is asked for. These bound it.
const (
	LogTailLines    = 40       // lines shown at most
	LogTailBytes    = 32 << 10 // read from the end of the file at most
	LogTailLineSize = 400      // bytes of one line shown at most
)

// LogTail is the end of a bot's log, cleaned for the page: every form of
// the bot's password and keys masked, control characters dropped, long
// lines cut.
type LogTail struct {
	File     string // the log's name inside logs/
	Modified time.Time
	Lines    []string
}

// fleetSecrets are the secrets a bot's log might hold: every account's
// password and every connector secret of the fleet (a log may quote
// another account's, and a bot whose file does not load has no account to
// go by), and the MQTT broker's password. They are replaced whole on each
// pass that loads the fleet, and never shown or kept anywhere else.
func fleetSecrets(fl *fleet.Fleet) []string {
	var out []string
	if fl.MQTT != nil && fl.MQTT.Password != "" {
		out = append(out, fl.MQTT.Password.Reveal())
	}
	for _, a := range fl.Accounts {
		if a.Password != "" {
			out = append(out, a.Password.Reveal())
		}
		for _, c := range a.Credentials {
			for _, f := range c.Secrets {
				out = append(out, f.Value.Reveal())
			}
		}
	}
	return out
}

// logTail reads the end of a bot's log, or returns false when there is none
// to show: no instance folder, no log yet, or no secrets known to mask
// (the fleet never loaded), since an unmasked log may hold the password.
func logTail(instanceDir string, secrets []string, known bool) (LogTail, bool) {
	if instanceDir == "" || !known {
		return LogTail{}, false
	}
	// The bot writes logs/ from inside its container, so nothing in it is
	// trusted: the root keeps every open inside the folder, and only a
	// regular file is read (a link is never followed).
	root, err := os.OpenRoot(path.Join(instanceDir, "logs"))
	if err != nil {
		return LogTail{}, false
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return LogTail{}, false
	}
	var newest fs.FileInfo
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if newest == nil || info.ModTime().After(newest.ModTime()) {
			newest = info
		}
	}
	if newest == nil {
		return LogTail{}, false
	}
	f, err := root.OpenFile(newest.Name(), os.O_RDONLY|noFollow, 0)
	if err != nil {
		return LogTail{}, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return LogTail{}, false
	}
	start := max(info.Size()-LogTailBytes, 0)
	buf := make([]byte, info.Size()-start)
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return LogTail{}, false
	}
	buf = buf[:n]
	if start > 0 {
		// The first line read is most likely cut: start after it.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	// Masked before cutting, so a secret is never split by a cut and left
	// half shown.
	text := scrub.Text(strings.ToValidUTF8(string(buf), "\uFFFD"), secrets...)
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\n")
	if len(lines) > LogTailLines {
		lines = lines[len(lines)-LogTailLines:]
	}
	for i, l := range lines {
		l = strings.Map(func(r rune) rune {
			if r == '\t' {
				return ' '
			}
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, l)
		if len(l) > LogTailLineSize {
			l = strings.ToValidUTF8(l[:LogTailLineSize], "") + " …"
		}
		lines[i] = l
	}
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	return LogTail{File: newest.Name(), Modified: info.ModTime(), Lines: lines}, true
}

// LogReader reads the end of each bot's log for the bot page. It holds
// the fleet's secrets to mask them, so it is kept apart from the Store,
// which holds none: the daemon hands it each loaded fleet (Update), and
// the handler asks it for a bot's log when the bot page is asked for.
type LogReader struct {
	// InstanceDir returns the folder a bot is rendered into.
	InstanceDir func(bot string) string
	secrets     atomic.Pointer[[]string]

	mu   sync.Mutex
	seen map[string]bool
}

// maxSeenSecrets bounds the secrets a LogReader remembers.
const maxSeenSecrets = 10_000

// Update adds the secrets of a fleet that loaded to those it masks. A
// secret that left the fleet is still masked: a bot's log written before
// a key was rotated holds the old key. Past maxSeenSecrets the oldest
// fleets' secrets are forgotten and only the current ones kept.
func (l *LogReader) Update(fl *fleet.Fleet) {
	if l == nil || fl == nil {
		return
	}
	current := fleetSecrets(fl)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil || len(l.seen)+len(current) > maxSeenSecrets {
		l.seen = map[string]bool{}
	}
	for _, v := range current {
		l.seen[v] = true
	}
	s := slices.Collect(maps.Keys(l.seen))
	l.secrets.Store(&s)
}

// Tail returns the end of the bot's log, masked; false when there is none
// to show (see logTail).
func (l *LogReader) Tail(bot string) (LogTail, bool) {
	if l == nil || l.InstanceDir == nil || !fleet.ValidName(bot) {
		return LogTail{}, false
	}
	s := l.secrets.Load()
	if s == nil {
		return logTail(l.InstanceDir(bot), nil, false)
	}
	return logTail(l.InstanceDir(bot), *s, true)
}
