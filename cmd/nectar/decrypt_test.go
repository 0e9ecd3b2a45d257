package main

import (
	"os"
	"testing"

	"github.com/nectarhq/nectar/internal/secrets"
)

func decryptFile(t *testing.T, identityFile, path string) string {
	t.Helper()
	ids, err := secrets.LoadIdentities(identityFile)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := secrets.Decrypt(data, ids)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}
