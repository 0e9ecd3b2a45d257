package secrets

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// fuzzKey is the identity the fuzz targets decrypt with; its recipient
// appears in the seeds, so mutations reach the payload.
var fuzzKey = func() *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		panic(err)
	}
	return id
}()

// addSeeds adds real age files to the corpus: made by the age CLI (from
// testdata), by age's library, and by Encrypt, for fuzzKey and for others.
func addSeeds(f *testing.F) {
	other, _ := age.GenerateX25519Identity()
	_, sshPub := sshKey(f)
	sshRs, err := ParseRecipients([]string{sshPub})
	if err != nil {
		f.Fatal(err)
	}
	scrypt, _ := age.NewScryptRecipient("pw")
	scrypt.SetWorkFactor(2)
	for _, name := range []string{"cli-binary.age", "cli-armored.age", "cli-not-for-you.age", "cli-ssh-and-x25519.age"} {
		f.Add(readTestdata(f, name))
	}
	bin := encryptBinary(f, []byte(secretPlain), fuzzKey.Recipient())
	f.Add(bin)
	f.Add(bin[:len(bin)-5])
	f.Add(mustEncrypt(f, []byte(secretPlain), fuzzKey.Recipient()))
	f.Add(mustEncrypt(f, nil, fuzzKey.Recipient()))
	f.Add(encryptBinary(f, []byte("x"), other.Recipient(), sshRs[0], fuzzKey.Recipient()))
	f.Add(encryptBinary(f, []byte("x"), scrypt))
	f.Add(encryptBinary(f, bytes.Repeat([]byte{1}, 64<<10+1), fuzzKey.Recipient()))
	f.Add(hdr("-> t\n", fullLine+"\n", "\n", testMAC))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n--- x\n"))
	f.Add([]byte(secretPlain))
}

// FuzzDecrypt checks that Decrypt never panics, that every failure is one
// of its documented errors and comes without a plaintext, and that a
// plaintext it returns is exactly what age's own reader produces.
func FuzzDecrypt(f *testing.F) {
	addSeeds(f)
	ids := &Identities{List: []age.Identity{fuzzKey}, Origin: "fuzz", Recipients: []string{fuzzKey.Recipient().String()}}
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := Decrypt(data, ids)
		if err != nil {
			if plain != nil {
				t.Fatalf("plaintext of %d bytes with error %v", len(plain), err)
			}
			if !isClassified(err) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if plain == nil {
			t.Fatal("nil plaintext without error")
		}
		// The file decrypted: age, reading it on its own, must agree.
		bin, err := dearmor(data)
		if err != nil {
			t.Fatalf("Decrypt accepted a file whose armor fails: %v", err)
		}
		r, err := age.Decrypt(bytes.NewReader(bin), fuzzKey)
		if err != nil {
			t.Fatalf("Decrypt accepted a file age refuses: %v", err)
		}
		want, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(plain, want) {
			t.Fatalf("Decrypt returned a plaintext age does not (age: %v)", err)
		}
	})
}

// FuzzHeader checks parseHeader against age's own parser: both accept the
// same inputs, and what parseHeader accepts it reads exactly (marshaling
// the result gives back the input's header).
func FuzzHeader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if bin, err := dearmor(data); err == nil {
			data = bin
		}
		h, err := parseHeader(data)
		if err != nil {
			if h != nil || (!errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt)) {
				t.Fatalf("got %v, %v", h, err)
			}
		} else {
			checkHeader(t, data, h)
		}
		// age reports its header parse failures as "failed to read
		// header"; anything else means it got past the header.
		_, ageErr := age.Decrypt(bytes.NewReader(data), fuzzKey)
		ageRefused := ageErr != nil && strings.HasPrefix(ageErr.Error(), "failed to read header")
		if ageRefused != (err != nil) {
			t.Fatalf("parseHeader: %v; age: %v", err, ageErr)
		}
	})
}
