package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A MAC line and stanza bodies that decode: the parser checks form, not
// cryptography.
var (
	testMAC  = "--- " + rawBase64.EncodeToString(make([]byte, 32)) + "\n"
	body32   = rawBase64.EncodeToString(bytes.Repeat([]byte{7}, 32)) // 43 columns
	fullLine = strings.Repeat("A", 64)                               // 48 bytes
)

// hdr builds a header text from its lines.
func hdr(lines ...string) []byte {
	return []byte("age-encryption.org/v1\n" + strings.Join(lines, ""))
}

func TestParseHeader(t *testing.T) {
	args128 := strings.TrimSpace(strings.Repeat("a ", 128))
	stanzas := func(n int) string {
		return strings.Repeat("-> X25519 arg\n"+body32+"\n", n)
	}
	tests := []struct {
		name    string
		in      []byte
		want    error // nil: parses
		line    int   // the line the error names
		stanzas []string
		bodies  []int
	}{
		{name: "one stanza", in: hdr("-> X25519 abc\n", body32+"\n", testMAC), stanzas: []string{"X25519 abc"}, bodies: []int{32}},
		{name: "payload follows", in: append(hdr("-> X25519 abc\n", body32+"\n", testMAC), "\x00\x01payload\n---"...), stanzas: []string{"X25519 abc"}, bodies: []int{32}},
		{name: "no arguments, empty body", in: hdr("-> t\n", "\n", testMAC), stanzas: []string{"t"}, bodies: []int{0}},
		{name: "full line then empty line", in: hdr("-> t\n", fullLine+"\n", "\n", testMAC), stanzas: []string{"t"}, bodies: []int{48}},
		{name: "two full lines then short", in: hdr("-> t\n", fullLine+"\n", fullLine+"\n", "AAAA\n", testMAC), stanzas: []string{"t"}, bodies: []int{99}},
		{name: "several stanzas", in: hdr("-> a 1\n", "\n", "-> b 2 3\n", "AA\n", testMAC), stanzas: []string{"a 1", "b 2 3"}, bodies: []int{0, 1}},
		{name: "128 arguments", in: hdr("-> t "+args128+"\n", "\n", testMAC), stanzas: []string{"t " + args128}, bodies: []int{0}},
		{name: "1024 stanzas", in: hdr(stanzas(1024), testMAC)},

		{name: "empty", in: nil, want: ErrTruncated, line: 0},
		{name: "inside the intro", in: []byte("age-encryption.o"), want: ErrTruncated},
		{name: "intro without newline", in: []byte("age-encryption.org/v1"), want: ErrTruncated},
		{name: "intro only", in: hdr(), want: ErrTruncated, line: 2},
		{name: "inside a stanza line", in: hdr("-> X25519 ab"), want: ErrTruncated, line: 2},
		{name: "before the body", in: hdr("-> X25519 abc\n"), want: ErrTruncated, line: 3},
		{name: "after full body lines", in: hdr("-> t\n", fullLine+"\n"), want: ErrTruncated, line: 4},
		{name: "before the MAC", in: hdr("-> t\n", "\n"), want: ErrTruncated, line: 4},
		{name: "inside the MAC line", in: hdr("-> t\n", "\n", testMAC[:20]), want: ErrTruncated, line: 4},
		{name: "MAC line without newline", in: hdr("-> t\n", "\n", strings.TrimSuffix(testMAC, "\n")), want: ErrTruncated, line: 4},

		{name: "not age", in: []byte("connector: binance\n"), want: ErrCorrupt, line: 0},
		{name: "another version", in: []byte("age-encryption.org/v2\n"), want: ErrCorrupt},
		{name: "intro with CR", in: []byte("age-encryption.org/v1\r\n-> t\n\n" + testMAC), want: ErrCorrupt},
		{name: "no stanza", in: hdr(testMAC), want: ErrCorrupt, line: 2},
		{name: "not a stanza", in: hdr("X25519 abc\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "arrow without space", in: hdr("->X25519\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "arrow alone", in: hdr("->\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "arrow and space alone", in: hdr("-> \n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "double space", in: hdr("-> X25519  abc\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "trailing space", in: hdr("-> X25519 abc \n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "tab in argument", in: hdr("-> X25519 a\tb\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "non-ASCII type", in: hdr("-> X2551é\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "CR after the stanza line", in: hdr("-> X25519 abc\r\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "129 arguments", in: hdr("-> t "+args128+" a\n", "\n", testMAC), want: ErrCorrupt, line: 2},
		{name: "1025 stanzas", in: hdr(stanzas(1025), testMAC), want: ErrCorrupt, line: 2050},
		{name: "body line too long", in: hdr("-> t\n", fullLine+"AA\n", "\n", testMAC), want: ErrCorrupt, line: 3},
		{name: "body with padding", in: hdr("-> t\n", "AA==\n", testMAC), want: ErrCorrupt, line: 3},
		{name: "body not canonical", in: hdr("-> t\n", "AB\n", testMAC), want: ErrCorrupt, line: 3},
		{name: "body not base64", in: hdr("-> t\n", "A*AA\n", testMAC), want: ErrCorrupt, line: 3},
		{name: "body with CR", in: hdr("-> t\n", "AAAA\r\n", testMAC), want: ErrCorrupt, line: 3},
		{name: "body of a full line ends at the MAC", in: hdr("-> t\n", fullLine+"\n", testMAC), want: ErrCorrupt, line: 4},
		{name: "MAC line without MAC", in: hdr("-> t\n", "\n", "---\n"), want: ErrCorrupt, line: 4},
		{name: "MAC line with two spaces", in: hdr("-> t\n", "\n", "---  "+testMAC[4:]), want: ErrCorrupt, line: 4},
		{name: "MAC line without space", in: hdr("-> t\n", "\n", "---"+testMAC[4:]), want: ErrCorrupt, line: 4},
		{name: "MAC too short", in: hdr("-> t\n", "\n", "--- AAAA\n"), want: ErrCorrupt, line: 4},
		{name: "MAC too long", in: hdr("-> t\n", "\n", "--- "+rawBase64.EncodeToString(make([]byte, 33))+"\n"), want: ErrCorrupt, line: 4},
		{name: "MAC with CR", in: hdr("-> t\n", "\n", strings.TrimSuffix(testMAC, "\n")+"\r\n"), want: ErrCorrupt, line: 4},
		{name: "MAC then more", in: hdr("-> t\n", "\n", strings.TrimSuffix(testMAC, "\n")+" x\n"), want: ErrCorrupt, line: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseHeader(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkHeader(t, tt.in, h)
				if tt.stanzas != nil {
					var got []string
					var bodies []int
					for _, s := range h.Stanzas {
						got = append(got, strings.Join(append([]string{s.Type}, s.Args...), " "))
						bodies = append(bodies, len(s.Body))
					}
					if fmt.Sprint(got) != fmt.Sprint(tt.stanzas) || fmt.Sprint(bodies) != fmt.Sprint(tt.bodies) {
						t.Errorf("stanzas %q bodies %v, want %q %v", got, bodies, tt.stanzas, tt.bodies)
					}
				}
				return
			}
			if h != nil || !errors.Is(err, tt.want) {
				t.Fatalf("got %v, %v; want %v", h, err, tt.want)
			}
			if tt.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("header line %d:", tt.line)) {
				t.Errorf("message %q does not name line %d", err, tt.line)
			}
		})
	}
}

// checkHeader checks that h is what data's header says: marshaling h again
// gives back the header's exact bytes. age's header encoding is canonical,
// so a parser that accepts exactly age's grammar always passes this.
func checkHeader(t testing.TB, data []byte, h *header) {
	t.Helper()
	if h.Len <= 0 || h.Len > len(data) || len(h.Stanzas) == 0 || len(h.MAC) != headerMACSize {
		t.Fatalf("header Len %d of %d bytes, %d stanzas, MAC %d bytes", h.Len, len(data), len(h.Stanzas), len(h.MAC))
	}
	if got := marshalHeader(h); !bytes.Equal(got, data[:h.Len]) {
		t.Fatalf("header does not marshal back:\n got %q\nwant %q", got, data[:h.Len])
	}
}

// marshalHeader writes h in age's header format.
func marshalHeader(h *header) []byte {
	var b bytes.Buffer
	b.WriteString(ageIntro + "\n")
	for _, s := range h.Stanzas {
		b.WriteString(stanzaPrefix + strings.Join(append([]string{s.Type}, s.Args...), " ") + "\n")
		enc := rawBase64.EncodeToString(s.Body)
		for len(enc) >= bodyColumns {
			b.WriteString(enc[:bodyColumns] + "\n")
			enc = enc[bodyColumns:]
		}
		b.WriteString(enc + "\n")
	}
	b.WriteString(footerPrefix + " " + rawBase64.EncodeToString(h.MAC) + "\n")
	return b.Bytes()
}

// TestParseHeaderOfRealFiles parses files made by age itself.
func TestParseHeaderOfRealFiles(t *testing.T) {
	me, _ := newKey(t)
	_, sshPub := sshKey(t)
	sshRs, _ := ParseRecipients([]string{sshPub})
	tests := []struct {
		name  string
		bin   []byte
		types []string
	}{
		{"age CLI, X25519", readTestdata(t, "cli-binary.age"), []string{"X25519"}},
		{"age CLI, X25519 and ssh-ed25519", readTestdata(t, "cli-ssh-and-x25519.age"), []string{"X25519", "ssh-ed25519"}},
		{"library, three recipients", encryptBinary(t, []byte("x"), me.Recipient(), sshRs[0], me.Recipient()), []string{"X25519", "ssh-ed25519", "X25519"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseHeader(tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			checkHeader(t, tt.bin, h)
			var types []string
			for _, s := range h.Stanzas {
				types = append(types, s.Type)
			}
			if fmt.Sprint(types) != fmt.Sprint(tt.types) {
				t.Errorf("types %v, want %v", types, tt.types)
			}
		})
	}
}
