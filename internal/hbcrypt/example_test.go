package hbcrypt_test

import (
	"errors"
	"fmt"

	"github.com/nectarhq/nectar/internal/hbcrypt"
)

func Example() {
	k := hbcrypt.NewKeyring()
	salt := hbcrypt.NewSalt() // one per account

	verification, err := k.PasswordVerification("correct horse", salt)
	if err != nil {
		panic(err)
	}
	apiKey, err := k.Encrypt("correct horse", salt, []byte("my-api-key"))
	if err != nil {
		panic(err)
	}

	plaintext, err := k.Decrypt("correct horse", apiKey)
	fmt.Println(string(plaintext), err)
	fmt.Println(k.VerifyPassword("correct horse", verification))
	fmt.Println(errors.Is(k.VerifyPassword("wrong", verification), hbcrypt.ErrWrongPassword))
	fmt.Println("derivations:", k.Derivations())
	// Output:
	// my-api-key <nil>
	// <nil>
	// true
	// derivations: 2
}
