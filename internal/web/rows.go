package web

import (
	"bytes"
	"html/template"
	"reflect"
	"sync"
	"time"

	"github.com/nectarhq/nectar/internal/status"
)

// rowCache keeps each bot's row of the overview as last rendered. The
// overview is most of the page's rendering cost, a hundred rows of a
// hundred bots, and a pass changes few of them: a row is rendered again
// only when its bot or the second (its relative times) changed.
type rowCache struct {
	mu   sync.Mutex
	rows map[string]cachedRow
}

type cachedRow struct {
	second int64
	// bot is what the row was rendered from. Snapshots are never changed
	// in place, so keeping it holds nothing that could change under it.
	bot  status.BotStatus
	html template.HTML
}

// rowData is what the "bot-row" template receives: the bot, and the time
// its relative times count from.
type rowData struct {
	Bot status.BotStatus
	Now time.Time
}

// render returns the rows of bots at now, in order, rendering those that
// changed; rows of bots no longer listed are forgotten. The lock is not
// held while rows render, so two renders (a pass's and a new second's) run
// side by side; the one that finishes last is kept.
func (c *rowCache) render(now time.Time, bots []status.BotStatus) ([]template.HTML, error) {
	c.mu.Lock()
	kept := c.rows
	c.mu.Unlock()
	sec := now.Unix()
	next := make(map[string]cachedRow, len(bots))
	out := make([]template.HTML, len(bots))
	var buf bytes.Buffer
	for i, b := range bots {
		// When a bot was last observed changes every pass and is not
		// shown in its row (TestRowLeavesOutObservedAt holds that).
		b.ObservedAt = time.Time{}
		if old, ok := kept[b.Name]; ok && old.second == sec && reflect.DeepEqual(old.bot, b) {
			out[i] = old.html
			next[b.Name] = old
			continue
		}
		buf.Reset()
		if err := pages["overview"].ExecuteTemplate(&buf, "bot-row", rowData{Bot: b, Now: now}); err != nil {
			return nil, err
		}
		row := cachedRow{second: sec, bot: b, html: template.HTML(buf.String())}
		out[i] = row.html
		next[b.Name] = row
	}
	c.mu.Lock()
	c.rows = next
	c.mu.Unlock()
	return out, nil
}
