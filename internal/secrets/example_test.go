package secrets_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"filippo.io/age"
	"github.com/nectarhq/nectar/internal/secrets"
)

func Example() {
	// An operator's key. nectar loads it with LoadIdentities; here it is
	// made on the spot.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}
	ids := &secrets.Identities{
		List:       []age.Identity{id},
		Origin:     "example",
		Recipients: []string{id.Recipient().String()},
	}

	// nectar.yaml lists the recipients every secret file is encrypted to.
	recipients, err := secrets.ParseRecipients(ids.Recipients)
	if err != nil {
		log.Fatal(err)
	}
	ciphertext, err := secrets.Encrypt([]byte("correct horse battery staple\n"), recipients)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(secrets.IsAgeFile(ciphertext))

	plaintext, err := secrets.Decrypt(ciphertext, ids)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plaintext))

	// A file cut short is an error, never part of a plaintext.
	plaintext, err = secrets.Decrypt(ciphertext[:len(ciphertext)/2], ids)
	fmt.Println(plaintext == nil, errors.Is(err, secrets.ErrTruncated))
	// Output:
	// true
	// correct horse battery staple
	// true true
}

func ExampleDecrypt_notForYou() {
	// testdata/cli-not-for-you.age was encrypted by the age CLI to two
	// other keys.
	ids, err := secrets.LoadIdentities("testdata/cli.key")
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile("testdata/cli-not-for-you.age")
	if err != nil {
		log.Fatal(err)
	}
	_, err = secrets.Decrypt(data, ids)
	var nfy *secrets.NotForYouError
	fmt.Println(errors.As(err, &nfy), nfy.Stanzas)
	fmt.Println(err)
	// Output:
	// true [X25519 X25519]
	// encrypted to 2 recipients (X25519, X25519), none of them your key age1fj5xgz4k25kv89tn7y4wvnum2mhy8n29xxwwc572jzw68r4tpcgqrm4dy3 (from --identity testdata/cli.key)
}
