// Package web is nectar's read-only status page: the HTML pages for
// people, the JSON API for tools, server-sent events that tell open pages
// a pass happened, and Prometheus metrics for alerting.
//
// It only reads. [NewHandler] serves whatever snapshot the status.Store
// published last; the reconcile loop never waits for a request, and no
// request can change anything: every method other than GET and HEAD is
// refused. The overview and /api/v1/status, which every open tab and
// poller asks for after each pass, are rendered while the pass is
// recorded, before its snapshot is published (Store.BeforePublish), so
// those requests find their answer ready. The JSON is the status package's view types as they are, which
// internal/status/API.md documents.
//
// Everything between the page and the network lives here too, because it
// exists only for the page: the Host and token checks, the security
// headers, the per-route answer cache, the connection cap and the server's
// timeouts ([ServerOptions]), and the reader of each bot's log tail
// ([LogReader]), which holds the fleet's secrets to mask them and so is
// kept out of the Store.
package web
