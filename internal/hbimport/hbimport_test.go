package hbimport

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"golang.org/x/crypto/scrypt"
	"golang.org/x/crypto/sha3"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/hbcrypt"
)

// A minimal writer of Hummingbot's encrypted values, written from the
// format's definition (Web3 Secret Storage v3 as Hummingbot fills it in)
// and sharing no code with hbcrypt. The iteration count is lowered so the
// tests run quickly; readers take the count from the value.

const testIterations = 16

// refPBKDF2 is PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for a 32-byte key, which
// is a single block.
func refPBKDF2(password string, salt []byte, c int) []byte {
	prf := hmac.New(sha256.New, []byte(password))
	prf.Write(salt)
	prf.Write([]byte{0, 0, 0, 1})
	u := prf.Sum(nil)
	t := slices.Clone(u)
	for range c - 1 {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		for j := range t {
			t[j] ^= u[j]
		}
	}
	return t
}

// refCTR is AES-128-CTR with the IV as a 128-bit big-endian counter.
func refCTR(key, iv, in []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	ctr := new(big.Int).SetBytes(iv)
	out := make([]byte, len(in))
	var cb, ks [16]byte
	for off := 0; off < len(in); off += 16 {
		ctr.FillBytes(cb[:])
		block.Encrypt(ks[:], cb[:])
		for i := off; i < len(in) && i < off+16; i++ {
			out[i] = in[i] ^ ks[i-off]
		}
		ctr.Add(ctr, big.NewInt(1))
	}
	return out
}

func keccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// hbValue encrypts plaintext as Hummingbot does: a fresh salt per value,
// the IV written as a big-endian integer (leading zero bytes dropped), the
// JSON hex-encoded.
func hbValue(password, plaintext string, salt, iv []byte) string {
	dk := refPBKDF2(password, salt, testIterations)
	ct := refCTR(dk[:16], iv, []byte(plaintext))
	ivText := new(big.Int).SetBytes(iv).Text(16)
	if len(ivText)%2 == 1 {
		ivText = "0" + ivText
	}
	tree := map[string]any{
		"crypto": map[string]any{
			"cipher":       "aes-128-ctr",
			"cipherparams": map[string]any{"iv": ivText},
			"ciphertext":   hex.EncodeToString(ct),
			"kdf":          "pbkdf2",
			"kdfparams":    map[string]any{"c": testIterations, "dklen": 32, "prf": "hmac-sha256", "salt": hex.EncodeToString(salt)},
			"mac":          hex.EncodeToString(keccak(dk[16:32], ct)),
		},
		"version": 3,
		"alias":   "",
	}
	b, _ := json.Marshal(tree)
	return hex.EncodeToString(b)
}

// scryptValue is a value in the older scrypt form some tools write.
func scryptValue(password, plaintext string, salt, iv []byte) string {
	dk, err := scrypt.Key([]byte(password), salt, 16, 1, 1, 32)
	if err != nil {
		panic(err)
	}
	ct := refCTR(dk[:16], iv, []byte(plaintext))
	b, _ := json.Marshal(map[string]any{
		"Crypto": map[string]any{ // upper-case keys are accepted too
			"cipher": "aes-128-ctr", "cipherparams": map[string]any{"iv": hex.EncodeToString(iv)},
			"ciphertext": hex.EncodeToString(ct), "kdf": "scrypt",
			"kdfparams": map[string]any{"n": 16, "r": 1, "p": 1, "dklen": 32, "salt": hex.EncodeToString(salt)},
			"mac":       hex.EncodeToString(keccak(dk[16:32], ct)),
		},
		"version": 3,
	})
	return hex.EncodeToString(b)
}

// valueMaker hands out values with distinct salts and IVs, some IVs with
// one or two leading zero bytes.
type valueMaker struct{ n byte }

func (m *valueMaker) next(password, plaintext string) string {
	m.n++
	salt := make([]byte, 16)
	for i := range salt {
		salt[i] = m.n + byte(i)
	}
	iv := make([]byte, 16)
	for i := range iv {
		iv[i] = 0xa0 + m.n + byte(i)
	}
	switch m.n % 3 {
	case 1:
		iv[0] = 0
	case 2:
		iv[0], iv[1] = 0, 0
	}
	return hbValue(password, plaintext, salt, iv)
}

// connectorYAML lays out a connector file as Hummingbot's save_to_yml does.
func connectorYAML(name string, fields [][2]string) string {
	title := "###   " + name + " config   ###"
	bar := strings.Repeat("#", len(title))
	var b strings.Builder
	b.WriteString(bar + "\n" + title + "\n" + bar + "\n\nconnector: " + name + "\n")
	for _, f := range fields {
		b.WriteString("\n" + f[0] + ": " + f[1] + "\n")
	}
	return b.String()
}

const password = "hb-PASSWORD-marker"

// hbFolder is a credentials folder as Hummingbot's deploy leaves it.
func hbFolder(m *valueMaker, pw string) fstest.MapFS {
	return fstest.MapFS{
		".password_verification": {Data: []byte(m.next(pw, "HummingBot"))},
		"conf_client.yml":        {Data: []byte("instance_id: x\n")},
		"connectors/binance.yml": {Data: []byte(connectorYAML("binance", [][2]string{
			{"binance_api_key", m.next(pw, "binance-KEY-marker")},
			{"binance_api_secret", m.next(pw, "binance-SECRET-marker")},
		}))},
		"connectors/hyperliquid_perpetual.yml": {Data: []byte(connectorYAML("hyperliquid_perpetual", [][2]string{
			{"hyperliquid_perpetual_mode", "arb_wallet"},
			{"use_vault", "false"},
			{"hyperliquid_perpetual_address", m.next(pw, "0xHL-ADDRESS-marker")},
			{"hyperliquid_perpetual_secret_key", m.next(pw, "hl-SECRET-marker")},
		}))},
		"connectors/my_dex.yml": {Data: []byte(connectorYAML("my_dex", [][2]string{
			{"my_dex_token", m.next(pw, "dex-TOKEN-marker ключ 🔑")},
			{"my_dex_legacy", scryptValue(pw, "dex-LEGACY-marker", []byte("scrypt-salt-0123"), []byte("0123456789abcdef"))},
			{"region", "eu"},
			{"limit", "5"},
			{"ratio", "0.5"},
			{"hex_looking", "'7b'"},
			{"optional_note", "null"},
		}))},
		"connectors/kucoin.yml": {Data: []byte(connectorYAML("kucoin", [][2]string{
			{"kucoin_api_key", m.next(pw, "kucoin-KEY-marker")},
			{"kucoin_secret_key", m.next(pw, "kucoin-SECRET-marker")},
			{"kucoin_passphrase", "''"}, // left empty
		}))},
		"connectors/_template.yml": {Data: []byte("not: read\n")},
		"connectors/.binance.swp":  {Data: []byte("\x00")},
		"connectors/README.txt":    {Data: []byte("not read\n")},
	}
}

func TestReadRoundTrip(t *testing.T) {
	t.Parallel()
	k := hbcrypt.NewKeyring()
	creds, err := Read(hbFolder(new(valueMaker), password), "imported", password, k)
	if err != nil {
		t.Fatal(err)
	}
	want := []*fleet.Credential{
		{Account: "imported", Connector: "binance", Secrets: []fleet.SecretField{
			{Name: "binance_api_key", Value: "binance-KEY-marker"},
			{Name: "binance_api_secret", Value: "binance-SECRET-marker"},
		}},
		{Account: "imported", Connector: "hyperliquid_perpetual",
			Secrets: []fleet.SecretField{
				{Name: "hyperliquid_perpetual_address", Value: "0xHL-ADDRESS-marker"},
				{Name: "hyperliquid_perpetual_secret_key", Value: "hl-SECRET-marker"},
			},
			Settings: []fleet.Field{{Name: "hyperliquid_perpetual_mode", Value: "arb_wallet"}, {Name: "use_vault", Value: false}}},
		{Account: "imported", Connector: "kucoin", Secrets: []fleet.SecretField{
			{Name: "kucoin_api_key", Value: "kucoin-KEY-marker"},
			{Name: "kucoin_secret_key", Value: "kucoin-SECRET-marker"},
		}},
		{Account: "imported", Connector: "my_dex",
			Secrets: []fleet.SecretField{
				{Name: "my_dex_token", Value: "dex-TOKEN-marker ключ 🔑"},
				{Name: "my_dex_legacy", Value: "dex-LEGACY-marker"},
			},
			Settings: []fleet.Field{
				{Name: "region", Value: "eu"}, {Name: "limit", Value: int64(5)}, {Name: "ratio", Value: 0.5},
				{Name: "hex_looking", Value: "7b"}, {Name: "optional_note", Value: nil},
			}},
	}
	if len(creds) != len(want) {
		t.Fatalf("got %d credentials, want %d", len(creds), len(want))
	}
	for i := range want {
		if got := fmt.Sprintf("%#v", reveal(creds[i])); got != fmt.Sprintf("%#v", reveal(want[i])) {
			t.Errorf("credential %d:\n got %s\nwant %s", i, got, fmt.Sprintf("%#v", reveal(want[i])))
		}
	}
	// Hummingbot salts every value: verification + 8 secrets, one each.
	if n := k.Derivations(); n != 9 {
		t.Errorf("Derivations = %d, want 9", n)
	}
}

// reveal makes a credential comparable with its secrets shown (the Secret
// type hides them from every fmt verb).
func reveal(c *fleet.Credential) any {
	type shown struct {
		Account, Connector string
		Secrets            [][2]string
		Settings           []fleet.Field
	}
	s := shown{Account: c.Account, Connector: c.Connector, Settings: c.Settings}
	for _, f := range c.Secrets {
		s.Secrets = append(s.Secrets, [2]string{f.Name, f.Value.Reveal()})
	}
	return s
}

// Random unicode values, written to real files on disk, come back intact.
func TestReadRandomValuesFromDisk(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	m := new(valueMaker)
	pw := randomText(rng, 12)
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".password_verification", m.next(pw, "HummingBot"))
	var fields [][2]string
	var plains []string
	for i := range 12 {
		plain := randomText(rng, 1+rng.IntN(80))
		plains = append(plains, plain)
		fields = append(fields, [2]string{fmt.Sprintf("secret_%02d", i), m.next(pw, plain)})
	}
	write("connectors/custom_exchange.yml", connectorYAML("custom_exchange", fields))
	creds, err := Read(os.DirFS(dir), "a", pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 || len(creds[0].Secrets) != len(plains) {
		t.Fatalf("got %#v", creds)
	}
	for i, s := range creds[0].Secrets {
		if s.Value.Reveal() != plains[i] {
			t.Errorf("%s = %q, want %q", s.Name, s.Value.Reveal(), plains[i])
		}
	}
}

func randomText(rng *rand.Rand, n int) string {
	alphabets := []string{"abcXYZ019-_ ", "äöüßéñ", "ключ", "秘密鍵", "🔑🐝"}
	var b strings.Builder
	for range n {
		a := []rune(alphabets[rng.IntN(len(alphabets))])
		b.WriteRune(a[rng.IntN(len(a))])
	}
	if !utf8.ValidString(b.String()) {
		panic("bad text")
	}
	return b.String()
}

func TestReadWrongPassword(t *testing.T) {
	t.Parallel()
	creds, err := Read(hbFolder(new(valueMaker), password), "a", "not-the-password", nil)
	if !errors.Is(err, ErrWrongPassword) || !errors.Is(err, hbcrypt.ErrWrongPassword) {
		t.Fatalf("err = %v, want ErrWrongPassword", err)
	}
	if creds != nil {
		t.Errorf("credentials returned with a wrong password")
	}
	var e *Error
	if !errors.As(err, &e) || e.File != VerificationFile {
		t.Errorf("err = %#v, want it to name %s", err, VerificationFile)
	}
	if strings.Contains(err.Error(), "not-the-password") || strings.Contains(err.Error(), password) {
		t.Errorf("error quotes a password: %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	m := new(valueMaker)
	good := m.next(password, "good-marker")
	flipped := []byte(m.next(password, "flipped-SECRET-marker"))
	// Change one hex digit of the MAC.
	raw, _ := hex.DecodeString(string(flipped))
	i := strings.Index(string(raw), `"mac":"`) + len(`"mac":"`)
	if raw[i] == 'a' {
		raw[i] = 'b'
	} else {
		raw[i] = 'a'
	}
	corrupt := hex.EncodeToString(raw)
	otherPassword := m.next("another-password", "other-SECRET-marker")

	tests := []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error
	}{
		{"no verification file", map[string]string{".password_verification": ""}, []string{"not a Hummingbot credentials folder"}},
		{"corrupted value", map[string]string{"connectors/binance.yml": connectorYAML("binance", [][2]string{
			{"binance_api_key", good}, {"binance_api_secret", corrupt}})},
			[]string{"connectors/binance.yml: field binance_api_secret:", "wrong password or corrupted value"}},
		{"written with another password", map[string]string{"connectors/binance.yml": connectorYAML("binance", [][2]string{
			{"binance_api_key", otherPassword}})},
			[]string{"connectors/binance.yml: field binance_api_key: cannot decrypt with the account's password"}},
		{"verification file damaged", map[string]string{".password_verification": "7b22"},
			[]string{".password_verification: malformed Hummingbot secret value"}},
		{"plaintext in a secret field", map[string]string{"connectors/binance.yml": connectorYAML("binance", [][2]string{
			{"binance_api_key", "plain-SECRET-marker"}})},
			[]string{"connectors/binance.yml: field binance_api_key: malformed Hummingbot secret value"}},
		{"unknown field of a known connector", map[string]string{"connectors/binance.yml": connectorYAML("binance", [][2]string{
			{"binance_api_key", good}, {"binance_passphrase", good}})},
			[]string{"field binance_passphrase: not a field of connector binance"}},
		{"connector does not match the file", map[string]string{"connectors/okx.yml": "connector: kucoin\n"},
			[]string{"connectors/okx.yml: field connector: does not match the file name (okx)"}},
		{"broken YAML", map[string]string{"connectors/okx.yml": "connector: okx\nokx_api_key: \"open-SECRET-marker\n"},
			[]string{"connectors/okx.yml: invalid YAML at line"}},
		{"field twice", map[string]string{"connectors/x.yml": "connector: x\na: 1\na: 2\n"},
			[]string{"connectors/x.yml: field a: appears more than once"}},
		{"bad connector name", map[string]string{"connectors/Binance.yml": "connector: Binance\n"},
			[]string{"connectors/Binance.yml:", "not a name nectar accepts"}},
		{"not a mapping", map[string]string{"connectors/x.yml": "- a\n- b\n"},
			[]string{"connectors/x.yml: not a YAML mapping"}},
		{"connector file too large", map[string]string{"connectors/x.yml": "connector: x\n" + strings.Repeat("#", maxFileSize)},
			[]string{"connectors/x.yml: file is larger than 1048576 bytes"}},
		{"verification file too large", map[string]string{".password_verification": strings.Repeat("7", maxFileSize+1)},
			[]string{".password_verification: file is larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{".password_verification": {Data: []byte(hbValue(password, "HummingBot", []byte("0123456789abcdef"), []byte("fedcba9876543210")))}}
			for name, data := range tt.files {
				if data == "" {
					delete(fsys, name)
					continue
				}
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			creds, err := Read(fsys, "a", password, nil)
			if err == nil {
				t.Fatalf("no error; got %d credentials", len(creds))
			}
			if creds != nil {
				t.Errorf("credentials returned with an error")
			}
			if errors.Is(err, ErrWrongPassword) {
				t.Errorf("the folder's password was right, yet the error says it is wrong: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "marker") || strings.Contains(err.Error(), good[:40]) {
				t.Errorf("error quotes a value: %v", err)
			}
		})
	}
}

// The .password_verification committed in Hummingbot's own repository
// (password "a", real iteration count: one derivation of about 0.2 s).
func TestReadHummingbotsVerificationFile(t *testing.T) {
	t.Parallel()
	pv, err := os.ReadFile(filepath.Join("..", "hbcrypt", "testdata", "hummingbot-password-verification.hex"))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := Read(fstest.MapFS{".password_verification": {Data: pv}}, "a", "a", nil)
	if err != nil || creds != nil {
		t.Fatalf("Read = %v, %v; want no credentials and no error", creds, err)
	}
}
