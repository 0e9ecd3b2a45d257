package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// contentSecurityPolicy lets the page load its own stylesheet and script
// and talk to its own origin, and nothing else: no inline script or style,
// no frames, no forms. The page has nothing to act on, so a script that
// got in anyway would have nowhere to send what it read.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// setSecurityHeaders is applied to every response, errors included.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// The fleet changes under the page; a cached copy would be a stale
	// answer to "what is running".
	h.Set("Cache-Control", "no-store")
}

// cookieName carries a browser's proof of the token after it opened the
// page once with ?token=, so links, the stylesheet and the event stream
// work without the token in every URL.
const cookieName = "nectar_status"

// auth checks the bearer token. The cookie holds a keyed digest of the
// token, not the token, so a cookie read off a disk is no use elsewhere.
type auth struct {
	tokenSum [32]byte // SHA-256 of the token; compared in constant time
	cookie   string
	enabled  bool
}

func newAuth(token string) *auth {
	if token == "" {
		return &auth{}
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("nectar status cookie v1"))
	return &auth{tokenSum: sha256.Sum256([]byte(token)), cookie: hex.EncodeToString(mac.Sum(nil)), enabled: true}
}

// check reports whether r may be served, and gives a browser that proved
// the token with ?token= its cookie.
func (a *auth) check(w http.ResponseWriter, r *http.Request) bool {
	if !a.enabled {
		return true
	}
	if v, ok := bearerToken(r.Header.Get("Authorization")); ok && a.matches(v) {
		return true
	}
	if v := r.URL.Query().Get("token"); v != "" && a.matches(v) {
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: a.cookie, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
		return true
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.cookie)) == 1
	}
	return false
}

// bearerToken returns the credentials of an "Authorization: Bearer ..."
// header. The scheme's name is case-insensitive (RFC 9110, section 11.1),
// so "bearer" and "BEARER" are the same scheme, and blanks around the
// token do not count.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// matches compares digests, so neither the token's bytes nor its length
// show in the time a comparison takes.
func (a *auth) matches(given string) bool {
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) == 1
}

// plainText writes a short text response.
func plainText(w http.ResponseWriter, code int, body string) {
	writeBody(w, code, "text/plain; charset=utf-8", []byte(body))
}

// plainError writes an error message as text, ending in a newline.
func plainError(w http.ResponseWriter, code int, msg string) {
	plainText(w, code, msg+"\n")
}
