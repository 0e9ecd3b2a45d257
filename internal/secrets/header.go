package secrets

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// The age v1 header is text: an intro line, one or more recipient stanzas
// ("-> TYPE ARG..." followed by base64 body lines, the last one shorter than
// 64 columns), and a closing "--- MAC" line. age parses it too, but keeps the
// stanzas to itself once none of our identities matches, and its error
// messages quote the offending line. This parser exists so Decrypt can say
// who a file is for, and say what is wrong with a header without quoting it.
// It accepts exactly what age accepts (FuzzHeader checks that against age).

const (
	ageIntro      = "age-encryption.org/v1"
	agePrefix     = "age-encryption.org/"
	stanzaPrefix  = "-> "
	footerPrefix  = "---"
	bodyColumns   = 64   // a full stanza body line; a shorter one ends the body
	maxStanzas    = 1024 // age's own limit
	maxStanzaArgs = 128  // arguments after the type, age's own limit
	headerMACSize = 32
)

var rawBase64 = base64.RawStdEncoding.Strict()

// stanza is one recipient stanza of a header.
type stanza struct {
	Type string
	Args []string
	Body []byte
}

// header is a parsed age header.
type header struct {
	Stanzas []stanza
	MAC     []byte
	// Len is the number of bytes from the start of the file through the
	// closing line's newline: the payload starts there.
	Len int
}

// parseHeader parses the header at the start of a binary age file. Errors
// wrap ErrTruncated when data ends inside the header and ErrCorrupt
// otherwise; they give a line number and never quote the input.
func parseHeader(data []byte) (*header, error) {
	rest, lineNo := data, 0
	nextLine := func() ([]byte, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, false
		}
		line := rest[:i]
		rest = rest[i+1:]
		lineNo++
		return line, true
	}
	fail := func(kind error, format string, args ...any) error {
		return fmt.Errorf("%w: header line %d: %s", kind, lineNo, fmt.Sprintf(format, args...))
	}

	intro, ok := nextLine()
	switch {
	case ok && string(intro) == ageIntro:
	case bytes.HasPrefix([]byte(ageIntro+"\n"), data):
		// A proper prefix of the intro, the empty file included: cut short.
		return nil, fmt.Errorf("%w: the file ends inside the age intro line", ErrTruncated)
	case bytes.HasPrefix(data, []byte(agePrefix)):
		return nil, fmt.Errorf("%w: the file is not age version 1 (age-encryption.org/v1)", ErrCorrupt)
	default:
		return nil, fmt.Errorf("%w: not an age file (it does not start with age-encryption.org/v1)", ErrCorrupt)
	}

	h := &header{}
	for {
		line, ok := nextLine()
		if !ok {
			lineNo++
			return nil, fail(ErrTruncated, "the header ends before its closing \"---\" line")
		}
		if bytes.HasPrefix(line, []byte(footerPrefix)) {
			mac, err := parseFooter(line)
			if err != nil {
				return nil, fail(ErrCorrupt, "%s", err)
			}
			if len(h.Stanzas) == 0 {
				return nil, fail(ErrCorrupt, "the header has no recipient stanza")
			}
			h.MAC = mac
			h.Len = len(data) - len(rest)
			return h, nil
		}
		if len(h.Stanzas) == maxStanzas {
			return nil, fail(ErrCorrupt, "the header has more than %d recipient stanzas", maxStanzas)
		}
		if !bytes.HasPrefix(line, []byte(stanzaPrefix)) {
			return nil, fail(ErrCorrupt, "expected a recipient stanza (\"-> TYPE ...\") or the closing \"---\" line")
		}
		fields := strings.Split(string(line[len(stanzaPrefix):]), " ")
		if len(fields) > 1+maxStanzaArgs {
			return nil, fail(ErrCorrupt, "the recipient stanza has more than %d arguments", maxStanzaArgs)
		}
		for _, f := range fields {
			if !isStanzaString(f) {
				return nil, fail(ErrCorrupt, "the recipient stanza has an empty argument or one with spaces or non-ASCII bytes")
			}
		}
		s := stanza{Type: fields[0], Args: fields[1:]}
		for {
			body, ok := nextLine()
			if !ok {
				lineNo++
				return nil, fail(ErrTruncated, "the header ends inside a recipient stanza's body")
			}
			if len(body) > bodyColumns {
				return nil, fail(ErrCorrupt, "a stanza body line is longer than %d columns", bodyColumns)
			}
			// The base64 decoder skips CR; age does not, and neither may we,
			// or a file could be changed without changing its meaning.
			if bytes.IndexByte(body, '\r') >= 0 {
				return nil, fail(ErrCorrupt, "a stanza body line holds a carriage return")
			}
			b, err := rawBase64.DecodeString(string(body))
			if err != nil {
				return nil, fail(ErrCorrupt, "a stanza body line is not canonical unpadded base64")
			}
			s.Body = append(s.Body, b...)
			if len(body) < bodyColumns {
				break
			}
		}
		h.Stanzas = append(h.Stanzas, s)
	}
}

// parseFooter checks the closing "--- MAC" line and returns the MAC.
func parseFooter(line []byte) ([]byte, error) {
	mac, ok := bytes.CutPrefix(line, []byte(footerPrefix+" "))
	if !ok || !isStanzaString(string(mac)) {
		return nil, fmt.Errorf("the closing line is not \"--- \" followed by the header MAC")
	}
	b, err := rawBase64.DecodeString(string(mac))
	if err != nil || len(b) != headerMACSize {
		return nil, fmt.Errorf("the header MAC is not %d bytes of unpadded base64", headerMACSize)
	}
	return b, nil
}

// isStanzaString reports whether s is a valid stanza type or argument: one
// or more visible ASCII characters.
func isStanzaString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
