package source

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/nectarhq/nectar/internal/scrub"
)

// remote is where a git source fetches from and how it authenticates.
type remote struct {
	url     string // what the transport dials: credentials removed
	display string // what String and errors show
	auth    transport.AuthMethod
	secrets []string // never shown: scrubbed from every error
	local   string   // for file://, the repository's folder
}

// newRemote reads the URL and the credentials for it, flags first, then
// the environment (getenv).
func newRemote(raw string, spec Spec, getenv func(string) string) (*remote, error) {
	token := cmp.Or(spec.Token, getenv(EnvGitToken))
	username := cmp.Or(spec.Username, getenv(EnvGitUsername))
	keyFile := cmp.Or(spec.SSHKeyFile, getenv(EnvGitSSHKey))
	knownHosts := cmp.Or(spec.KnownHostsFile, getenv(EnvGitKnownHosts))

	r := &remote{url: raw, display: raw}
	if token != "" {
		r.secrets = append(r.secrets, token)
	}
	if !strings.Contains(raw, "://") {
		// scp-like user@host:path (IsGit let nothing else through).
		user, rest, _ := strings.Cut(raw, "@")
		host, _, _ := strings.Cut(rest, ":")
		return r, r.sshAuth(host, user, keyFile, knownHosts)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the URL, which may hold a token.
		return nil, errors.New("the git URL is not a valid URL")
	}
	if pw, ok := u.User.Password(); ok {
		// A token written into the URL: use it, but never show it or
		// pass the URL around with it.
		r.secrets = append(r.secrets, pw)
		token = cmp.Or(token, pw)
		if name := u.User.Username(); name != "" {
			u.User = url.User(name)
		} else {
			u.User = nil
		}
	}
	r.url, r.display = u.String(), u.String()
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if token != "" {
			r.auth = &githttp.BasicAuth{Username: cmp.Or(username, u.User.Username(), "git"), Password: token}
		}
	case "ssh":
		return r, r.sshAuth(u.Host, u.User.Username(), keyFile, knownHosts)
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %s names a host; use file:///absolute/path", r.display)
		}
		r.local = u.Path
	case "git":
	default:
		return nil, fmt.Errorf("unsupported git URL scheme %q in %s: use https://, ssh://, user@host:path or file://", u.Scheme, r.display)
	}
	return r, nil
}

// RedactURL returns source fit to be shown, with the password of a URL
// replaced by "xxxxx", and reports whether it had one. A password on the
// command line is readable by every user of the machine (ps, /proc), so
// the caller can warn about it. A URL that does not parse is shown from
// its last "@" on only: where its user info ends cannot be told for sure,
// so all of it is hidden.
func RedactURL(source string) (shown string, hasPassword bool) {
	scheme, rest, ok := strings.Cut(source, "://")
	if !ok {
		return source, false
	}
	if u, err := url.Parse(source); err == nil {
		if _, has := u.User.Password(); has {
			return u.Redacted(), true
		}
		return source, false
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return source, false
	}
	return scheme + "://xxxxx@" + rest[at+1:], strings.Contains(rest[:at], ":")
}

// sshAuth sets up public-key auth: from the key file (or key text) when
// given, else from the SSH agent; host keys from knownHosts when given,
// else from $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts (go-git's default).
func (r *remote) sshAuth(hostPort, user, key, knownHosts string) error {
	user = cmp.Or(user, "git")
	var helper *gitssh.HostKeyCallbackHelper
	switch {
	case key != "":
		pem := []byte(key)
		if !strings.HasPrefix(strings.TrimSpace(key), "-----BEGIN") {
			data, err := os.ReadFile(key)
			if err != nil {
				return fmt.Errorf("cannot read the SSH key: %w", err)
			}
			pem = data
		} else {
			r.secrets = append(r.secrets, strings.TrimSpace(key))
		}
		keys, err := gitssh.NewPublicKeys(user, pem, "")
		if err != nil {
			// The parser's message never quotes the key.
			return fmt.Errorf("the SSH key cannot be used (it must be an unencrypted private key): %w", err)
		}
		r.auth, helper = keys, &keys.HostKeyCallbackHelper
	default:
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return fmt.Errorf("no SSH key given (set $%s to a key file) and no SSH agent to ask: %w", EnvGitSSHKey, err)
		}
		r.auth, helper = agent, &agent.HostKeyCallbackHelper
	}
	if knownHosts != "" {
		db, err := gitssh.NewKnownHostsDb(knownHosts)
		if err != nil {
			return fmt.Errorf("cannot read known_hosts %s: %w", knownHosts, err)
		}
		host, port := hostPort, "22"
		if h, p, err := net.SplitHostPort(hostPort); err == nil {
			host, port = h, p
		}
		if n, err := strconv.Atoi(port); err != nil || n == 0 {
			port = "22"
		}
		helper.HostKeyCallback = db.HostKeyCallback()
		helper.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(host, port))
	}
	return nil
}

// scrub removes every secret from err's text, in every form an error may
// quote it (a git URL percent-encodes it). When one was found the error
// chain is dropped too, since printing an inner error would show it again.
func (r *remote) scrub(err error) error {
	return scrub.Error(err, r.secrets...)
}
