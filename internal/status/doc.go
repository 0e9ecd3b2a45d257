// Package status is the record of what the daemon knows about the fleet:
// the Store, fed by the reconcile loop, and the view types it publishes.
//
// The reconcile loop hands each pass to a [Store] (Loop.OnPass →
// Store.RecordPass). The Store keeps names, states, reasons and digests,
// never a secret: it builds its own view types from the fleet instead of
// keeping the fleet, whose accounts hold passwords and credentials. Each
// pass publishes an immutable [Snapshot], so readers never wait for a pass
// and never see half of one.
//
// Serving the record is another package's job (internal/web: the page,
// the JSON API, the event stream); this one only knows what is true, not
// how it is shown. API.md next to this file documents the view types as
// JSON, since they are what /api/v1/status and `nectar status --json` say.
package status
