// Package leakscan holds the secret-leak scan: an end-to-end test that
// runs nectar on a fleet whose every secret is a unique marker and then
// searches all it produced for any of them. It has no code of its own.
package leakscan
