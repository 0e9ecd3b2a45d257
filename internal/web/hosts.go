package web

import (
	"net"
	"net/netip"
	"strings"
)

// hostPolicy says which Host headers the page answers. Without a token,
// the only thing between a web page the operator happens to visit and the
// fleet's names, accounts and errors is the browser's same-origin rule, and
// DNS rebinding defeats it: attacker.example first serves a script, then
// resolves to 127.0.0.1, and the script's requests reach this server as
// same-origin ones. They still say "Host: attacker.example", so the page
// answers only Host values that name this machine or the address it was
// told to listen on.
type hostPolicy struct {
	// anyHost: a token is set, and it protects the page whatever the Host.
	anyHost bool
	// anyIP: the listen address is unknown or a wildcard (":8090",
	// "0.0.0.0:8090", "[::]:8090"), so which of the machine's addresses a
	// client used cannot be told in advance. Any IP literal is accepted
	// then, names other than localhost are not: rebinding needs a name
	// the attacker controls, and a browser that sends an IP literal as the
	// Host has that very address as the page's origin, so no other site's
	// script can read the answer.
	anyIP bool
	// name and ip are the listen address's own host, when it is a name or
	// one specific address.
	name string
	ip   netip.Addr
}

// newHostPolicy builds the policy for a page listening on listen ("host:port",
// as given to --listen; "" when unknown).
func newHostPolicy(listen, token string) hostPolicy {
	if token != "" {
		return hostPolicy{anyHost: true}
	}
	host := listen
	if h, _, err := net.SplitHostPort(listen); err == nil {
		host = h
	}
	host = normalHost(strings.Trim(host, "[]"))
	if host == "" {
		return hostPolicy{anyIP: true}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsUnspecified() {
			return hostPolicy{anyIP: true}
		}
		return hostPolicy{ip: ip.WithZone("")}
	}
	return hostPolicy{name: host}
}

// allows reports whether a request with this Host header may be answered.
// localhost and its subdomains count as this machine: RFC 6761 reserves
// them for loopback and browsers resolve them so without asking DNS, so no
// attacker can point such a name at a script of theirs.
func (p hostPolicy) allows(hostHeader string) bool {
	if p.anyHost {
		return true
	}
	if hostHeader == "" {
		// Only an HTTP/1.0 client leaves it out, and browsers always send
		// it: a request without one cannot come from a rebinding page.
		return true
	}
	host := normalHost(splitHostHeader(hostHeader))
	if host == "" {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap().WithZone("")
		return ip.IsLoopback() || p.anyIP || (p.ip.IsValid() && ip == p.ip)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return p.name != "" && host == p.name
}

// splitHostHeader returns the host part of a Host header: "host",
// "host:port", "[v6]", "[v6]:port", or a bare v6 address some clients send.
func splitHostHeader(h string) string {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return ""
		}
		if rest := h[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return ""
		}
		return h[1:end]
	}
	switch strings.Count(h, ":") {
	case 0:
		return h
	case 1:
		return h[:strings.IndexByte(h, ':')]
	}
	return h // an IPv6 address without brackets (and so without a port)
}

// normalHost lowercases a host and drops a final dot ("localhost." is
// localhost), so the comparisons above see one spelling.
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
