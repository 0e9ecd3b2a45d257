// Package status is nectar's read-only status page: what the daemon knows
// about the fleet, served as HTML for people, JSON for tools and
// Prometheus metrics for alerting.
//
// The reconcile loop hands each pass to a [Store] (Loop.OnPass →
// Store.RecordPass). The Store keeps names, states, reasons and digests,
// never a secret: it builds its own view types from the fleet instead of
// keeping the fleet, whose accounts hold passwords and credentials. Each
// pass publishes an immutable snapshot, so the web server only reads and
// never waits for a pass.
//
// [NewHandler] serves the snapshot; API.md next to this file documents the
// JSON. Nothing on the page or the API can change anything: every method
// other than GET and HEAD is refused.
package status
