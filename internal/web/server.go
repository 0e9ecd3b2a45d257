package web

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nectarhq/nectar/internal/hint"
)

// ServerOptions are the status server's limits. Slow or stuck clients
// cannot hold the daemon's sockets: headers must arrive quickly, requests
// and responses are bounded, idle connections close. Event streams move
// their own deadlines along, so WriteTimeout never cuts them.
type ServerOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// MaxConns caps the connections open at once (LimitListener applies
	// it to the server's listener). Further clients wait in the kernel's
	// accept queue until one closes, so a flood of idle or slow
	// connections cannot take the daemon's file descriptors or memory.
	// Zero or less: no cap.
	MaxConns int
}

// DefaultServerOptions suit a status page on a private network.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// Far more than a few browser tabs (each holds an event stream),
		// a Prometheus scraper and `nectar status` ever need.
		MaxConns: 256,
	}
}

// NewServer returns an http.Server for the status page on addr with
// DefaultServerOptions.
func NewServer(addr string, h http.Handler) *http.Server {
	return DefaultServerOptions().Server(addr, h)
}

// Server returns an http.Server for the status page on addr. Shutdown ends
// open event streams too: without that, Shutdown would wait on them until
// its context ran out, since a stream is never idle. A handler from
// NewHandler given no HandlerOptions.Listen takes addr as its listen
// address, so its Host check knows the name the page is served under.
// The connection cap is the listener's: see LimitListener.
func (o ServerOptions) Server(addr string, h http.Handler) *http.Server {
	if sh, ok := h.(*handler); ok {
		h = sh.servedOn(addr)
	}
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(cancel)
	return srv
}

// Exposure says, as an error carrying its hint, that the status page
// would listen beyond this machine without a token; nil otherwise. The
// page shows no secret, but bot names, accounts, images and revisions
// still tell a stranger what runs here and with which exchanges.
func Exposure(addr, token string) error {
	if token != "" || isLoopback(addr) {
		return nil
	}
	return hint.New("the status page on "+addr+" can be reached from other machines and has no token: "+
		"anyone who can connect sees the fleet's bots, accounts and connectors",
		"listen on 127.0.0.1 (the default), or set a token")
}

// ExposureWarning is Exposure as text for a log: the warning, then a
// "hint: ..." line; "" when there is nothing to warn of.
func ExposureWarning(addr, token string) string {
	err := Exposure(addr, token)
	if err == nil {
		return ""
	}
	return err.Error() + "\nhint: " + strings.Join(hint.Of(err), "; ")
}

// isLoopback reports whether addr ("host:port") only accepts connections
// from this machine. An empty host listens everywhere; a host name other
// than localhost is not resolved, so it counts as reachable.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
