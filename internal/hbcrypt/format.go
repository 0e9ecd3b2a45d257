package hbcrypt

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Names of the key derivation functions, as they appear in the "kdf" field.
const (
	KDFPBKDF2 = "pbkdf2"
	KDFScrypt = "scrypt"
)

// Params says how a value's key is derived from the password.
type Params struct {
	KDF        string // KDFPBKDF2 or KDFScrypt
	Salt       []byte
	Iterations int // PBKDF2's c; zero for scrypt
	N, R, P    int // scrypt's cost parameters; zero for PBKDF2
}

// Caps on the KDF parameters a value may ask for. The parameters come from
// the file, so without caps a hostile or broken file could make nectar spend
// hours in PBKDF2 or gigabytes in scrypt before the MAC check could fail.
// Each cap leaves room above what real writers use: Hummingbot writes PBKDF2
// with c=1,000,000 (~0.2 s); eth_keyfile's scrypt default is n=2^18, r=1,
// p=8 and geth's is n=2^18, r=8, p=1 (both 2^21 units of work; geth's needs
// 256 MiB).
const (
	maxIterations   = 10_000_000 // ~2 s of PBKDF2-HMAC-SHA256
	maxScryptN      = 1 << 20
	maxScryptMemory = 256 << 20 // bytes; scrypt needs 128·n·r
	maxScryptWork   = 1 << 22   // n·r·p, about twice the usual defaults
)

// keyLen is the derived key length. The format allows others, but only the
// first 32 bytes are ever used and every known writer (Hummingbot,
// eth_keyfile, geth) writes 32, so dklen must be 32.
const keyLen = 32

// keyfile is a parsed value.
type keyfile struct {
	iv         [aes.BlockSize]byte // left-padded with zero bytes
	ciphertext []byte
	mac        [32]byte
	params     Params
}

// marshal returns the keyfile JSON exactly as current Hummingbot writes it
// (PBKDF2 only, which is all Encrypt writes):
//
//   - keys in the order of Hummingbot's _create_v3_keyfile_json dict, which
//     Python's json.dumps keeps;
//   - json.dumps's default separators ", " and ": ", no trailing newline;
//   - lower-case hex without a 0x prefix;
//   - the IV written as Python's int_to_big_endian(iv) renders it: leading
//     zero bytes dropped, but at least one byte ("00" for an all-zero IV);
//   - "version": 3 followed by "alias": "", which later Hummingbot releases
//     append (older files, such as the .password_verification in testdata,
//     end at "version": 3).
//
// Every value is ASCII hex or a fixed word, so nothing needs escaping.
func (v *keyfile) marshal() []byte {
	iv := v.iv[:]
	for len(iv) > 1 && iv[0] == 0 {
		iv = iv[1:]
	}
	var b bytes.Buffer
	b.WriteString(`{"crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "`)
	b.WriteString(hex.EncodeToString(iv))
	b.WriteString(`"}, "ciphertext": "`)
	b.WriteString(hex.EncodeToString(v.ciphertext))
	b.WriteString(`", "kdf": "pbkdf2", "kdfparams": {"c": `)
	b.WriteString(strconv.Itoa(v.params.Iterations))
	b.WriteString(`, "dklen": 32, "prf": "hmac-sha256", "salt": "`)
	b.WriteString(hex.EncodeToString(v.params.Salt))
	b.WriteString(`"}, "mac": "`)
	b.WriteString(hex.EncodeToString(v.mac[:]))
	b.WriteString(`"}, "version": 3, "alias": ""}`)
	return b.Bytes()
}

// parse decodes and validates a value. It accepts what eth_keyfile's
// decode_keyfile_json accepts for Hummingbot's values, with these
// differences:
//   - the cipher must be named and be aes-128-ctr (eth_keyfile ignores it);
//   - the PRF must be hmac-sha256 and dklen must be 32;
//   - KDF parameters are capped (see maxIterations);
//   - two keys differing only in case are rejected (Python keeps the last);
//   - numbers must be plain integers;
//   - white space around the value is ignored (Python's unhexlify refuses
//     it), since a value may come from a file with a trailing newline.
//
// Like eth_keyfile it lower-cases JSON keys before looking them up, ignores
// unknown keys ("id", "address", "alias"), accepts upper-case hex and a 0x
// prefix inside the JSON, and reads the IV as a big-endian integer, so an IV
// shorter than 16 bytes is left-padded with zero bytes.
func parse(value string) (keyfile, error) {
	var v keyfile
	value = strings.TrimSpace(value)
	if len(value) > MaxValueSize {
		return v, formatErrorf("", "value is %d bytes long; at most %d are accepted", len(value), MaxValueSize)
	}
	if value == "" {
		return v, formatErrorf("", "value is empty")
	}
	raw, err := hex.DecodeString(value)
	if err != nil {
		return v, formatErrorf("", "value is not hex: %v", err)
	}
	if !utf8.Valid(raw) {
		return v, formatErrorf("", "decoded value is not UTF-8 text")
	}
	// Syntax first, so a truncated value is reported as such rather than
	// as a fault in whichever field it was cut in.
	if err := json.Unmarshal(raw, new(json.RawMessage)); err != nil {
		return v, formatErrorf("", "decoded value is not valid JSON: %v", err)
	}
	root, err := parseObject(raw, "")
	if err != nil {
		return v, err
	}

	version, err := root.integer("version")
	if err != nil {
		return v, err
	}
	if version != 3 {
		return v, formatErrorf("version", "version %d is not supported; only version 3 is", version)
	}
	crypto, err := root.object("crypto")
	if err != nil {
		return v, err
	}
	cipherName, err := crypto.string("cipher")
	if err != nil {
		return v, err
	}
	if !strings.EqualFold(cipherName, "aes-128-ctr") {
		return v, formatErrorf(crypto.path("cipher"), "cipher %.40q is not supported; only aes-128-ctr is", cipherName)
	}
	cipherParams, err := crypto.object("cipherparams")
	if err != nil {
		return v, err
	}
	iv, err := cipherParams.hex("iv")
	if err != nil {
		return v, err
	}
	if len(iv) > aes.BlockSize {
		return v, formatErrorf(cipherParams.path("iv"), "IV is %d bytes; at most %d are allowed", len(iv), aes.BlockSize)
	}
	copy(v.iv[aes.BlockSize-len(iv):], iv)
	if v.ciphertext, err = crypto.hex("ciphertext"); err != nil {
		return v, err
	}
	mac, err := crypto.hex("mac")
	if err != nil {
		return v, err
	}
	if len(mac) != len(v.mac) {
		return v, formatErrorf(crypto.path("mac"), "MAC is %d bytes; it must be %d", len(mac), len(v.mac))
	}
	copy(v.mac[:], mac)

	kdf, err := crypto.string("kdf")
	if err != nil {
		return v, err
	}
	kdfParams, err := crypto.object("kdfparams")
	if err != nil {
		return v, err
	}
	v.params.KDF = kdf
	switch kdf {
	case KDFPBKDF2:
		err = parsePBKDF2(kdfParams, &v.params)
	case KDFScrypt:
		err = parseScrypt(kdfParams, &v.params)
	default:
		err = formatErrorf(crypto.path("kdf"), "key derivation function %.40q is not supported; only pbkdf2 and scrypt are", kdf)
	}
	return v, err
}

func parsePBKDF2(o object, p *Params) error {
	prf, err := o.string("prf")
	if err != nil {
		return err
	}
	if prf != "hmac-sha256" {
		return formatErrorf(o.path("prf"), "PRF %.40q is not supported; only hmac-sha256 is", prf)
	}
	c, err := o.integer("c")
	if err != nil {
		return err
	}
	if c < 1 || c > maxIterations {
		return formatErrorf(o.path("c"), "iteration count %d is outside the accepted range 1 to %d", c, maxIterations)
	}
	p.Iterations = int(c)
	return parseSaltAndLength(o, p)
}

func parseScrypt(o object, p *Params) error {
	n, err := o.integer("n")
	if err != nil {
		return err
	}
	if n < 2 || n > maxScryptN || n&(n-1) != 0 {
		return formatErrorf(o.path("n"), "n = %d is not a power of two from 2 to %d", n, maxScryptN)
	}
	r, err := o.integer("r")
	if err != nil {
		return err
	}
	if r < 1 || r > maxScryptMemory/(128*n) {
		return formatErrorf(o.path("r"), "r = %d is out of range: it must be at least 1 and 128·n·r at most %d bytes", r, maxScryptMemory)
	}
	pp, err := o.integer("p")
	if err != nil {
		return err
	}
	if pp < 1 || pp > maxScryptWork/(n*r) {
		return formatErrorf(o.path("p"), "p = %d is out of range: it must be at least 1 and n·r·p at most %d", pp, maxScryptWork)
	}
	p.N, p.R, p.P = int(n), int(r), int(pp)
	return parseSaltAndLength(o, p)
}

func parseSaltAndLength(o object, p *Params) error {
	dklen, err := o.integer("dklen")
	if err != nil {
		return err
	}
	if dklen != keyLen {
		return formatErrorf(o.path("dklen"), "derived key length %d is not supported; only %d is", dklen, keyLen)
	}
	p.Salt, err = o.hex("salt")
	return err
}

// object is one JSON object with its keys lower-cased, as eth_keyfile's
// normalize_keys does, and its dotted path for error messages.
type object struct {
	at     string
	fields map[string]json.RawMessage
}

func parseObject(raw []byte, at string) (object, error) {
	o := object{at: at, fields: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return o, formatErrorf(at, "not valid JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return o, formatErrorf(at, "not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return o, formatErrorf(at, "not valid JSON: %v", err)
		}
		key := strings.ToLower(tok.(string)) // inside an object Token yields a string key or an error
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return o, formatErrorf(o.path(key), "not valid JSON: %v", err)
		}
		if _, dup := o.fields[key]; dup {
			return o, formatErrorf(o.path(key), "key appears more than once (keys are compared ignoring case)")
		}
		o.fields[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return o, formatErrorf(at, "not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return o, formatErrorf(at, "unexpected data after the JSON object")
	}
	return o, nil
}

func (o object) path(key string) string {
	if o.at == "" {
		return key
	}
	return o.at + "." + key
}

func (o object) get(key string) (json.RawMessage, error) {
	raw, ok := o.fields[key]
	if !ok {
		return nil, formatErrorf(o.path(key), "missing")
	}
	return raw, nil
}

func (o object) object(key string) (object, error) {
	raw, err := o.get(key)
	if err != nil {
		return object{}, err
	}
	return parseObject(raw, o.path(key))
}

func (o object) string(key string) (string, error) {
	raw, err := o.get(key)
	if err != nil {
		return "", err
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", formatErrorf(o.path(key), "must be a JSON string")
	}
	return s, nil
}

// hex reads a hex string field. Like eth_utils.decode_hex it allows a 0x or
// 0X prefix and either letter case.
func (o object) hex(key string) ([]byte, error) {
	s, err := o.string(key)
	if err != nil {
		return nil, err
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, formatErrorf(o.path(key), "not hex: %v", err)
	}
	return b, nil
}

// integer reads a non-negative JSON integer. Python's json gives floats for
// 1e6 or 1000000.0, which hashlib and scrypt reject, so only plain digits
// are accepted.
func (o object) integer(key string) (int64, error) {
	raw, err := o.get(key)
	if err != nil {
		return 0, err
	}
	s := string(raw)
	if strings.TrimLeft(s, "0123456789") != "" {
		if s[0] == '-' || (s[0] >= '0' && s[0] <= '9') {
			return 0, formatErrorf(o.path(key), "must be a non-negative integer, not %.20s", s)
		}
		return 0, formatErrorf(o.path(key), "must be a JSON number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, formatErrorf(o.path(key), "number %.20s is too large", s)
	}
	return n, nil
}
